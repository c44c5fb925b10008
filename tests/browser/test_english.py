"""The portal in English (WCAG 3.1.2, language of parts): every text a citizen sees under ``lang="en"`` is
English, or German marked ``lang="de"`` (the forms' questions and options, the services' messages, Postfach
texts, names of Jobcenters and places), so a screen reader speaks each part in its own language.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.portal import Portal, Screenshots, log_in
from tests.browser.test_citizen_story import (
    EARLIER_WBA,
    Citizen,
    reload_until,
    submit_through_the_api,
)
from tests.support import CITIZEN_PASSWORD

# Letters and words that only German has (a German term in an English sentence, such as "Bürgergeld", is
# marked lang="de" in the translation).
GERMAN = re.compile(
    r"[äöüÄÖÜß]|\b(und|oder|der|die|das|den|dem|des|ein|eine|einen|Sie|Ihre?|Ihren|nicht|mit|für|bitte|Bitte|"
    r"wird|werden|haben|ist|sind|Angaben|Antrag|Nachweis\w*|Anschrift|Einkommen|Miete|Kosten|Wohnung|"
    r"Haushalt|Krankenkasse|Zurück|Weiter|Speichern|Schritt|Übersicht|Postfach|Eingang\w*)\b"
)

# Every visible text node whose nearest lang is "en", with the tag holding it.
UNMARKED_TEXTS = """
() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    const holder = node.parentElement;
    if (!text || !holder || holder.closest("script, style, template, [hidden]")) continue;
    const box = holder.closest("option, select") || holder;
    if (!box.getClientRects().length && !holder.closest(".visually-hidden")) continue;
    if ((holder.closest("[lang]") || document.documentElement).getAttribute("lang") === "en") {
      found.push(text + "  <" + holder.tagName.toLowerCase() + ">");
    }
  }
  return found;
}
"""


def unmarked_german(page: Page) -> list[str]:
    texts: list[str] = page.evaluate(UNMARKED_TEXTS)
    return [text for text in texts if GERMAN.search(text)]


def assert_no_unmarked_german(page: Page, screenshots: Screenshots, step: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshots.take(page, step)
    found = unmarked_german(page)
    assert not found, f"German under lang=en on {page.url}:\n" + "\n".join(found)


ARBEITSAUFNAHME: dict[str, dict[str, Any]] = {
    "aenderungen": {"aenderungen": ["arbeitsaufnahme"]},
    "wohnsitz": EARLIER_WBA["wohnsitz"],
    "arbeitsaufnahme": {"arbeitgeber": "Muster GmbH", "beginn": "2026-12-01", "wochenstunden": 30,
                        "brutto_monatlich": 2400.0, "netto_monatlich": 1710.55},
    "erklaerung": {"wahrheitsgemaess": True},
}  # fmt: skip


def test_the_german_page_would_fail_the_check_so_the_check_can_fail(
    page: Page, portal: Portal, screenshots: Screenshots
) -> None:
    """The detector finds German where nothing marks it: the German start page read as if it were English."""
    page.goto("/")
    page.evaluate("document.documentElement.lang = 'en'")
    assert len(unmarked_german(page)) > 3


def test_in_english_no_german_text_stands_unmarked(page: Page, portal: Portal, screenshots: Screenshots) -> None:
    citizen = Citizen(portal)
    log_in(page, citizen.email, CITIZEN_PASSWORD, citizen.totp())
    expect(page).to_have_url(re.compile(r"/uebersicht$"))
    submit_through_the_api(page, "weiterbewilligungsantrag", EARLIER_WBA)
    submit_through_the_api(page, "veraenderungsmitteilung", ARBEITSAUFNAHME)
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_have_text("Your overview")
    assert_no_unmarked_german(page, screenshots, "overview")

    page.get_by_role("button", name="Apply to continue benefits").click()
    steps = 0
    while "/abschnitt/" in page.url:  # every section of the WBA taken over from the earlier one
        steps += 1
        assert_no_unmarked_german(page, screenshots, f"section {steps}")
        if page.locator("#wahrheitsgemaess").count():
            page.locator("#wahrheitsgemaess").check()
        for question in ("unveraendert", "ueber_grenze"):
            if page.locator(f"#{question}-nein").count() and not page.locator(f"#{question}-ja").is_checked():
                page.locator(f"#{question}-nein").check()
        page.get_by_role("button", name="Save and continue").click()
        assert steps < 15, "the form never ended"
    assert steps >= 8
    expect(page.locator("h1")).to_have_text("Supporting documents")
    assert_no_unmarked_german(page, screenshots, "nachweise")
    page.get_by_role("link", name="Continue to the check").click()
    assert_no_unmarked_german(page, screenshots, "review")

    page.goto("/uebersicht")
    page.locator("a[href^='/antraege/']", has_text="JC-").first.click()
    reload_until(page, lambda: "Assigned" in page.locator("ol.timeline").inner_text())
    assert_no_unmarked_german(page, screenshots, "case")
    page.get_by_role("link", name="Mailbox").click()
    reload_until(page, lambda: page.locator("ul.postfach li").count() > 1)
    assert_no_unmarked_german(page, screenshots, "postfach")
    for path in ("/mein-jobcenter", "/einstellungen", "/informationen", "/impressum", "/datenschutz",
                 "/barrierefreiheit",
                 "/zustaendiges-jobcenter?plz=12555&ort=Berlin&strasse=Bahnhofstra%C3%9Fe&hausnummer=1"):  # fmt: skip
        page.goto(path)
        assert_no_unmarked_german(page, screenshots, path.strip("/").split("?")[0])
