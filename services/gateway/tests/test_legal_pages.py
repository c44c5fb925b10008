"""Impressum, Datenschutzerklärung and Erklärung zur Barrierefreiheit: what the operator fills in, and what is true.

An operator who has not configured a particular sees it as a marked gap on the page; a configured one
appears instead. The cookies the privacy page names are the ones the portal sets; the storage periods
are the retention jobs' own.
"""

import re

import pytest

from services.gateway.legal import PARTICULARS, Operator, storage_periods
from services.gateway.pages import templates
from services.gateway.tests.conftest import Browser

PAGES = ("impressum", "datenschutz", "barrierefreiheit")
CONFIGURED = {
    "OPERATOR_NAME": "Jobcenter Treptow-Köpenick",
    "OPERATOR_ADDRESS": "Groß-Berliner Damm 73e|12487 Berlin",
    "OPERATOR_REPRESENTATIVE": "Erika Beispiel, Geschäftsführerin",
    "OPERATOR_EMAIL": "jobcenter-treptow-koepenick@jobcenter-ge.de",
    "OPERATOR_PHONE": "030 5555 0",
    "OPERATOR_DATA_PROTECTION_OFFICER": "datenschutz@example.org",
    "ACCESSIBILITY_ASSESSED_ON": "01.12.2026",
    "ACCESSIBILITY_METHOD": "Selbstbewertung nach BITV-Test",
    "ACCESSIBILITY_STATEMENT_DATE": "02.12.2026",
}


def rendered(page: str, operator: Operator, language: str = "de") -> str:
    return (
        templates(language)
        .get_template(f"{page}.html")
        .render(csrf_field="csrf_token", csrf_token="", logged_in=False, here=f"/{page}", operator=operator,
                particulars=PARTICULARS, storage=storage_periods(), cookies=("jc_session", "jc_form", "lang"))
    )  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_without_configuration_every_particular_is_a_marked_gap(page):
    html = rendered(page, Operator.from_config({}))
    gaps = re.findall(r'<mark class="einzutragen">\[Vom Betreiber einzutragen: ([^\]]+)\]</mark>', html)
    assert gaps, "each page needs something only the operator knows"
    assert set(gaps) <= set(PARTICULARS.values())


def test_every_particular_is_asked_for_on_some_page():
    asked = set()
    for page in PAGES:
        asked |= set(re.findall(r"Vom Betreiber einzutragen: ([^\]]+)\]", rendered(page, Operator.from_config({}))))
    assert asked == set(PARTICULARS.values())


@pytest.mark.parametrize("page", PAGES)
def test_configured_particulars_replace_the_gaps(page):
    operator = Operator.from_config(CONFIGURED)
    assert operator.missing() == []
    html = rendered(page, operator)
    assert "einzutragen" not in html
    assert "Jobcenter Treptow-Köpenick" in html


def test_an_address_keeps_its_lines():
    html = rendered("impressum", Operator.from_config(CONFIGURED))
    assert "Groß-Berliner Damm 73e<br>12487 Berlin" in html


def test_the_privacy_page_states_the_retention_jobs_periods():
    html = rendered("datenschutz", Operator.from_config({}))
    periods = storage_periods()
    assert f"{periods['draft_days']} Tage nach der letzten Änderung" in html
    assert f"{periods['case_years']} Jahre nach Abschluss" in html
    assert f"{periods['access_years']} Jahre nach dem Öffnen" in html
    assert f"{periods['audit_years']} Jahre; die IP-Adresse darin {periods['audit_address_days']} Tage" in html
    assert f"{periods['session_days']} Tag nach ihrem Ende" in html


def test_the_accessibility_statement_names_the_schlichtungsstelle_and_known_barriers():
    html = rendered("barrierefreiheit", Operator.from_config({}))
    assert "§ 16 BGG" in html and "Mauerstraße 53" in html
    assert "teilweise vereinbar" in html and "Leichter Sprache" in html
    assert "wird noch geprüft" not in html


def test_in_english_the_legal_text_is_marked_german():
    html = rendered("datenschutz", Operator.from_config({}), language="en")
    assert '<div lang="de">' in html
    assert "only the German version is legally binding" in html


def test_the_privacy_page_names_every_cookie_the_portal_sets(portal):
    browser = Browser(portal)
    browser.request("GET", "/anmelden")  # the form cookie
    browser.request("GET", "/sprache/en?zurueck=/")  # the language cookie
    browser.log_in(portal.account())  # the session cookie
    page = browser.request("GET", "/datenschutz").text
    named = set(re.findall(r"<code>([^<]+)</code>", page))
    set_by_the_portal = {cookie.name for cookie in browser.http.cookies}
    assert len(set_by_the_portal) == 3 and set_by_the_portal <= named
