"""A citizen's move from Berlin Treptow-Köpenick to Königs Wusterhausen (Landkreis Dahme-Spreewald), through
the whole system as ``make run`` starts it: § 36 SGB II, docs/moves.md.

The VÄM reporting the move stays with the Jobcenter until the move; the open WBA is handed over on the move
date (in the past here: at once); a WBA filed afterwards, prefilled with the new address, goes to the new
Jobcenter; each step is dated on the timelines. (A move dated in the future is taken into effect by the
periodic check: services/submissions/tests/test_moves.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.dates import german_today
from shared.testing.waiting import wait_until
from tests.support import ApiCitizen, RunningSystem, create_citizens, processes_of, system_environ

TREPTOW_KOEPENICK, DAHME_SPREEWALD = "jc-0394", "jc-0012"
BERLIN = {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1", "berlin_bezirk": "09"}
KOENIGS_WUSTERHAUSEN = {"plz": "15711", "ort": "Königs Wusterhausen", "strasse": "Karl-Marx-Straße",
                        "hausnummer": "5", "ags": "12061260"}  # fmt: skip
WBA_SECTIONS: dict[str, dict[str, Any]] = {
    "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "E. M."},
    "bedarfsgemeinschaft": {"unveraendert": True, "personen": []},
    "einkommen": {"hat_einkommen": False},
    "vermoegen": {"ueber_grenze": False},
    "wohnkosten": {"unveraendert": True, "miete_kalt": 450.0},
    "krankenversicherung": {"krankenkasse": "AOK Nordost"},
    "mehrbedarf": {"arten": []},
    "erklaerung": {"wahrheitsgemaess": True},
}


# Starts the whole system (at load 15: 164 s on the clock for 95 s of CPU), so more than the default 300 s.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def citizen(tmp_path: Path, amqp_uri: str) -> Iterator[ApiCitizen]:
    run_dir = tmp_path / "run"
    system = RunningSystem(run_dir, amqp_uri)
    try:
        ((email, secret),) = create_citizens(system_environ(system, {"AMQP_URI": amqp_uri}), 1)
        logged_in = ApiCitizen(f"http://127.0.0.1:{system.port}", email, secret)
        logged_in.log_in()
        yield logged_in
    finally:
        system.interrupt()
        assert processes_of(run_dir) == []


def file_case(citizen: ApiCitizen, kind: str, sections: dict) -> str:
    started = citizen.request("POST", "/cases", json={"kind": kind})
    assert started.status_code == 201, started.text
    case_id = str(started.json()["case_id"])
    for section_id, data in sections.items():
        saved = citizen.save_section(case_id, section_id, data)
        assert saved.status_code == 200, saved.text
    submitted = citizen.submit(case_id, f"key-{case_id}")
    assert submitted.status_code in (200, 201), submitted.text
    return case_id


def case_of(citizen: ApiCitizen, case_id: str) -> dict:
    return dict(citizen.request("GET", f"/cases/{case_id}").json()["case"])


def at(citizen: ApiCitizen, case_id: str, jobcenter_id: str) -> None:
    def there() -> bool:
        case = case_of(citizen, case_id)
        return bool(case["jobcenter_id"] == jobcenter_id and case["status"] == "assigned")

    wait_until(there, timeout=60, what=f"case {case_id} assigned to {jobcenter_id}")


def timeline(citizen: ApiCitizen, case_id: str) -> list[str]:
    events = citizen.request("GET", f"/cases/{case_id}/timeline").json()["events"]
    return [event.get("text") or event["label"] for event in events]


def test_a_move_into_another_jobcenter_area_follows_section_36_sgb_ii(citizen: ApiCitizen):
    wba = file_case(citizen, "weiterbewilligungsantrag", {"wohnsitz": BERLIN, **WBA_SECTIONS})
    at(citizen, wba, TREPTOW_KOEPENICK)
    moved_on = german_today() - timedelta(days=3)
    day = f"{moved_on:%d.%m.%Y}"
    vaem = file_case(citizen, "veraenderungsmitteilung", {
        "aenderungen": {"aenderungen": ["umzug"]},
        "wohnsitz": BERLIN,
        "umzug": {"umzugsdatum": moved_on.isoformat(), **KOENIGS_WUSTERHAUSEN, "miete_kalt": 520.0},
        "erklaerung": {"wahrheitsgemaess": True},
    })  # fmt: skip

    # The VÄM goes to the Jobcenter until the move; the open WBA is handed over (the date is past: at once).
    at(citizen, vaem, TREPTOW_KOEPENICK)
    at(citizen, wba, DAHME_SPREEWALD)
    assert f"Umzug gemeldet zum {day} — bearbeitet vom Jobcenter Berlin Treptow-Köpenick" in timeline(citizen, vaem)
    assert f"Ab {day} zuständig: Jobcenter Dahme-Spreewald" in timeline(citizen, vaem)
    assert f"Am {day} an das Jobcenter Dahme-Spreewald abgegeben" in timeline(citizen, wba)

    # A WBA filed afterwards is prefilled with the new address and goes to the new Jobcenter.
    started = citizen.request("POST", "/cases", json={"kind": "weiterbewilligungsantrag"})
    later = str(started.json()["case_id"])
    answers = citizen.request("GET", f"/cases/{later}").json()["answers"]
    assert answers["wohnsitz"]["plz"] == "15711"
    for section_id, data in WBA_SECTIONS.items():
        assert citizen.save_section(later, section_id, data).status_code == 200
    assert citizen.submit(later, f"key-{later}").status_code in (200, 201)
    at(citizen, later, DAHME_SPREEWALD)
    assert case_of(citizen, vaem)["jobcenter_id"] == TREPTOW_KOEPENICK, "the VÄM stays where it was"
