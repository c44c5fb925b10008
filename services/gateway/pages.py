"""The citizen's web pages: server-rendered German HTML that works without JavaScript.

Each page calls the same functions of ``citizen.py`` as the JSON API. Forms post url-encoded with
the session's CSRF token in a hidden field; before login the token is bound to a nonce cookie.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from services.gateway import citizen
from services.gateway.errors import GENERIC_MESSAGE, HTTP_STATUS, Refused
from services.gateway.exchange import Exchange
from services.gateway.multipart import open_upload_form
from services.gateway.security import CSRF_FIELD, csrf_token
from shared.errors import InvalidInput, NotFound, PortalError, Unauthenticated

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = {"portal.css": "text/css"}

STATUS_NAMES = {
    "draft": "Entwurf",
    "submitted": "Abgeschickt",
    "assigned": "Beim Jobcenter",
    "assignment_pending": "Wird zugeordnet",
    "received": "Eingegangen",
    "in_progress": "In Bearbeitung",
    "documents_requested": "Unterlagen angefordert",
    "decided": "Entschieden",
    "closed": "Abgeschlossen",
    "withdrawn": "Zurückgenommen",
    "handed_over": "Weitergegeben",
}
KIND_NAMES = {
    "veraenderungsmitteilung": "Veränderungsmitteilung",
    "weiterbewilligungsantrag": "Weiterbewilligungsantrag",
}
CHANGE_NAMES = {
    "person_zugezogen": "Jemand ist eingezogen", "person_ausgezogen": "Jemand ist ausgezogen",
    "geburt": "Ein Kind wurde geboren", "todesfall": "Jemand ist gestorben", "trennung": "Trennung",
    "umzug": "Umzug", "bankverbindung": "Neue Bankverbindung", "name": "Neuer Name",
    "schwangerschaft": "Schwangerschaft", "krankenversicherung": "Krankenversicherung",
    "ortsabwesenheit": "Ich bin verreist", "aufenthaltstitel": "Aufenthaltstitel",
    "arbeitsaufnahme": "Ich habe eine Arbeit aufgenommen", "arbeitsende": "Meine Arbeit ist zu Ende",
    "einkommensaenderung": "Mein Einkommen hat sich geändert", "selbststaendigkeit": "Selbstständigkeit",
    "kindergeld": "Kindergeld", "unterhalt": "Unterhalt", "rente_sonstige_leistungen": "Rente oder andere Leistungen",
    "vermoegen": "Vermögen", "mieterhoehung": "Die Miete steigt", "nebenkostenabrechnung": "Nebenkostenabrechnung",
    "heizkosten": "Heizkosten",
}  # fmt: skip
LEGAL_PAGES = {"impressum": "Impressum", "datenschutz": "Datenschutzerklärung",
               "barrierefreiheit": "Erklärung zur Barrierefreiheit"}  # fmt: skip


@lru_cache(maxsize=1)
def templates() -> Environment:
    """The Jinja2 templates, loaded when the first page is rendered (no I/O at import)."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
    )
    environment.globals.update(status_names=STATUS_NAMES, kind_names=KIND_NAMES, change_names=CHANGE_NAMES)
    return environment


def render(x: Exchange, template: str, status: int = 200, **context: Any) -> Response:
    html = (
        templates()
        .get_template(template)
        .render(csrf_field=CSRF_FIELD, csrf_token=x.csrf_token(), logged_in=bool(x.session_token), **context)
    )
    return x.finish(Response(html, status=status, mimetype="text/html"))


def redirect(x: Exchange, location: str) -> Response:
    return x.finish(Response(status=303, headers={"Location": location}))


# -- public pages ----------------------------------------------------------------------------------


def start(x: Exchange) -> Response:
    return render(x, "start.html")


def legal(x: Exchange, page: str) -> Response:
    if page not in LEGAL_PAGES:
        raise NotFound("PAGE_NOT_FOUND", "Diese Seite gibt es nicht.")
    return render(x, f"{page}.html", title=LEGAL_PAGES[page])


def static(x: Exchange, name: str) -> Response:
    if name not in STATIC:
        raise NotFound("PAGE_NOT_FOUND", "Diese Seite gibt es nicht.")
    response = Response((HERE / "static" / name).read_bytes(), mimetype=STATIC[name])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return x.finish(response)


def login_form(x: Exchange, error: str | None = None, status: int = 200, email: str = "") -> Response:
    if x.session_token and x.request.method == "GET":
        return redirect(x, "/uebersicht")
    return render_with_nonce(x, form_nonce(x), "login.html", status, error=error, email=email)


