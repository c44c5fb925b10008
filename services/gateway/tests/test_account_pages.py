"""The account pages without JavaScript: registration, first login with TOTP, reset, settings, language,
the accessibility feedback form, the client address behind a proxy, and passkeys through the API."""

from __future__ import annotations

import dataclasses
import re
import secrets
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import text

from services.gateway import pages
from services.gateway.security import client_address, parse_networks
from services.gateway.tests.conftest import API, PASSWORD, Browser
from services.identity.operations import current_totp
from services.identity.tests.authenticator import SoftwareAuthenticator
from shared.sql import make_engine

NEW_PASSWORD = "ein ganz neues Passwort für Wolke 9"


def found(pattern, html):
    match = re.search(pattern, html)
    assert match, pattern
    return match.group(1)


def csrf_of(html):
    return found(r'name="csrf_token" value="([^"]+)"', html)


def post_form(browser, path, html, **fields):
    return browser.request("POST", path, csrf=False, data={"csrf_token": csrf_of(html), **fields})


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_in(mail):
    """The path and query of the portal link in a mail of identity (its base is identity's PORTAL_URL)."""
    return path_of(found(r"(https?://\S+token=\S+)", mail.get_content()))


def mails_to(mailbox, address, count=1):
    return [m for m in mailbox.wait_for(count) if m["To"] == address]


def error_links(html):
    """The fields the error summary links to."""
    summary = found(r'(?s)(<div class="error-summary".*?</div>)', html)
    return re.findall(r'href="#([a-z_]+)"', summary)


def log_in_with_code(browser, email, password, secret):
    login = browser.request("GET", "/anmelden").text
    code_page = post_form(browser, "/anmelden", login, email=email, password=password)
    assert "Code eingeben" in code_page.text, code_page.text
    ticket = found(r'name="login_ticket" value="([^"]+)"', code_page.text)
    return post_form(browser, "/anmelden/code", code_page.text, login_ticket=ticket, code=current_totp(secret))


@pytest.fixture
def activation_code(portal):
    issued, _ = portal.operator.issue_activation_code(f"922D{secrets.randbelow(10**6):06d}", "jc-0394")
    return str(issued["code"])


def test_registration_confirmation_and_first_login_with_totp_enrolment(portal, mailbox, activation_code):
    browser = Browser(portal)
    email = f"neu.{secrets.token_hex(5)}@example.org"
    form = browser.request("GET", "/registrieren").text
    done = post_form(browser, "/registrieren", form, activation_code=activation_code, given_name="Zoë",
                     family_name="Çelik-Schmidt", email=email, password=PASSWORD, password_repeat=PASSWORD)  # fmt: skip
    assert done.status_code == 200, done.text
    assert "Bitte prüfen Sie Ihre E-Mails" in done.text
    (mail,) = mails_to(mailbox, email)
    confirmed = browser.request("GET", link_in(mail))
    assert confirmed.status_code == 200 and "E-Mail-Adresse bestätigt" in confirmed.text
    again = browser.request("GET", link_in(mail))
    assert again.status_code == 400 and "nicht mehr gültig" in again.text

    login = browser.request("GET", "/anmelden").text
    setup = post_form(browser, "/anmelden", login, email=email, password=PASSWORD)
    # No session with the password alone: the first login sets up the second factor, then opens it.
    assert path_of(setup.url) == "/anmelden" and "Zweiten Faktor einrichten" in setup.text, setup.text
    assert browser.request("GET", "/uebersicht", allow_redirects=False).status_code in (302, 303, 401)
    secret = found(r'id="schluessel">([A-Z2-7]+)<', setup.text)
    assert f"secret={secret}" in unquote(found(r'href="(otpauth://[^"]+)"', setup.text)).replace("&amp;", "&")
    ticket = found(r'name="login_ticket" value="([^"]+)"', setup.text)
    wrong = post_form(browser, "/anmelden/einrichten", setup.text, login_ticket=ticket, secret=secret,
                      otpauth_uri="x", code="000000")  # fmt: skip
    assert wrong.status_code == 401 and error_links(wrong.text) == ["code"]
    codes_page = post_form(browser, "/anmelden/einrichten", wrong.text, login_ticket=ticket, secret=secret,
                           otpauth_uri="x", code=current_totp(secret))  # fmt: skip
    assert codes_page.status_code == 200, codes_page.text
    codes = re.findall(r"<code>([a-z0-9-]{14})</code>", codes_page.text)
    assert len(codes) == 10

    post_form(browser, "/abmelden", codes_page.text)
    login = browser.request("GET", "/anmelden").text
    code_page = post_form(browser, "/anmelden", login, email=email, password=PASSWORD)
    assert "Code eingeben" in code_page.text
    ticket = found(r'name="login_ticket" value="([^"]+)"', code_page.text)
    dashboard = post_form(browser, "/anmelden/code", code_page.text, login_ticket=ticket, code=codes[0])
    assert path_of(dashboard.url) == "/uebersicht", dashboard.text
    settings = browser.request("GET", "/einstellungen")
    assert '<p id="name">Zoë Çelik-Schmidt</p>' in settings.text  # the name given at the registration


