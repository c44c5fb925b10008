"""The citizen's pages without JavaScript: login with TOTP, the Arbeitsaufnahme story, errors, legal pages."""

import re

import pytest

from services.documents.tests import samples
from services.gateway.tests.conftest import PASSWORD, Browser, wait_until
from services.identity.operations import current_totp


def found(pattern, text):
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


def csrf_of(html):
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def post_form(browser, path, html, **fields):
    return browser.request("POST", path, csrf=False, data={"csrf_token": csrf_of(html), **fields}, allow_redirects=True)


@pytest.fixture(scope="module")
def citizen(portal):
    browser = Browser(portal)
    account = portal.account()
    login_page = browser.request("GET", "/anmelden").text
    code_page = post_form(browser, "/anmelden", login_page, email=account.email, password=PASSWORD)
    assert code_page.status_code == 200 and "Code eingeben" in code_page.text
    ticket = found(r'name="login_ticket" value="([^"]+)"', code_page.text)
    dashboard = post_form(browser, "/anmelden/code", code_page.text, login_ticket=ticket,
                          code=current_totp(account.totp_secret))  # fmt: skip
    assert dashboard.url.endswith("/uebersicht"), dashboard.text
    return browser


def test_the_arbeitsaufnahme_is_reported_step_by_step_and_ends_with_a_receipt(citizen, portal):
    dashboard = citizen.request("GET", "/uebersicht").text
    step = post_form(citizen, "/antraege", dashboard, kind="veraenderungsmitteilung")
    assert step.url.endswith("/abschnitt/aenderungen")
    step = post_form(citizen, step.url.split(citizen.portal.base)[1], step.text, aenderungen="arbeitsaufnahme")
    assert step.url.endswith("/abschnitt/wohnsitz"), step.text
    step = post_form(citizen, step.url.split(portal.base)[1], step.text, plz="12555", ort="Berlin",
                     strasse="Bahnhofstraße", hausnummer="1", berlin_bezirk="09")  # fmt: skip
    assert step.url.endswith("/abschnitt/arbeitsaufnahme"), step.text
    step = post_form(citizen, step.url.split(portal.base)[1], step.text, arbeitgeber="Muster GmbH",
                     beginn="2026-12-01", wochenstunden="30", brutto_monatlich="2400",
                     netto_monatlich="1710,55")  # fmt: skip
    assert step.url.endswith("/abschnitt/erklaerung"), step.text
    checklist = post_form(citizen, step.url.split(portal.base)[1], step.text, wahrheitsgemaess="on")
    assert checklist.url.endswith("/nachweise"), checklist.text
    assert "Arbeitsvertrag" in checklist.text
    case_path = checklist.url.split(portal.base)[1].rsplit("/", 1)[0]

    uploaded = citizen.request(
        "POST", f"{case_path}/nachweise", csrf=False,
        data={"csrf_token": csrf_of(checklist.text), "nachweis": "arbeitsvertrag"},
        files={"datei": ("Arbeitsvertrag.pdf", samples.pdf(), "application/pdf")},
    )  # fmt: skip
    assert uploaded.status_code == 200, uploaded.text
    assert "Arbeitsvertrag: <strong>hochgeladen</strong>" in uploaded.text

    review = citizen.request("GET", f"{case_path}/pruefen")
    assert "Muster GmbH" in review.text
    key = found(r'name="idempotency_key" value="([^"]+)"', review.text)
    case_page = post_form(citizen, f"{case_path}/absenden", review.text, idempotency_key=key)
    receipt_number = found(r"Eingangsnummer: <strong>(JC-[\w-]+)</strong>", case_page.text)

    again = post_form(citizen, f"{case_path}/absenden", review.text, idempotency_key=key)
    assert receipt_number in again.text  # a second click on the same page changes nothing

    pdf = citizen.request("GET", f"{case_path}/eingangsbestaetigung.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    portal.relay()

    def postfach_with_news():
        page = citizen.request("GET", "/postfach").text
        return page if "neu" in page else None

    assert "1 ungelesen" in wait_until(postfach_with_news)


def test_a_wrong_answer_is_explained_in_german_next_to_its_field(citizen, portal):
    dashboard = citizen.request("GET", "/uebersicht").text
    step = post_form(citizen, "/antraege", dashboard, kind="veraenderungsmitteilung")
    path = step.url.split(portal.base)[1].replace("aenderungen", "wohnsitz")
    page = citizen.request("GET", path)
    answer = post_form(citizen, path, page.text, plz="12a", ort="Berlin", strasse="A", hausnummer="1")
    assert answer.status_code == 400
    assert 'class="error-summary"' in answer.text
    assert 'href="#feld-plz"' in answer.text
    assert 'id="plz-fehler"' in answer.text and 'aria-invalid="true"' in answer.text
    assert "Postleitzahl" in answer.text


def test_a_page_form_without_its_csrf_token_is_refused(citizen):
    answer = citizen.request("POST", "/antraege", csrf=False, data={"kind": "veraenderungsmitteilung"})
    assert answer.status_code == 403
    assert "nicht bestätigt" in answer.text


def test_a_personal_page_without_a_session_leads_to_the_login(portal):
    answer = Browser(portal).request("GET", "/uebersicht", allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/anmelden"


@pytest.mark.parametrize(
    "path", ["/", "/anmelden", "/impressum", "/datenschutz", "/barrierefreiheit", "/informationen",
             "/informationen/alleinerziehende"],
)  # fmt: skip
def test_public_pages_are_german_html_without_inline_script(portal, path):
    answer = Browser(portal).request("GET", path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert '<html lang="de">' in answer.text
    assert "<script" not in answer.text and " style=" not in answer.text and "onclick" not in answer.text
    assert 'href="#inhalt"' in answer.text


def test_the_personal_pages_render_without_inline_script(citizen):
    for path in ("/uebersicht", "/postfach", "/einstellungen", "/mein-jobcenter"):
        answer = citizen.request("GET", path)
        assert answer.status_code == 200, path
        assert "<script" not in answer.text
        assert answer.headers["Cache-Control"] == "no-store"


def test_consents_are_saved_from_the_settings_page(citizen):
    page = citizen.request("GET", "/einstellungen").text
    saved = post_form(citizen, "/einstellungen", page, email_alerts="on")
    assert "gespeichert" in saved.text
    assert re.search(r'id="email_alerts" name="email_alerts" checked', saved.text)
    assert not re.search(r'id="paper" name="paper" checked', saved.text)


def test_an_unknown_page_is_a_german_404(portal):
    answer = Browser(portal).request("GET", "/gibt-es-nicht")
    assert answer.status_code == 404
    assert "Diese Seite gibt es nicht." in answer.text


def test_every_target_group_has_its_information_page_from_a_content_file(portal):
    listing = Browser(portal).request("GET", "/informationen").text
    slugs = set(re.findall(r'href="/informationen/([\w-]+)"', listing))
    assert slugs == {"alleinerziehende", "unter-25", "erwerbstaetige", "selbststaendige",
                     "menschen-mit-behinderungen", "gefluechtete"}  # fmt: skip
    for slug in slugs:
        page = Browser(portal).request("GET", f"/informationen/{slug}")
        assert page.status_code == 200 and "<script" not in page.text


def test_logout_from_a_page_ends_the_session(portal):
    browser = Browser(portal)
    browser.log_in(portal.account())
    dashboard = browser.request("GET", "/uebersicht").text
    start = post_form(browser, "/abmelden", dashboard)
    assert start.url == portal.url("/")
    assert browser.request("GET", "/uebersicht", allow_redirects=False).headers["Location"] == "/anmelden"
