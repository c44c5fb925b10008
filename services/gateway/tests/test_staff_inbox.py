"""What a caseworker triages by: who the customer is, what kind of case, who works on it, when it came, its
Frist and status; sorting, a part of a receipt number, and decisions that fit the kind of case."""

import re
import secrets
from datetime import timedelta

import pytest

from services.documents.tests import samples
from services.gateway.pages import short_time
from services.gateway.tests.conftest import API, wait_until
from services.gateway.tests.test_pages import csrf_of, post_form
from services.gateway.tests.test_staff_api import STAFF, RoutingRelay, assigned, staff_browser, submitted_case
from services.gateway.tests.test_staff_pages import log_in_on_pages
from shared.dates import german_today

INBOX = "/sachbearbeitung"


@pytest.fixture(scope="module")
def triage(portal):
    """Two assigned Arbeitsaufnahmen of customers with a Kundennummer; the caseworker took the first."""
    relay = RoutingRelay(portal)
    caseworker_account = portal.staff_account()
    api = staff_browser(portal)
    cases = []
    for _ in range(2):
        number = f"922E{secrets.randbelow(10**6):06d}"
        citizen, _account, case_id, receipt_number = submitted_case(portal, number)
        assigned(portal, relay, api, case_id)
        cases.append({"citizen": citizen, "case_id": case_id, "receipt_number": receipt_number, "number": number})
    desk, _landed = log_in_on_pages(portal, caseworker_account)
    taken = post_form(desk, f"{INBOX}/faelle/{cases[0]['case_id']}/erhalten",
                      desk.request("GET", f"{INBOX}/faelle/{cases[0]['case_id']}").text)  # fmt: skip
    assert taken.status_code == 200, taken.text
    yield {"cases": cases, "desk": desk, "api": api, "caseworker": caseworker_account, "relay": relay}
    relay.close()


def rows(browser, **params):
    answer = browser.request("GET", f"{STAFF}/inbox", params=params)
    assert answer.status_code == 200, answer.text
    return {row["case_id"]: row for row in answer.json()["cases"]}


def test_the_inbox_rows_name_the_customers_kundennummer_and_the_assignee_but_never_the_owners_id(triage):
    first, second = triage["cases"]
    listed = rows(triage["api"], q=first["number"])
    row = listed[first["case_id"]]
    assert row["customer_number"] == first["number"]
    assert row["assignee_name"] == triage["caseworker"].email  # no display name given: the work address
    assert "owner_id" not in row
    assert rows(triage["api"])[second["case_id"]]["assignee_name"] is None


def test_the_inbox_page_shows_kind_change_assignee_berlin_time_frist_and_status(triage):
    first, second = triage["cases"]
    page = triage["desk"].request("GET", INBOX, params={"sort": "due"})
    assert page.status_code == 200
    for header in ("Vorgang", "Art", "Zuständig", "Eingegangen", "Frist", "Stand"):
        assert f">{header}<" in page.text, header
    assert f"Kundennummer {first['number']}" in page.text and f"Kundennummer {second['number']}" in page.text
    assert re.search(r'<td data-label="Art">Veränderungsmitteilung:\s+Ich habe eine Arbeit aufgenommen</td>', page.text)
    assert re.search(r'<td data-label="Zuständig">Sie</td>', page.text)
    assert re.search(r'<td data-label="Frist">Eingang bestätigen bis \d\d\.\d\d\.\d{4}', page.text)
    # the receipt time in German time, never a UTC slice
    submitted = rows(triage["api"])[second["case_id"]]["submitted_at"]
    assert f'<time datetime="{submitted}">{short_time(submitted)}</time>' in page.text


