"""A case is taken in only with its Jobcenter: the submission asks routing, as the public finder does.

A residence the finder cannot give to one gE (a Berlin postcode without the street, a zkT area, a
postcode shared by Jobcenters without the place, a Bezirk that contradicts the postcode) is refused with
``RESIDENCE_NOT_ROUTABLE`` and the case stays a draft the citizen can correct; every other one is
submitted carrying the Jobcenter the finder names. So no case can be left "wird ermittelt".
"""

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gateway.tests.conftest import API, Browser
from services.submissions.tests.scenarios import ARBEITSAUFNAHME

PLACES = {  # postcode → places and streets that exist there (shipped data), or do not
    "12555": ("Berlin", ["Bahnhofstraße"]),  # one Bezirk: Treptow-Köpenick
    "10119": ("Berlin", ["Torstraße", "Fehrbelliner Straße"]),  # Mitte and Pankow share it
    "01067": ("Dresden", ["Ostra-Allee"]),  # one gE
    "61130": ("Nidderau", ["Hauptstraße"]),  # Main-Kinzig-Kreis: a zkT
    "07554": ("Gera", ["Hauptstraße"]),  # Gera and Greiz share it
    "20095": ("Hamburg", ["Mönckebergstraße"]),
}


@pytest.fixture(scope="module")
def citizen(portal) -> Browser:
    browser = Browser(portal)
    browser.log_in(portal.account())
    return browser


def draft_living_at(citizen: Browser, wohnsitz: dict[str, Any]) -> str | None:
    """A complete Arbeitsaufnahme draft at ``wohnsitz``; None when the form itself refuses the address."""
    case_id = str(citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"])
    for section_id, data in {**ARBEITSAUFNAHME, "wohnsitz": wohnsitz}.items():
        saved = citizen.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data)
        if saved.status_code == 400 and section_id == "wohnsitz":
            return None
        assert saved.status_code == 200, saved.text
    return case_id


def submit(citizen: Browser, case_id: str) -> Any:
    return citizen.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": str(uuid.uuid4())})


def finder(citizen: Browser, wohnsitz: dict[str, Any]) -> dict[str, Any]:
    query = {key: value for key, value in wohnsitz.items() if key in ("plz", "ort", "strasse", "hausnummer",
                                                                      "berlin_bezirk")}  # fmt: skip
    answer = citizen.request("GET", f"{API}/responsible-jobcenter", params=query)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def status_of(citizen: Browser, case_id: str) -> str:
    return str(citizen.request("GET", f"{API}/cases/{case_id}").json()["case"]["status"])


def submitted_event(citizen: Browser, case_id: str) -> dict[str, Any]:
    events = citizen.request("GET", f"{API}/cases/{case_id}/timeline").json()["events"]
    return next(event for event in events if event["event"] == "Submitted")


def test_a_berlin_postcode_of_several_bezirke_without_the_street_is_refused_and_stays_a_draft(citizen):
    case_id = draft_living_at(citizen, {"plz": "10119", "ort": "Berlin", "strasse": "Unbekannte Gasse",
                                        "hausnummer": "1"})  # fmt: skip
    assert case_id is not None
    refused = submit(citizen, case_id)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "RESIDENCE_NOT_ROUTABLE"
    assert error["message"].startswith("Wir können Ihre Anschrift noch keinem Jobcenter zuordnen.")
    assert error["details"]["section"] == "wohnsitz"
    assert status_of(citizen, case_id) == "draft"


def test_a_zkt_address_is_refused_naming_the_zkt_and_the_draft_can_be_corrected(citizen):
    case_id = draft_living_at(citizen, {"plz": "61130", "ort": "Nidderau", "strasse": "Hauptstraße", "hausnummer": "1"})
    assert case_id is not None
    refused = submit(citizen, case_id).json()["error"]
    assert (refused["code"], refused["details"]["routing"]["outcome"]) == ("RESIDENCE_NOT_ROUTABLE", "not_served")
    assert "Main-Kinzig-Kreis" in refused["message"]
    assert "ask" not in refused["details"]["routing"]  # absent, not the string "None" (found from outside)
    corrected = citizen.request("PUT", f"{API}/cases/{case_id}/sections/wohnsitz", json=ARBEITSAUFNAHME["wohnsitz"])
    assert corrected.status_code == 200, corrected.text
    assert submit(citizen, case_id).status_code == 200
    assert submitted_event(citizen, case_id)["jobcenter_id"] == "jc-0394"


def test_a_bezirk_contradicting_the_postcode_is_refused_not_guessed(citizen):
    case_id = draft_living_at(citizen, {"plz": "20095", "ort": "Hamburg", "strasse": "Mönckebergstraße",
                                        "hausnummer": "1", "berlin_bezirk": "09"})  # fmt: skip
    assert case_id is not None
    refused = submit(citizen, case_id).json()["error"]
    assert (refused["code"], refused["details"]["routing"]["code"]) == (
        "RESIDENCE_NOT_ROUTABLE", "BERLIN_BEZIRK_NOT_IN_POSTCODE"
    )  # fmt: skip


@st.composite
def residences(draw: st.DrawFn) -> dict[str, Any]:
    plz = draw(st.sampled_from(sorted(PLACES)))
    ort, streets = PLACES[plz]
    wohnsitz = {
        "plz": plz,
        "ort": draw(st.sampled_from([ort, "Berlin", "Greiz", "Brahmenau"])),
        "strasse": draw(st.sampled_from([*streets, "Nirgendwoweg"])),
        "hausnummer": draw(st.sampled_from(["1", "12", "200"])),
    }
    bezirk = draw(st.sampled_from([None, "01", "03", "09"]))
    if bezirk is not None:
        wohnsitz["berlin_bezirk"] = bezirk
    return wohnsitz


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wohnsitz=residences())
def test_every_submission_carries_the_jobcenter_the_finder_names_or_is_refused(citizen, wohnsitz):
    case_id = draft_living_at(citizen, wohnsitz)
    if case_id is None:
        return
    found = finder(citizen, wohnsitz)
    answer = submit(citizen, case_id)
    if found["outcome"] == "assigned":
        assert answer.status_code == 200, answer.text
        assert submitted_event(citizen, case_id)["jobcenter_id"] == found["jobcenter"]["jobcenter_id"]
    else:
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert (error["code"], error["details"]["routing"]["code"]) == ("RESIDENCE_NOT_ROUTABLE", found["code"])
        assert status_of(citizen, case_id) == "draft"