def form_nonce(x: Exchange) -> str:
    return x.request.cookies.get(x.settings.form_cookie_name) or secrets.token_urlsafe(24)


def render_with_nonce(x: Exchange, nonce: str, template: str, status: int, **context: Any) -> Response:
    """A pre-login form: its CSRF token is bound to a random nonce cookie set with it."""
    html = (
        templates()
        .get_template(template)
        .render(csrf_field=CSRF_FIELD, csrf_token=csrf_token(x.settings, nonce), logged_in=False, **context)
    )
    response = x.finish(Response(html, status=status, mimetype="text/html"))
    response.set_cookie(x.settings.form_cookie_name, nonce, path="/", secure=x.settings.secure, httponly=True,
                        samesite="Strict")  # fmt: skip
    return response


def login(x: Exchange) -> Response:
    x.check_csrf(x.form_csrf())
    x.limit("login", x.settings.login_per_minute)
    email, password = x.form().get("email", ""), x.form().get("password", "")
    try:
        result = citizen.log_in(x.backend, email, password, x.client)
    except Unauthenticated as refused:
        return login_form(x, refused.message, 401, email)
    return after_login(x, result)


def second_factor(x: Exchange) -> Response:
    x.check_csrf(x.form_csrf())
    x.limit("login", x.settings.login_per_minute)
    ticket, code = x.form().get("login_ticket", ""), x.form().get("code", "").strip()
    recovery = code if "-" in code or len(code) > 8 else None
    try:
        result = citizen.complete_second_factor(x.backend, ticket, None if recovery else code, recovery, x.client)
    except Unauthenticated as refused:
        if refused.code == "TICKET_INVALID":
            return login_form(x, refused.message, 401)
        return render_with_nonce(x, form_nonce(x), "second_factor.html", 401, ticket=ticket, error=refused.message)
    return after_login(x, result)


def after_login(x: Exchange, result: dict[str, Any]) -> Response:
    if result.get("status") == "authenticated":
        x.begin_session(result)
        return redirect(x, "/uebersicht")
    if result.get("status") == "second_factor_required":
        return render_with_nonce(x, form_nonce(x), "second_factor.html", 200, ticket=result["login_ticket"], error=None)
    return login_form(x, "Mitarbeitende melden sich im Portal für Mitarbeitende an.", 403)


def logout(x: Exchange) -> Response:
    x.check_csrf(x.form_csrf())
    if x.session_token:
        citizen.log_out(x.backend, x.session_token, x.client)
    x.end_session()
    return redirect(x, "/")


# -- the citizen's own pages ----------------------------------------------------------------------


def dashboard(x: Exchange) -> Response:
    token = x.access_token()
    cases = citizen.my_cases(x.backend, token)
    unread = citizen.postfach(x.backend, token)["unread"]
    return render(x, "dashboard.html", cases=cases, unread=unread)


def new_case(x: Exchange) -> Response:
    x.check_csrf(x.form_csrf())
    kind = x.form().get("kind", "veraenderungsmitteilung")
    case_id = citizen.start_case(x.backend, x.access_token(), kind)
    return redirect(x, f"/antraege/{case_id}/abschnitt/aenderungen")


def section(x: Exchange, case_id: str, section_id: str) -> Response:
    token = x.access_token()
    detail = citizen.case_detail(x.backend, token, case_id)
    form = citizen.form_of(x.backend, detail["case"])
    described = {s["id"]: s for s in form["sections"]}
    if section_id not in described:
        raise NotFound("SECTION_UNKNOWN", "Diesen Abschnitt gibt es nicht.")
    values = detail["answers"].get(section_id, {})
    errors: dict[str, str] = {}
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = fields_from_form(described[section_id]["schema"], x.form())
        try:
            saved = citizen.save_section(x.backend, token, case_id, section_id, values)
        except InvalidInput as invalid:
            if invalid.code != "SECTION_INVALID":
                raise
            errors = {e["field"] or "_": e["message"] for e in invalid.details.get("errors", [])}
        else:
            order = [s["id"] for s in saved["sections"]] if "sections" in saved else []
            later = order[order.index(section_id) + 1 :] if section_id in order else []
            return redirect(
                x, f"/antraege/{case_id}/abschnitt/{later[0]}" if later else f"/antraege/{case_id}/nachweise"
            )
    return render(
        x, "section.html", status=400 if errors else 200, case=detail["case"], section=described[section_id],
        values=values, errors=errors, steps=detail["sections"], categories=form.get("categories", {}),
    )  # fmt: skip


