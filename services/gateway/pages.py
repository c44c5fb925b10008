"""The citizen's web pages: server-rendered German HTML that works without JavaScript.

Each page calls the same functions of ``citizen.py`` as the JSON API. Forms post url-encoded with
the session's CSRF token in a hidden field; before login the token is bound to a nonce cookie.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from services.gateway import citizen, i18n
from services.gateway.errors import GENERIC_MESSAGE, HTTP_STATUS, Refused, dependency_down
from services.gateway.exchange import Exchange
from services.gateway.legal import PARTICULARS, storage_periods
from services.gateway.multipart import open_upload_form
from services.gateway.routes import download
from services.gateway.security import CSRF_FIELD, csrf_token
from services.submissions import presentation
from services.submissions.forms import FormCatalogue
from shared.errors import InvalidInput, NotFound, PortalError, Unauthenticated

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATIC = {"portal.css": "text/css", "portal.js": "text/javascript", "passkeys.js": "text/javascript"}

STATUS_NAMES = {
    "draft": "Entwurf",
    "submitted": "Abgeschickt",
    "assigned": "Beim Jobcenter",
    "assignment_pending": "Wird zugeordnet",
    "received": "Eingegangen",
    "in_progress": "In Bearbeitung",
    "waiting_for_documents": "Unterlagen angefordert",
    "decided": "Entschieden",
    "closed": "Abgeschlossen",
    "withdrawn": "Zurückgenommen",
    "handed_over": "Weitergegeben",
    "discarded": "Verworfen",
    "expired": "Abgelaufen",
}
KIND_NAMES = {
    "veraenderungsmitteilung": "Veränderungsmitteilung",
    "weiterbewilligungsantrag": "Weiterbewilligungsantrag",
}
# What the Jobcenter decided, as the citizen reads it: a WBA is approved or not, a VÄM changes the benefit,
# ends it or changes nothing. Every outcome ever stored has a name (a VÄM decided before #20 "approved").
OUTCOME_NAMES = {
    "approved": "Bewilligt",
    "partially_approved": "Teilweise bewilligt",
    "rejected": "Abgelehnt",
    "amended": "Änderungsbescheid: Ihre Leistung ändert sich",
    "revoked": "Aufhebungsbescheid: Ihre Bewilligung wird aufgehoben",
    "unchanged": "Keine Änderung: Ihre Leistung bleibt, wie sie ist",
}


# The German titles of the options the forms offer, by field name: the forms say them
# (``x-option-titles``), the same words as on the receipt and the staff page.
@lru_cache(maxsize=1)
def option_names() -> dict[str, dict[str, str]]:
    """The forms' option titles by field name, read from the form files when first asked (no I/O at import)."""
    return presentation.option_titles_by_field(
        [section.schema for form in FormCatalogue.load().forms.values() for section in form.sections]
    )


def change_names() -> dict[str, str]:
    """What a VÄM can report as changed, by code: "arbeitsaufnahme" -> "Ich habe eine Arbeit aufgenommen"."""
    return option_names()["aenderungen"]


# The timeline in plain German; {jobcenter} is the name of the Jobcenter the event names.
EVENT_NAMES = {
    "DraftStarted": "Angefangen", "SectionSaved": "Angaben gespeichert", "DocumentAttached": "Nachweis hochgeladen",
    "DocumentDetached": "Nachweis entfernt", "Submitted": "Eingereicht", "MoveReported": "Umzug gemeldet",
    "Assigned": "Zugeordnet: {jobcenter}", "AssignmentPending": "Zuständiges Jobcenter wird geprüft",
    "MoveTookEffect": "Neues Jobcenter zuständig",
    "Reassigned": "An das {jobcenter} weitergegeben", "HandedOver": "An eine andere Stelle abgegeben",
    "Received": "Beim Jobcenter eingegangen", "ProcessingStarted": "In Bearbeitung",
    "DocumentsRequested": "Unterlagen angefordert", "DocumentSupplied": "Unterlagen nachgereicht",
    "NachweisWaived": "Ein Nachweis wird nicht mehr gebraucht", "Decided": "Entschieden",
    "Closed": "Abgeschlossen", "MessagePosted": "Nachricht", "BecameOverdue": "Frist abgelaufen",
    "HandoverConfirmed": "Vom {jobcenter} übernommen", "HandoverRefused": "Vom {jobcenter} nicht übernommen",
    "Withdrawn": "Zurückgenommen", "Discarded": "Verworfen", "Expired": "Abgelaufen",
}  # fmt: skip
ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")  # fmt: skip
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")  # fmt: skip
GERMANY = ZoneInfo("Europe/Berlin")
# Dates are typed as the citizen writes them (1.12.2026); ISO dates are taken as they are.
GERMAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# A WBA is due in the last two months of the approval period (Bewilligungszeitraum), so that the
# Jobcenter can decide before it ends (§ 37 SGB II: benefits only from the month of the application).
WBA_DUE_DAYS_BEFORE_END = 61
SECOND_FACTORS = ("totp", "passkey")  # identity's names; the second-factor page offers what the account has
LEGAL_PAGES = {"impressum": "Impressum", "datenschutz": "Datenschutzerklärung",
               "barrierefreiheit": "Erklärung zur Barrierefreiheit"}  # fmt: skip


