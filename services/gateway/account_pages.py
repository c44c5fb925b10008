"""Account pages: registration, password reset, passkeys, second factor, password and e-mail settings.

Also the pages around them: Leichte Sprache, the language switch and the accessibility feedback form.
Like ``pages.py`` they call ``citizen.py`` (the layer the JSON API shares) and work without
JavaScript; only passkeys need it (WebAuthn, ``static/passkeys.js`` with the API routes at the end).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from services.gateway import citizen, i18n
from services.gateway.exchange import Exchange
from services.gateway.pages import Page, form_nonce, redirect, render, render_with_nonce
from services.gateway.routes import ok
from shared.errors import Conflict, InvalidInput, NotFound, PortalError, Unauthenticated
from shared.text import has_hidden_characters

LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Which form field an error of identity belongs to; anything else goes to the top of the page.
FIELD_OF_CODE = {
    "EMAIL_INVALID": "email",
    "EMAIL_UNCHANGED": "email",
    "PASSWORD_TOO_SHORT": "password",
    "PASSWORD_TOO_LONG": "password",
    "PASSWORD_TOO_COMMON": "password",
    "ACTIVATION_CODE_INVALID": "activation_code",
    "CURRENT_PASSWORD_WRONG": "current_password",
    "TOTP_CODE_WRONG": "code",
}
REQUIRED = "Bitte füllen Sie dieses Feld aus."
PASSWORDS_DIFFER = "Die beiden Passwörter sind nicht gleich. Bitte geben Sie das neue Passwort zweimal gleich ein."
FEEDBACK_LIMIT = 2000


# Codes whose ``details`` name the form field themselves.
FIELD_IN_DETAILS = {"NAME_INVALID"}


def errors_of(problem: PortalError) -> dict[str, str]:
    field = problem.details.get("field") if problem.code in FIELD_IN_DETAILS else None
    return {str(field or FIELD_OF_CODE.get(problem.code, "_")): problem.message}


def required(form: Any, *names: str) -> dict[str, str]:
    return {name: REQUIRED for name in names if not (form.get(name) or "").strip()}


def public_form(x: Exchange, template: str, status: int = 200, **context: Any) -> Response:
    """A form that works before login (CSRF bound to the nonce cookie) and also with a session."""
    if x.session_token:
        return render(x, template, status=status, **context)
    return render_with_nonce(x, form_nonce(x), template, status, **context)


# -- registration and links by mail --------------------------------------------------------------


def register(x: Exchange) -> Response:
    if x.request.method == "GET":
        return public_form(x, "account/register.html", errors={}, values={})
    x.check_csrf(x.form_csrf())
    x.limit("registration", x.settings.login_per_minute)
    form = x.form()
    values = {name: form.get(name, "").strip() for name in ("activation_code", "given_name", "family_name", "email")}
    errors = required(form, "activation_code", "given_name", "family_name", "email", "password", "password_repeat")
    if not errors and form.get("password") != form.get("password_repeat"):
        errors = {"password_repeat": PASSWORDS_DIFFER}
    if not errors:
        try:
            citizen.register(x.backend, values["email"], form.get("password", ""), values["activation_code"], x.client,
                             values["given_name"], values["family_name"])  # fmt: skip
        except (InvalidInput, Unauthenticated) as refused:
            errors = errors_of(refused)
        else:
            return public_form(x, "account/registered.html")
    return public_form(x, "account/register.html", 400, errors=errors, values=values)


def confirm_email(x: Exchange) -> Response:
    try:
        citizen.confirm_email(x.backend, x.request.args.get("token", ""))
    except Unauthenticated as refused:
        return public_form(x, "account/link_result.html", 400, ok=False, message=refused.message)
    return public_form(x, "account/link_result.html", ok=True, message=None)


def forgot_password(x: Exchange) -> Response:
    if x.request.method == "GET":
        return public_form(x, "account/forgot_password.html", errors={}, email="", sent=None)
    x.check_csrf(x.form_csrf())
    x.limit("registration", x.settings.login_per_minute)
    email = x.form().get("email", "").strip()
    if not email:
        return public_form(x, "account/forgot_password.html", 400, errors={"email": REQUIRED}, email="", sent=None)
    # The same answer for every address: the page never tells whether an account exists.
    answer = citizen.request_password_reset(x.backend, email, x.client)
    return public_form(x, "account/forgot_password.html", errors={}, email="", sent=answer["message"])


def new_password(x: Exchange) -> Response:
    token = x.request.args.get("token", "")
    if x.request.method == "GET":
        return public_form(x, "account/new_password.html", errors={}, token=token)
    x.check_csrf(x.form_csrf())
    x.limit("registration", x.settings.login_per_minute)
    form = x.form()
    errors = required(form, "password", "password_repeat")
    if not errors and form.get("password") != form.get("password_repeat"):
        errors = {"password_repeat": PASSWORDS_DIFFER}
    if not errors:
        try:
            citizen.reset_password(x.backend, form.get("token", ""), form.get("password", ""), x.client)
        except (InvalidInput, Unauthenticated) as refused:
            errors = errors_of(refused) if refused.code != "LINK_INVALID" else {"_": refused.message}
        else:
            if x.session_token:  # identity ended every session of the account
                x.end_session()
            return public_form(x, "account/password_changed.html", reset=True)
    return public_form(x, "account/new_password.html", 400, errors=errors, token=form.get("token", ""))


def confirm_email_change(x: Exchange) -> Response:
    try:
        citizen.confirm_email_change(x.backend, x.request.args.get("token", ""))
    except (Unauthenticated, Conflict) as refused:
        return public_form(x, "account/link_result.html", 400, ok=False, message=refused.message, changed=True)
    return public_form(x, "account/link_result.html", ok=True, message=None, changed=True)


# -- settings: security --------------------------------------------------------------------------


def security(x: Exchange) -> Response:
    token = x.access_token()
    overview = citizen.security_overview(x.backend, token)
    notice = {"entfernt": "Der Passkey ist entfernt.", "passkey": "Der Passkey ist eingerichtet."}.get(
        x.request.args.get("erledigt", "")
    )
    return render(x, "account/security.html", overview=overview, notice=notice)


def authenticator(x: Exchange) -> Response:
    """Set up an authenticator app (the first or a new one): show the secret, then check its first code."""
    token = x.access_token()
    first_login = "erste-anmeldung" in x.request.args
    if x.request.method == "GET":
        started = citizen.start_authenticator(x.backend, token)
        return render(x, "account/authenticator.html", started=started, errors={}, first_login=first_login)
    x.check_csrf(x.form_csrf())
    form = x.form()
    started = {key: form.get(key, "") for key in ("ticket", "secret", "otpauth_uri")}
    code = form.get("code", "").strip()
    errors = required(form, "code")
    if not errors:
        try:
            codes = citizen.confirm_authenticator(x.backend, token, started["ticket"], code, x.client)
        except InvalidInput as wrong:
            errors = errors_of(wrong)
        except Unauthenticated as expired:
            if expired.code != "TICKET_INVALID":
                raise
            started, errors = citizen.start_authenticator(x.backend, token), {"_": expired.message}
        else:
            return render(x, "account/recovery_codes.html", codes=codes, first_login=first_login)
    return render(x, "account/authenticator.html", status=400, started=started, errors=errors,
                  first_login=first_login)  # fmt: skip


def recovery_codes(x: Exchange) -> Response:
    x.check_csrf(x.form_csrf())
    codes = citizen.renew_recovery_codes(x.backend, x.access_token(), x.client)
    return render(x, "account/recovery_codes.html", codes=codes, first_login=False)


def remove_passkey(x: Exchange, credential_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    citizen.remove_passkey(x.backend, x.access_token(), credential_id, x.client)
    return redirect(x, "/einstellungen/sicherheit?erledigt=entfernt")


def change_password(x: Exchange) -> Response:
    token = x.access_token()
    if x.request.method == "GET":
        return render(x, "account/change_password.html", errors={}, saved=False)
    x.check_csrf(x.form_csrf())
    form = x.form()
    errors = required(form, "current_password", "password", "password_repeat")
    if not errors and form.get("password") != form.get("password_repeat"):
        errors = {"password_repeat": PASSWORDS_DIFFER}
    if not errors:
        try:
            citizen.change_password(x.backend, token, form["current_password"], form["password"], x.client)
        except (InvalidInput, Unauthenticated) as refused:
            if refused.code in {"SESSION_ENDED", "TOKEN_INVALID", "TOKEN_EXPIRED"}:
                raise
            errors = errors_of(refused)
        else:
            return render(x, "account/password_changed.html", reset=False)
    return render(x, "account/change_password.html", status=400, errors=errors, saved=False)


def change_name(x: Exchange) -> Response:
    """The citizen's name as the Jobcenter's caseworkers see it beside the Kundennummer."""
    token = x.access_token()
    if x.request.method == "GET":
        return render(x, "account/change_name.html", errors={}, values=citizen.my_name(x.backend, token))
    x.check_csrf(x.form_csrf())
    form = x.form()
    values = {name: form.get(name, "").strip() for name in ("given_name", "family_name")}
    errors = required(form, "given_name", "family_name")
    if not errors:
        try:
            citizen.change_my_name(x.backend, token, values["given_name"], values["family_name"], x.client)
        except InvalidInput as refused:
            errors = errors_of(refused)
        else:
            return redirect(x, "/einstellungen?gespeichert=name#ihr-name")
    return render(x, "account/change_name.html", status=400, errors=errors, values=values)


def api_my_name(x: Exchange) -> Response:
    return ok(x, citizen.my_name(x.backend, x.access_token()))


def api_change_my_name(x: Exchange) -> Response:
    body = x.json_object()
    given, family = body.get("given_name"), body.get("family_name")
    return ok(x, citizen.change_my_name(x.backend, x.access_token(), given if isinstance(given, str) else "",
                                        family if isinstance(family, str) else "", x.client))  # fmt: skip


def change_email(x: Exchange) -> Response:
    token = x.access_token()
    current = citizen.security_overview(x.backend, token)["email"]
    if x.request.method == "GET":
        return render(x, "account/change_email.html", errors={}, current=current, email="", sent=None)
    x.check_csrf(x.form_csrf())
    form = x.form()
    email = form.get("email", "").strip()
    errors = required(form, "email", "current_password")
    if not errors:
        try:
            answer = citizen.request_email_change(x.backend, token, form["current_password"], email, x.client)
        except (InvalidInput, Unauthenticated) as refused:
            if refused.code in {"SESSION_ENDED", "TOKEN_INVALID", "TOKEN_EXPIRED"}:
                raise
            errors = errors_of(refused)
        else:
            return render(x, "account/change_email.html", errors={}, current=current, email="",
                          sent=answer["message"])  # fmt: skip
    return render(x, "account/change_email.html", status=400, errors=errors, current=current, email=email,
                  sent=None)  # fmt: skip


# -- Leichte Sprache, language, accessibility feedback -------------------------------------------


def easy_language(x: Exchange) -> Response:
    return render(x, "account/leichte_sprache.html")


def local_path(target: str | None) -> str:
    """A path of this portal to return to; anything else (another host, ``//``, a scheme) is the start page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def switch_language(x: Exchange, language: str) -> Response:
    if language not in i18n.LANGUAGES:
        raise NotFound("PAGE_NOT_FOUND", "Diese Seite gibt es nicht.")
    response = redirect(x, local_path(x.request.args.get("zurueck")))
    response.set_cookie(i18n.COOKIE, language, max_age=LANGUAGE_COOKIE_SECONDS, path="/", secure=x.settings.secure,
                        httponly=True, samesite="Lax")  # fmt: skip
    return response


def accessibility_feedback(x: Exchange) -> Response:
    if x.request.method == "GET":
        return public_form(x, "account/feedback.html", errors={}, values={}, sent=False)
    x.check_csrf(x.form_csrf())
    x.limit("feedback", x.settings.login_per_minute)
    form = x.form()
    values = {name: (form.get(name) or "").strip() for name in ("barrier", "page", "contact")}
    errors = required(form, "barrier")
    errors.update({name: f"Bitte schreiben Sie höchstens {FEEDBACK_LIMIT} Zeichen." for name, value in values.items()
                   if len(value) > FEEDBACK_LIMIT})  # fmt: skip
    errors.update({name: "Bitte geben Sie nur Text ein: Hier stehen unsichtbare Zeichen oder Steuerzeichen."
                   for name, value in values.items()
                   if name not in errors and has_hidden_characters(value, multiline=name == "barrier")})  # fmt: skip
    if errors:
        return public_form(x, "account/feedback.html", 400, errors=errors, values=values, sent=False)
    citizen.send_accessibility_feedback(x.backend, values["barrier"], values["page"], values["contact"])
    return public_form(x, "account/feedback.html", errors={}, values={}, sent=True)


# -- JSON API routes for passkeys (WebAuthn needs JavaScript) -----------------------------------


def credential_of(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ticket, credential = body.get("ticket"), body.get("credential")
    if not isinstance(ticket, str) or not ticket or not isinstance(credential, dict):
        raise InvalidInput("FIELD_REQUIRED", "Bitte senden Sie ticket und credential.", {"field": "credential"})
    return ticket, credential


def api_passkey_login_options(x: Exchange) -> Response:
    from services.gateway.api import ok

    x.limit("login", x.settings.login_per_minute)
    return ok(x, citizen.passkey_login_options(x.backend))


def api_passkey_login(x: Exchange) -> Response:
    from services.gateway.api import session_answer

    x.limit("login", x.settings.login_per_minute)
    ticket, credential = credential_of(x.json_object())
    return session_answer(x, citizen.log_in_with_passkey(x.backend, ticket, credential, x.client))


def api_list_passkeys(x: Exchange) -> Response:
    from services.gateway.api import ok

    return ok(x, {"passkeys": citizen.my_passkeys(x.backend, x.access_token())})


def api_passkey_registration_options(x: Exchange) -> Response:
    from services.gateway.api import ok

    return ok(x, citizen.passkey_registration_options(x.backend, x.access_token()))


def api_register_passkey(x: Exchange) -> Response:
    from services.gateway.api import ok

    ticket, credential = credential_of(x.json_object())
    citizen.register_passkey(x.backend, x.access_token(), ticket, credential, x.client)
    return ok(x, {"passkeys": citizen.my_passkeys(x.backend, x.access_token())}, 201)


def api_remove_passkey(x: Exchange, credential_id: str) -> Response:
    from services.gateway.api import empty

    citizen.remove_passkey(x.backend, x.access_token(), credential_id, x.client)
    return empty(x)


PAGES: tuple[Page, ...] = (
    Page(("GET", "POST"), "/registrieren", register),
    Page(("GET",), "/e-mail-bestaetigen", confirm_email),
    Page(("GET",), "/konto/bestaetigen", confirm_email),  # the link in identity's mail
    Page(("GET", "POST"), "/passwort-vergessen", forgot_password),
    Page(("GET", "POST"), "/passwort-neu", new_password),
    Page(("GET", "POST"), "/konto/passwort-neu", new_password),  # the link in identity's mail
    Page(("GET",), "/e-mail-aendern/bestaetigen", confirm_email_change),
    Page(("GET",), "/einstellungen/sicherheit", security),
    Page(("GET", "POST"), "/einstellungen/sicherheit/app", authenticator),
    Page(("POST",), "/einstellungen/sicherheit/wiederherstellungscodes", recovery_codes),
    Page(("POST",), "/einstellungen/sicherheit/passkeys/<credential_id>/entfernen", remove_passkey),
    Page(("GET", "POST"), "/einstellungen/passwort", change_password),
    Page(("GET", "POST"), "/einstellungen/e-mail", change_email),
    Page(("GET", "POST"), "/einstellungen/name", change_name),
    Page(("GET",), "/leichte-sprache", easy_language),
    Page(("GET",), "/sprache/<language>", switch_language),
    Page(("GET", "POST"), "/barrierefreiheit/rueckmeldung", accessibility_feedback),
)
