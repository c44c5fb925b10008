"""axe-core finds no WCAG 2.1 A/AA violation on any citizen page, with and without form errors, and the
main pages fit a 320 px wide screen without scrolling sideways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from shared.config import REPOSITORY_ROOT
from tests.browser.portal import PHONE, Portal, Screenshots, assert_accessible
from tests.browser.test_citizen_story import Citizen, report_arbeitsaufnahme
from tests.support import CITIZEN_PASSWORD

CONTENT = REPOSITORY_ROOT / "services" / "gateway" / "content"
VM_SECTIONS = ["aenderungen", "wohnsitz", "arbeitsaufnahme", "arbeitsende", "einkommensaenderung", "umzug",
               "bankverbindung", "mieterhoehung", "nebenkostenabrechnung", "weitere_aenderungen",
               "erklaerung"]  # fmt: skip
WBA_SECTIONS = ["wohnsitz", "bankverbindung", "bedarfsgemeinschaft", "einkommen", "vermoegen", "wohnkosten",
                "krankenversicherung", "mehrbedarf", "erklaerung"]  # fmt: skip
PUBLIC_PAGES = ["/", "/anmelden", "/impressum", "/datenschutz", "/barrierefreiheit", "/informationen",
                *[f"/informationen/{path.stem}" for path in sorted(CONTENT.glob("*.html"))]]  # fmt: skip
NARROW: dict[str, Any] = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}


def checked(page: Page, path: str, status: int = 200) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.status == status, f"{path}: {answer and answer.status}"
    expect(page.locator("h1")).to_have_count(1)
    assert_accessible(page)


def check_all(page: Page, paths: list[str]) -> None:
    """Every page answers 200 and axe finds nothing; all violations are reported together."""
    failures = []
    for path in paths:
        try:
            checked(page, path)
        except AssertionError as violation:
            failures.append(str(violation))
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def signed_in(chromium: Browser, portal: Portal) -> dict[str, Any]:
    """One citizen for the module: logged in once, with a submitted Veränderungsmitteilung, a VM draft and a WBA."""
    citizen = Citizen(portal)
    context = chromium.new_context(base_url=portal.base_url, locale="de-DE", **PHONE)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(citizen.email)
    page.get_by_label("Passwort").fill(CITIZEN_PASSWORD)
    page.get_by_role("button", name="Weiter").click()
    expect(page.locator("h1")).to_have_text("Code eingeben")
    assert_accessible(page)  # the second-factor page
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(citizen.totp())
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/uebersicht$"))

    report_arbeitsaufnahme(page)
    submitted = page.url.rsplit("/", 1)[1]
    page.goto("/uebersicht")
    page.get_by_role("button", name="Veränderung mitteilen").click()
    vm_draft = page.url.split("/")[-3]
    page.goto("/uebersicht")
    page.get_by_role("button", name="Weiterbewilligung beantragen").click()
    wba_draft = page.url.split("/")[-3]
    state = context.storage_state()
    context.close()
    return {"state": state, "submitted": submitted, "vm": vm_draft, "wba": wba_draft}


@pytest.fixture
def citizen_page(chromium: Browser, portal: Portal, signed_in: dict[str, Any]) -> Iterator[Page]:
    context: BrowserContext = chromium.new_context(
        base_url=portal.base_url, locale="de-DE", storage_state=signed_in["state"], **PHONE
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_every_public_page_has_no_axe_violation(page: Page) -> None:
    check_all(page, PUBLIC_PAGES)


def test_the_error_pages_have_no_axe_violation(page: Page) -> None:
    checked(page, "/gibt-es-nicht", 404)
    expect(page.locator("main")).to_contain_text("Diese Seite gibt es nicht.")
    checked(page, "/abmelden", 405)


def test_the_login_with_a_wrong_password_has_no_axe_violation(page: Page) -> None:
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("niemand@example.org")
    page.get_by_label("Passwort").fill("falsch-falsch-falsch")
    page.get_by_role("button", name="Weiter").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)


def test_every_personal_page_has_no_axe_violation(citizen_page: Page) -> None:
    check_all(citizen_page, ["/uebersicht", "/postfach", "/einstellungen", "/mein-jobcenter"])


def test_the_case_pages_have_no_axe_violation(citizen_page: Page, signed_in: dict[str, Any]) -> None:
    submitted, draft = signed_in["submitted"], signed_in["vm"]
    checked(citizen_page, f"/antraege/{submitted}")
    expect(citizen_page.locator("ol.timeline")).to_contain_text("Eingereicht")
    checked(citizen_page, f"/antraege/{submitted}/nachweise")
    checked(citizen_page, f"/antraege/{draft}")
    checked(citizen_page, f"/antraege/{draft}/nachweise")
    checked(citizen_page, f"/antraege/{draft}/pruefen")  # with the list of what is still missing
    checked(citizen_page, "/antraege/00000000-0000-4000-8000-000000000000", 404)


def test_every_section_of_both_forms_has_no_axe_violation(citizen_page: Page, signed_in: dict[str, Any]) -> None:
    vm, wba = signed_in["vm"], signed_in["wba"]
    check_all(
        citizen_page,
        [f"/antraege/{vm}/abschnitt/{section}" for section in VM_SECTIONS]
        + [f"/antraege/{wba}/abschnitt/{section}" for section in WBA_SECTIONS],
    )


def test_a_section_showing_its_form_errors_has_no_axe_violation(
    citizen_page: Page, signed_in: dict[str, Any], screenshots: Screenshots
) -> None:
    failures = []
    for kind, section in [("vm", "wohnsitz"), ("vm", "aenderungen"), ("vm", "arbeitsaufnahme"),
                          ("wba", "bedarfsgemeinschaft"), ("wba", "erklaerung")]:  # fmt: skip
        citizen_page.goto(f"/antraege/{signed_in[kind]}/abschnitt/{section}")
        for field in citizen_page.locator("main input[type=text]").all():
            field.fill("")
        if section == "bedarfsgemeinschaft":
            citizen_page.locator("#personen-0-vorname").fill("Mia")  # a row without its birth date
        citizen_page.get_by_role("button", name="Speichern und weiter").click()
        summary = citizen_page.locator(".error-summary")
        expect(summary).to_be_visible()
        # Every link of the summary leads to a field on the page.
        for link in summary.locator("a").all():
            target = (link.get_attribute("href") or "").lstrip("#")
            expect(citizen_page.locator(f"[id='{target}']")).to_have_count(1)
        screenshots.take(citizen_page, f"{kind}-{section}-fehler")
        try:
            assert_accessible(citizen_page)
        except AssertionError as violation:
            failures.append(str(violation))
    assert not failures, "\n".join(failures)


def test_the_main_pages_fit_a_320_pixel_screen(chromium: Browser, portal: Portal, signed_in: dict[str, Any]) -> None:
    context = chromium.new_context(base_url=portal.base_url, locale="de-DE", storage_state=signed_in["state"], **NARROW)
    vm, wba, submitted = (f"/antraege/{signed_in[key]}" for key in ("vm", "wba", "submitted"))
    paths = ["/", "/anmelden", "/uebersicht", "/postfach", "/informationen/alleinerziehende",
             f"{vm}/abschnitt/aenderungen", f"{wba}/abschnitt/bedarfsgemeinschaft", submitted,
             f"{submitted}/nachweise", f"{vm}/pruefen"]  # fmt: skip
    try:
        page = context.new_page()
        too_wide = {}
        for path in paths:
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                too_wide[path] = width
        assert not too_wide, f"these pages scroll sideways at 320 px: {too_wide}"
    finally:
        context.close()