@lru_cache(maxsize=len(i18n.LANGUAGES))
def templates(language: str = i18n.DEFAULT_LANGUAGE) -> Environment:
    """The Jinja2 templates in one language, loaded when the first page is rendered (no I/O at import)."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )  # fmt: skip
    environment.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    # Text that is not written in the template (the services' messages, names made in pages.py) is
    # translated with ``translated``, not ``_``: new-style ``_`` formats with ``%`` and marks its result
    # safe, which is right for the template's own text but not for text that may quote a file name.
    # Such text stays German where the catalog has no English: it is then marked lang="de" (i18n.py).
    environment.globals.update(
        lang=language, languages=i18n.LANGUAGES, translated=i18n.in_page_language(language),
        translated_text=i18n.translations(language).gettext, german=i18n.german_attribute(language),
    )  # fmt: skip
    environment.globals.update(
        status_names=STATUS_NAMES, kind_names=KIND_NAMES, change_names=change_names(), option_name=option_name
    )
    translate = i18n.translations(language).gettext
    environment.filters.update(
        german_date=partial(german_date, language=language), german_time=partial(german_time, language=language),
        answer=partial(answer_text, translate=translate, language=language), date_input=date_input,
        number_input=number_input,
        short_time=short_time, short_date=short_date,
    )  # fmt: skip
    return environment


def option_name(field: str, value: Any) -> str:
    return option_names().get(field, {}).get(str(value), str(value))


def gettext(x: Exchange, text: str) -> str:
    """``text`` (German) in the language of the request, for text made in Python rather than a template."""
    return i18n.translations(i18n.language_of(x.request)).gettext(text)


def german_date(value: str | date | None, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """``2026-12-01`` (or a timestamp) as ``1. Dezember 2026`` (English: ``1 December 2026``); else unchanged."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if isinstance(day, datetime):
        day = (day.astimezone(GERMANY) if day.tzinfo else day).date()
    if language == "en":
        return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year}"
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


GROUPED_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")
# A number as people write it: digits, German grouping and decimal comma, or a decimal point; not
# what Python's float() also reads ("1e5", "inf", "nan", "1_000").
WRITTEN_NUMBER = re.compile(r"-?(\d+|\d{1,3}(\.\d{3})+)(,\d+)?|-?\d+\.\d+")


def number_input(value: Any, field: dict[str, Any]) -> str:
    """A number as the citizen types it (``1710,55``, ``30``): a decimal comma, no grouping, cents for amounts."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    shown = presentation.euro(value)[:-2] if field.get("format") == "euro" else presentation.german_number(value)
    return shown.replace(".", "")


def short_time(value: str | None) -> str:
    """A stored UTC time as staff read it at a glance, in German time: ``04.12.2026 14:05``."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored times are UTC
    return f"{moment.astimezone(GERMANY):%d.%m.%Y %H:%M}"


def short_date(value: str | None) -> str:
    """The German calendar day of a stored time (or a date): ``04.12.2026``."""
    return short_time(value)[:10] if value and "T" in value else (date_input(value) if value else "")


def date_input(value: Any) -> str:
    """An ISO date as the citizen types it into a date field (``01.12.2026``)."""
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return "" if value is None else str(value)
    return f"{day:%d.%m.%Y}"


