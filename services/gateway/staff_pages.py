"""The caseworker's pages: the inbox of the own Jobcenter, the case page and its actions.

Server-rendered German HTML like the citizen's pages, calling the same functions of ``staff.py``
as the staff API. Every action is a form (POST with the session's CSRF token) and answers with a
redirect to the case page (303), or the form again with its errors (400).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Response

from services.gateway import citizen, staff
from services.gateway.errors import dependency_down
from services.gateway.exchange import Exchange
from services.gateway.multipart import open_upload_form
from services.gateway.pages import HERE, Page, change_names, redirect, render
from services.gateway.pages import STATUS_NAMES as CITIZEN_STATUS_NAMES
from services.gateway.security import CONTENT_SECURITY_POLICY, CSRF_FIELD
from shared.dates import german_today
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable

INBOX = "/sachbearbeitung"
BESCHEID_MISSING = "Bitte wählen Sie den Bescheid als PDF-Datei aus."
STAFF_SCRIPT = "staff.js"
# Every outcome ever stored, so that old decisions (a VÄM "approved") still read.
OUTCOME_NAMES = {
    "approved": "Bewilligt", "partially_approved": "Teilweise bewilligt", "rejected": "Abgelehnt",
    "amended": "Änderungsbescheid", "revoked": "Aufhebungsbescheid", "unchanged": "Keine Änderung",
}  # fmt: skip
OUTCOME_HINTS = {
    "amended": "Die Leistung ändert sich ab einem Tag (zum Beispiel wegen neuen Einkommens).",
    "revoked": "Die Bewilligung wird ganz oder für eine Zeit aufgehoben.",
    "unchanged": "Keine Folgen für die Leistung. Die Kundin oder der Kunde bekommt eine Nachricht im Postfach; "
    "ein Schreiben (PDF) ist freiwillig.",
}
NACHWEIS_STATUS_NAMES = {"missing": "fehlt", "supplied": "liegt vor", "waived": "nicht mehr nötig"}
STATUS_NAMES = {**CITIZEN_STATUS_NAMES, "assigned": "Neu"}  # for staff an assigned case is new
# The inbox's filters and counts: the same names as the rows and the case page, every status once, so
# that the counts add up to "Alle".
STATUS_FILTERS = {
    "assigned": "Neu (Eingang noch nicht bestätigt)", **{
        status: STATUS_NAMES[status]
        for status in ("received", "in_progress", "waiting_for_documents", "decided", "closed", "withdrawn",
                       "handed_over")
    },
}  # fmt: skip
# How the inbox is sorted, as its caption says.
SORT_NAMES = {"received": "nach Eingang, die ältesten zuerst", "due": "nach Frist, die nächste zuerst",
              "status": "nach Stand, in der Reihenfolge der Bearbeitung"}  # fmt: skip
INBOX_ALERTS = 10  # the newest; the API lists up to 100
ASSIGNEE_FILTERS = {"me": "Mir zugewiesen", "nobody": "Nicht zugewiesen"}
# A document shown inside the case page: framed by the portal's own pages only, nothing active in it.
DOCUMENT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
# The case page frames its PDF previews from the same origin; everything else as on every page.
CASE_PAGE_POLICY = CONTENT_SECURITY_POLICY.replace("object-src 'none'", "object-src 'none'; frame-src 'self'")


def staff_render(x: Exchange, template: str, status: int = 200, **context: Any) -> Response:
    if "me" not in context:  # the header's menu is the same on every staff page
        context["me"] = staff.staff_member(x.backend, x.access_token(), roles=staff.STAFF)
    return render(x, f"staff/{template}", status=status, outcome_names=OUTCOME_NAMES, status_names=STATUS_NAMES,
                  nachweis_status_names=NACHWEIS_STATUS_NAMES, outcome_hints=OUTCOME_HINTS,
                  outcomes_by_kind=staff.OUTCOMES_BY_KIND, **context)  # fmt: skip


# -- the inbox -------------------------------------------------------------------------------------


def inbox(x: Exchange) -> Response:
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=staff.STAFF)
    if me.is_admin:
        return redirect(x, "/verwaltung/zugriffe")
    chosen = staff.InboxFilter.from_args(x.request.args)
    error = None
    try:
        found = staff.inbox(x.backend, token, chosen)
    except InvalidInput as invalid:
        error = invalid.message
        found = staff.inbox(x.backend, token, staff.InboxFilter())
        found["cases"] = []
    total = sum(found["counts"].values())
    query = {k: v for k, v in {"status": chosen.status, "kind": chosen.kind, "category": chosen.category,
                               "assignee": chosen.assignee, "overdue": "1" if chosen.overdue else None,
                               "q": chosen.search if not error else None}.items()
             if v}  # fmt: skip
    sorted_by = {"sort": chosen.sort} if chosen.sort != "received" else {}
    return staff_render(
        x, "inbox.html", status=400 if error else 200, found=found, chosen=chosen, total=total, me=me, error=error,
        done=INBOX_DONE.get(x.request.args.get("erledigt", "")),
        status_filters=STATUS_FILTERS, sort_names=SORT_NAMES,
        page_link=lambda page: INBOX + "?" + urlencode({**query, **sorted_by, "page": page}),
        sort_link=lambda sort: INBOX + "?" + urlencode({**query, **({"sort": sort} if sort != "received" else {})}),
        categories=staff.vaem_categories(x.backend), change_names=change_names(), assignee_filters=ASSIGNEE_FILTERS,
        jobcenter=citizen.jobcenter_name(x.backend, me.institution_id) if me.institution_id else None,
        alerts=_alerts_unless_down(x, token), title="Posteingang",
    )  # fmt: skip


# -- the case --------------------------------------------------------------------------------------


def _alerts_unless_down(x: Exchange, token: str) -> list[dict[str, Any]] | None:
    """The newest alerts for the inbox; None while notify does not answer: the inbox works without them."""
    try:
        return staff.staff_alerts(x.backend, token)[:INBOX_ALERTS]
    except Exception as problem:
        if isinstance(problem, TimeoutError | Unavailable) or dependency_down(problem):
            return None
        raise


def case_page(x: Exchange, case_id: str, **context: Any) -> Response:
    token = x.access_token()
    me = staff.staff_member(x.backend, token)
    detail = staff.case_detail(x.backend, token, case_id)
    status = int(context.pop("status", 200))
    laid_out = staff.answers_as_form(detail)
    context.setdefault("done", DONE.get(x.request.args.get("erledigt", "")))
    response = staff_render(
        x, "case.html", status=status, detail=detail, case=detail["case"], laid_out=laid_out, me=me,
        title=f"Vorgang {detail['case'].get('receipt_number') or ''}".strip(), **context,
    )  # fmt: skip
    response.headers["Content-Security-Policy"] = CASE_PAGE_POLICY
    return response


def document(x: Exchange, case_id: str, document_id: str) -> Response:
    """A document of the case: inline for the preview, as attachment with ``?download=1``."""
    found = staff.open_document(x.backend, x.access_token(), case_id, document_id)
    inline = found.content_type in staff.PREVIEWABLE and "download" not in x.request.args
    disposition = "inline" if inline else "attachment"
    response = Response(found.chunks, mimetype=found.content_type, direct_passthrough=True)
    response.headers["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(found.filename)}"
    if found.size is not None:
        response.headers["Content-Length"] = str(found.size)
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return x.finish(response)


# What the case page confirms after an action (``?erledigt=<code>``); fixed texts, never one from the request.
DONE = {
    "erhalten": "Eingang bestätigt.",
    "uebernommen": "Sie bearbeiten den Vorgang jetzt.",
    "zugewiesen": "Der Vorgang ist zugewiesen.",
    "bearbeitung": "Bearbeitung begonnen.",
    "abgeschlossen": "Der Vorgang ist abgeschlossen.",
    "verzicht": "Der Nachweis wird nicht mehr gebraucht.",
    "bestritten": "Vermerkt: Der Zugang der E-Mail-Benachrichtigung ist bestritten.",
    "nachricht": "Die Nachricht ist gesendet.",
    "angefordert": "Die Unterlagen sind angefordert; die Kundin oder der Kunde hat eine Nachricht im Postfach.",
    "entschieden": "Die Entscheidung ist gespeichert; die Kundin oder der Kunde findet sie im Postfach.",
}


# What the inbox, the codes and the team pages confirm after an action that leaves the case page.
INBOX_DONE = {
    "abgegeben": "Der Vorgang ist an das andere Jobcenter abgegeben; er steht nicht mehr in Ihrem Posteingang."
}
CODES_DONE = {"widerrufen": "Der Freischaltcode ist widerrufen und kann nicht mehr benutzt werden."}
TEAM_DONE = {"gesperrt": "Das Konto ist gesperrt; laufende Anmeldungen sind beendet."}


def done(case_id: str, code: str, anchor: str = "") -> str:
    """Where an action leads: the case page, saying what was done."""
    return f"{INBOX}/faelle/{case_id}?erledigt={code}{anchor}"


def _act(x: Exchange, case_id: str, action: Any, code: str, anchor: str = "") -> Response:
    """Run one action of the case page; a refusal shows the case page again with the message."""
    x.check_csrf(x.form_csrf())
    try:
        action(x.access_token())
    except (InvalidInput, Conflict) as refused:
        return case_page(x, case_id, status=400 if isinstance(refused, InvalidInput) else 409, error=refused.message)
    return redirect(x, done(case_id, code, anchor))


def receive(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.receive(x.backend, token, case_id), "erhalten")


def take(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.take(x.backend, token, case_id), "uebernommen")


def assign_to_colleague(x: Exchange, case_id: str) -> Response:
    """A team lead gives the case to a colleague of the same Jobcenter."""
    chosen = x.form().get("caseworker_id")
    return _act(x, case_id, lambda token: staff.assign_to_colleague(x.backend, token, case_id, chosen), "zugewiesen")


def start_processing(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.start_processing(x.backend, token, case_id), "bearbeitung")


def close(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.close(x.backend, token, case_id), "abgeschlossen")


def waive(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.waive(x.backend, token, case_id, x.form().get("nachweis")),
                "verzicht", "#nachweise")  # fmt: skip


def notice_denied(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.record_notice_denied(x.backend, token, case_id,
                x.form().get("message_id")), "bestritten", "#entscheidung")  # fmt: skip


def write_message(x: Exchange, case_id: str) -> Response:
    return _act(x, case_id, lambda token: staff.post_message(x.backend, token, case_id, x.form().get("text", "")),
                "nachricht", "#nachrichten")  # fmt: skip


def request_documents(x: Exchange, case_id: str) -> Response:
    """The form to ask for documents: Nachweise of the checklist and the form, free text, due date."""
    token = x.access_token()
    errors: dict[str, str] = {}
    default_due = german_today() + timedelta(days=staff.DOCUMENT_REQUEST_DAYS)
    values: dict[str, Any] = {"items": [], "note": "", "due_date": f"{default_due:%d.%m.%Y}"}
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        form = x.form()
        values = {"items": form.getlist("items"), "note": form.get("note", ""), "due_date": form.get("due_date", "")}
        try:
            staff.request_documents(x.backend, token, case_id, values["items"], values["note"], values["due_date"])
        except (InvalidInput, Conflict) as refused:
            field = refused.details.get("field") if refused.details else None
            if refused.code in {"DUE_DATE_IN_PAST", "DATE_INVALID"}:
                field = "due_date"
            elif refused.code == "DOCUMENT_REQUEST_EMPTY":
                field = "items"
            errors[field or "items"] = refused.message
        else:
            return redirect(x, done(case_id, "angefordert", "#verlauf"))
    detail = staff.case_detail(x.backend, token, case_id)
    return staff_render(x, "request_documents.html", status=400 if errors else 200, detail=detail,
                        case=detail["case"], values=values, errors=errors, choices=_nachweis_choices(detail),
                        title="Unterlagen anfordern")  # fmt: skip


def _nachweis_choices(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """The case's checklist (missing ones first); anything else is asked for in the free text."""
    ordered = sorted(detail["checklist"], key=lambda item: (item["status"] != "missing", item["label"]))
    return [(item["kind"], item["label"]) for item in ordered]