def fields_from_form(schema: dict[str, Any], form: Any) -> dict[str, Any]:
    """The section's answers from a url-encoded form, typed as its JSON Schema says; blanks left out."""
    values: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        kind = field.get("type")
        if kind == "array":
            chosen = form.getlist(name)
            if chosen:
                values[name] = chosen
        elif kind == "boolean":
            if name in form:
                values[name] = form.get(name) in {"on", "true", "ja"}
        else:
            raw = (form.get(name) or "").strip()
            if raw == "":
                continue
            if kind in {"number", "integer"}:
                try:
                    number = float(raw.replace(".", "").replace(",", ".") if "," in raw else raw)
                    values[name] = int(number) if kind == "integer" and number.is_integer() else number
                except ValueError:
                    values[name] = raw  # the service names the field and says what is wrong
            else:
                values[name] = raw
    return values


def nachweise(x: Exchange, case_id: str, error: str | None = None, status: int = 200) -> Response:
    detail = citizen.case_detail(x.backend, x.access_token(), case_id)
    return render(x, "nachweise.html", status=status, detail=detail, case=detail["case"], error=error)


def upload(x: Exchange, case_id: str) -> Response:
    x.limit("upload", x.settings.upload_per_minute)
    token = x.access_token()
    form = open_upload_form(x.request.stream, x.request.mimetype_params.get("boundary"), x.settings.max_body_bytes)
    x.check_csrf(form.fields.get(CSRF_FIELD))
    nachweis = form.fields.get("nachweis", "")
    try:
        citizen.upload(x.backend, token, case_id, nachweis, form.filename, form.chunks, None)
    except InvalidInput as refused:
        for _ in form.chunks:  # read the rest, so the browser gets the answer
            pass
        return nachweise(x, case_id, refused.message, 400)
    return redirect(x, f"/antraege/{case_id}/nachweise")


def review(x: Exchange, case_id: str) -> Response:
    detail = citizen.case_detail(x.backend, x.access_token(), case_id)
    form = citizen.form_of(x.backend, detail["case"])
    return render(x, "review.html", detail=detail, case=detail["case"], form=form, submit_key=str(uuid.uuid4()))