def german_time(value: str, language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """A timestamp as ``1. Dezember 2026, 14:05 Uhr`` in German time (English: ``1 December 2026, 14:05``)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    moment = moment.astimezone(GERMANY) if moment.tzinfo else moment
    if language == "en":
        return f"{german_date(moment.date(), language)}, {moment:%H:%M}"
    return f"{german_date(moment.date())}, {moment:%H:%M} Uhr"


def answer_text(
    value: Any,
    name: str,
    field: dict[str, Any] | None = None,
    translate: Callable[[str], str] = str,
    language: str = i18n.DEFAULT_LANGUAGE,
) -> str:
    """One answer as the citizen reads it on the review page: Ja/Nein, option names, German dates and amounts."""
    field = field or {}
    if value is True:
        return translate("Ja")
    if value is False:
        return translate("Nein")
    if isinstance(value, list):
        return ", ".join(translate(option_name(name, item)) for item in value) or translate("Keine")
    if field.get("format") == "date":
        return german_date(value, language)
    if isinstance(value, int | float):
        return presentation.present_value(field, value)  # 1.710,55 € and 38,5 as on the receipt
    return translate(option_name(name, value))


def render(x: Exchange, template: str, status: int = 200, **context: Any) -> Response:
    html = (
        templates(i18n.language_of(x.request))
        .get_template(template)
        .render(
            csrf_field=CSRF_FIELD,
            csrf_token=x.csrf_token(),
            logged_in=bool(x.session_token),
            here=x.request.path,
            **context,
        )
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
    return render(x, f"{page}.html", title=LEGAL_PAGES[page], operator=x.settings.operator,
                  particulars=PARTICULARS, storage=storage_periods(),
                  cookies=(x.settings.cookie_name, x.settings.form_cookie_name, i18n.COOKIE))  # fmt: skip


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
        templates(i18n.language_of(x.request))
        .get_template(template)
        .render(
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(x.settings, nonce),
            logged_in=False,
            here=x.request.path,
            **context,
        )
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
        methods = [method for method in x.form().get("methods", "").split() if method in SECOND_FACTORS]
        return render_with_nonce(x, form_nonce(x), "second_factor.html", 401, ticket=ticket, error=refused.message,
                                 methods=methods)  # fmt: skip
    return after_login(x, result)


def first_authenticator(x: Exchange) -> Response:
    """The first login of an account without a second factor: set up the app, then the session opens."""
    x.check_csrf(x.form_csrf())
    x.limit("login", x.settings.login_per_minute)
    form = x.form()
    ticket, code = form.get("login_ticket", ""), form.get("code", "").strip()
    started = {key: form.get(key, "") for key in ("secret", "otpauth_uri")}
    try:
        result = citizen.complete_enrolment_at_login(x.backend, ticket, code, x.client)
    except Unauthenticated as refused:
        if refused.code == "TICKET_INVALID":
            return login_form(x, refused.message, 401)
        return render_with_nonce(x, form_nonce(x), "first_authenticator.html", 401, ticket=ticket, started=started,
                                 error=refused.message)  # fmt: skip
    x.begin_session(result)  # the page below is the first of the session (its logout form, its CSRF token)
    return render(x, "account/recovery_codes.html", codes=result["recovery_codes"], first_login=True,
                  home=home_of(result))  # fmt: skip


def home_of(session: dict[str, Any]) -> str:
    """Where a session starts: staff in the inbox, citizens on their overview."""
    return "/sachbearbeitung" if session.get("role") in ("caseworker", "team_lead", "admin") else "/uebersicht"


def after_login(x: Exchange, result: dict[str, Any]) -> Response:
    if result.get("status") == "authenticated":
        x.begin_session(result)
        return redirect(x, home_of(result))
    if result.get("status") == "second_factor_setup_required":
        started = citizen.start_enrolment_at_login(x.backend, str(result["login_ticket"]))
        return render_with_nonce(x, form_nonce(x), "first_authenticator.html", 200, ticket=result["login_ticket"],
                                 started=started, error=None)  # fmt: skip
    if result.get("status") == "second_factor_required":
        return render_with_nonce(x, form_nonce(x), "second_factor.html", 200, ticket=result["login_ticket"], error=None,
                                 methods=list(result.get("methods") or ["totp"]))  # fmt: skip
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
    approval_to = latest_approval_end(x, token, cases)
    due = wba_due(approval_to, cases, datetime.now(GERMANY).date())
    submitted_before = any(case["submitted_at"] for case in cases)
    language = i18n.language_of(x.request)
    shown = [case for case in cases if case["status"] not in GONE]
    for case in shown:
        case["changed"] = german_time(case["updated_at"], language)
    return render(x, "dashboard.html", cases=shown, unread=unread, wba_due_by=approval_to if due else None,
                  can_prefill=submitted_before, draft_days=storage_periods()["draft_days"],
                  discarded="entwurf_geloescht" in x.request.args)  # fmt: skip


# Drafts that were deleted or expired are gone for the citizen (and erased: services/submissions/retention.py).
GONE = frozenset({"discarded", "expired"})


def latest_approval_end(x: Exchange, token: str, cases: list[dict[str, Any]]) -> date | None:
    """The end of the newest approval period (Bewilligungszeitraum) of the citizen's decided cases."""
    ends = []
    for row in cases:
        if row["status"] not in {"decided", "closed"}:
            continue
        decision = citizen.case_detail(x.backend, token, row["case_id"])["case"].get("decision") or {}
        if decision.get("approval_to"):
            ends.append(date.fromisoformat(str(decision["approval_to"])[:10]))
    return max(ends, default=None)


def wba_due(approval_to: date | None, cases: list[dict[str, Any]], today: date) -> bool:
    """A WBA is due from two months before the approval period ends until it ends, unless one was started since."""
    if approval_to is None or not approval_to - timedelta(days=WBA_DUE_DAYS_BEFORE_END) <= today <= approval_to:
        return False
    window_start = approval_to - timedelta(days=WBA_DUE_DAYS_BEFORE_END)
    for row in cases:
        if row["kind"] != "weiterbewilligungsantrag" or row["status"] == "withdrawn":
            continue
        started = row["submitted_at"] or row["updated_at"]
        if date.fromisoformat(str(started)[:10]) >= window_start:
            return False
    return True


def new_case(x: Exchange) -> Response:
    """Start a Veränderungsmitteilung, or a Weiterbewilligungsantrag prefilled from the last submitted case."""
    x.check_csrf(x.form_csrf())
    kind = x.form().get("kind", "veraenderungsmitteilung")
    token = x.access_token()
    case_id = citizen.start_case(x.backend, token, kind)
    first = citizen.case_detail(x.backend, token, case_id)["sections"][0]["id"]
    return redirect(x, f"/antraege/{case_id}/abschnitt/{first}")


def section(x: Exchange, case_id: str, section_id: str) -> Response:
    token = x.access_token()
    detail = citizen.case_detail(x.backend, token, case_id)
    if detail["case"]["status"] != "draft":  # sent (say, reached by the back button): nothing to fill in any more
        return redirect(x, f"/antraege/{case_id}")
    form = citizen.form_of(x.backend, detail["case"])
    described = {s["id"]: s for s in form["sections"]}
    if section_id not in described:
        raise NotFound("SECTION_UNKNOWN", "Diesen Abschnitt gibt es nicht.")
    values = detail["answers"].get(section_id, {})
    errors: dict[str, str] = {}
    routing = None
    if x.request.method == "GET" and section_id in RESIDENCE_SECTIONS and values:
        routing = residence_check(x, values)  # a saved address: its Jobcenter, before the citizen goes on
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = fields_from_form(described[section_id]["schema"], x.form())
        try:
            saved = citizen.save_section(x.backend, token, case_id, section_id, values)
        except InvalidInput as invalid:
            if invalid.code != "SECTION_INVALID":
                raise
            errors = {field_id(e["field"]): e["message"] for e in invalid.details.get("errors", [])}
        else:
            order = [s["id"] for s in saved["sections"]] if "sections" in saved else []
            later = order[order.index(section_id) + 1 :] if section_id in order else []
            routing = residence_check(x, values) if section_id in RESIDENCE_SECTIONS else None
            if routing is not None and routing["code"] == "GEMEINDE_NOT_IN_POSTCODE" and "ags" in values:
                # a place chosen for the postcode before it was changed: choose again for the new one
                values = {name: value for name, value in values.items() if name != "ags"}
                citizen.save_section(x.backend, token, case_id, section_id, values)
                routing = residence_check(x, values)
            if routing is not None and routing["outcome"] != "assigned":
                at = ROUTING_QUESTION_FIELDS.get(routing.get("ask") or "") or ROUTING_CODE_FIELDS.get(
                    routing["code"], "plz"
                )
                errors = {at: residence_problem(routing)}
            elif routing is None or x.form().get("jobcenter_shown") == routing["jobcenter"]["jobcenter_id"]:
                return redirect(
                    x, f"/antraege/{case_id}/abschnitt/{later[0]}" if later else f"/antraege/{case_id}/nachweise"
                )
            # else: the address resolves; the page shows its Jobcenter and why before the citizen goes on
    return render(
        x, "section.html", status=400 if errors else 200, case=detail["case"], section=described[section_id],
        values=values, errors=errors, steps=detail["sections"], categories=form.get("categories", {}),
        taken_over=taken_over(detail, section_id) if x.request.method == "GET" else (), routing=routing,
        not_taken_over=section_id in detail.get("not_taken_over", ()),
        residence_step=section_id in RESIDENCE_SECTIONS,
    )  # fmt: skip


# The sections whose address routing decides by: the page shows the responsible Jobcenter and why.
RESIDENCE_SECTIONS = ("wohnsitz", "umzug")
# Where the routing's question belongs on the address step.
ROUTING_QUESTION_FIELDS = {"ort": "ort", "strasse_hausnummer": "strasse", "berlin_bezirk": "berlin_bezirk"}
ROUTING_CODE_FIELDS = {"BERLIN_BEZIRK_NOT_IN_POSTCODE": "berlin_bezirk", "GEMEINDE_NOT_IN_POSTCODE": "ort",
                       "BERLIN_BEZIRK_NOT_AT_ADDRESS": "berlin_bezirk", "ORT_NOT_IN_POSTCODE": "ort"}  # fmt: skip


def residence_check(x: Exchange, values: dict[str, Any]) -> dict[str, Any] | None:
    """The finder's answer for an address step's values; None while the postcode itself is not valid."""
    query = {name: str(values[name]) for name in citizen.FINDER_FIELDS if values.get(name) not in (None, "")}
    try:
        return citizen.find_jobcenter(x.backend, query, None)
    except InvalidInput:
        return None


def residence_problem(routing: dict[str, Any]) -> str:
    """What the citizen must change or add so that the address belongs to one Jobcenter of this portal."""
    if routing["outcome"] == "not_served":
        return f"{routing['message']} {routing['how_to_reach']}"
    return str(routing["message"])


def field_id(field: str | None) -> str:
    """The HTML id of a field the service names (``personen.0.vorname`` → ``personen-0-vorname``)."""
    return (field or "_").replace(".", "-")


def taken_over(detail: dict[str, Any], section_id: str) -> tuple[str, ...]:
    """The fields of a draft's section still holding what was taken over from the citizen's earlier cases."""
    return tuple(detail.get("taken_over", {}).get(section_id, ()))


def fields_from_form(schema: dict[str, Any], form: Any) -> dict[str, Any]:
    """The section's answers from a url-encoded form, typed as its JSON Schema says; blanks left out."""
    values: dict[str, Any] = {}
    for name, field in schema.get("properties", {}).items():
        if field.get("type") == "array" and field.get("items", {}).get("type") == "object":
            rows = []
            for index in range(int(field.get("maxItems", ROWS_WITHOUT_LIMIT))):
                row = fields_from_form(field["items"], PrefixedForm(form, f"{name}-{index}-"))
                if row:
                    rows.append(row)
            values[name] = rows
        elif field.get("type") == "array":
            values[name] = form.getlist(name)
        else:
            raw = form.get(name)
            if raw is not None and str(raw).strip() != "":
                values[name] = typed(field, str(raw).strip())
    return values


ROWS_WITHOUT_LIMIT = 20


class PrefixedForm:
    """The fields of one row of a list in a form (``personen-0-vorname``), read as if they stood alone."""

    def __init__(self, form: Any, prefix: str) -> None:
        self.form, self.prefix = form, prefix

    def get(self, name: str) -> Any:
        return self.form.get(self.prefix + name)

    def getlist(self, name: str) -> list[Any]:
        return list(self.form.getlist(self.prefix + name))


def typed(field: dict[str, Any], raw: str) -> Any:
    """A form field's text as its JSON Schema type; what does not fit is left as text for the service to name."""
    kind = field.get("type")
    if field.get("format") == "date":
        german = GERMAN_DATE.fullmatch(raw)
        return f"{german[3]}-{int(german[2]):02d}-{int(german[1]):02d}" if german else raw
    if kind == "boolean":
        return raw in {"on", "true", "ja"}
    if kind in {"number", "integer"}:
        # German first: a comma is the decimal mark and dots group thousands ("1.710,55", "1.710");
        # a lone dot before other than three digits is a decimal point ("1710.55", "12.5").
        text = raw.strip()
        if not WRITTEN_NUMBER.fullmatch(text):
            return raw
        in_german = "," in text or GROUPED_THOUSANDS.fullmatch(text.lstrip("-")) is not None
        number = float(text.replace(".", "").replace(",", ".") if in_german else text)
        return int(number) if kind == "integer" and number.is_integer() else number
    return raw


def nachweise(x: Exchange, case_id: str, error: str | None = None, status: int = 200) -> Response:
    detail = citizen.case_detail(x.backend, x.access_token(), case_id)
    return render(
        x,
        "nachweise.html",
        status=status,
        detail=detail,
        case=detail["case"],
        error=error,
        chosen=x.request.args.get("nachweis", ""),
    )  # a link of the document request preselects it


def upload(x: Exchange, case_id: str) -> Response:
    x.limit("upload", x.settings.upload_per_minute)
    token = x.access_token()
    form = open_upload_form(x.request.stream, x.request.mimetype_params.get("boundary"), x.settings.max_body_bytes)
    x.check_csrf(form.fields.get(CSRF_FIELD))
    nachweis = form.fields.get("nachweis", "")
    # Several files for one Nachweis (photos of its pages) come one after the other in the same form.
    files = ((chosen.filename, chosen.chunks) for chosen in form.files)
    try:
        citizen.upload_files(x.backend, token, case_id, nachweis, files)
    except InvalidInput as refused:
        for _ in files:  # read the rest, so the browser gets the answer
            pass
        return nachweise(x, case_id, refused.message, 400)
    return redirect(x, f"/antraege/{case_id}/nachweise")


def review(x: Exchange, case_id: str) -> Response:
    detail = citizen.case_detail(x.backend, x.access_token(), case_id)
    if detail["case"]["status"] != "draft":  # sent already: the case page shows what happens to it
        return redirect(x, f"/antraege/{case_id}")
    form = citizen.form_of(x.backend, detail["case"])
    return render(x, "review.html", detail=detail, case=detail["case"], form=form, submit_key=str(uuid.uuid4()),
                  schemas=section_schemas(form))  # fmt: skip


def section_schemas(form: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per section id its fields' schemas: the review page labels every answer with its German title."""
    return {section["id"]: section["schema"].get("properties", {}) for section in form["sections"]}


def submit(x: Exchange, case_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    token = x.access_token()
    try:
        citizen.submit(x.backend, token, case_id, x.form().get("idempotency_key"))
    except InvalidInput as incomplete:
        detail = citizen.case_detail(x.backend, token, case_id)
        form = citizen.form_of(x.backend, detail["case"])
        return render(x, "review.html", status=400, detail=detail, case=detail["case"], form=form,
                      submit_key=str(uuid.uuid4()), error=incomplete.message,
                      schemas=section_schemas(form))  # fmt: skip
    return redirect(x, f"/antraege/{case_id}")


def case_page(x: Exchange, case_id: str, status: int = 200, **context: Any) -> Response:
    token = x.access_token()
    detail = citizen.case_detail(x.backend, token, case_id)
    events = timeline_in_german(x, citizen.timeline(x.backend, token, case_id))
    thread = citizen.messages(x.backend, token, case_id)
    first = detail["sections"][0]["id"] if detail["sections"] else "aenderungen"
    letter = citizen.decision_letter(x.backend, token, case_id) if detail["case"].get("decision") else None
    return render(x, "case.html", status=status, detail=detail, case=detail["case"], events=events,
                  messages=thread, first_section=first, outcome_names=OUTCOME_NAMES, decision_letter=letter,
                  **context)  # fmt: skip


HIDDEN_EVENTS = {"SectionSaved"}  # every saved step would crowd the timeline


def timeline_in_german(x: Exchange, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The case's events as lines in the page's language (``text`` is markup: German left untranslated and the
    Jobcenter's name are marked ``lang="de"`` on an English page), with local times."""
    names: dict[str, str] = {}
    lines = []
    language = i18n.language_of(x.request)
    shown = i18n.in_page_language(language)
    for event in events:
        if event["event"] in HIDDEN_EVENTS:
            continue
        if event.get("text"):  # a dated step of a move, named and dated by citizen.timeline
            step = shown(citizen.DATED_STEPS[event["event"]])
            text = step.format(date=german_date(event["on"], language), jobcenter=shown(event["jobcenter_name"]))
            lines.append({"at": event["at"], "when": german_time(event["at"], language), "text": text})
            continue
        text = shown(EVENT_NAMES.get(event["event"], event.get("label") or event["event"]))
        if "{jobcenter}" in text:
            jobcenter_id = event.get("jobcenter_id")
            if jobcenter_id and jobcenter_id not in names:
                names[jobcenter_id] = jobcenter_name(x, jobcenter_id)
            named = names.get(jobcenter_id or "")
            text = text.format(jobcenter=shown(named) if named else shown("zuständigen Jobcenter"))
        if event.get("matched_key") and language == i18n.DEFAULT_LANGUAGE:  # routing says why in German
            text = text + Markup(" — ") + citizen.area_reason(x.backend, event["matched_key"])
        lines.append({"at": event["at"], "when": german_time(event["at"], language), "text": text})
    return lines


def jobcenter_name(x: Exchange, jobcenter_id: str) -> str:
    """The Jobcenter's name as the citizen reads it everywhere (``citizen.jobcenter_name``)."""
    return citizen.jobcenter_name(x.backend, jobcenter_id) or gettext(x, "zuständigen Jobcenter")


def receipt_pdf(x: Exchange, case_id: str) -> Response:
    found = citizen.receipt(x.backend, x.access_token(), case_id)
    return x.finish(
        Response(found.pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="Eingangsbestaetigung-{found.receipt_number}.pdf"'})
    )  # fmt: skip


def write_message(x: Exchange, case_id: str) -> Response:
    """A refused message (empty, too long) shows the case page again with the reason at the field, the text kept."""
    x.check_csrf(x.form_csrf())
    text = x.form().get("text", "")
    try:
        citizen.post_message(x.backend, x.access_token(), case_id, text)
    except InvalidInput as refused:
        return case_page(x, case_id, status=400, message_error=refused.message, message_text=text)
    return redirect(x, f"/antraege/{case_id}#nachrichten")


def discard(x: Exchange, case_id: str) -> Response:
    """Deleting a draft asks first, like withdrawing; only the confirmed form deletes it."""
    return _asks_first(x, case_id, "discard.html", citizen.discard_draft, "/uebersicht?entwurf_geloescht=1")


def withdraw(x: Exchange, case_id: str) -> Response:
    """Withdrawing asks first (GET shows what it means); only the confirmed form withdraws."""
    return _asks_first(x, case_id, "withdraw.html", citizen.withdraw, f"/antraege/{case_id}?zurueckgenommen=1")


def _asks_first(x: Exchange, case_id: str, question: str, act: Callable[[Any, str, str], None], then: str) -> Response:
    """An action that cannot be undone: GET (or a form without ``bestaetigt=ja``) shows ``question``; the
    confirmed form acts and goes on to ``then``."""
    token = x.access_token()
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        if x.form().get("bestaetigt") == "ja":
            act(x.backend, token, case_id)
            return redirect(x, then)
    case = dict(x.backend.call("submissions", "view_case", case_id, token))
    return render(x, question, case=case)


def postfach(x: Exchange) -> Response:
    token = x.access_token()
    box = citizen.postfach(x.backend, token)
    language = i18n.language_of(x.request)
    for message in box["messages"]:
        message["when"] = german_time(message["created_at"], language)
    citizen.with_open_requests(x.backend, token, box["messages"])
    return render(x, "postfach.html", postfach=box)


def mark_read(x: Exchange, message_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    citizen.mark_read(x.backend, x.access_token(), message_id)
    return redirect(x, "/postfach")


def postfach_attachment(x: Exchange, message_id: str, document_id: str) -> Response:
    """A Postfach message's attachment (the Bescheid), streamed from documents as a download."""
    found = citizen.postfach_attachment(x.backend, x.access_token(), message_id, document_id)
    return download(x, found.chunks, found.content_type, found.filename)


CHANNEL_NAMES = {
    "postfach_bescheide": "Bescheide digital im Postfach bekommen",
    "email_alerts": "E-Mail, wenn etwas Neues im Postfach ist",
    "paper": "Zusätzlich Briefe auf Papier",
}


def my_data(x: Exchange, form: str) -> Response:
    """The settings page's downloads of everything the portal holds about the citizen."""
    from services.gateway import data_export

    data = data_export.collect(x.backend, x.access_token())
    return download(x, *data_export.rendered(data, form), f"meine-daten.{form}")


def delete_account(x: Exchange) -> Response:
    """Deleting the account says first what goes and what the Jobcenter keeps, and asks for the password."""
    token = x.access_token()
    error = None
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        try:
            outcome = citizen.delete_account(x.backend, token, x.form().get("password", ""), x.client)
        except Unauthenticated as wrong:
            error = wrong.message
        else:
            x.end_session()
            return render(x, "account_deleted.html", outcome=outcome)
    cases = [case for case in citizen.my_cases(x.backend, token) if case["status"] not in GONE]
    kept = [case for case in cases if case["status"] != "draft"]
    return render(x, "delete_account.html", status=400 if error else 200, error=error, kept=len(kept),
                  drafts=len(cases) - len(kept), retention_years=storage_periods()["case_years"])  # fmt: skip


def settings_page(x: Exchange) -> Response:
    token = x.access_token()
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        for channel in CHANNEL_NAMES:
            citizen.set_consent(x.backend, token, channel, channel in x.form())
        return redirect(x, "/einstellungen?gespeichert=1")
    return render(x, "settings.html", consents=citizen.consents(x.backend, token), channels=CHANNEL_NAMES,
                  saved=x.request.args.get("gespeichert"), name=citizen.my_name(x.backend, token))  # fmt: skip


def finder(x: Exchange) -> Response:
    """Welches Jobcenter ist für mich zuständig? The public finder as a page: no login, no script."""
    query = {name: x.request.args.get(name, "").strip() for name in citizen.FINDER_FIELDS}
    routing, error = None, None
    if any(query.values()):
        x.limit("finder", x.settings.finder_per_minute)
        try:
            routing = citizen.find_jobcenter(x.backend, query, None)
        except InvalidInput as invalid:
            error = invalid.message
    return render(x, "finder.html", status=400 if error else 200, values=query, routing=routing, error=error,
                  bezirke=option_names()["berlin_bezirk"], public=True)  # fmt: skip


def my_jobcenter(x: Exchange) -> Response:
    try:
        found = citizen.my_jobcenter(x.backend, x.access_token())
    except NotFound as unknown:
        return render(x, "my_jobcenter.html", resolution=None, message=unknown.message)
    resolution = found["resolution"]
    responsible = resolution.get("jobcenter") or {}
    name = citizen.jobcenter_name(x.backend, responsible["jobcenter_id"]) if responsible else None
    return render(x, "my_jobcenter.html", resolution=resolution, jobcenter_name=name)


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
    Page(("POST",), "/anmelden/einrichten", first_authenticator),
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
    Page(("GET", "POST"), "/antraege/<case_id>/zuruecknehmen", withdraw),
    Page(("GET", "POST"), "/antraege/<case_id>/loeschen", discard),
    Page(("GET",), "/postfach", postfach),
    Page(("POST",), "/postfach/<message_id>/gelesen", mark_read),
    Page(("GET",), "/postfach/<message_id>/anhang/<document_id>", postfach_attachment),
    Page(("GET", "POST"), "/einstellungen", settings_page),
    Page(("GET",), "/einstellungen/meine-daten.<any(json, pdf):form>", my_data),
    Page(("GET", "POST"), "/einstellungen/konto-loeschen", delete_account),
    Page(("GET",), "/mein-jobcenter", my_jobcenter),
    Page(("GET",), "/zustaendiges-jobcenter", finder),
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
        # A service that did not answer in time, or an outage, is 503 as in the API: "später noch einmal" holds.
        status = 503 if isinstance(problem, TimeoutError) or dependency_down(problem) else 500
        # Only the type: an exception's text may quote what the citizen typed.
        log.error("page_failed", extra={"code": type(problem).__name__, "status": status})
        return render(x, "error.html", status=status, message=GENERIC_MESSAGE)