def decide(x: Exchange, case_id: str) -> Response:
    """The decision: outcome, for a WBA the approval period, and the Bescheid PDF (multipart; file last)."""
    token = x.access_token()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"outcome": "", "approval_from": "", "approval_to": ""}
    if x.request.method == "POST":
        x.limit("upload", x.settings.upload_per_minute)
        try:
            upload = open_upload_form(
                x.request.stream, x.request.mimetype_params.get("boundary"), x.settings.max_body_bytes
            )
        except InvalidInput:  # no file part at all: nothing was changed, so no CSRF check is needed
            detail = staff.case_detail(x.backend, token, case_id)
            return staff_render(x, "decide.html", status=400, detail=detail, case=detail["case"], values=values,
                                errors={"bescheid": BESCHEID_MISSING}, title="Entscheidung erfassen")  # fmt: skip
        x.check_csrf(upload.fields.get(CSRF_FIELD))
        values = {name: upload.fields.get(name, "") for name in ("outcome", "approval_from", "approval_to")}
        try:
            kind = staff.case_detail(x.backend, token, case_id)["case"]["kind"]
            # Everything but the file is checked first: a refused decision leaves no Bescheid behind.
            staff.check_decision(kind, values["outcome"], values["approval_from"], values["approval_to"])
            first = next(upload.chunks, b"")
            if not first and values["outcome"] not in staff.WITHOUT_BESCHEID:
                # a browser sends an empty file part when no file was chosen
                raise InvalidInput("BESCHEID_REQUIRED", BESCHEID_MISSING, {"field": "bescheid"})
            letter_id = None
            if first:
                chunks = itertools.chain([first], upload.chunks)
                letter = staff.upload_bescheid(x.backend, token, case_id, upload.filename, chunks, None)
                letter_id = letter["document_id"]
            staff.decide(x.backend, token, case_id, values["outcome"], letter_id,
                         values["approval_from"], values["approval_to"])  # fmt: skip
        except (InvalidInput, Conflict) as refused:
            for _ in upload.chunks:  # read the rest, so the browser gets the answer
                pass
            field = refused.details.get("field") if refused.details else None
            if refused.code == "APPROVAL_PERIOD_REQUIRED":
                field = "approval_from"
            errors[field or "bescheid"] = refused.message
        else:
            return redirect(x, done(case_id, "entschieden", "#entscheidung"))
    detail = staff.case_detail(x.backend, token, case_id)
    return staff_render(x, "decide.html", status=400 if errors else 200, detail=detail, case=detail["case"],
                        values=values, errors=errors, title="Entscheidung erfassen")  # fmt: skip