def test_sorting_by_frist_puts_the_next_deadline_first_and_the_headers_say_how_it_is_sorted(triage):
    first, second = triage["cases"]
    due = (german_today() + timedelta(days=2)).isoformat()
    asked = triage["api"].request("POST", f"{STAFF}/cases/{first['case_id']}/document-requests",
                                  json={"items": ["lohnabrechnung_erste"], "due_date": due})  # fmt: skip
    assert asked.status_code == 204, asked.text
    by_due = list(rows(triage["api"], sort="due").values())
    with_frist = [row["due_on"] for row in by_due if row["due_on"]]
    assert with_frist == sorted(with_frist)
    assert [row["due_on"] for row in by_due] == with_frist + [None] * (len(by_due) - len(with_frist))
    mine = next(row for row in by_due if row["case_id"] == first["case_id"])
    assert (mine["due_on"], mine["due_kind"]) == (due, "documents")
    page = triage["desk"].request("GET", INBOX, params={"sort": "due"})
    assert 'aria-sort="ascending"><a href="/sachbearbeitung?sort=due">Frist' in page.text
    assert "Vorgänge nach Frist, die nächste zuerst" in page.text
    assert f"Unterlagen bis {german_today() + timedelta(days=2):%d.%m.%Y}" in page.text
    by_status = [row["status"] for row in rows(triage["api"], sort="status").values()]
    order = ["assigned", "received", "in_progress", "waiting_for_documents", "decided", "closed"]
    assert by_status == sorted(by_status, key=lambda status: order.index(status) if status in order else 9)
    refused = triage["api"].request("GET", f"{STAFF}/inbox", params={"sort": "name"})
    assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "sort"


def test_a_part_of_the_receipt_number_finds_the_case_on_the_page_and_through_the_api(triage):
    first, second = triage["cases"]
    part = first["receipt_number"][-4:]
    page = triage["desk"].request("GET", INBOX, params={"q": part.lower()})
    assert page.status_code == 200, page.text
    assert first["receipt_number"] in page.text and "Keine Vorgänge gefunden" not in page.text
    found = rows(triage["api"], q=part)
    assert first["case_id"] in found and all(part in row["receipt_number"] for row in found.values())


def test_another_jobcenter_finds_nothing_by_a_part_of_the_receipt_number_or_the_kundennummer(triage, portal):
    first, _ = triage["cases"]
    stranger = staff_browser(portal, institution="jc-0001")
    assert first["case_id"] not in rows(stranger, q=first["receipt_number"][-4:])
    assert rows(stranger, q=first["number"]) == {}


def test_the_case_page_and_the_api_name_the_customers_kundennummer(triage):
    first, _ = triage["cases"]
    page = triage["desk"].request("GET", f"{INBOX}/faelle/{first['case_id']}")
    assert f'<dd id="kundennummer">{first["number"]}</dd>' in page.text
    detail = triage["api"].request("GET", f"{STAFF}/cases/{first['case_id']}").json()
    assert detail["customer"] == {"customer_number": first["number"]}
    assert "owner_id" not in detail["case"]


def test_a_document_request_offers_a_due_date_in_two_weeks_as_a_german_date(triage):
    _, second = triage["cases"]
    desk, path = triage["desk"], f"{INBOX}/faelle/{second['case_id']}"
    post_form(desk, f"{path}/erhalten", desk.request("GET", path).text)
    form = desk.request("GET", f"{path}/unterlagen").text
    assert f'value="{german_today() + timedelta(days=14):%d.%m.%Y}"' in form
    requested = post_form(desk, f"{path}/unterlagen", form, items="lohnabrechnung_erste",
                          due_date=f"{german_today() + timedelta(days=14):%d.%m.%Y}")  # fmt: skip
    assert requested.url.endswith(f"{path}?erledigt=angefordert#verlauf"), requested.text
    assert "Die Unterlagen sind angefordert" in requested.text


