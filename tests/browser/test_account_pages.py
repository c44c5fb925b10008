"""The account pages in Chromium: axe on each of them (also showing form errors), and passkeys with
Chromium's virtual authenticator (registration in the settings, then login with it alone)."""

from __future__ import annotations

import email.policy
import re
import secrets
import time
from collections.abc import Iterator
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.portal import PHONE, Portal, Screenshots, assert_accessible

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"


def activation_code(portal: Portal, tmp_path: Path) -> str:
    printed = portal.identity_cli(
        "issue-code", f"922D{secrets.randbelow(10**6):06d}", "--institution", "jc-0394",
        "--letter", str(tmp_path / "letter.pdf"),
    )  # fmt: skip
    found = re.search(r"activation code (\S+) for", printed)
    assert found, printed
    return found.group(1)


def link_mailed_to(portal: Portal, address: str, timeout: float = 20.0) -> str:
    """Path and query of the link in the newest mail to ``address`` that the SMTP sink of ``make run`` kept."""
    parser = BytesParser(policy=email.policy.default)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted((portal.run_dir / "mail").glob("*.eml"), reverse=True):
            message = parser.parsebytes(path.read_bytes())
            if message["To"] == address:
                link = re.search(r"(https?://\S+token=\S+)", message.get_content())
                assert link, "the mail carries no link"
                parts = urlsplit(link.group(1))
                return f"{parts.path}?{parts.query}"
        time.sleep(0.2)
    raise AssertionError(f"no mail to {address} arrived")


def register(page: Page, portal: Portal, tmp_path: Path, screenshots: Screenshots | None = None) -> str:
    """A new citizen through the pages: registration, the link by mail, confirmed. Returns the address."""
    address = f"browser.{secrets.token_hex(5)}@example.org"
    page.goto("/registrieren")
    page.get_by_label("Freischaltcode").fill(activation_code(portal, tmp_path))
    page.get_by_label("Vorname").fill("Zoë")
    page.get_by_label("Nachname").fill("Çelik-Brandt")
    page.get_by_label("E-Mail-Adresse").fill(address)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Passwort wiederholen").fill(PASSWORD)
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator("h1")).to_have_text("Bitte prüfen Sie Ihre E-Mails")
    if screenshots:
        assert_accessible(page)
        screenshots.take(page, "registered")
    page.goto(link_mailed_to(portal, address))
    expect(page.locator("h1")).to_have_text("E-Mail-Adresse bestätigt")
    if screenshots:
        assert_accessible(page)
        screenshots.take(page, "confirmed")
    return address


def set_up_the_app(page: Page) -> str:
    """The first login's enrolment of an authenticator app; ends on the overview. Returns the secret."""
    expect(page.locator("h1")).to_have_text("Zweiten Faktor einrichten")
    secret = page.locator("#schluessel").inner_text()
    page.get_by_label("Code aus der App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Einrichten und anmelden").click()
    page.get_by_role("link", name="Ich habe die Codes notiert").click()
    expect(page).to_have_url(re.compile(r"/uebersicht$"))
    return secret


def log_in_with_password(page: Page, address: str) -> None:
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(address)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Weiter").click()


def test_registration_first_login_and_settings_pages_are_accessible(
    page: Page, portal: Portal, screenshots: Screenshots, tmp_path: Path
) -> None:
    page.goto("/registrieren")
    page.get_by_role("button", name="Konto anlegen").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "registration errors")
    address = register(page, portal, tmp_path, screenshots)

    log_in_with_password(page, address)
    # No session with the password alone: the first login sets up the second factor first.
    expect(page.locator("h1")).to_have_text("Zweiten Faktor einrichten")
    assert_accessible(page)
    screenshots.take(page, "totp setup")
    page.get_by_label("Code aus der App").fill("000000")
    page.get_by_role("button", name="Einrichten und anmelden").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
    secret = page.locator("#schluessel").inner_text()
    page.get_by_label("Code aus der App").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Einrichten und anmelden").click()
    expect(page.locator("h1")).to_have_text("Ihre Wiederherstellungscodes")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    assert_accessible(page)
    screenshots.take(page, "recovery codes")

    page.goto("/einstellungen/sicherheit")
    expect(page.get_by_text("Wiederherstellungscodes übrig: 10 von 10")).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "security settings")
    page.goto("/einstellungen/passwort")
    page.get_by_label("Jetziges Passwort").fill("falsch falsch falsch")
    page.get_by_label("Neues Passwort", exact=True).fill("kurz")
    page.get_by_label("Neues Passwort wiederholen").fill("kurz")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "password change errors")
    page.goto("/einstellungen/e-mail")
    page.get_by_role("button", name="Link schicken").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "email change errors")
    page.goto("/einstellungen")
    expect(page.locator("#name")).to_have_text("Zoë Çelik-Brandt")  # as given at the registration
    page.get_by_role("link", name="Namen ändern").click()
    page.get_by_label("Nachname").fill("Çelik 2")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator(".error-summary")).to_contain_text("Ziffern gehören nicht dazu")
    assert_accessible(page)
    screenshots.take(page, "name change errors")
    page.get_by_label("Nachname").fill("Brandt")
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_have_text("Ihr Name ist gespeichert.")
    expect(page.locator("#name")).to_have_text("Zoë Brandt")
    assert_accessible(page)
    screenshots.take(page, "settings with the name")