def reassign(x: Exchange, case_id: str) -> Response:
    """A team lead hands the case over to another gE, with a reason."""
    token = x.access_token()
    staff.staff_member(x.backend, token, roles=("team_lead",))
    errors: dict[str, str] = {}
    values = {"jobcenter_id": "", "reason": ""}
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = {"jobcenter_id": x.form().get("jobcenter_id", ""), "reason": x.form().get("reason", "")}
        try:
            staff.reassign_to_jobcenter(x.backend, token, case_id, values["jobcenter_id"], values["reason"])
        except (InvalidInput, Conflict) as refused:
            field = refused.details.get("field") if refused.details else None
            errors[field or ("reason" if refused.code == "OVERRIDE_REASON_MISSING" else "jobcenter_id")] = (
                refused.message
            )
        except (Forbidden, NotFound) as refused:  # another's own Jobcenter, or an id the register lacks
            errors["jobcenter_id"] = refused.message
        else:
            return redirect(x, INBOX + "?erledigt=abgegeben")
    detail = staff.case_detail(x.backend, token, case_id)
    # The choice is by name: every other gE of the register (a zkT does not use the portal).
    others = sorted(
        (j for j in x.backend.call("routing", "list_jobcenters") if j["form"] == "gE"
         and j["jobcenter_id"] != detail["case"].get("jobcenter_id")),
        key=lambda j: str(j.get("display_name") or j["name"]),
    )  # fmt: skip
    return staff_render(x, "reassign.html", status=400 if errors else 200, detail=detail, case=detail["case"],
                        values=values, errors=errors, jobcenters=others,
                        title="An ein anderes Jobcenter abgeben")  # fmt: skip