def test_registration_errors_are_summarised_and_link_to_their_fields(portal, activation_code):
    browser = Browser(portal)
    form = browser.request("GET", "/registrieren").text
    empty = post_form(browser, "/registrieren", form)
    assert empty.status_code == 400
    assert error_links(empty.text) == ["activation_code", "given_name", "family_name", "email", "password",
                                       "password_repeat"]  # fmt: skip
    digits = post_form(browser, "/registrieren", form, activation_code=activation_code, given_name="Erika",
                       family_name="Muster1", email="x@example.org", password=PASSWORD,
                       password_repeat=PASSWORD)  # fmt: skip
    assert digits.status_code == 400 and error_links(digits.text) == ["family_name"]
    assert "Ziffern gehören nicht dazu" in digits.text and 'value="Muster1"' in digits.text
    assert 'id="email" name="email"' in empty.text and 'aria-invalid="true"' in empty.text
    named = {"given_name": "Erika", "family_name": "Mustermann"}
    differ = post_form(browser, "/registrieren", form, activation_code=activation_code, email="x@example.org",
                       password=PASSWORD, password_repeat=PASSWORD + "!", **named)  # fmt: skip
    assert error_links(differ.text) == ["password_repeat"]
    wrong_code = post_form(browser, "/registrieren", form, activation_code="AAAABBBBCCCCDDDD", email="x@example.org",
                           password=PASSWORD, password_repeat=PASSWORD, **named)  # fmt: skip
    assert wrong_code.status_code == 400 and error_links(wrong_code.text) == ["activation_code"]
    assert 'value="x@example.org"' in wrong_code.text
    weak = post_form(browser, "/registrieren", form, activation_code=activation_code, email="x@example.org",
                     password="kurz", password_repeat="kurz", **named)  # fmt: skip
    assert error_links(weak.text) == ["password"]


def test_a_forgotten_password_is_reset_by_link_without_revealing_accounts(portal, mailbox):
    account = portal.account()
    browser = Browser(portal)
    form = browser.request("GET", "/passwort-vergessen").text
    unknown = post_form(browser, "/passwort-vergessen", form, email=f"niemand.{secrets.token_hex(4)}@example.org")
    known = post_form(browser, "/passwort-vergessen", form, email=account.email)
    assert unknown.status_code == known.status_code == 200
    strip = lambda html: re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # noqa: E731
    assert strip(unknown.text) == strip(known.text)
    (mail,) = mails_to(mailbox, account.email)
    new_form = browser.request("GET", link_in(mail))
    assert new_form.status_code == 200 and "Neues Passwort" in new_form.text
    token = found(r'name="token" value="([^"]+)"', new_form.text)
    differ = post_form(browser, "/passwort-neu", new_form.text, token=token, password=NEW_PASSWORD,
                       password_repeat="etwas anderes")  # fmt: skip
    assert differ.status_code == 400 and error_links(differ.text) == ["password_repeat"]
    changed = post_form(browser, "/passwort-neu", new_form.text, token=token, password=NEW_PASSWORD,
                        password_repeat=NEW_PASSWORD)  # fmt: skip
    assert changed.status_code == 200 and "Passwort geändert" in changed.text
    used = post_form(browser, "/passwort-neu", new_form.text, token=token, password=NEW_PASSWORD,
                     password_repeat=NEW_PASSWORD)  # fmt: skip
    assert used.status_code == 400 and "nicht mehr gültig" in used.text
    dashboard = log_in_with_code(browser, account.email, NEW_PASSWORD, account.totp_secret)
    assert path_of(dashboard.url) == "/uebersicht"


@pytest.fixture
def signed_in(portal):
    account = portal.account()
    browser = Browser(portal)
    assert path_of(log_in_with_code(browser, account.email, PASSWORD, account.totp_secret).url) == "/uebersicht"
    return browser, account


