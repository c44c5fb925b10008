"""The staff JSON API ``/api/v1/staff/...``: the caseworker's reads and actions, through ``staff.py``.

A citizen gets 403 ``STAFF_ONLY`` on every route; a case of another Jobcenter is 404, as for a case
that does not exist. ``api.py`` joins these routes into its table (and so into the OpenAPI document).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.gateway import staff
from services.gateway.exchange import Exchange
from services.gateway.routes import Route, empty, ok
from services.gateway.schemas import (
    ACCESS_RECORD,
    ACTIVATION_CODE,
    ASSIGNMENT,
    BARRIER_REPORT,
    BINARY,
    BOOLEAN,
    COLLEAGUE,
    DOCUMENT,
    DOCUMENT_TYPES,
    INBOX,
    ISSUED_ACTIVATION_CODE,
    JOBCENTER_CONTACT,
    JOBCENTER_CONTACT_INPUT,
    STAFF_ALERT,
    STAFF_CASE,
    STRING,
    array,
    enum,
    listing,
    nullable,
    obj,
)


def inbox(x: Exchange) -> Response:
    return ok(x, staff.inbox(x.backend, x.access_token(), staff.InboxFilter.from_args(x.request.args, strict=True)))


def get_case(x: Exchange, case_id: str) -> Response:
    detail = staff.case_detail(x.backend, x.access_token(), case_id)
    detail["form_sections"] = staff.answers_as_form(detail)  # codes stay codes for machines
    del detail["form"]
    return ok(x, detail)


def get_document(x: Exchange, case_id: str, document_id: str) -> Response:
    found = staff.open_document(x.backend, x.access_token(), case_id, document_id)
    response = Response(found.chunks, mimetype=found.content_type, direct_passthrough=True)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.filename)}"
    if found.size is not None:
        response.headers["Content-Length"] = str(found.size)
    return x.finish(response)


def receive(x: Exchange, case_id: str) -> Response:
    staff.receive(x.backend, x.access_token(), case_id)
    return empty(x)


def start_processing(x: Exchange, case_id: str) -> Response:
    staff.start_processing(x.backend, x.access_token(), case_id)
    return empty(x)


def request_documents(x: Exchange, case_id: str) -> Response:
    body = x.json_object()
    staff.request_documents(x.backend, x.access_token(), case_id, body.get("items", []), body.get("note", ""),
                            body.get("due_date"))  # fmt: skip
    return empty(x)


def waive(x: Exchange, case_id: str) -> Response:
    staff.waive(x.backend, x.access_token(), case_id, x.json_object().get("nachweis"))
    return empty(x)


def post_message(x: Exchange, case_id: str) -> Response:
    message_id = staff.post_message(x.backend, x.access_token(), case_id, x.json_object().get("text"))
    return ok(x, {"message_id": message_id}, 201)


def upload_bescheid(x: Exchange, case_id: str) -> Response:
    x.limit("upload", x.settings.upload_per_minute)
    filename = x.request.args.get("filename", "") or "Bescheid.pdf"
    document = staff.upload_bescheid(
        x.backend, x.access_token(), case_id, filename, x.body_chunks(), x.request.content_length
    )
    return ok(x, document, 201)


def notice_denied(x: Exchange, case_id: str) -> Response:
    staff.record_notice_denied(x.backend, x.access_token(), case_id, x.json_object().get("message_id"))
    return empty(x)


def decide(x: Exchange, case_id: str) -> Response:
    body = x.json_object()
    staff.decide(x.backend, x.access_token(), case_id, body.get("outcome"), body.get("bescheid_document_id"),
                 body.get("approval_from"), body.get("approval_to"))  # fmt: skip
    return empty(x)


def close(x: Exchange, case_id: str) -> Response:
    staff.close(x.backend, x.access_token(), case_id)
    return empty(x)


def assign(x: Exchange, case_id: str) -> Response:
    """Take the case (no ``caseworker_id``) or, as a team lead, give it to a colleague of the Jobcenter."""
    caseworker_id = x.json_object().get("caseworker_id")
    token = x.access_token()
    if caseworker_id is None:
        changed = staff.take(x.backend, token, case_id)
    else:
        changed = staff.assign_to_colleague(x.backend, token, case_id, caseworker_id)
    return ok(x, {"changed": changed})


def colleagues(x: Exchange) -> Response:
    staff.staff_member(x.backend, x.access_token(), roles=("team_lead",))
    return ok(x, {"staff": list(x.backend.call("identity", "list_jobcenter_staff", x.access_token()))})


def reassign(x: Exchange, case_id: str) -> Response:
    body = x.json_object()
    assignment = staff.reassign_to_jobcenter(x.backend, x.access_token(), case_id, body.get("jobcenter_id"),
                                             body.get("reason"))  # fmt: skip
    return ok(x, {"assignment": assignment})


def access_log(x: Exchange) -> Response:
    args = x.request.args
    wanted = staff.AccessFilter.from_args(
        {"vorgang": args.get("case_id"), "von": args.get("since"), "bis": args.get("until"), "seite": args.get("page")}
    )
    return ok(x, staff.access_record(x.backend, x.access_token(), wanted))


def activation_codes(x: Exchange) -> Response:
    codes = staff.activation_codes(x.backend, x.access_token(), x.request.args.get("institution_id") or None)
    return ok(x, {"activation_codes": codes})


def issue_activation_code(x: Exchange) -> Response:
    body = x.json_object()
    issued = staff.issue_activation_code(x.backend, x.access_token(), body.get("customer_number"),
                                         body.get("institution_id"))  # fmt: skip
    return ok(x, issued, 201)


def revoke_activation_code(x: Exchange, code_id: str) -> Response:
    staff.revoke_activation_code(x.backend, x.access_token(), code_id)
    return empty(x)


def staff_accounts(x: Exchange) -> Response:
    return ok(x, {"staff": staff.team(x.backend, x.access_token(), x.request.args.get("institution_id"))})


def create_staff_account(x: Exchange) -> Response:
    body = x.json_object()
    account_id = staff.create_staff_account(x.backend, x.access_token(), body.get("email"), body.get("role"),
                                            body.get("institution_id"), body.get("display_name"))  # fmt: skip
    return ok(x, {"account_id": account_id}, 201)


def disable_account(x: Exchange, account_id: str) -> Response:
    staff.disable_account(x.backend, x.access_token(), account_id)
    return empty(x)


def jobcenter_contact(x: Exchange) -> Response:
    return ok(x, staff.jobcenter_contact(x.backend, x.access_token(), x.request.args.get("institution_id")))


def set_jobcenter_contact(x: Exchange) -> Response:
    body = x.json_object()
    institution_id = body.pop("institution_id", None)
    return ok(x, staff.set_jobcenter_contact(x.backend, x.access_token(), body, institution_id))


def staff_alerts(x: Exchange) -> Response:
    institution = x.request.args.get("institution_id") or None
    return ok(x, {"alerts": staff.staff_alerts(x.backend, x.access_token(), institution)})


def barrier_reports(x: Exchange) -> Response:
    return ok(x, {"reports": staff.barrier_reports(x.backend, x.access_token())})


DATE: dict[str, Any] = {"type": "string", "format": "date"}
CASE = "/staff/cases/{case_id}"
# Error codes every staff route can answer with, and those of every route on one case.
STAFF_CODES = ("STAFF_ONLY", "SECOND_FACTOR_REQUIRED", "ROLE_NOT_ALLOWED")
CASE_CODES = (*STAFF_CODES, "CASE_NOT_FOUND", "CASE_ID_INVALID", "NOT_ASSIGNED_TO_YOUR_JOBCENTER", "CASE_BUSY")
ACTION_CODES = (*CASE_CODES, "CASE_STATUS_DOES_NOT_ALLOW", "CASE_CLOSED", "CASE_NOT_SUBMITTED")
TEXT_CODES = ("FIELD_REQUIRED", "MESSAGE_LENGTH", "TEXT_TOO_LONG", "HIDDEN_CHARACTERS")
INSTITUTION_CODES = ("INSTITUTION_REQUIRED", "INSTITUTION_INVALID", "INSTITUTION_NOT_ALLOWED")

ROUTES: tuple[Route, ...] = (
    Route("GET", "/staff/inbox", inbox, "Staff: a page (50) of the own Jobcenter's cases with counts per status, "
          "each with the customer's Kundennummer, the assignee's name and the Frist (due_on, due_kind); filters "
          "status, kind, category, assignee, overdue=1, q (a receipt number or part of one, or a customer number), "
          "sort, page", response=INBOX,
          codes=(*STAFF_CODES, "FILTER_INVALID", "SEARCH_INVALID", "SORT_UNKNOWN", "READ_MODEL_BUILDING"),
          filters=(
              ("status", {"enum": list(staff.INBOX_STATUSES)}), ("kind", {"enum": list(staff.KINDS)}),
              ("category", {"type": "string", "pattern": staff.CATEGORY.pattern, "description":
                            "a VÄM change (arbeitsaufnahme, umzug, ...) or category (haushalt, persoenliches, "
                            "einkommen, wohnkosten) of the form's categories"}),
              ("assignee", {"enum": list(staff.ASSIGNEE_FILTERS), "description":
                            "me: the caller's cases; nobody: cases no caseworker has taken"}),
              ("overdue", {"enum": ["1"]}), ("q", {"type": "string"}),
              ("sort", {"enum": list(staff.SORTS), "description":
                        "received: oldest first (default); due: soonest Frist first, none last; status: new first"}),
              ("page", {"type": "integer", "minimum": 1, "maximum": staff.MAX_INBOX_PAGE}),
          )),
    Route("GET", CASE, get_case, "Staff: the case with its data by form section, Nachweise, documents, timeline "
          "and messages (the opening is recorded)", response=STAFF_CASE, codes=CASE_CODES),
    Route("GET", CASE + "/documents/{document_id}", get_document, "Staff: a document of the case (the read is "
          "recorded)", response=BINARY, response_type=DOCUMENT_TYPES,
          codes=(*CASE_CODES, "DOCUMENT_NOT_FOUND", "DOCUMENT_UNAVAILABLE")),
    Route("POST", CASE + "/receive", receive, "Staff: confirm the case was received", ok=204,
          codes=(*ACTION_CODES, "CASE_TAKEN")),
    Route("POST", CASE + "/start-processing", start_processing, "Staff: start processing", ok=204,
          codes=(*ACTION_CODES, "CASE_TAKEN")),
    Route("POST", CASE + "/document-requests", request_documents, "Staff: ask for documents by a due date",
          ok=204, request=obj({"due_date": DATE}, {"items": array(STRING), "note": STRING}),
          codes=(*ACTION_CODES, *TEXT_CODES, "FIELD_INVALID", "DATE_INVALID", "DUE_DATE_INVALID",
                 "DOCUMENT_REQUEST_EMPTY", "DOCUMENT_REQUEST_INVALID", "DUE_DATE_IN_PAST", "DUE_DATE_TOO_FAR",
                 "NACHWEIS_UNKNOWN")),
    Route("POST", CASE + "/waivers", waive, "Staff: a missing Nachweis is no longer needed", ok=204,
          request=obj({"nachweis": STRING}), codes=(*ACTION_CODES, "FIELD_REQUIRED", "NACHWEIS_NOT_MISSING")),
    Route("POST", CASE + "/messages", post_message, "Staff: write to the citizen", ok=201,
          request=obj({"text": STRING}), response=obj({"message_id": STRING}), codes=(*ACTION_CODES, *TEXT_CODES)),
    Route("POST", CASE + "/bescheid", upload_bescheid, "Staff: upload the Bescheid PDF (raw body), scanned like "
          "any upload", ok=201, request=BINARY, request_type="application/octet-stream", response=DOCUMENT,
          codes=(*ACTION_CODES, "BESCHEID_NOT_PDF", "FILE_TOO_LARGE", "DOCUMENT_REJECTED", "UPLOAD_FAILED",
                 "SIZE_INVALID", "NACHWEIS_INVALID", "CHECK_UNAVAILABLE", "CASES_UNAVAILABLE", "TOO_MANY_REQUESTS",
                 "REQUEST_TOO_LARGE")),
    Route("POST", CASE + "/decision", decide, "Staff: record the decision with the Bescheid (and for a WBA the "
          "approval period); the outcome fits the kind of case, else 400 OUTCOME_UNKNOWN. A VÄM decided `unchanged` "
          "is no Bescheid: bescheid_document_id may be left out (or name a letter saying so)", ok=204,
          request=obj({"outcome": enum(*staff.OUTCOMES, description=
                                   "a WBA: approved, partially_approved, rejected; a VÄM: amended (Änderungsbescheid), "
                                   "revoked (Aufhebungsbescheid), unchanged (keine Änderung)")},
                      {"bescheid_document_id": nullable(STRING), "approval_from": DATE, "approval_to": DATE}),
          codes=(*ACTION_CODES, "FIELD_REQUIRED", "OUTCOME_UNKNOWN", "BESCHEID_REQUIRED", "BESCHEID_INVALID",
                 "DOCUMENT_NOT_FOUND", "DATE_INVALID", "APPROVAL_PERIOD_REQUIRED", "APPROVAL_PERIOD_INVALID",
                 "CASE_ALREADY_DECIDED")),
    Route("POST", CASE + "/bescheid-notice-denied", notice_denied, "Staff: the citizen credibly denies having "
          "received the e-mail notice of the Bescheid (message_id from bekanntgabe in GET the case): from now on it "
          "counts as made known on the day the citizen downloads it (§ 37 (2a) SGB X)", ok=204,
          request=obj({"message_id": STRING}), codes=(*CASE_CODES, "MESSAGE_ID_REQUIRED", "NOTICE_NOT_FOUND")),
    Route("POST", CASE + "/close", close, "Staff: close the decided case", ok=204, codes=ACTION_CODES),
    Route("POST", CASE + "/assignee", assign, "Staff: take the case (empty body) or, team leads, give it to a "
          "caseworker of the same Jobcenter; changed false when it was theirs already",
          request=obj({}, {"caseworker_id": STRING}), response=obj({"changed": BOOLEAN}),
          codes=(*ACTION_CODES, "FIELD_INVALID", "CASEWORKER_NOT_OF_THIS_JOBCENTER", "CASE_TAKEN", "TEAM_LEAD_ONLY",
                 "ACCOUNT_NOT_FOUND")),
    Route("GET", "/staff/colleagues", colleagues, "Team leads: the active caseworkers and team leads of the own "
          "Jobcenter (account_id, email, role, display_name)", response=listing("staff", COLLEAGUE),
          codes=STAFF_CODES),
    Route("POST", CASE + "/reassignment", reassign, "Team lead: hand the case to another gE, with a reason",
          request=obj({"jobcenter_id": STRING, "reason": STRING}), response=obj({"assignment": ASSIGNMENT}),
          codes=(*CASE_CODES, *TEXT_CODES, "OVERRIDE_REASON_MISSING", "JOBCENTER_NOT_FOUND",
                 "JOBCENTER_NOT_SERVED", "ASSIGNMENT_NOT_FOUND", "ASSIGNMENT_UNCHANGED", "TEAM_LEAD_ONLY")),
    Route("GET", "/staff/access-log", access_log, "Admins and team leads: who of the staff (and which e-file "
          "client) opened which case and document, when; newest first, 50 a page (more: true when there is another); "
          "query case_id (or a receipt number), since and until (days, inclusive), page",
          response=ACCESS_RECORD, codes=(*STAFF_CODES, "ACCESS_FILTER_INVALID", "ADMIN_ONLY", "CASE_NOT_FOUND")),
    Route("GET", "/staff/activation-codes", activation_codes, "Staff: the Freischaltcodes of the own Jobcenter, "
          "newest first, with state open, used, revoked or expired (never the code itself); admins all or those of "
          "institution_id", response=listing("activation_codes", ACTIVATION_CODE),
          codes=(*STAFF_CODES, *INSTITUTION_CODES),
          filters=(("institution_id", {"type": "string", "description": "admins: one Jobcenter's codes"}),)),
    Route("POST", "/staff/activation-codes", issue_activation_code, "Staff: issue a Freischaltcode for a "
          "Kundennummer of the own Jobcenter (admins name institution_id); the clear code and the letter "
          "(letter_pdf, base64) are returned only this once (audited)", ok=201,
          request=obj({"customer_number": {"type": "string", "pattern": staff.CUSTOMER_NUMBER.pattern}},
                      {"institution_id": STRING}),
          response=ISSUED_ACTIVATION_CODE,
          codes=(*STAFF_CODES, *INSTITUTION_CODES, "FIELD_REQUIRED", "CUSTOMER_NUMBER_INVALID",
                 "CUSTOMER_NUMBER_NOT_ALLOWED")),
    Route("POST", "/staff/activation-codes/{code_id}/revocation", revoke_activation_code, "Staff: revoke an "
          "unused Freischaltcode of the own Jobcenter for good (audited); 409 when it was used or revoked already",
          ok=204, codes=(*STAFF_CODES, "ACTIVATION_CODE_NOT_FOUND", "ACTIVATION_CODE_CLOSED")),
    Route("GET", "/staff/accounts", staff_accounts, "Team leads and admins: the active caseworkers and team leads "
          "of the own Jobcenter (admins: of institution_id)", response=listing("staff", COLLEAGUE),
          codes=(*STAFF_CODES, *INSTITUTION_CODES),
          filters=(("institution_id", {"type": "string", "description": "admins: the Jobcenter"}),)),
    Route("POST", "/staff/accounts", create_staff_account, "Admins (any Jobcenter, caseworker or team lead) and "
          "team leads (caseworkers of their own): invite a colleague, who sets a password by the mailed link and "
          "the second factor at first login", ok=201,
          request=obj({"email": STRING, "role": enum(*staff.STAFF_ROLES)}, {
              "institution_id": STRING,
              "display_name": {"type": "string", "maxLength": 100, "description": "how colleagues see them"}}),
          response=obj({"account_id": STRING}),
          codes=(*STAFF_CODES, *INSTITUTION_CODES, "FIELD_REQUIRED", "EMAIL_INVALID", "EMAIL_TAKEN", "ROLE_UNKNOWN",
                 "DISPLAY_NAME_INVALID", "ROLE_CHANGE_NOT_ALLOWED", "MAIL_UNAVAILABLE")),
    Route("POST", "/staff/accounts/{account_id}/disable", disable_account, "Admins (any) and team leads (a "
          "caseworker of their own Jobcenter): disable a staff account; its sessions end", ok=204,
          codes=(*STAFF_CODES, "ACCOUNT_NOT_FOUND", "INSTITUTION_NOT_ALLOWED", "OWN_ACCOUNT")),
    Route("GET", "/staff/jobcenter-contact", jobcenter_contact, "Team leads and admins: how citizens reach the "
          "own Jobcenter (admins: institution_id's) as set so far: postal and visitors' address, telephone, e-mail, "
          "opening hours", response=JOBCENTER_CONTACT, codes=(*STAFF_CODES, *INSTITUTION_CODES),
          filters=(("institution_id", {"type": "string", "description": "admins: the Jobcenter"}),)),
    Route("PUT", "/staff/jobcenter-contact", set_jobcenter_contact, "Team leads (their own Jobcenter) and admins "
          "(institution_id, a Jobcenter of the portal): set how citizens reach the Jobcenter; the finder, \"Mein "
          "Jobcenter\", the Eingangsbestätigung and the Freischaltcode letter show it. Who set it and when is "
          "recorded; a refusal names the field (details.field, dotted for an address part: "
          "postal_address.postcode)", request=JOBCENTER_CONTACT_INPUT, response=JOBCENTER_CONTACT,
          codes=(*STAFF_CODES, *INSTITUTION_CODES, "CONTACT_INVALID", "FIELD_REQUIRED", "POSTCODE_INVALID",
                 "PHONE_INVALID", "EMAIL_INVALID", "TEXT_TOO_LONG", "HIDDEN_CHARACTERS", "JOBCENTER_NOT_FOUND",
                 "JOBCENTER_NOT_SERVED", "ROUTING_UNAVAILABLE")),
    Route("GET", "/staff/alerts", staff_alerts, "Caseworkers and team leads: the own Jobcenter's alerts (new "
          "case, documents supplied, case overdue, ...), newest first; admins every Jobcenter's, or those of "
          "institution_id", response=listing("alerts", STAFF_ALERT), codes=(*STAFF_CODES, *INSTITUTION_CODES),
          filters=(("institution_id", {"type": "string", "description": "admins: one Jobcenter's alerts"}),)),
    Route("GET", "/staff/accessibility-feedback", barrier_reports, "Admins: the barriers reported from the "
          "Erklärung zur Barrierefreiheit, newest first", response=listing("reports", BARRIER_REPORT),
          codes=(*STAFF_CODES, "ADMIN_ONLY")),
)  # fmt: skip