# -- the access record -----------------------------------------------------------------------------


def access_log(x: Exchange) -> Response:
    """The access record with filters (case by id or receipt number, days, pages); a filter that finds
    nothing or is none says so on the page itself."""
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=("admin", "team_lead"))
    args = x.request.args
    empty: dict[str, Any] = {"case_id": None, "case_views": [], "document_reads": [], "page": 1, "more": False}
    try:
        wanted = staff.AccessFilter.from_args(args)
        record, error, status = staff.access_record(x.backend, token, wanted), None, 200
    except InvalidInput as refused:
        record, error, status = empty, refused.message, 400
    except NotFound:
        record, error, status = empty, "Zu dieser Eingabe gibt es keinen Vorgang, den Sie sehen dürfen.", 404
    names = {c["account_id"]: c.get("display_name") or c["email"] for c in staff.colleagues_of(x.backend, token, me)}
    return staff_render(x, "access_log.html", status=status, record=record, me=me, error=error, names=names,
                        role_names=staff.ROLE_NAMES, query=dict(args.items()), title="Zugriffsprotokoll")  # fmt: skip


# -- Freischaltcodes -------------------------------------------------------------------------------

CODES = INBOX + "/freischaltcodes"
CODE_STATES = {"open": "Offen", "used": "Benutzt", "revoked": "Widerrufen", "expired": "Abgelaufen"}
ROLE_NAMES = {"caseworker": "Sachbearbeitung", "team_lead": "Teamleitung"}


