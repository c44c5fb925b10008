"""Citizen A can neither read, change nor upload to citizen B's case through any route, and back."""

import uuid
from typing import Any

import pytest

from services.documents.tests import samples
from services.gateway.api import ROUTES
from services.gateway.tests.conftest import API, Browser, wait_until
from services.submissions.tests.scenarios import ARBEITSAUFNAHME

# The citizen's case routes; the staff routes (/staff/...) answer every citizen 403 (test_staff_api.py).
CASE_ROUTES = [route for route in ROUTES if "{case_id}" in route.path and not route.path.startswith("/staff/")]
REQUESTS: dict[str, dict[str, Any]] = {  # what each route is sent, so that only ownership can be why it is refused
    "save_section": {"json": {"aenderungen": ["umzug"]}},
    "post_message": {"json": {"text": "Hallo"}},
    "submit_case": {"headers": {"Idempotency-Key": "stranger-key-0001"}},
    "upload_document": {
        "params": {"nachweis": "arbeitsvertrag", "filename": "fremd.pdf"},
        "data": samples.pdf(),
        "headers": {"Content-Type": "application/octet-stream"},
    },
    "merge_photos": {"json": {"nachweis": "arbeitsvertrag", "document_ids": [str(uuid.uuid4()), str(uuid.uuid4())]}},
}


@pytest.fixture(scope="module")
def citizens(portal):
    """Two citizens, each with a draft and a submitted case."""
    people = {}
    for name in ("A", "B"):
        browser = Browser(portal)
        browser.log_in(portal.account())
        cases = {}
        for state in ("draft", "submitted"):
            case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()[
                "case_id"
            ]
            for section_id, data in ARBEITSAUFNAHME.items():
                assert browser.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data).ok
            if state == "submitted":
                submitted = browser.request("POST", f"{API}/cases/{case_id}/submit",
                                            headers={"Idempotency-Key": f"key-{uuid.uuid4()}"})  # fmt: skip
                assert submitted.ok, submitted.text
            cases[state] = case_id
        people[name] = {"browser": browser, "cases": cases}
    portal.relay()
    for person in people.values():
        person["postfach"] = wait_until(
            lambda person=person: person["browser"].request("GET", f"{API}/postfach").json()["messages"]
        )
    return people


def snapshot(browser, case_id):
    detail = browser.request("GET", f"{API}/cases/{case_id}").json()
    messages = browser.request("GET", f"{API}/cases/{case_id}/messages").json()["messages"]
    return detail["case"]["status"], detail["answers"], detail["documents"], messages


def test_the_case_routes_of_the_api_are_all_tried():
    assert {route.handler.__name__ for route in CASE_ROUTES} == {
        "get_case", "save_section", "submit_case", "case_timeline", "case_receipt", "withdraw_case",
        "list_messages", "post_message", "upload_document", "merge_photos", "discard_draft",
    }  # fmt: skip


@pytest.mark.parametrize("route", CASE_ROUTES, ids=lambda route: f"{route.method} {route.path}")
@pytest.mark.parametrize(("actor", "owner"), [("A", "B"), ("B", "A")])
@pytest.mark.parametrize("state", ["draft", "submitted"])
def test_a_citizen_cannot_use_another_citizens_case(citizens, route, actor, owner, state):
    stranger = citizens[actor]["browser"]
    owner_browser = citizens[owner]["browser"]
    case_id = citizens[owner]["cases"][state]
    before = snapshot(owner_browser, case_id)
    path = API + route.path.format(case_id=case_id, section_id="aenderungen")
    answer = stranger.request(route.method, path, **REQUESTS.get(route.handler.__name__, {}))
    assert answer.status_code in (403, 404), (answer.status_code, answer.text)
    assert "Muster GmbH" not in answer.text
    assert snapshot(owner_browser, case_id) == before


@pytest.mark.parametrize(("actor", "owner"), [("A", "B"), ("B", "A")])
def test_a_citizen_cannot_mark_another_citizens_postfach_message(citizens, actor, owner):
    (message,) = citizens[owner]["postfach"]
    answer = citizens[actor]["browser"].request("POST", f"{API}/postfach/{message['message_id']}/read")
    assert answer.status_code == 404
    assert citizens[owner]["browser"].request("GET", f"{API}/postfach").json()["unread"] == 1


def test_the_owner_can_use_every_read_route_of_their_own_case(citizens):
    browser = citizens["A"]["browser"]
    case_id = citizens["A"]["cases"]["submitted"]
    for route in CASE_ROUTES:
        if route.method == "GET":
            assert browser.request("GET", API + route.path.format(case_id=case_id)).status_code == 200, route.path
