"""The caseworker's pages without JavaScript: login with TOTP, inbox, case page, actions, access record."""

import re
import uuid
from datetime import timedelta

import pytest

from services.documents.tests import samples
from services.gateway import staff
from services.gateway.tests.conftest import API, PASSWORD, Browser, wait_until
from services.gateway.tests.test_pages import csrf_of, found, post_form
from services.gateway.tests.test_staff_api import assigned, relay_routing, submitted_case  # noqa: F401 - fixture
from services.identity.operations import current_totp
from shared.dates import german_today
from shared.errors import Forbidden

INBOX = "/sachbearbeitung"


def log_in_on_pages(portal, account):
    """Password, then the TOTP code, through the login pages; returns the browser and the page it lands on."""
    browser = Browser(portal)
    login_page = browser.request("GET", "/anmelden").text
    code_page = post_form(browser, "/anmelden", login_page, email=account.email, password=PASSWORD)
    ticket = found(r'name="login_ticket" value="([^"]+)"', code_page.text)
    landed = post_form(browser, "/anmelden/code", code_page.text, login_ticket=ticket,
                       code=current_totp(account.totp_secret))  # fmt: skip
    return browser, landed


@pytest.fixture(scope="module")
def desk(portal, relay_routing):  # noqa: F811 - the fixture imported above
    """A submitted, assigned Arbeitsaufnahme and a caseworker of Treptow-Köpenick logged in on the pages."""
    citizen, _account, case_id, receipt_number = submitted_case(portal)
    for channel in ("postfach_bescheide", "email_alerts"):  # the Bescheid in the Postfach, with an e-mail notice
        assert citizen.request("PUT", f"{API}/consents/{channel}", json={"granted": True}).status_code == 200
    caseworker, landed = log_in_on_pages(portal, portal.staff_account())
    api = Browser(portal)
    api.log_in(portal.staff_account())
    assigned(portal, relay_routing, api, case_id)
    return {"citizen": citizen, "caseworker": caseworker, "landed": landed, "case_id": case_id,
            "receipt_number": receipt_number}  # fmt: skip


def case_path(desk):
    return f"{INBOX}/faelle/{desk['case_id']}"


def test_staff_land_on_the_inbox_after_login_with_totp(desk):
    assert desk["landed"].url.endswith(INBOX), desk["landed"].text
    assert "<h1>Posteingang</h1>" in desk["landed"].text
    assert "Jobcenter Berlin Treptow-Köpenick" in desk["landed"].text


def test_the_inbox_lists_the_new_case_with_filters_counts_and_the_documented_shortcuts(desk):
    page = desk["caseworker"].request("GET", INBOX, params={"status": "assigned", "kind": "veraenderungsmitteilung"})
    assert page.status_code == 200
    assert desk["receipt_number"] in page.text
    assert re.search(r"Neu \(Eingang noch nicht bestätigt\): [1-9]", page.text)
    assert "Tastenkürzel" in page.text and '<script src="/static/staff.js" defer></script>' in page.text
    assert " style=" not in page.text and "onclick" not in page.text


def test_the_inbox_searches_by_receipt_number_and_explains_a_malformed_search(desk):
    browser = desk["caseworker"]
    hit = browser.request("GET", INBOX, params={"q": desk["receipt_number"].lower()})
    assert desk["case_id"] in hit.text
    wrong = browser.request("GET", INBOX, params={"q": "Müller?"})
    assert wrong.status_code == 400
    assert "Eingangsnummer (JC-2026-XXXX-XXXX)" in wrong.text