def activation_codes(x: Exchange) -> Response:
    """Issue a Freischaltcode for a Kundennummer (the letter once, as PDF), see and revoke the open ones."""
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=staff.STAFF)
    errors: dict[str, str] = {}
    values = {"customer_number": "", "institution_id": ""}
    issued = None
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = {name: x.form().get(name, "") for name in values}
        try:
            issued = staff.issue_activation_code(x.backend, token, values["customer_number"], values["institution_id"])
        except InvalidInput as refused:
            errors[(refused.details or {}).get("field") or "customer_number"] = refused.message
        except Forbidden as refused:
            errors["institution_id"] = refused.message
        else:
            values["customer_number"] = ""
    return _codes_page(x, me, 400 if errors else 200, issued=issued, values=values, errors=errors)


def revoke_activation_code(x: Exchange, code_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    token = x.access_token()
    try:
        staff.revoke_activation_code(x.backend, token, code_id)
    except Conflict as refused:
        me = staff.staff_member(x.backend, token, roles=staff.STAFF)
        return _codes_page(x, me, 409, error=refused.message)
    return redirect(x, CODES + "?erledigt=widerrufen#codes")


def _codes_page(x: Exchange, me: staff.Staff, status: int, **context: Any) -> Response:
    context = {"issued": None, "values": {"customer_number": "", "institution_id": ""}, "errors": {}, **context}
    context.setdefault("done", CODES_DONE.get(x.request.args.get("erledigt", "")))
    return staff_render(x, "activation_codes.html", status=status, me=me, code_states=CODE_STATES,
                        codes=staff.activation_codes(x.backend, x.access_token()), title="Freischaltcodes",
                        **context)  # fmt: skip


# -- staff accounts (admins, team leads) -----------------------------------------------------------

TEAM = "/verwaltung/mitarbeitende"


def team(x: Exchange) -> Response:
    """Invite a colleague (admins: any Jobcenter and role; team leads: caseworkers of their own), list, disable."""
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=("admin", "team_lead"))
    errors: dict[str, str] = {}
    jobcenter = x.request.args.get("jobcenter", "").strip()
    values = {"email": "", "display_name": "", "role": "caseworker", "institution_id": jobcenter}
    invited = None
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = {name: x.form().get(name, "") for name in values}
        try:
            staff.create_staff_account(x.backend, token, values["email"], values["role"], values["institution_id"],
                                       values["display_name"])  # fmt: skip
        except (InvalidInput, Conflict) as refused:
            errors[(refused.details or {}).get("field") or "email"] = refused.message
        except Forbidden as refused:
            errors["institution_id" if me.is_admin else "role"] = refused.message
        else:
            invited = values["email"].strip()
            jobcenter = values["institution_id"].strip() if me.is_admin else ""
            values = {"email": "", "display_name": "", "role": "caseworker", "institution_id": jobcenter}
    return _team_page(x, me, jobcenter, 400 if errors else 200, values=values, errors=errors, invited=invited)