@pytest.mark.parametrize(
    ("path", "button"),
    [
        ("/passwort-vergessen", "Link schicken"),
        ("/passwort-neu?token=abgelaufen", "Passwort speichern"),
        ("/barrierefreiheit/rueckmeldung", "Meldung abschicken"),
        ("/leichte-sprache", None),
        ("/anmelden", None),
    ],
)
def test_public_account_pages_are_accessible_also_with_errors(
    page: Page, screenshots: Screenshots, path: str, button: str | None
) -> None:
    page.goto(path)
    assert_accessible(page)
    screenshots.take(page, "page")
    if button:
        page.get_by_role("button", name=button).click()
        expect(page.locator(".error-summary")).to_be_visible()
        assert_accessible(page)
        screenshots.take(page, "errors")


def test_the_pages_switch_to_english_and_back_without_javascript(
    chromium: Browser, portal: Portal, screenshots: Screenshots
) -> None:
    context = chromium.new_context(base_url=portal.base_url, java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        page.goto("/anmelden")
        page.get_by_role("link", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_have_text("Log in")
        screenshots.take(page, "english login")  # axe needs JavaScript: the next test checks English pages
        page.get_by_role("link", name="Deutsch").click()
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator("h1")).to_have_text("Anmelden")
    finally:
        context.close()


def test_the_language_choice_stays_and_leichte_sprache_stays_german(page: Page) -> None:
    page.goto("/sprache/en?zurueck=/")
    expect(page.locator("h1")).to_have_text("Your Jobcenter online")
    assert_accessible(page)
    page.goto("/registrieren")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".error-summary")).to_contain_text("Please fill in this field.")
    assert_accessible(page)
    page.goto("/leichte-sprache")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".easy-language")).to_have_attribute("lang", "de")


@pytest.fixture
def localhost(chromium: Browser, portal: Portal) -> Iterator[BrowserContext]:
    """Passkeys are bound to a host name, never an IP address: this context opens the portal as localhost."""
    port = urlsplit(portal.base_url).port
    created = chromium.new_context(base_url=f"http://localhost:{port}", locale="de-DE", **PHONE)
    created.set_default_timeout(20_000)
    yield created
    created.close()


def page_with_a_virtual_authenticator(localhost: BrowserContext) -> Page:
    """A page whose browser has a platform authenticator (Chromium's virtual one, user verified)."""
    page = localhost.new_page()
    devtools = localhost.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return page


def test_a_passkey_is_added_in_the_settings_and_logs_in_on_its_own(
    localhost: BrowserContext, portal: Portal, screenshots: Screenshots, tmp_path: Path
) -> None:
    page = page_with_a_virtual_authenticator(localhost)
    address = register(page, portal, tmp_path)
    log_in_with_password(page, address)
    set_up_the_app(page)
    expect(page).to_have_url(re.compile(r"/uebersicht$"))

    page.goto("/einstellungen/sicherheit")
    expect(page.get_by_text("Sie haben noch keinen Passkey.")).to_be_visible()
    page.get_by_role("button", name="Passkey hinzufügen").click()
    expect(page.get_by_text("Der Passkey ist eingerichtet.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Passkey 1, eingerichtet am"))).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "passkey added")

    page.get_by_role("button", name="Abmelden").click()
    page.goto("/anmelden")
    page.get_by_role("button", name="Mit Passkey anmelden").click()
    expect(page).to_have_url(re.compile(r"/uebersicht$"))
    screenshots.take(page, "logged in with passkey")

    page.goto("/einstellungen/sicherheit")
    page.get_by_role("button", name=re.compile("Entfernen")).click()
    expect(page.get_by_text("Der Passkey ist entfernt.")).to_be_visible()
    expect(page.get_by_text("Sie haben noch keinen Passkey.")).to_be_visible()


def test_a_login_with_the_password_offers_the_passkey_beside_the_app(
    localhost: BrowserContext, portal: Portal, screenshots: Screenshots, tmp_path: Path
) -> None:
    page = page_with_a_virtual_authenticator(localhost)
    address = register(page, portal, tmp_path)
    log_in_with_password(page, address)
    set_up_the_app(page)
    page.goto("/einstellungen/sicherheit")
    page.get_by_role("button", name="Passkey hinzufügen").click()
    expect(page.get_by_text("Der Passkey ist eingerichtet.")).to_be_visible()
    page.get_by_role("button", name="Abmelden").click()

    log_in_with_password(page, address)  # the app and the passkey are both offered
    expect(page.locator("h1")).to_have_text("Code eingeben")
    expect(page.get_by_label("Code aus Ihrer Authenticator-App")).to_have_count(1)
    assert_accessible(page)
    screenshots.take(page, "second factor with passkey")
    page.get_by_role("button", name="Mit Passkey anmelden").click()
    expect(page).to_have_url(re.compile(r"/uebersicht$"))
