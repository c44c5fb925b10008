"""Who works on a case: the inbox's category and assignee filters, taking a case, a team lead giving it to a
colleague of the same Jobcenter or (with a reason) to another gE, and the staff timeline in German."""

import pytest

from services.gateway.tests.conftest import API, wait_until
from services.gateway.tests.test_staff_api import STAFF, RoutingRelay, assigned, staff_browser, submitted_case

OTHER_GE = "jc-0001"  # Vorpommern-Greifswald, a gE of the register


@pytest.fixture(scope="module")
def relay_routing(portal):
    relay = RoutingRelay(portal)
    yield relay
    relay.close()


def inbox(browser, **filters):
    answer = browser.request("GET", f"{STAFF}/inbox", params=filters)
    assert answer.status_code == 200, answer.text
    return [row["case_id"] for row in answer.json()["cases"]]


def test_the_inbox_filters_by_vaem_category_and_by_who_works_on_the_case(portal, relay_routing):
    _, _, case_id, _ = submitted_case(portal)
    caseworker = staff_browser(portal)
    assigned(portal, relay_routing, caseworker, case_id)
    assert case_id in inbox(caseworker, category="arbeitsaufnahme", assignee="nobody")
    assert case_id in inbox(caseworker, category="einkommen")
    assert case_id not in inbox(caseworker, category="umzug")
    assert case_id not in inbox(caseworker, assignee="me")
    assert caseworker.request("POST", f"{STAFF}/cases/{case_id}/receive").status_code == 204
    assert case_id in inbox(caseworker, assignee="me", category="arbeitsaufnahme"), "receiving takes the case"
    assert case_id not in inbox(caseworker, assignee="nobody")
    opened = caseworker.request("GET", f"{STAFF}/cases/{case_id}").json()
    assert opened["assignee"]["me"] is True


def test_a_team_lead_gives_the_case_to_a_colleague_of_the_same_jobcenter_only(portal, relay_routing):
    citizen, _, case_id, _ = submitted_case(portal)
    lead = staff_browser(portal, role="team_lead")
    colleague_account = portal.staff_account()
    colleague = staff_browser(portal)
    assigned(portal, relay_routing, lead, case_id)
    staff = lead.request("GET", f"{STAFF}/colleagues").json()["staff"]
    assert colleague_account.account_id in {member["account_id"] for member in staff}
    assert all("@" in member["email"] for member in staff)

    refused = colleague.request("POST", f"{STAFF}/cases/{case_id}/assignee",
                                json={"caseworker_id": colleague_account.account_id})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ROLE_NOT_ALLOWED"
    elsewhere = portal.staff_account(institution=OTHER_GE)
    foreign = lead.request("POST", f"{STAFF}/cases/{case_id}/assignee", json={"caseworker_id": elsewhere.account_id})
    assert foreign.status_code == 400 and foreign.json()["error"]["code"] == "CASEWORKER_NOT_OF_THIS_JOBCENTER"

    given = lead.request("POST", f"{STAFF}/cases/{case_id}/assignee",
                         json={"caseworker_id": colleague_account.account_id})  # fmt: skip
    assert given.status_code == 200, given.text
    assert given.json() == {"changed": True}
    colleague_at_work = staff_browser(portal)  # another caseworker: sees the case, but it is not theirs
    assert case_id not in inbox(colleague_at_work, assignee="me")
    assert lead.request("GET", f"{STAFF}/cases/{case_id}").json()["assignee"]["email"] == colleague_account.email
    taken = colleague_at_work.request("POST", f"{STAFF}/cases/{case_id}/assignee", json={})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "CASE_TAKEN"
    events = citizen.request("GET", f"{API}/cases/{case_id}/timeline").json()["events"]
    (entry,) = [event for event in events if event["event"] == "CaseworkerAssigned"]
    assert entry["label"] == "Bearbeitung übernommen"
    assert colleague_account.account_id not in str(events) and colleague_account.email not in str(events)


def test_a_caseworker_cannot_list_the_colleagues(portal):
    caseworker = staff_browser(portal)
    assert caseworker.request("GET", f"{STAFF}/colleagues").status_code == 403


def test_a_case_given_to_another_ge_leaves_this_inbox_and_arrives_in_the_other(portal, relay_routing):
    _, _, case_id, receipt_number = submitted_case(portal)
    lead = staff_browser(portal, role="team_lead")
    assigned(portal, relay_routing, lead, case_id)
    other = staff_browser(portal, institution=OTHER_GE)
    assert case_id not in inbox(other, status="assigned")
    moved = lead.request("POST", f"{STAFF}/cases/{case_id}/reassignment",
                         json={"jobcenter_id": OTHER_GE, "reason": "Wohnt seit Oktober in Greifswald."})  # fmt: skip
    assert moved.status_code == 200, moved.text

    def arrived():
        portal.relay()
        relay_routing()
        return case_id in inbox(other, status="assigned", assignee="nobody")

    wait_until(arrived, timeout=30)
    assert case_id not in inbox(lead)
    assert lead.request("GET", f"{STAFF}/cases/{case_id}").status_code == 404
    assert inbox(other, q=receipt_number) == [case_id]
    assert other.request("GET", f"{STAFF}/cases/{case_id}").status_code == 200


def test_the_staff_timeline_names_events_in_german_without_the_draft_steps(portal, relay_routing):
    _, _, case_id, _ = submitted_case(portal)
    caseworker = staff_browser(portal)
    opened = assigned(portal, relay_routing, caseworker, case_id)
    events = [event["event"] for event in opened["timeline"]]
    assert "Submitted" in events and "Assigned" in events
    assert not {"SectionSaved", "DocumentAttached"} & set(events)
    assert all(event["label"] != event["event"] for event in opened["timeline"])
    page = caseworker.request("GET", f"/sachbearbeitung/faelle/{case_id}")
    assert "SectionSaved" not in page.text and "Abgeschickt" in page.text


def test_the_inbox_page_offers_the_category_and_assignee_filters_in_german(portal, relay_routing):
    _, _, case_id, _ = submitted_case(portal)
    caseworker = staff_browser(portal)
    assigned(portal, relay_routing, caseworker, case_id)
    page = caseworker.request("GET", "/sachbearbeitung", params={"category": "arbeitsaufnahme", "assignee": "nobody"})
    assert page.status_code == 200
    assert '<option value="arbeitsaufnahme" selected>Ich habe eine Arbeit aufgenommen</option>' in page.text
    assert "Einkommen und Arbeit: alle" in page.text and "Mir zugewiesen" in page.text
    assert case_id in page.text
    assert case_id not in caseworker.request("GET", "/sachbearbeitung", params={"category": "umzug"}).text
    case_page = caseworker.request("GET", f"/sachbearbeitung/faelle/{case_id}")
    assert "Übernehmen" in case_page.text and "noch niemandem" in case_page.text