def disable_account(x: Exchange, account_id: str) -> Response:
    x.check_csrf(x.form_csrf())
    token = x.access_token()
    jobcenter = x.form().get("jobcenter", "").strip()
    try:
        staff.disable_account(x.backend, token, account_id)
    except (Forbidden, Conflict) as refused:
        me = staff.staff_member(x.backend, token, roles=("admin", "team_lead"))
        return _team_page(x, me, jobcenter, 403 if isinstance(refused, Forbidden) else 409, error=refused.message)
    query = {"jobcenter": jobcenter} if jobcenter else {}
    return redirect(x, TEAM + "?" + urlencode({**query, "erledigt": "gesperrt"}) + "#team")


def _team_page(x: Exchange, me: staff.Staff, jobcenter: str, status: int, **context: Any) -> Response:
    """The team of the own Jobcenter (admins: of the Jobcenter they asked for) with the invitation form."""
    errors: dict[str, str] = context.setdefault("errors", {})
    context.setdefault("values", {"email": "", "role": "caseworker", "institution_id": jobcenter})
    members: list[dict[str, Any]] = []
    if not me.is_admin or jobcenter:
        try:
            members = staff.team(x.backend, x.access_token(), jobcenter)
        except InvalidInput as refused:
            errors["jobcenter"] = refused.message
            status = 400
    context.setdefault("done", TEAM_DONE.get(x.request.args.get("erledigt", "")))
    return staff_render(x, "team.html", status=status, me=me, members=members, jobcenter=jobcenter,
                        role_names=ROLE_NAMES, title="Mitarbeitende", **context)  # fmt: skip


# -- the Jobcenter's contact details (admins, team leads) -------------------------------------------

CONTACT = "/verwaltung/jobcenter"
CONTACT_DONE = {"gespeichert": "Die Angaben sind gespeichert. Die Jobcenter-Suche, „Mein Jobcenter“ und die "
                "Eingangsbestätigungen zeigen sie ab jetzt."}  # fmt: skip
ADDRESS_PARTS = ("street", "postcode", "city")
CONTACT_FIELDS = (*(f"postal_{part}" for part in ADDRESS_PARTS), *(f"visitor_{part}" for part in ADDRESS_PARTS),
                  "phone", "email", "opening_hours")  # fmt: skip


def jobcenter_contact(x: Exchange) -> Response:
    """Angaben des Jobcenters: the postal address (and visitors' address, telephone, e-mail, opening hours) the
    citizens see; team leads their own Jobcenter's, admins the one they name."""
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=("admin", "team_lead"))
    jobcenter = (x.form() if x.request.method == "POST" else x.request.args).get("jobcenter", "").strip()
    errors: dict[str, str] = {}
    values: dict[str, str] | None = None
    status = 200
    if x.request.method == "POST":
        x.check_csrf(x.form_csrf())
        values = {name: x.form().get(name, "") for name in CONTACT_FIELDS}
        try:
            staff.set_jobcenter_contact(x.backend, token, contact_of_form(values), jobcenter)
        except (InvalidInput, Conflict, NotFound, Unavailable) as refused:
            errors[form_field((refused.details or {}).get("field"))] = refused.message
            status = 503 if isinstance(refused, Unavailable) else 400
        else:
            query = {"jobcenter": jobcenter} if me.is_admin else {}
            return redirect(x, CONTACT + "?" + urlencode({**query, "erledigt": "gespeichert"}))
    current = None
    if not me.is_admin or jobcenter:
        try:
            current = staff.jobcenter_contact(x.backend, token, jobcenter)
        except InvalidInput as refused:
            errors, status = {"jobcenter": refused.message}, 400
    if values is None:
        values = form_of_contact(current["contact"] if current else None)
    return staff_render(x, "jobcenter_contact.html", status=status, me=me, jobcenter=jobcenter,
                        current=current, values=values, errors=errors, title="Angaben des Jobcenters",
                        done=CONTACT_DONE.get(x.request.args.get("erledigt", "")))  # fmt: skip