def test_a_vaem_is_decided_by_aenderungsbescheid_aufhebungsbescheid_or_no_change_never_bewilligt(triage, portal):
    first, _ = triage["cases"]
    desk, api, path = triage["desk"], triage["api"], f"{INBOX}/faelle/{first['case_id']}"
    assert api.request("POST", f"{STAFF}/cases/{first['case_id']}/start-processing").status_code in (204, 409)
    form = desk.request("GET", f"{path}/entscheidung").text
    offered = re.findall(r'name="outcome" value="([a-z_]+)"', form)
    assert offered == ["amended", "revoked", "unchanged"]
    for label in ("Änderungsbescheid", "Aufhebungsbescheid", "Keine Änderung"):
        assert f">{label}</label>" in form
    assert "Bewilligt" not in form and "Bewilligungszeitraum" not in form
    bescheid = api.request(
        "POST", f"{STAFF}/cases/{first['case_id']}/bescheid", params={"filename": "Bescheid.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    ).json()["document_id"]  # fmt: skip
    wrong = api.request("POST", f"{STAFF}/cases/{first['case_id']}/decision",
                        json={"outcome": "approved", "bescheid_document_id": bescheid})  # fmt: skip
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "OUTCOME_UNKNOWN"
    needs_one = api.request("POST", f"{STAFF}/cases/{first['case_id']}/decision", json={"outcome": "amended"})
    assert needs_one.status_code == 400 and needs_one.json()["error"]["code"] == "BESCHEID_REQUIRED"
    # Nothing changes: no Bescheid, so none is needed (and no delivery date or appeal follows).
    decided = api.request("POST", f"{STAFF}/cases/{first['case_id']}/decision", json={"outcome": "unchanged"})
    assert decided.status_code == 204, decided.text
    page = desk.request("GET", path).text
    assert "<dt>Ergebnis</dt><dd>Keine Änderung</dd>" in page
    assert "<dt>Bescheid</dt>" not in page and "bekannt gegeben" not in page

    def told() -> list[dict]:
        portal.relay()  # submissions' outbox, driven by hand here
        messages = first["citizen"].request("GET", f"{API}/postfach").json()["messages"]
        return [m for m in messages if m["case_id"] == first["case_id"] and m["kind"] == "no_change"]

    (message,) = wait_until(told, timeout=30)
    assert message["subject"] == "Ihre Mitteilung ist bearbeitet" and "ändert sich dadurch nichts" in message["body"]
    assert message["attachments"] == [] and message["bekanntgabe"] is None and message["legal_delivery_date"] is None
    postfach = first["citizen"].request("GET", "/postfach").text
    assert "Ihre Mitteilung ist bearbeitet" in postfach and "Bescheid herunterladen" not in postfach
    citizen_page = first["citizen"].request("GET", f"/antraege/{first['case_id']}").text
    assert "Ergebnis: <strong>Keine Änderung: Ihre Leistung bleibt, wie sie ist</strong>" in citizen_page
    assert (
        first["citizen"].request("GET", f"{API}/cases/{first['case_id']}").json()["case"]["decision"]["outcome"]
        == "unchanged"
    )


def test_a_team_lead_handing_a_case_to_another_ge_is_told_so_in_the_inbox(triage, portal):
    _, _, case_id, receipt_number = submitted_case(portal)
    assigned(portal, triage["relay"], triage["api"], case_id)
    lead, _landed = log_in_on_pages(portal, portal.staff_account("team_lead"))
    form = lead.request("GET", f"{INBOX}/faelle/{case_id}/abgabe").text
    handed = post_form(lead, f"{INBOX}/faelle/{case_id}/abgabe", form, jobcenter_id="jc-0001",
                       reason="Umzug nach Vorpommern-Greifswald")  # fmt: skip
    assert handed.url.endswith(f"{INBOX}?erledigt=abgegeben"), handed.text
    assert '<div class="notice" role="status" id="erledigt"><p>Der Vorgang ist an das andere Jobcenter abgegeben' in (
        handed.text
    )


def test_no_change_is_decided_on_the_page_without_a_file_any_other_decision_still_asks_for_the_bescheid(triage, portal):
    _, _, case_id, _ = submitted_case(portal)
    desk, api, path = triage["desk"], triage["api"], f"{INBOX}/faelle/{case_id}"
    assigned(portal, triage["relay"], api, case_id)
    for step in ("receive", "start-processing"):
        assert api.request("POST", f"{STAFF}/cases/{case_id}/{step}").status_code == 204
    form = desk.request("GET", f"{path}/entscheidung").text
    assert "Bei „Keine Änderung“ ist ein Schreiben freiwillig." in form
    empty_file = ("", b"", "application/octet-stream")
    refused = desk.request("POST", f"{path}/entscheidung", csrf=False, files={
        "csrf_token": (None, csrf_of(form)), "outcome": (None, "revoked"), "bescheid": empty_file})  # fmt: skip
    assert refused.status_code == 400 and "Bescheid als PDF-Datei" in refused.text
    decided = desk.request("POST", f"{path}/entscheidung", csrf=False, files={
        "csrf_token": (None, csrf_of(form)), "outcome": (None, "unchanged"), "bescheid": empty_file})  # fmt: skip
    assert decided.url.endswith(f"{path}?erledigt=entschieden#entscheidung"), decided.text
    assert "<dt>Ergebnis</dt><dd>Keine Änderung</dd>" in decided.text and "<dt>Bescheid</dt>" not in decided.text