def submit(x: Exchange, case_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    token = x.access_token()
    try:
        citizen.submit(x.backend, token, case_id, x.form().get("idempotency_key"))
    except InvalidInput as incomplete:
        detail = citizen.case_detail(x.backend, token, case_id)
        form = citizen.form_of(x.backend, detail["case"])
        return render(x, "review.html", status=400, detail=detail, case=detail["case"], form=form,
                      submit_key=str(uuid.uuid4()), error=incomplete.message)  # fmt: skip
    return redirect(x, f"/antraege/{case_id}")


def case_page(x: Exchange, case_id: str) -> Response:
    token = x.access_token()
    detail = citizen.case_detail(x.backend, token, case_id)
    events = citizen.timeline(x.backend, token, case_id)
    thread = citizen.messages(x.backend, token, case_id)
    return render(x, "case.html", detail=detail, case=detail["case"], events=events, messages=thread)


def receipt_pdf(x: Exchange, case_id: str) -> Response:
    found = citizen.receipt(x.backend, x.access_token(), case_id)
    return x.finish(
        Response(found.pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="Eingangsbestaetigung-{found.receipt_number}.pdf"'})
    )  # fmt: skip


def write_message(x: Exchange, case_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    citizen.post_message(x.backend, x.access_token(), case_id, x.form().get("text", ""))
    return redirect(x, f"/antraege/{case_id}#nachrichten")


def withdraw(x: Exchange, case_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    citizen.withdraw(x.backend, x.access_token(), case_id)
    return redirect(x, f"/antraege/{case_id}")


def postfach(x: Exchange) -> Response:
    return render(x, "postfach.html", postfach=citizen.postfach(x.backend, x.access_token()))


def mark_read(x: Exchange, message_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    citizen.mark_read(x.backend, x.access_token(), message_id)
    return redirect(x, "/postfach")


CHANNEL_NAMES = {
    "postfach_bescheide": "Bescheide digital im Postfach bekommen",
    "email_alerts": "E-Mail, wenn etwas Neues im Postfach ist",
    "paper": "Zusätzlich Briefe auf Papier",
}


def settings_page(x: Exchange) -> Response:
    token = x.access_token()
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        for channel in CHANNEL_NAMES:
            citizen.set_consent(x.backend, token, channel, channel in x.form())
        return redirect(x, "/einstellungen?gespeichert=1")
    return render(x, "settings.html", consents=citizen.consents(x.backend, token), channels=CHANNEL_NAMES,
                  saved="gespeichert" in x.request.args)  # fmt: skip


def my_jobcenter(x: Exchange) -> Response:
    try:
        found = citizen.my_jobcenter(x.backend, x.access_token())
    except NotFound as unknown:
        return render(x, "my_jobcenter.html", resolution=None, message=unknown.message)
    return render(x, "my_jobcenter.html", resolution=found["resolution"])


@lru_cache(maxsize=1)
def information_topics() -> dict[str, tuple[str, str]]:
    """The content files of ``content/``: slug → (title, HTML fragment); read on first use."""
    topics = {}
    for path in sorted((HERE / "content").glob("*.html")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n")
        topics[path.stem] = (title.strip(), body)
    return topics


def information_list(x: Exchange) -> Response:
    topics = [(slug, title) for slug, (title, _) in information_topics().items()]
    return render(x, "information_list.html", topics=topics)


def information(x: Exchange, slug: str) -> Response:
    if slug not in information_topics():
        raise NotFound("PAGE_NOT_FOUND", "Diese Seite gibt es nicht.")
    title, body = information_topics()[slug]
    # The fragments are files of this repository, edited by the portal's editors, not user input.
    return render(x, "information.html", title=title, body=Markup(body))  # noqa: S704 - repository files


@dataclass(frozen=True, eq=False)
class Page:
    methods: tuple[str, ...]
    path: str
    handler: Callable[..., Response]


PAGES: tuple[Page, ...] = (
    Page(("GET",), "/", start),
    Page(("GET",), "/anmelden", login_form),
    Page(("POST",), "/anmelden", login),
    Page(("POST",), "/anmelden/code", second_factor),
    Page(("POST",), "/abmelden", logout),
    Page(("GET",), "/uebersicht", dashboard),
    Page(("POST",), "/antraege", new_case),
    Page(("GET",), "/antraege/<case_id>", case_page),
    Page(("GET", "POST"), "/antraege/<case_id>/abschnitt/<section_id>", section),
    Page(("GET",), "/antraege/<case_id>/nachweise", nachweise),
    Page(("POST",), "/antraege/<case_id>/nachweise", upload),
    Page(("GET",), "/antraege/<case_id>/pruefen", review),
    Page(("POST",), "/antraege/<case_id>/absenden", submit),
    Page(("GET",), "/antraege/<case_id>/eingangsbestaetigung.pdf", receipt_pdf),
    Page(("POST",), "/antraege/<case_id>/nachrichten", write_message),
    Page(("POST",), "/antraege/<case_id>/zuruecknehmen", withdraw),
    Page(("GET",), "/postfach", postfach),
    Page(("POST",), "/postfach/<message_id>/gelesen", mark_read),
    Page(("GET", "POST"), "/einstellungen", settings_page),
    Page(("GET",), "/mein-jobcenter", my_jobcenter),
    Page(("GET",), "/informationen", information_list),
    Page(("GET",), "/informationen/<slug>", information),
    Page(("GET",), "/static/<name>", static),
    Page(("GET",), "/<any(impressum, datenschutz, barrierefreiheit):page>", legal),
)


@lru_cache(maxsize=1)
def url_map() -> Map:
    """Every page of the portal: the citizen's here, account and staff pages from their own modules."""
    from services.gateway import account_pages, staff_pages  # they build on this module

    every = PAGES + account_pages.PAGES + staff_pages.PAGES
    return Map([Rule(page.path, methods=list(page.methods), endpoint=page) for page in every])


def dispatch(x: Exchange) -> Response:
    """Route a page request; a missing session leads to the login, errors to a page that explains."""
    try:
        try:
            page, params = url_map().bind("", url_scheme="http").match(x.request.path, method=x.request.method)
        except MethodNotAllowed as refused:
            raise Refused(405, "METHOD_NOT_ALLOWED", "Diese Seite gibt es so nicht.") from refused
        except NoRoute as missing:
            raise NotFound("PAGE_NOT_FOUND", "Diese Seite gibt es nicht.") from missing
        return page.handler(x, **params)
    except Unauthenticated:
        if x.session_token:
            x.end_session()
        return redirect(x, "/anmelden")
    except Refused as refused:
        return render(x, "error.html", status=refused.status, message=refused.message)
    except PortalError as problem:
        return render(x, "error.html", status=HTTP_STATUS.get(type(problem), 500), message=problem.message)
    except Exception as problem:
        # Only the type: an exception's text may quote what the citizen typed.
        log.error("page_failed", extra={"code": type(problem).__name__, "status": 500})
        return render(x, "error.html", status=500, message=GENERIC_MESSAGE)
