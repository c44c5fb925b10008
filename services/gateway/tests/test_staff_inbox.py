"""What a caseworker triages by: who the customer is, what kind of case, who works on it, when it came, its
Frist and status; sorting, a part of a receipt number, and decisions that fit the kind of case."""

import re
import secrets
import string
from datetime import timedelta

import pytest

from services.documents.tests import samples
from services.gateway.pages import short_time
from services.gateway.tests.conftest import API, limits_lifted, wait_until
from services.gateway.tests.test_pages import csrf_of, post_form
from services.gateway.tests.test_staff_api import STAFF, RoutingRelay, assigned, staff_browser, submitted_case
from services.gateway.tests.test_staff_pages import log_in_on_pages
from shared.dates import german_today

INBOX = "/sachbearbeitung"


def unique_word() -> str:
    """Letters only (a name has no digits), so that this module's customer is the only one found by it."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(8))


@pytest.fixture(scope="module")
def triage(portal):
    """Two assigned Arbeitsaufnahmen of customers with a Kundennummer, the first named at registration, the
    second without a name (an account made before names were asked); the caseworker took the first."""
    relay = RoutingRelay(portal)
    caseworker_account = portal.staff_account()
    api = staff_browser(portal)
    cases = []
    tag = unique_word()
    for name in (("Jürgen", f"Mü{tag}-Lüdenscheidt"), None):
        number = f"922E{secrets.randbelow(10**6):06d}"
        citizen, _account, case_id, receipt_number = submitted_case(portal, number, name)
        assigned(portal, relay, api, case_id)
        cases.append({"citizen": citizen, "case_id": case_id, "receipt_number": receipt_number, "number": number,
                      "name": name, "tag": tag})  # fmt: skip
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


def test_the_case_page_and_the_api_name_the_customers_name_and_kundennummer_under_the_heading(triage):
    first, second = triage["cases"]
    family = f"Mü{first['tag']}-Lüdenscheidt"
    page = triage["desk"].request("GET", f"{INBOX}/faelle/{first['case_id']}")
    heading_and_customer = re.search(r"</h1>\s*<p class=\"customer\" id=\"kunde\">(.*?)</p>", page.text, re.S)
    assert heading_and_customer is not None, page.text
    assert f'<span id="kundenname">{family}, Jürgen</span>' in heading_and_customer.group(1)
    assert f'Kundennummer <span id="kundennummer">{first["number"]}</span>' in heading_and_customer.group(1)
    assert f"Vorgang {first['receipt_number']}" in page.text.split("</title>")[0]  # the name stays out of the title
    assert family not in page.text.split("</title>")[0]
    detail = triage["api"].request("GET", f"{STAFF}/cases/{first['case_id']}").json()
    assert detail["customer"] == {"customer_number": first["number"], "customer_name": f"{family}, Jürgen"}
    assert "owner_id" not in detail["case"]
    unnamed = triage["desk"].request("GET", f"{INBOX}/faelle/{second['case_id']}")
    assert '<span id="kundenname">Name nicht angegeben</span>' in unnamed.text
    unnamed_detail = triage["api"].request("GET", f"{STAFF}/cases/{second['case_id']}").json()
    assert unnamed_detail["customer"] == {"customer_number": second["number"], "customer_name": None}


def test_the_inbox_has_a_name_column_nachname_vorname_or_nicht_angegeben(triage):
    first, second = triage["cases"]
    page = triage["desk"].request("GET", INBOX)
    assert '<th scope="col">Name</th>' in page.text
    assert f'<td data-label="Name">Mü{first["tag"]}-Lüdenscheidt, Jürgen</td>' in page.text
    second_row = re.search(rf'(?s)<tr>\s*<td data-label="Vorgang">[^<]*<a [^>]*>{second["receipt_number"]}</a>.*?</tr>',
                           page.text)  # fmt: skip
    assert second_row is not None and '<td data-label="Name">nicht angegeben</td>' in second_row.group(0)
    listed = rows(triage["api"])
    assert listed[first["case_id"]]["customer_name"] == f"Mü{first['tag']}-Lüdenscheidt, Jürgen"
    assert listed[second["case_id"]]["customer_name"] is None


def test_the_start_of_a_name_finds_the_customers_cases_without_case_or_accents(triage):
    first, second = triage["cases"]
    tag = first["tag"]
    for typed in (f"mu{tag}", f"MÜ{tag.upper()}", f"jürgen mu{tag}", f"Mü{tag}-Lü"):
        found = triage["api"].request("GET", f"{STAFF}/inbox", params={"q": typed}).json()
        assert [row["case_id"] for row in found["cases"]] == [first["case_id"]], typed
        assert found["search"] == "name"
    page = triage["desk"].request("GET", INBOX, params={"q": f"Müq{tag[:3]}"})  # no name starts so
    assert page.status_code == 200 and "Keine Vorgänge gefunden" in page.text
    assert "Kundinnen und Kunden, die ihren Namen nicht angegeben haben, finden Sie über die Kundennummer" in page.text
    found_on_page = triage["desk"].request("GET", INBOX, params={"q": f"mu{tag}"})
    assert first["receipt_number"] in found_on_page.text and second["receipt_number"] not in found_on_page.text


def test_another_jobcenter_finds_nothing_by_the_customers_name(triage, portal):
    first, _ = triage["cases"]
    stranger = staff_browser(portal, institution="jc-0001")
    assert rows(stranger, q=f"mu{first['tag']}") == {}


def test_letters_no_name_starts_with_search_a_part_of_the_receipt_number(triage):
    """ "JC" may be a name's start or a part of every receipt number: as no customer's name starts so, the part."""
    found = rows(triage["api"], q="jc")
    assert {case["case_id"] for case in triage["cases"]} <= set(found)


def test_a_search_that_is_no_receipt_number_kundennummer_or_name_is_explained(triage):
    refused = triage["api"].request("GET", f"{STAFF}/inbox", params={"q": "Müller 3"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "SEARCH_INVALID"
    assert "den Anfang eines Namens" in refused.json()["error"]["message"]
    page = triage["desk"].request("GET", INBOX, params={"q": "#?"})
    assert page.status_code == 400 and "den Anfang eines Namens (mindestens 2 Buchstaben, ohne Ziffern)" in page.text
    assert "Eingangsnummer, Kundennummer oder Name" in page.text


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
    case_page = first["citizen"].request("GET", f"/antraege/{first['case_id']}").text
    assert "Die Nachricht dazu finden Sie in Ihrem Postfach." in case_page and "/anhang/" not in case_page
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
    assert '<option value="jc-0001">Jobcenter Vorpommern-Greifswald</option>' in form  # chosen by name
    assert '<option value="jc-0394">' not in form  # not its own
    unknown = post_form(lead, f"{INBOX}/faelle/{case_id}/abgabe", form, jobcenter_id="jc-9999",
                        reason="Umzug nach Vorpommern-Greifswald")  # fmt: skip
    assert unknown.status_code == 400 and 'id="jobcenter_id-fehler"' in unknown.text
    assert "Umzug nach Vorpommern-Greifswald</textarea>" in unknown.text  # the reason stays
    handed = post_form(lead, f"{INBOX}/faelle/{case_id}/abgabe", form, jobcenter_id="jc-0001",
                       reason="Umzug nach Vorpommern-Greifswald")  # fmt: skip
    assert handed.url.endswith(f"{INBOX}?erledigt=abgegeben"), handed.text
    assert '<div class="notice" role="status" id="erledigt"><p>Der Vorgang ist an das andere Jobcenter abgegeben' in (
        handed.text
    )


def test_no_change_is_decided_on_the_page_without_a_file_any_other_decision_still_asks_for_the_bescheid(triage, portal):
    # Its decision pages count against the per-address upload limit; lifted here, its hits forgotten after.
    with limits_lifted(portal):
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


def test_a_name_shared_by_several_customers_finds_the_cases_of_each(triage, portal):
    tag = unique_word()
    cases = []
    for given in ("Anna", "Bert"):
        _citizen, _account, case_id, _receipt = submitted_case(
            portal, f"922E{secrets.randbelow(10**6):06d}", (given, f"{tag.capitalize()}-Brandt")
        )
        assigned(portal, triage["relay"], triage["api"], case_id)
        cases.append(case_id)
    assert set(rows(triage["api"], q=tag)) == set(cases)
    assert set(rows(triage["api"], q=f"bert {tag}")) == {cases[1]}