def test_the_case_page_lays_out_the_answers_with_the_forms_labels_and_previews_the_contract(desk):
    page = desk["caseworker"].request("GET", case_path(desk))
    assert page.status_code == 200
    assert "Muster GmbH" in page.text and "Arbeitgeber" in page.text
    # the same words as on the receipt (services/submissions/presentation.py), never the raw values
    for shown in (
        "<dt>Beginn der Arbeit</dt><dd>01.12.2026</dd>",
        "<dd>2.400,00 €</dd>",
        "<dd>1.710,55 €</dd>",
        "<dt>Bezirk in Berlin</dt><dd>Treptow-Köpenick</dd>",
        "<dd>Ich habe eine Arbeit aufgenommen</dd>",
    ):
        assert shown in page.text, shown
    for raw in ("2400.0", "<dd>2026-12-01</dd>", "<dd>09</dd>", "<dd>True</dd>"):
        assert raw not in page.text, raw
    (link,) = re.findall(r'<iframe src="([^"]+)"', page.text)
    assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
    preview = desk["caseworker"].request("GET", link)
    assert preview.status_code == 200 and preview.content == samples.pdf()
    assert preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    download = desk["caseworker"].request("GET", link, params={"download": "1"})
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_actions_receive_request_documents_with_errors_and_decide_with_a_bescheid(desk, portal):
    browser, path = desk["caseworker"], case_path(desk)
    received = post_form(browser, f"{path}/erhalten", browser.request("GET", path).text)
    assert received.url.endswith(f"{path}?erledigt=erhalten") and '<dd id="stand">Eingegangen</dd>' in received.text
    assert '<div class="notice" role="status" id="erledigt"><p>Eingang bestätigt.</p></div>' in received.text
    form = browser.request("GET", f"{path}/unterlagen").text
    refused = post_form(browser, f"{path}/unterlagen", form, items="lohnabrechnung_erste", due_date="2020-01-01")
    assert refused.status_code == 400
    assert 'class="error-summary"' in refused.text and "Die Frist muss in der Zukunft liegen." in refused.text
    due = (german_today() + timedelta(days=10)).isoformat()
    requested = post_form(browser, f"{path}/unterlagen", form, items="lohnabrechnung_erste", due_date=due)
    assert requested.status_code == 200 and '<dd id="stand">Unterlagen angefordert</dd>' in requested.text
    decide_form = browser.request("GET", f"{path}/entscheidung").text
    without_file = browser.request(
        "POST", f"{path}/entscheidung", csrf=False,
        files={"csrf_token": (None, csrf_of(decide_form)), "outcome": (None, "amended"),
               "bescheid": ("", b"", "application/octet-stream")},
    )  # fmt: skip
    assert without_file.status_code == 400 and "Bescheid als PDF-Datei" in without_file.text
    decided = browser.request(
        "POST", f"{path}/entscheidung", csrf=False,
        files={"csrf_token": (None, csrf_of(decide_form)), "outcome": (None, "amended"),
               "bescheid": ("Bescheid.pdf", samples.pdf(), "application/pdf")},
    )  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert decided.url.endswith(f"{path}?erledigt=entschieden#entscheidung") and "Änderungsbescheid" in decided.text
    assert "Die Entscheidung ist gespeichert" in decided.text


def test_the_case_page_tells_when_the_bescheid_counts_as_made_known_and_records_a_denied_notice(desk, portal):
    """§ 37 (2a) SGB X on the case page: the fourth day after the e-mail notice, until the notice is denied."""
    browser, path = desk["caseworker"], case_path(desk)

    def with_notice():
        portal.relay()
        page = browser.request("GET", path).text
        return page if "am vierten Tag nach der E-Mail-Benachrichtigung" in page else None

    page = wait_until(with_notice, timeout=30)
    assert "Widerspruch möglich bis" in page
    denied = post_form(browser, f"{path}/bekanntgabe/bestritten", page,
                       message_id=found(r'name="message_id" value="([^"]+)"', page))  # fmt: skip
    assert denied.status_code == 200 and denied.url.endswith(f"{path}?erledigt=bestritten#entscheidung")
    assert "Noch nicht bekannt gegeben" in denied.text
    assert "der Zugang der E-Mail-Benachrichtigung ist bestritten" in denied.text
    assert "bekanntgabe/bestritten" not in denied.text  # recorded once; nothing more to deny


def test_an_action_without_the_csrf_token_is_refused(desk):
    answer = desk["caseworker"].request("POST", f"{case_path(desk)}/erhalten", csrf=False, data={})
    assert answer.status_code == 403


