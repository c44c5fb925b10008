"""The outside pass on routing (issue #17): the public finder, its page, the address and the submission.

Found: "12555 Hamburg, Bahnhofstraße 1" was taken as an address in Treptow-Köpenick (a town that is not
the postcode's was overlooked where the postcode has one place). Everything else below held.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.gateway.tests.conftest import API, Browser
from services.submissions.tests.scenarios import ARBEITSAUFNAHME

TREPTOW = {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1"}
HOSTILE = [
    ({"plz": "12555", "strasse": "x" * 101}, "QUERY_INVALID"),
    ({"plz": "12555", "strasse": "a\x00b"}, "QUERY_INVALID"),
    ({"plz": "12555", "ort": "\u202eBerlin"}, "QUERY_INVALID"),
    ({"plz": "12555'; drop table x;--"}, "POSTCODE_INVALID"),
    ({"plz": "12555", "date": "2026-13-01"}, "DATE_INVALID"),
]
ODD = [  # answered, with a stable code
    ({"plz": "１２５５５"}, "POSTCODE_UNKNOWN"),
    ({"plz": "00000"}, "POSTCODE_UNKNOWN"),
    ({"plz": "12555", "berlin_bezirk": "<script>"}, "BERLIN_BEZIRK_NOT_IN_POSTCODE"),
    ({"plz": "12555", "ags": "1"}, "GEMEINDE_NOT_IN_POSTCODE"),
    ({"plz": "10119", "strasse": "TORSTRASSE", "hausnummer": " 1 "}, "MATCHED_BERLIN_ADDRESS"),
    ({"plz": "10119", "strasse": "torstr.", "hausnummer": "1"}, "MATCHED_BERLIN_ADDRESS"),
    ({"plz": "12555", "ort": "Hamburg", "strasse": "Bahnhofstraße", "hausnummer": "1"}, "ORT_NOT_IN_POSTCODE"),
]


@pytest.fixture(scope="module")
def citizen(portal) -> Browser:
    browser = Browser(portal)
    browser.log_in(portal.account())
    return browser


def finder(portal, query):
    return Browser(portal).request("GET", f"{API}/responsible-jobcenter", params=query)


@pytest.mark.parametrize(("query", "code"), HOSTILE)
def test_hostile_questions_are_refused_with_a_stable_code(portal, query, code):
    answer = finder(portal, query)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)


@pytest.mark.parametrize(("query", "code"), ODD)
def test_odd_questions_get_an_answer_with_a_stable_code(portal, query, code):
    answer = finder(portal, query)
    assert (answer.status_code, answer.json()["code"]) == (200, code)


def test_the_page_escapes_what_it_is_sent(portal):
    page = Browser(portal).request(
        "GET", "/zustaendiges-jobcenter", params={**TREPTOW, "strasse": "<script>x</script>"}
    )
    assert page.status_code == 200 and "<script>x" not in page.text
    wrong = Browser(portal).request("GET", "/zustaendiges-jobcenter", params={"plz": "<b>x</b>"})
    assert wrong.status_code == 400 and "<b>x</b>" not in wrong.text


def draft(citizen: Browser, wohnsitz) -> str:
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, data in {**ARBEITSAUFNAHME, "wohnsitz": wohnsitz}.items():
        assert citizen.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data).status_code == 200
    return str(case_id)


def submit(citizen: Browser, case_id: str, key: str):
    return citizen.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": key})


def test_concurrent_submits_give_one_receipt(citizen):
    other_keys, same_key = draft(citizen, TREPTOW), draft(citizen, TREPTOW)
    key = f"same-{uuid.uuid4()}"
    with ThreadPoolExecutor(4) as pool:
        raced = list(pool.map(lambda n: submit(citizen, other_keys, f"key-{n}-{uuid.uuid4()}"), range(4)))
        repeated = list(pool.map(lambda _: submit(citizen, same_key, key), range(4)))
    assert sorted(answer.status_code for answer in raced) == [200, 409, 409, 409]
    assert {answer.status_code for answer in repeated} == {200}
    assert len({answer.json()["receipt_number"] for answer in repeated}) == 1
    moved = citizen.request("PUT", f"{API}/cases/{same_key}/sections/wohnsitz", json={**TREPTOW, "plz": "61130"})
    assert moved.status_code == 409  # a submitted address cannot be changed


@pytest.mark.parametrize("wohnsitz", [
    {**TREPTOW, "ort": "Hamburg"},
    {"plz": "10119", "ort": "Berlin", "strasse": "Gibtsnicht", "hausnummer": "1"},
    {"plz": "61130", "ort": "Nidderau", "strasse": "Hauptstraße", "hausnummer": "1"},
    {"plz": "07554", "ort": "Nowhere", "strasse": "Hauptstraße", "hausnummer": "1"},
    {"plz": "07554", "ort": "Gera", "strasse": "Hauptstraße", "hausnummer": "1"},
    {**TREPTOW, "ags": "14612000"},
])  # fmt: skip
def test_the_finder_and_the_submission_agree(portal, citizen, wohnsitz):
    found = finder(portal, wohnsitz).json()
    answer = submit(citizen, draft(citizen, wohnsitz), str(uuid.uuid4()))
    if found["outcome"] == "assigned":
        assert answer.status_code == 200, answer.text
    else:
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, "RESIDENCE_NOT_ROUTABLE")
