"""Answers a citizen gives, used by several tests: the first acceptance scenario and a WBA."""

from typing import Any

from services.submissions.domainmodel import Actor
from shared.testing.tokens import TEST_ISSUER

CITIZEN = Actor("citizen-1", "citizen")
OTHER_CITIZEN = Actor("citizen-2", "citizen")
JOBCENTER = "jc-berlin-treptow-koepenick"
CASEWORKER = Actor("caseworker-1", "caseworker", JOBCENTER)
CASEWORKER_ELSEWHERE = Actor("caseworker-9", "caseworker", "jc-dahme-spreewald")
# Routing's answer for ARBEITSAUFNAHME's address, as the service asks for it before a submission.
ROUTED = {"jobcenter_id": JOBCENTER, "matched_key": "berlin_bezirk:09", "reason_code": "MATCHED_BERLIN_ADDRESS",
          "register_version": "test"}  # fmt: skip
# Routing's answer for UMZUG's new address (Königs Wusterhausen, Landkreis Dahme-Spreewald) on the move date.
NEW_JOBCENTER = "jc-dahme-spreewald"
MOVED_TO = {"jobcenter_id": NEW_JOBCENTER, "matched_key": "kreis:12061", "reason_code": "MATCHED_GEMEINDE",
            "register_version": "test", "served": True}  # fmt: skip

ARBEITSAUFNAHME: dict[str, dict[str, Any]] = {
    "aenderungen": {"aenderungen": ["arbeitsaufnahme"]},
    "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1", "berlin_bezirk": "09"},
    "arbeitsaufnahme": {
        "arbeitgeber": "Muster GmbH",
        "beginn": "2026-12-01",
        "wochenstunden": 30,
        "brutto_monatlich": 2400.0,
        "netto_monatlich": 1710.55,
    },
    "erklaerung": {"wahrheitsgemaess": True},
}

UMZUG: dict[str, dict[str, Any]] = {
    "aenderungen": {"aenderungen": ["umzug"]},
    "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1"},
    "umzug": {
        "umzugsdatum": "2026-12-15",
        "plz": "15711",
        "ort": "Königs Wusterhausen",
        "strasse": "Karl-Marx-Straße",
        "hausnummer": "5",
        "ags": "12061260",
        "miete_kalt": 520.0,
    },
    "erklaerung": {"wahrheitsgemaess": True},
}


# A Weiterbewilligungsantrag with every section answered, nothing changed, living in Treptow-Köpenick.
WBA: dict[str, dict[str, Any]] = {
    "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1"},
    "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "E. M."},
    "bedarfsgemeinschaft": {"unveraendert": True, "personen": []},
    "einkommen": {"hat_einkommen": False},
    "vermoegen": {"ueber_grenze": False},
    "wohnkosten": {"unveraendert": True, "miete_kalt": 450.0},
    "krankenversicherung": {"krankenkasse": "AOK Nordost"},
    "mehrbedarf": {"arten": []},
    "erklaerung": {"wahrheitsgemaess": True},
}


def fill(cases, case_id, answers, actor=CITIZEN):
    for section_id, data in answers.items():
        cases.save_section(str(case_id), actor, section_id, data)


def submit_over_rpc(cluster, owner_id, answers=ARBEITSAUFNAHME, kind="veraenderungsmitteilung", token=None):
    """Start, fill and submit a case through the service's RPC, as the gateway will; returns the case.

    Without a token the test issuer's (services started with ``FakeIdentity``) is used.
    """
    token = token or TEST_ISSUER.token_for(owner_id)
    case_id = cluster.submissions.start_draft(token, kind)
    for section_id, data in answers.items():
        cluster.submissions.save_section(case_id, token, section_id, data)
    return cluster.submissions.submit_case(case_id, token, f"submit-{case_id}")


WEITERBEWILLIGUNG: dict[str, dict[str, Any]] = {
    "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1", "berlin_bezirk": "09"},
    "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "Erika Mustermann"},
    "bedarfsgemeinschaft": {
        "unveraendert": False,
        "personen": [{"vorname": "Mia", "geburtsdatum": "2015-03-04", "beziehung": "kind"}],
    },
    "einkommen": {"hat_einkommen": True, "netto_monatlich": 450.0},
    "vermoegen": {"ueber_grenze": False},
    "wohnkosten": {"unveraendert": True, "miete_kalt": 450.0, "nebenkosten": 90.0, "heizkosten": 60.0},
    "krankenversicherung": {"krankenkasse": "AOK Nordost"},
    "mehrbedarf": {"arten": ["alleinerziehend"]},
    "erklaerung": {"wahrheitsgemaess": True},
}

# A move into another Bezirk with a new income, reported together after the WBA above.
UMZUG_UND_NEUES_EINKOMMEN: dict[str, dict[str, Any]] = {
    "aenderungen": {"aenderungen": ["umzug", "einkommensaenderung"]},
    "wohnsitz": WEITERBEWILLIGUNG["wohnsitz"],
    "umzug": {
        "umzugsdatum": "2026-11-15",
        "plz": "12555",
        "ort": "Berlin",
        "strasse": "Müggelheimer Straße",
        "hausnummer": "12",
        "berlin_bezirk": "09",
        "miete_kalt": 520.0,
        "nebenkosten": 110.0,
    },
    "einkommensaenderung": {"ab": "2026-11-01", "brutto_monatlich": 900.0, "netto_monatlich": 720.0},
    "erklaerung": {"wahrheitsgemaess": True},
}
