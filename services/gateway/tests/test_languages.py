"""English for the citizen's pages: every page in English, every marked text with its English entry."""

import re
import uuid

import pytest
from babel.messages.extract import extract_from_dir

from services.gateway import i18n, pages
from services.gateway.tests.conftest import API, Browser, wait_until
from services.gateway.tests.test_staff_api import RoutingRelay
from services.submissions.tests.scenarios import ARBEITSAUFNAHME

TEMPLATES = pages.HERE / "templates"
# The staff's pages are German only (the caseworkers' working language); the citizen's are translated.
METHOD_MAP = [("staff/**", "ignore"), ("**.html", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "newstyle_gettext": "True"}}


def english() -> dict[str, str]:
    return i18n.read_catalog(i18n.CATALOGS / "en.po")


def test_every_text_marked_in_a_citizen_template_has_an_english_entry():
    marked = {
        (message[0] if isinstance(message, tuple) else message, filename)
        for filename, _line, message, _comments, _context in extract_from_dir(
            str(TEMPLATES), method_map=METHOD_MAP, options_map=OPTIONS
        )
    }
    assert len(marked) > 150  # the extractor found the templates' texts
    missing = sorted(f"{filename}: {text}" for text, filename in marked if text and text not in english())
    assert missing == []


@pytest.mark.parametrize(
    "names",
    [pages.STATUS_NAMES, pages.KIND_NAMES, pages.EVENT_NAMES, pages.CHANNEL_NAMES, pages.LEGAL_PAGES,
     pages.OUTCOME_NAMES],
    ids=["status", "kind", "timeline", "channel", "legal", "outcome"],
)  # fmt: skip
def test_every_name_the_pages_make_in_python_has_an_english_entry(names):
    assert sorted(text for text in names.values() if text not in english()) == []


def test_the_english_entries_keep_the_placeholders_of_the_german_text():
    for german, translated in english().items():
        assert sorted(re.findall(r"%\(\w+\)s|\{\w+\}", german)) == sorted(re.findall(r"%\(\w+\)s|\{\w+\}", translated))


def heading(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found, "the page has no heading"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()  # a German term in it is marked lang="de"


@pytest.fixture(scope="module")
def english_citizen(portal):
    """A citizen who chose English, with a filled draft (Treptow-Köpenick) and a submitted case."""
    browser = Browser(portal)
    browser.log_in(portal.account())
    assert browser.request("GET", "/sprache/en?zurueck=/uebersicht").status_code == 200
    cases = []
    for _ in range(2):
        case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
        for section_id, data in ARBEITSAUFNAHME.items():
            assert browser.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data).status_code == 200
        cases.append(case_id)
    submitted = browser.request(
        "POST", f"{API}/cases/{cases[1]}/submit", headers={"Idempotency-Key": f"en-{uuid.uuid4()}"}
    )
    assert submitted.status_code == 200, submitted.text
    portal.relay()
    return browser, cases[0], cases[1]


def test_each_citizen_page_has_an_english_heading(english_citizen):
    browser, draft, submitted = english_citizen
    expected = {
        "/uebersicht": "Your overview",
        f"/antraege/{draft}/abschnitt/wohnsitz": None,  # the form's own title: German content (see README)
        f"/antraege/{draft}/nachweise": "Supporting documents",
        f"/antraege/{draft}/pruefen": "Please check what you entered",
        f"/antraege/{submitted}": "Notice of change (Veränderungsmitteilung)",
        "/postfach": "Mailbox",
        "/einstellungen": "Settings",
        "/mein-jobcenter": "My Jobcenter",
        "/informationen": "Information for your situation",
        "/impressum": "Legal notice (Impressum)",
        "/datenschutz": "Privacy policy",
        "/barrierefreiheit": "Accessibility statement",
        "/gibt-es-nicht": "Sorry, that did not work",
    }
    for path, title in expected.items():
        page = browser.request("GET", path)
        assert '<html lang="en">' in page.text, path
        if title:
            assert heading(page.text) == title, path
    section = browser.request("GET", f"/antraege/{draft}/abschnitt/wohnsitz").text
    assert "Save and continue" in section and "step 2 of 4" in section


def test_the_forms_german_questions_are_marked_german_on_an_english_page(english_citizen):
    browser, draft, _submitted = english_citizen
    section = browser.request("GET", f"/antraege/{draft}/abschnitt/wohnsitz").text
    assert '<h1><span lang="de">Ihre Anschrift</span></h1>' in section
    assert re.search(r'<label for="plz">Postcode', section)  # where the catalog has the question, in English
    assert '<option value="09" lang="de">Treptow-Köpenick</option>' in section or re.search(
        r'<option value="09" selected lang="de">Treptow-Köpenick</option>', section
    )
    assert str(i18n.in_page_language("de")("Ihre Anschrift")) == "Ihre Anschrift"  # a German page needs no marks


def test_the_english_case_page_tells_the_timeline_in_english_with_the_jobcenters_name(english_citizen, portal):
    browser, _draft, submitted = english_citizen
    relay_routing = RoutingRelay(portal)

    def assigned():
        portal.relay()
        relay_routing()
        page = browser.request("GET", f"/antraege/{submitted}").text
        return page if "Assigned: " in page else None

    try:
        page = wait_until(assigned, timeout=30)
    finally:
        relay_routing.close()
    assert 'Assigned: <span lang="de">Jobcenter Berlin Treptow-Köpenick</span>' in page  # a German name, marked
    assert "History" in page and "Submitted" in page and "Receipt number:" in page


def test_mein_jobcenter_names_the_jobcenter_as_the_timeline_does(english_citizen):
    browser, _draft, _submitted = english_citizen
    page = browser.request("GET", "/mein-jobcenter").text
    assert '<strong><span lang="de">Jobcenter Berlin Treptow-Köpenick</span></strong>' in page


@pytest.mark.parametrize("language", sorted(i18n.LANGUAGES))
def test_a_message_quoting_a_file_name_is_escaped_and_may_hold_a_percent_sign(language):
    html = (
        pages.templates(language)
        .get_template("nachweise.html")
        .render(
            csrf_field="csrf_token",
            csrf_token="t",
            logged_in=True,
            here="/",
            case={"case_id": "c"},
            detail={"documents": [], "nachweise": []},
            error="„<b>Seite 1</b>.jpg“: 100 % unscharf",
        )  # fmt: skip
    )
    assert "„&lt;b&gt;Seite 1&lt;/b&gt;.jpg“: 100 % unscharf" in html