def test_the_password_is_changed_in_the_settings_with_the_current_one(signed_in):
    browser, account = signed_in
    settings = browser.request("GET", "/einstellungen").text
    assert 'href="/einstellungen/sicherheit"' in settings
    security = browser.request("GET", "/einstellungen/sicherheit")
    assert security.status_code == 200 and account.email in security.text
    assert "Wiederherstellungscodes übrig: 10 von 10" in security.text
    form = browser.request("GET", "/einstellungen/passwort").text
    wrong = post_form(browser, "/einstellungen/passwort", form, current_password="falsch falsch falsch",
                      password=NEW_PASSWORD, password_repeat=NEW_PASSWORD)  # fmt: skip
    assert wrong.status_code == 400 and error_links(wrong.text) == ["current_password"]
    changed = post_form(browser, "/einstellungen/passwort", form, current_password=PASSWORD, password=NEW_PASSWORD,
                        password_repeat=NEW_PASSWORD)  # fmt: skip
    assert changed.status_code == 200 and "Passwort geändert" in changed.text
    assert browser.request("GET", "/uebersicht", allow_redirects=False).status_code == 200  # this session stays
    other = Browser(browser.portal)
    login = other.request("GET", "/anmelden").text
    code_page = post_form(other, "/anmelden", login, email=account.email, password=NEW_PASSWORD)
    ticket = found(r'name="login_ticket" value="([^"]+)"', code_page.text)
    dashboard = post_form(other, "/anmelden/code", code_page.text, login_ticket=ticket, code=account.recovery_codes[0])
    assert path_of(dashboard.url) == "/uebersicht"


def test_new_recovery_codes_replace_the_old_ones(signed_in):
    browser, account = signed_in
    security = browser.request("GET", "/einstellungen/sicherheit").text
    page = post_form(browser, "/einstellungen/sicherheit/wiederherstellungscodes", security)
    codes = re.findall(r"<code>([a-z0-9-]{14})</code>", page.text)
    assert len(codes) == 10 and not set(codes) & set(account.recovery_codes)


def test_the_email_address_changes_after_the_link_to_the_new_one(signed_in, mailbox):
    browser, account = signed_in
    new_address = f"umgezogen.{secrets.token_hex(4)}@example.org"
    form = browser.request("GET", "/einstellungen/e-mail").text
    sent = post_form(browser, "/einstellungen/e-mail", form, email=new_address, current_password=PASSWORD)
    assert sent.status_code == 200 and "Bestätigungslink" in sent.text
    mails = mailbox.wait_for(2)
    (link_mail,) = [m for m in mails if m["To"] == new_address]
    assert [m for m in mails if m["To"] == account.email]
    confirmed = Browser(browser.portal).request("GET", link_in(link_mail))
    assert confirmed.status_code == 200 and "neuen E-Mail-Adresse" in confirmed.text
    assert new_address in browser.request("GET", "/einstellungen/sicherheit").text