def contact_of_form(values: dict[str, str]) -> dict[str, Any]:
    """The form's flat fields as routing takes them; an empty visitors' address is none."""
    return {
        "postal_address": {part: values[f"postal_{part}"] for part in ADDRESS_PARTS},
        "visitor_address": {part: values[f"visitor_{part}"] for part in ADDRESS_PARTS},
        "phone": values["phone"], "email": values["email"], "opening_hours": values["opening_hours"],
    }  # fmt: skip


def form_of_contact(contact: dict[str, Any] | None) -> dict[str, str]:
    contact = contact or {}
    postal, visitor = contact.get("postal_address") or {}, contact.get("visitor_address") or {}
    return {
        **{f"postal_{part}": postal.get(part, "") for part in ADDRESS_PARTS},
        **{f"visitor_{part}": visitor.get(part, "") for part in ADDRESS_PARTS},
        **{name: contact.get(name) or "" for name in ("phone", "email", "opening_hours")},
    }


def form_field(field: str | None) -> str:
    """The form's field of a refusal's ``details.field`` (``postal_address.postcode`` → ``postal_postcode``)."""
    name = str(field or "postal_street").replace("postal_address.", "postal_").replace("visitor_address.", "visitor_")
    if name == "institution_id":
        return "jobcenter"
    return name if name in CONTACT_FIELDS else "postal_street"


# -- barrier reports (admins) ----------------------------------------------------------------------


def admin_alerts(x: Exchange) -> Response:
    """Admins: the alerts of every Jobcenter (or one), newest first: overdue cases above all."""
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=("admin",))
    jobcenter = x.request.args.get("jobcenter", "").strip()
    alerts = staff.staff_alerts(x.backend, token, jobcenter or None)
    return staff_render(x, "admin_alerts.html", me=me, alerts=alerts, jobcenter=jobcenter,
                        title="Hinweise der Jobcenter")  # fmt: skip


def barrier_reports(x: Exchange) -> Response:
    token = x.access_token()
    me = staff.staff_member(x.backend, token, roles=("admin",))
    return staff_render(x, "barrier_reports.html", me=me, reports=staff.barrier_reports(x.backend, token),
                        title="Gemeldete Barrieren")  # fmt: skip


def script(x: Exchange) -> Response:
    response = Response((HERE / "static" / STAFF_SCRIPT).read_bytes(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return x.finish(response)


CASE = INBOX + "/faelle/<case_id>"
PAGES: tuple[Page, ...] = (
    Page(("GET",), INBOX, inbox),
    Page(("GET",), CASE, case_page),
    Page(("GET",), CASE + "/dokumente/<document_id>", document),
    Page(("POST",), CASE + "/erhalten", receive),
    Page(("POST",), CASE + "/bearbeiten", start_processing),
    Page(("POST",), CASE + "/uebernehmen", take),
    Page(("POST",), CASE + "/zuweisung", assign_to_colleague),
    Page(("GET", "POST"), CASE + "/unterlagen", request_documents),
    Page(("POST",), CASE + "/nachrichten", write_message),
    Page(("POST",), CASE + "/verzicht", waive),
    Page(("GET", "POST"), CASE + "/entscheidung", decide),
    Page(("POST",), CASE + "/abschliessen", close),
    Page(("POST",), CASE + "/bekanntgabe/bestritten", notice_denied),
    Page(("GET", "POST"), CASE + "/abgabe", reassign),
    Page(("GET",), "/verwaltung/zugriffe", access_log),
    Page(("GET", "POST"), CODES, activation_codes),
    Page(("POST",), CODES + "/<code_id>/widerrufen", revoke_activation_code),
    Page(("GET", "POST"), TEAM, team),
    Page(("POST",), TEAM + "/<account_id>/sperren", disable_account),
    Page(("GET", "POST"), CONTACT, jobcenter_contact),
    Page(("GET",), "/verwaltung/barrieren", barrier_reports),
    Page(("GET",), "/verwaltung/hinweise", admin_alerts),
    Page(("GET",), "/static/" + STAFF_SCRIPT, script),
)