def test_a_citizen_gets_403_on_the_staff_pages(desk):
    for path in (INBOX, case_path(desk), "/verwaltung/zugriffe"):
        assert desk["citizen"].request("GET", path).status_code == 403


def test_a_caseworker_of_another_jobcenter_finds_neither_the_case_nor_its_receipt_number(desk, portal):
    stranger, _ = log_in_on_pages(portal, portal.staff_account(institution="jc-0001"))
    assert stranger.request("GET", case_path(desk)).status_code == 404
    listed = stranger.request("GET", INBOX, params={"q": desk["receipt_number"]})
    assert listed.status_code == 200 and desk["case_id"] not in listed.text


def test_an_admin_sees_the_access_record_of_the_case(desk, portal):
    admin, landed = log_in_on_pages(portal, portal.staff_account("admin", None))
    assert landed.url.endswith("/verwaltung/zugriffe")
    page = admin.request("GET", "/verwaltung/zugriffe", params={"vorgang": desk["case_id"]})
    assert page.status_code == 200
    assert page.text.count(desk["case_id"]) >= 2  # the search field and at least one view
    assert "download" in page.text


def test_the_access_record_finds_a_case_by_receipt_number_names_roles_filters_days_and_explains_misses(desk, portal):
    caseworker = desk["caseworker"]
    for _ in range(3):  # reloads of the page are one opening
        caseworker.request("GET", case_path(desk))
    lead, _ = log_in_on_pages(portal, portal.staff_account("team_lead", "jc-0394"))
    page = lead.request("GET", "/verwaltung/zugriffe", params={"vorgang": desk["receipt_number"].lower()})
    assert page.status_code == 200 and "Gelesene Dokumente dieses Vorgangs" in page.text
    views = page.text.split("Gelesene Dokumente")[0]
    rows = re.findall(r"<tr><td><time[^>]*>([^<]+)</time></td><td>([^<]+)</td><td>([^<]+)</td>", views)
    assert rows and all("@" in name for _, name, _ in rows), rows  # colleagues by their address, not by an id
    assert {role for _, _, role in rows} <= {"Sachbearbeitung", "Teamleitung"}
    assert all(re.fullmatch(r"\d\d\.\d\d\.20\d\d \d\d:\d\d", when) for when, _, _ in rows)
    names = [name for _, name, _ in rows]
    assert len(names) == len(set(names))  # three reloads within five minutes: one opening each
    today = german_today().strftime("%d.%m.%Y")
    yesterday = (german_today() - timedelta(days=1)).strftime("%d.%m.%Y")
    assert desk["case_id"] in lead.request("GET", "/verwaltung/zugriffe", params={"von": today, "bis": today}).text
    earlier = lead.request("GET", "/verwaltung/zugriffe", params={"von": yesterday, "bis": yesterday}).text
    assert "Keine Zugriffe." in earlier
    unknown = lead.request("GET", "/verwaltung/zugriffe", params={"vorgang": "JC-2026-ZZZZ-ZZZZ"})
    assert unknown.status_code == 404 and "keinen Vorgang" in unknown.text and 'id="vorgang"' in unknown.text
    malformed = lead.request("GET", "/verwaltung/zugriffe", params={"von": "gestern"})
    assert malformed.status_code == 400 and "TT.MM.JJJJ" in malformed.text


class Claims:
    def __init__(self, claims):
        self.claims = claims

    def call(self, service, method, *args, timeout=None):
        assert (service, method) == ("identity", "verify_access_token")
        return self.claims


def test_a_staff_session_without_a_second_factor_is_refused():
    claims = {"account_id": str(uuid.uuid4()), "role": "caseworker", "institution_id": "jc-0394", "amr": ["pwd"]}
    with pytest.raises(Forbidden) as refused:
        staff.staff_member(Claims(claims), "token")
    assert refused.value.code == "SECOND_FACTOR_REQUIRED"
    assert staff.staff_member(Claims({**claims, "amr": ["pwd", "otp", "mfa"]}), "token").role == "caseworker"