def test_the_language_switch_turns_the_pages_english_and_back(portal):
    browser = Browser(portal)
    german = browser.request("GET", "/anmelden").text
    assert '<html lang="de">' in german and 'href="/sprache/en?zurueck=/anmelden"' in german
    english = browser.request("GET", "/sprache/en?zurueck=/anmelden")
    assert path_of(english.url) == "/anmelden"
    assert '<html lang="en">' in english.text
    assert "Log in" in english.text and "Forgot your password?" in english.text
    assert browser.http.cookies.get("lang") == "en"
    assert "Register" in browser.request("GET", "/registrieren").text
    back = browser.request("GET", "/sprache/de?zurueck=/")
    assert '<html lang="de">' in back.text and "Ihr Jobcenter online" in back.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_the_language_switch_returns_only_to_pages_of_the_portal(portal, target):
    answer = Browser(portal).request("GET", "/sprache/en", params={"zurueck": target}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_easy_language_is_linked_from_the_start_page_and_the_footer(portal):
    start = Browser(portal).request("GET", "/").text
    assert start.count('href="/leichte-sprache"') == 2
    page = Browser(portal).request("GET", "/leichte-sprache")
    assert page.status_code == 200 and "Das Jobcenter-Portal in Leichter Sprache" in page.text


def test_a_reported_barrier_reaches_the_operators_and_is_confirmed(portal, captured_logs):
    browser = Browser(portal)
    statement = browser.request("GET", "/barrierefreiheit").text
    assert 'href="/barrierefreiheit/rueckmeldung"' in statement
    form = browser.request("GET", "/barrierefreiheit/rueckmeldung").text
    empty = post_form(browser, "/barrierefreiheit/rueckmeldung", form, barrier="  ")
    assert empty.status_code == 400 and error_links(empty.text) == ["barrier"]
    hidden = post_form(browser, "/barrierefreiheit/rueckmeldung", form, barrier="Knopf\x1b[31m rot\u202e",
                       page="/anmelden\x00")  # fmt: skip
    assert hidden.status_code == 400 and error_links(hidden.text) == ["barrier", "page"]
    assert "Steuerzeichen" in hidden.text
    marker = secrets.token_hex(6)
    sent = post_form(browser, "/barrierefreiheit/rueckmeldung", form, barrier=f"Knopf ohne Namen {marker}",
                     page="/anmelden", contact=f"erika.{marker}@example.org")  # fmt: skip
    assert sent.status_code == 200 and "Ihre Meldung ist bei uns angekommen" in sent.text
    engine = make_engine(str(portal.containers["notify"].config["DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT page, contact FROM notify_accessibility_feedback WHERE barrier = :b"),
                {"b": f"Knopf ohne Namen {marker}"},
            ).one()
    finally:
        engine.dispose()
    assert tuple(stored) == ("/anmelden", f"erika.{marker}@example.org")
    assert marker not in captured_logs.text()


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy():
    proxies = parse_networks("10.0.0.0/8, 192.0.2.7")
    assert client_address("203.0.113.5", ["198.51.100.1"], ()) == "203.0.113.5"
    assert client_address("203.0.113.5", ["198.51.100.1"], proxies) == "203.0.113.5"
    assert client_address("10.1.2.3", ["198.51.100.1"], proxies) == "198.51.100.1"
    # The client may send its own header: only the rightmost hop not of a trusted proxy counts.
    assert client_address("10.1.2.3", ["6.6.6.6, 198.51.100.1, 192.0.2.7"], proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", ["6.6.6.6", "198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address("10.1.2.3", [], proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", ["kaputt"], proxies) == "10.1.2.3"
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/33")


def test_rate_limits_count_the_forwarded_client_only_behind_a_trusted_proxy(portal):
    state = portal.gateway_state()
    configured = state.settings
    body = {"email": "nobody@example.org", "password": "x" * 12}

    def statuses(forwarded_for):
        browser = Browser(portal)
        return [
            browser.request("POST", f"{API}/session", json=body, headers={"X-Forwarded-For": forwarded_for}).status_code
            for _ in range(2)
        ]

    try:
        state.settings = dataclasses.replace(configured, login_per_minute=2)
        state.limiter.hits.clear()
        untrusted = statuses("198.51.100.1") + statuses("198.51.100.2")
        state.settings = dataclasses.replace(
            configured, login_per_minute=2, trusted_proxies=parse_networks("127.0.0.1")
        )
        state.limiter.hits.clear()
        trusted = statuses("198.51.100.1") + statuses("198.51.100.2") + statuses("198.51.100.1")
    finally:
        state.settings = configured
        state.limiter.hits.clear()
    assert untrusted == [401, 401, 429, 429]
    assert trusted == [401, 401, 401, 401, 429, 429]


def test_a_passkey_is_added_listed_used_to_log_in_and_removed(signed_in, portal):
    browser, account = signed_in
    me = browser.request("GET", f"{API}/session").json()
    browser.csrf = me["csrf_token"]
    origin = f"http://localhost:{portal.env['GATEWAY_PORT']}"
    authenticator = SoftwareAuthenticator(origin=origin)
    started = browser.request("POST", f"{API}/account/passkeys/options", json={})
    assert started.status_code == 200, started.text
    made = authenticator.create(started.json()["options"])
    added = browser.request(
        "POST", f"{API}/account/passkeys", json={"ticket": started.json()["ticket"], "credential": made}
    )
    assert added.status_code == 201, added.text
    (passkey,) = added.json()["passkeys"]

    stranger = Browser(portal)
    options = stranger.request("POST", f"{API}/session/passkey/options", json={})
    assert options.status_code == 200, options.text
    answer = authenticator.get(options.json()["options"])
    session = stranger.request(
        "POST", f"{API}/session/passkey", json={"ticket": options.json()["ticket"], "credential": answer}
    )
    assert session.status_code == 200, session.text
    assert session.json()["account_id"] == account.account_id
    assert stranger.request("GET", "/uebersicht", allow_redirects=False).status_code == 200

    security = browser.request("GET", "/einstellungen/sicherheit").text
    assert "Passkey 1, eingerichtet am" in security
    removed = post_form(browser, f"/einstellungen/sicherheit/passkeys/{passkey['credential_id']}/entfernen", security)
    assert path_of(removed.url) == "/einstellungen/sicherheit?erledigt=entfernt"
    assert browser.request("GET", f"{API}/account/passkeys").json() == {"passkeys": []}
    options = Browser(portal).request("POST", f"{API}/session/passkey/options", json={}).json()
    refused = Browser(portal).request(
        "POST",
        f"{API}/session/passkey",
        json={"ticket": options["ticket"], "credential": authenticator.get(options["options"])},
    )
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "PASSKEY_REFUSED"


@pytest.mark.parametrize(
    ("methods", "code_label", "passkey"),
    [(["totp"], "Code aus Ihrer Authenticator-App", False), (["totp", "passkey"], "Code aus Ihrer Authenticator-App",
     True), (["passkey"], "Wiederherstellungscode", True)],
)  # fmt: skip
def test_the_second_factor_page_offers_what_the_account_has(methods, code_label, passkey):
    html = (
        pages.templates("de")
        .get_template("second_factor.html")
        .render(
            csrf_field="csrf_token",
            csrf_token="t",
            logged_in=False,
            here="/anmelden",
            ticket="ticket",
            error=None,
            methods=methods,
        )  # fmt: skip
    )
    assert f'<label for="code">{code_label}</label>' in html
    assert ('id="passkey-anmelden-knopf"' in html) is passkey
    assert ('<script src="/static/passkeys.js" defer></script>' in html) is passkey


def test_a_citizen_gives_and_changes_their_name_in_the_settings(portal):
    browser = Browser(portal)
    browser.log_in(portal.account())
    before = browser.request("GET", "/einstellungen")
    assert (
        '<p id="name">nicht angegeben</p>' in before.text and 'href="/einstellungen/name">Namen angeben' in before.text
    )
    form = browser.request("GET", "/einstellungen/name").text
    refused = post_form(browser, "/einstellungen/name", form, given_name="Erika", family_name="Muster<mann>")
    assert refused.status_code == 400 and error_links(refused.text) == ["family_name"]
    assert 'value="Muster&lt;mann&gt;"' in refused.text  # what was typed, escaped, to correct
    empty = post_form(browser, "/einstellungen/name", refused.text, given_name="", family_name="")
    assert error_links(empty.text) == ["given_name", "family_name"]
    saved = post_form(browser, "/einstellungen/name", empty.text, given_name="Anna Maria", family_name="O’Brien-Şahin")
    assert saved.status_code == 200 and saved.url.endswith("/einstellungen?gespeichert=name#ihr-name")
    assert "Ihr Name ist gespeichert." in saved.text and '<p id="name">Anna Maria O’Brien-Şahin</p>' in saved.text
    assert 'value="Anna Maria"' in browser.request("GET", "/einstellungen/name").text


def test_the_api_reads_and_changes_the_citizens_name_and_refuses_staff(portal):
    citizen = Browser(portal)
    citizen.log_in(portal.account(name=("Erika", "Mustermann")))
    assert citizen.request("GET", f"{API}/account/name").json() == {"given_name": "Erika", "family_name": "Mustermann"}
    wrong = citizen.request("PUT", f"{API}/account/name", json={"given_name": "Erika", "family_name": "M4"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "NAME_INVALID"
    assert wrong.json()["error"]["details"] == {"field": "family_name"}
    missing = citizen.request("PUT", f"{API}/account/name", json={"given_name": "Erika"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "NAME_INVALID"
    changed = citizen.request("PUT", f"{API}/account/name", json={"given_name": "Erika", "family_name": "Gabler"})
    assert changed.status_code == 200 and changed.json() == {"given_name": "Erika", "family_name": "Gabler"}
    assert citizen.request("GET", f"{API}/account/name").json()["family_name"] == "Gabler"
    staff = Browser(portal)
    staff.log_in(portal.staff_account())
    assert staff.request("GET", f"{API}/account/name").status_code == 403
    assert (
        staff.request("PUT", f"{API}/account/name", json={"given_name": "Max", "family_name": "M"}).status_code == 403
    )


def test_the_api_registers_only_with_a_name(portal, mailbox, activation_code):
    client = Browser(portal)
    body = {
        "email": f"neu.{secrets.token_hex(5)}@example.org",
        "password": PASSWORD,
        "activation_code": activation_code,
    }
    unnamed = client.request("POST", f"{API}/registration", json=body)
    assert unnamed.status_code == 400 and unnamed.json()["error"]["details"] == {"field": "given_name"}
    digits = client.request("POST", f"{API}/registration", json={**body, "given_name": "Erika", "family_name": "1"})
    assert digits.status_code == 400 and digits.json()["error"]["code"] == "NAME_INVALID"
    named = client.request("POST", f"{API}/registration", json={**body, "given_name": "Erika", "family_name": "Muster"})
    assert named.status_code == 202, named.text
