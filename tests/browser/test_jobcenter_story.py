"""The Jobcenter's own work in Chromium: staff accounts, the Jobcenter's address, Freischaltcodes, barrier reports.

An admin invites a new caseworker of Treptow-Köpenick and sets the Jobcenter's postal address ("Angaben
des Jobcenters", a wrong postcode first). The caseworker sets a password by the mailed link, sets up the
second factor at the first login and reaches the inbox, issues a Freischaltcode and downloads its letter,
headed with the Jobcenter's name and address; a new citizen registers with it, and the caseworker sees
the code used; another code is revoked and can no longer be used. The admin reads a reported barrier.
axe-core checks every new page.
"""

from __future__ import annotations

import re
import secrets
import subprocess

import pyotp
from playwright.sync_api import Browser, Page, expect

from tests.browser.portal import DESKTOP, PHONE, Portal, Screenshots, assert_accessible
from tests.browser.test_account_pages import link_mailed_to
from tests.browser.test_caseworker_story import ADMIN, leave_the_codes_to_others, log_in, open_context

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"


def customer_number() -> str:
    return f"922D{secrets.randbelow(10**6):06d}"


def issue_code(desk: Page, number: str) -> str:
    """Issue a Freischaltcode for ``number`` on the page; returns the code as the letter shows it."""
    desk.goto("/sachbearbeitung/freischaltcodes")
    desk.get_by_label("Kundennummer").fill(number)
    desk.get_by_role("button", name="Freischaltcode ausstellen").click()
    expect(desk.get_by_role("heading", name="Freischaltcode ausgestellt")).to_be_visible()
    return desk.locator("strong.code").inner_text()


def code_row(desk: Page, number: str):  # noqa: ANN201 - a Playwright locator
    return desk.locator("#codes tr", has_text=number)


