"""Routing as a person meets it in Chromium: told at the start when a municipal Jobcenter (zkT) is
responsible, and an address that does not belong to one Jobcenter of this portal cannot be submitted."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.portal import Portal, Screenshots, assert_accessible, log_in
from tests.browser.test_citizen_story import Citizen, section_heading
from tests.support import CITIZEN_PASSWORD


def test_a_zkt_resident_is_told_on_the_start_page_before_filling_anything_in(
    page: Page, screenshots: Screenshots
) -> None:
    page.goto("/")
    page.get_by_label("Ihre Postleitzahl").fill("61130")
    page.get_by_role("button", name="Jobcenter finden").click()
    expect(page.locator("h1")).to_have_text("Welches Jobcenter ist für mich zuständig?")
    box = page.get_by_role("region", name="Ihr zuständiges Jobcenter")
    expect(box).to_contain_text("das kommunale Jobcenter Jobcenter Main-Kinzig-Kreis zuständig")
    expect(box).to_contain_text("Kreis- oder Stadtverwaltung")
    assert_accessible(page)
    screenshots.take(page, "finder zkt")


def test_an_incomplete_berlin_address_cannot_be_submitted(page: Page, portal: Portal, screenshots: Screenshots) -> None:
    citizen = Citizen(portal)
    log_in(page, citizen.email, CITIZEN_PASSWORD, citizen.totp())
    page.get_by_role("button", name="Veränderung mitteilen").click()
    page.get_by_label("Ich habe eine Arbeit aufgenommen").check()
    page.get_by_role("button", name="Speichern und weiter").click()

    section_heading(page, "Ihre Anschrift")
    case_path = re.sub(r"/abschnitt/.*$", "", page.url)
    page.get_by_label("Postleitzahl").fill("10119")  # Mitte and Pankow share it
    page.get_by_label("Ort").fill("Berlin")
    page.get_by_label("Straße").fill("Gibtsnichtweg")
    page.get_by_label("Hausnummer").fill("1")
    page.get_by_role("button", name="Speichern und weiter").click()
    expect(page.locator(".error-summary")).to_be_visible()
    section_heading(page, "Ihre Anschrift")
    box = page.get_by_role("region", name="Ihr zuständiges Jobcenter")
    expect(box).to_contain_text("Jobcenter Berlin Mitte")
    expect(box).to_contain_text("Jobcenter Berlin Pankow")
    assert_accessible(page)
    screenshots.take(page, "anschrift unvollstaendig")

    # Around the address step by the address bar: the rest filled in, the submission is still refused.
    page.goto(f"{case_path}/abschnitt/arbeitsaufnahme")
    page.get_by_label("Arbeitgeber").fill("Muster GmbH")
    page.get_by_label("Beginn der Arbeit").fill("01.12.2026")
    page.get_by_label("Arbeitsstunden pro Woche").fill("30")
    page.get_by_label("Voraussichtlicher Bruttolohn im Monat").fill("2400")
    page.get_by_label("Voraussichtlicher Nettolohn im Monat").fill("1710,55")
    page.get_by_role("button", name="Speichern und weiter").click()
    section_heading(page, "Erklärung")
    page.get_by_label("Ich versichere").check()
    page.get_by_role("button", name="Speichern und weiter").click()
    page.goto(f"{case_path}/pruefen")
    page.get_by_role("button", name="Jetzt verbindlich absenden").click()
    expect(page.locator("main")).to_contain_text("Wir können Ihre Anschrift noch keinem Jobcenter zuordnen.")
    expect(page.locator(".receipt")).to_have_count(0)
    screenshots.take(page, "absenden verweigert")
