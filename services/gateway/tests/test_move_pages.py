"""The steps of a move on the citizen's case page and on the caseworker's (docs/moves.md)."""

from datetime import timedelta

from services.gateway import pages
from services.gateway.tests.conftest import API, Browser
from services.gateway.tests.test_staff_api import assigned, relay_routing  # noqa: F401 - fixture
from services.gateway.tests.test_staff_pages import log_in_on_pages
from shared.dates import german_today

BERLIN = {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1", "berlin_bezirk": "09"}
KOENIGS_WUSTERHAUSEN = {"plz": "15711", "ort": "Königs Wusterhausen", "strasse": "Karl-Marx-Straße",
                        "hausnummer": "5", "ags": "12061260", "miete_kalt": 520.0}  # fmt: skip


def test_the_steps_of_a_move_are_dated_and_named_on_both_case_pages(portal, relay_routing):  # noqa: F811
    citizen = Browser(portal)
    citizen.log_in(portal.account())
    moved_on = german_today() - timedelta(days=2)
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, data in {
        "aenderungen": {"aenderungen": ["umzug"]},
        "wohnsitz": BERLIN,
        "umzug": {"umzugsdatum": moved_on.isoformat(), **KOENIGS_WUSTERHAUSEN},
        "erklaerung": {"wahrheitsgemaess": True},
    }.items():
        assert citizen.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data).status_code == 200
    submitted = citizen.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": f"k-{case_id}"})
    assert submitted.status_code in (200, 201), submitted.text
    api = Browser(portal)
    api.log_in(portal.staff_account())
    assigned(portal, relay_routing, api, case_id)  # by Treptow-Köpenick, the Jobcenter until the move

    page = citizen.request("GET", f"/antraege/{case_id}").text
    long_date = pages.german_date(moved_on.isoformat())
    assert f"Umzug gemeldet zum {long_date} — bearbeitet vom Jobcenter Berlin Treptow-Köpenick" in page
    assert f"Ab {long_date} zuständig: Jobcenter Dahme-Spreewald" in page

    caseworker, _ = log_in_on_pages(portal, portal.staff_account())
    staff_page = caseworker.request("GET", f"/sachbearbeitung/faelle/{case_id}").text
    assert f"Umzug gemeldet zum {moved_on:%d.%m.%Y} — bearbeitet vom Jobcenter Berlin Treptow-Köpenick" in staff_page
    assert f"Ab {moved_on:%d.%m.%Y} zuständig: Jobcenter Dahme-Spreewald" in staff_page