def test_a_new_caseworker_issues_a_code_a_citizen_registers_with_it_and_the_admin_reads_barriers(
    chromium: Browser, portal: Portal, screenshots: Screenshots
) -> None:
    admin_context = open_context(chromium, portal, DESKTOP)
    staff_context = open_context(chromium, portal, DESKTOP)
    citizen_context = open_context(chromium, portal, PHONE)
    try:
        admin = admin_context.new_page()
        log_in(admin, ADMIN, portal.totp_secret(ADMIN))
        admin.get_by_role("link", name="Mitarbeitende").click()
        expect(admin.get_by_role("heading", name="Mitarbeitende", level=1)).to_be_visible()
        admin.get_by_role("button", name="Konto anlegen").click()
        expect(admin.locator(".error-summary")).to_be_visible()
        assert_accessible(admin)
        screenshots.take(admin, "admin: invitation form with errors")
        newcomer = f"neu.{secrets.token_hex(4)}@jc-treptow-koepenick.example"
        admin.get_by_label("Dienstliche E-Mail-Adresse").fill(newcomer)
        admin.get_by_label("Rolle").select_option("caseworker")
        admin.get_by_label("Kennung des Jobcenters").fill("jc-0394")
        admin.get_by_role("button", name="Konto anlegen").click()
        expect(admin.get_by_text(f"Das Konto für {newcomer} ist angelegt")).to_be_visible()
        expect(admin.locator("table")).to_contain_text(newcomer)
        assert_accessible(admin)
        screenshots.take(admin, "admin: caseworker invited")

        admin.get_by_role("link", name="Angaben des Jobcenters").click()
        admin.get_by_label("Jobcenter (Kennung)").fill("jc-0394")
        admin.get_by_role("button", name="Anzeigen").click()
        postal = admin.get_by_role("group", name="Postanschrift (Pflicht)")
        postal.get_by_label("Straße und Hausnummer").fill("Groß-Berliner Damm 73")
        postal.get_by_label("Postleitzahl").fill("1248")
        postal.get_by_label("Ort").fill("Berlin")
        admin.get_by_label("Öffnungszeiten (freiwillig)").fill("Montag bis Freitag 8 bis 12 Uhr")
        admin.get_by_role("button", name="Angaben speichern").click()
        expect(admin.locator(".error-summary")).to_contain_text("Die Postleitzahl hat 5 Ziffern.")
        assert_accessible(admin)
        screenshots.take(admin, "admin: the Jobcenter's address with a wrong postcode")
        postal.get_by_label("Postleitzahl").fill("12487")
        admin.get_by_role("button", name="Angaben speichern").click()
        expect(admin.get_by_role("status")).to_contain_text("Die Angaben sind gespeichert.")
        assert_accessible(admin)
        screenshots.take(admin, "admin: the Jobcenter's address saved")

        desk = staff_context.new_page()
        desk.goto(link_mailed_to(portal, newcomer))
        desk.get_by_label("Neues Passwort", exact=True).fill(PASSWORD)
        desk.get_by_label("Neues Passwort wiederholen").fill(PASSWORD)
        desk.get_by_role("button", name="Passwort speichern").click()
        expect(desk.locator("h1")).to_have_text("Passwort geändert")
        desk.goto("/anmelden")
        desk.get_by_label("E-Mail-Adresse").fill(newcomer)
        desk.get_by_label("Passwort").fill(PASSWORD)
        desk.get_by_role("button", name="Weiter").click()
        expect(desk.locator("h1")).to_have_text("Zweiten Faktor einrichten")
        screenshots.take(desk, "new caseworker: second factor at the first login")
        secret = desk.locator("#schluessel").inner_text()
        desk.get_by_label("Code aus der App").fill(pyotp.TOTP(secret).now())
        desk.get_by_role("button", name="Einrichten und anmelden").click()
        expect(desk.locator("h1")).to_have_text("Ihre Wiederherstellungscodes")
        desk.get_by_role("link", name="Ich habe die Codes notiert").click()
        expect(desk).to_have_url(re.compile(r"/sachbearbeitung$"))
        expect(desk.get_by_role("heading", name="Posteingang", level=1)).to_be_visible()
        screenshots.take(desk, "new caseworker: the inbox")

        desk.get_by_role("link", name="Freischaltcodes").click()
        desk.get_by_role("button", name="Freischaltcode ausstellen").click()
        expect(desk.locator(".error-summary")).to_contain_text("Kundennummer")
        assert_accessible(desk)
        screenshots.take(desk, "activation codes: no customer number")
        number = customer_number()
        code = issue_code(desk, number)
        assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code), code
        with desk.expect_download() as download:
            desk.get_by_role("link", name="Brief als PDF herunterladen").click()
        letter = download.value.path().read_bytes()
        assert letter.startswith(b"%PDF-")
        heading = subprocess.run(["pdftotext", "-l", "1", "-", "-"], input=letter, capture_output=True,
                                 check=True).stdout.decode().splitlines()[:3]  # fmt: skip
        assert heading == ["Jobcenter Berlin Treptow-Köpenick", "Groß-Berliner Damm 73", "12487 Berlin"], heading
        screenshots.take_pdf(letter, "the Freischaltcode letter, headed with the Jobcenter's address")
        expect(code_row(desk, number)).to_contain_text("Offen")
        assert_accessible(desk)
        screenshots.take(desk, "activation code issued")

        citizen = citizen_context.new_page()
        address = f"browser.{secrets.token_hex(5)}@example.org"
        citizen.goto("/registrieren")
        citizen.get_by_label("Freischaltcode").fill(code)
        citizen.get_by_label("Vorname").fill("Jonas")
        citizen.get_by_label("Nachname").fill("Weiß")
        citizen.get_by_label("E-Mail-Adresse").fill(address)
        citizen.get_by_label("Passwort", exact=True).fill(PASSWORD)
        citizen.get_by_label("Passwort wiederholen").fill(PASSWORD)
        citizen.get_by_role("button", name="Konto anlegen").click()
        expect(citizen.locator("h1")).to_have_text("Bitte prüfen Sie Ihre E-Mails")
        screenshots.take(citizen, "citizen registered with the code")

        desk.goto("/sachbearbeitung/freischaltcodes")
        expect(code_row(desk, number)).to_contain_text("Benutzt am")
        expect(code_row(desk, number).get_by_role("button")).to_have_count(0)
        unused = customer_number()
        unused_code = issue_code(desk, unused)
        code_row(desk, unused).get_by_role("button", name=f"Freischaltcode für {unused} widerrufen").click()
        expect(code_row(desk, unused)).to_contain_text("Widerrufen am")
        assert_accessible(desk)
        screenshots.take(desk, "activation codes: one used, one revoked")

        citizen.context.clear_cookies()
        citizen.goto("/registrieren")
        citizen.get_by_label("Freischaltcode").fill(unused_code)
        citizen.get_by_label("Vorname").fill("Jonas")
        citizen.get_by_label("Nachname").fill("Weiß")
        citizen.get_by_label("E-Mail-Adresse").fill(f"browser.{secrets.token_hex(5)}@example.org")
        citizen.get_by_label("Passwort", exact=True).fill(PASSWORD)
        citizen.get_by_label("Passwort wiederholen").fill(PASSWORD)
        citizen.get_by_role("button", name="Konto anlegen").click()
        expect(citizen.locator(".error-summary")).to_contain_text("nicht gültig, abgelaufen oder schon benutzt")
        screenshots.take(citizen, "a revoked code is refused")

        citizen.goto("/barrierefreiheit/rueckmeldung")
        barrier = f"Die Tabelle der Freischaltcodes ist zu breit ({secrets.token_hex(3)})"
        citizen.get_by_label("Was funktioniert nicht?").fill(barrier)
        citizen.get_by_role("button", name="Meldung abschicken").click()
        admin.get_by_role("link", name="Barrieren").click()
        expect(admin.get_by_role("heading", name="Gemeldete Barrieren", level=1)).to_be_visible()
        expect(admin.get_by_text(barrier)).to_be_visible()
        assert_accessible(admin)
        screenshots.take(admin, "admin: reported barriers")

        too_wide = {}  # WCAG 1.4.10: the new pages reflow on a 320 px wide screen
        team = "/verwaltung/mitarbeitende?jobcenter=jc-0394"
        pages = [(desk, "/sachbearbeitung/freischaltcodes"), (admin, team), (admin, "/verwaltung/barrieren"),
                 (admin, "/verwaltung/jobcenter?jobcenter=jc-0394")]  # fmt: skip
        for page, path in pages:
            page.set_viewport_size({"width": 320, "height": 640})
            page.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 320:
                too_wide[path] = width
        screenshots.take(desk, "activation codes at 320 px")
        assert not too_wide, f"these pages scroll sideways at 320 px: {too_wide}"
    finally:
        admin_context.close()
        staff_context.close()
        citizen_context.close()
        leave_the_codes_to_others()
