"""The JSON API ``/api/v1``: the routes, each with its OpenAPI description as data next to it.

Handlers only translate HTTP to the calls of ``citizen.py`` (the layer the pages use too); the
services decide ownership. Errors go through ``errors.py``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from services.gateway import account_pages, citizen, data_export, staff_api
from services.gateway.errors import Refused, response_for
from services.gateway.exchange import Exchange
from services.gateway.routes import PREFIX as PREFIX  # openapi.py reads it here
from services.gateway.routes import Route, download, empty, ok
from services.gateway.schemas import (
    ANSWERS_VIEW,
    BINARY,
    BOOLEAN,
    CASE,
    CASE_MESSAGE,
    CASE_SUMMARY,
    CONSENTS,
    DELETION,
    DOCUMENT,
    DOCUMENT_TYPES,
    ENROLMENT,
    FINDER_ANSWER,
    FORM,
    INTEGER,
    KIND,
    LOGIN_ANSWER,
    MY_JOBCENTER,
    MY_NAME,
    PASSKEY,
    PASSKEY_OPTIONS,
    PERSON_NAME,
    POSTCODE_PLACES,
    POSTFACH_MESSAGE,
    REGISTERED,
    SESSION,
    STRING,
    TIMELINE_EVENT,
    array,
    listing,
    map_of,
    obj,
    open_object,
)
from shared.errors import InvalidInput, NotFound


def session_answer(exchange: Exchange, result: dict[str, Any]) -> Response:
    """identity's login answer for the client: the session goes into the cookie, never into the body."""
    if result.get("status") == "authenticated":
        exchange.begin_session(result)
        return ok(
            exchange,
            {
                "status": "authenticated",
                "account_id": result["account_id"],
                "role": result["role"],
                "csrf_token": exchange.csrf_token(),
                **({"recovery_codes": result["recovery_codes"]} if "recovery_codes" in result else {}),
            },
        )
    return ok(exchange, {key: result[key] for key in ("status", "login_ticket", "methods") if key in result})


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidInput("FIELD_REQUIRED", f"Bitte füllen Sie das Feld „{name}“ aus.", {"field": name})
    return value


# -- session ---------------------------------------------------------------------------------------


def login(x: Exchange) -> Response:
    x.limit("login", x.settings.login_per_minute)
    body = x.json_object()
    return session_answer(
        x, citizen.log_in(x.backend, text_field(body, "email"), text_field(body, "password"), x.client)
    )


def second_factor(x: Exchange) -> Response:
    x.limit("login", x.settings.login_per_minute)
    body = x.json_object()
    code, recovery = body.get("code"), body.get("recovery_code")
    if not isinstance(code, str | None) or not isinstance(recovery, str | None) or not (code or recovery):
        raise InvalidInput("FIELD_REQUIRED", "Bitte geben Sie den Code ein.", {"field": "code"})
    result = citizen.complete_second_factor(x.backend, text_field(body, "login_ticket"), code, recovery, x.client)
    return session_answer(x, result)


def enrolment(x: Exchange) -> Response:
    x.limit("login", x.settings.login_per_minute)
    started = citizen.start_enrolment_at_login(x.backend, text_field(x.json_object(), "login_ticket"))
    return ok(x, {key: started[key] for key in ("secret", "otpauth_uri")})


def confirm_enrolment(x: Exchange) -> Response:
    x.limit("login", x.settings.login_per_minute)
    body = x.json_object()
    result = citizen.complete_enrolment_at_login(
        x.backend, text_field(body, "login_ticket"), text_field(body, "code"), x.client
    )
    return session_answer(x, result)


def logout(x: Exchange) -> Response:
    if x.session_token:
        citizen.log_out(x.backend, x.session_token, x.client)
    x.end_session()
    return empty(x)


def me(x: Exchange) -> Response:
    return ok(x, {**citizen.who_am_i(x.backend, x.access_token()), "csrf_token": x.csrf_token()})


def registration(x: Exchange) -> Response:
    x.limit("registration", x.settings.login_per_minute)
    body = x.json_object()
    result = citizen.register(
        x.backend, text_field(body, "email"), text_field(body, "password"), text_field(body, "activation_code"),
        x.client, text_field(body, "given_name"), text_field(body, "family_name"),
    )  # fmt: skip
    return ok(x, result, 202)


# -- cases -----------------------------------------------------------------------------------------


def list_cases(x: Exchange) -> Response:
    return ok(x, {"cases": citizen.my_cases(x.backend, x.access_token())})


def start_case(x: Exchange) -> Response:
    body = x.json_object()
    return ok(x, {"case_id": citizen.start_case(x.backend, x.access_token(), text_field(body, "kind"))}, 201)


def get_case(x: Exchange, case_id: str) -> Response:
    return ok(x, citizen.case_detail(x.backend, x.access_token(), case_id))


def save_section(x: Exchange, case_id: str, section_id: str) -> Response:
    return ok(x, citizen.save_section(x.backend, x.access_token(), case_id, section_id, x.json()))


def submit_case(x: Exchange, case_id: str) -> Response:
    return ok(x, citizen.submit(x.backend, x.access_token(), case_id, x.request.headers.get("Idempotency-Key")))


def case_timeline(x: Exchange, case_id: str) -> Response:
    return ok(x, {"events": citizen.timeline(x.backend, x.access_token(), case_id)})


RECEIPT_DESCRIPTION = (
    "One receipt per submission, signed once when the case is submitted: the same bytes every time it is "
    "fetched. The signature (header X-Receipt-Signature, and printed in the PDF) is a compact JWS with "
    "alg EdDSA whose claims are sub (the case id), receipt_number, submitted_at, kind, form_version and "
    "content_hash (SHA-256 over the submitted answers). Verify it offline with the key named by the JWS "
    "header's kid in the JWKS at GET /.well-known/receipt-keys.json (public, no session; keys used before "
    "a key change stay listed). /.well-known/jwks.json holds the login token keys, not these."
)


def case_receipt(x: Exchange, case_id: str) -> Response:
    found = citizen.receipt(x.backend, x.access_token(), case_id)
    return x.finish(
        Response(
            found.pdf,
            mimetype="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="Eingangsbestaetigung-{found.receipt_number}.pdf"',
                "X-Receipt-Number": found.receipt_number,
                "X-Receipt-Signature": found.jws,
            },
        )
    )


def withdraw_case(x: Exchange, case_id: str) -> Response:
    citizen.withdraw(x.backend, x.access_token(), case_id)
    return empty(x)


def discard_draft(x: Exchange, case_id: str) -> Response:
    citizen.discard_draft(x.backend, x.access_token(), case_id)
    return empty(x)


def list_messages(x: Exchange, case_id: str) -> Response:
    return ok(x, {"messages": citizen.messages(x.backend, x.access_token(), case_id)})


def post_message(x: Exchange, case_id: str) -> Response:
    body = x.json_object()
    return ok(x, {"message_id": citizen.post_message(x.backend, x.access_token(), case_id, body.get("text"))}, 201)


def upload_document(x: Exchange, case_id: str) -> Response:
    x.limit("upload", x.settings.upload_per_minute)
    token = x.access_token()
    nachweis = x.request.args.get("nachweis", "")
    filename = x.request.args.get("filename", "") or "upload"
    if not nachweis:
        raise InvalidInput("FIELD_REQUIRED", "Bitte wählen Sie, welchen Nachweis Sie hochladen.", {"field": "nachweis"})
    size = x.request.content_length
    document = citizen.upload(x.backend, token, case_id, nachweis, filename, x.body_chunks(), size)
    return ok(x, document, 201)


def merge_photos(x: Exchange, case_id: str) -> Response:
    x.limit("upload", x.settings.upload_per_minute)
    body = x.json_object()
    token = x.access_token()
    document = citizen.merge_photos(x.backend, token, case_id, body.get("nachweis"), body.get("document_ids"))
    return ok(x, document, 201)


# -- Postfach, consents, Mein Jobcenter, public -----------------------------------------------------


def list_postfach(x: Exchange) -> Response:
    return ok(x, citizen.postfach(x.backend, x.access_token()))


def mark_read(x: Exchange, message_id: str) -> Response:
    citizen.mark_read(x.backend, x.access_token(), message_id)
    return empty(x)


def postfach_attachment(x: Exchange, message_id: str, document_id: str) -> Response:
    found = citizen.postfach_attachment(x.backend, x.access_token(), message_id, document_id)
    return download(x, found.chunks, found.content_type, found.filename)


def my_data(x: Exchange) -> Response:
    """Everything the portal holds about me, as JSON to take away (Art. 15/20 DSGVO)."""
    return download(
        x, *data_export.rendered(data_export.collect(x.backend, x.access_token()), "json"), "meine-daten.json"
    )


def my_data_pdf(x: Exchange) -> Response:
    return download(
        x, *data_export.rendered(data_export.collect(x.backend, x.access_token()), "pdf"), "meine-daten.pdf"
    )


def delete_my_account(x: Exchange) -> Response:
    outcome = citizen.delete_account(x.backend, x.access_token(), x.json_object().get("password"), x.client)
    x.end_session()
    return ok(x, outcome)


def get_consents(x: Exchange) -> Response:
    return ok(x, {"consents": citizen.consents(x.backend, x.access_token())})


def set_consent(x: Exchange, channel: str) -> Response:
    body = x.json_object()
    return ok(x, {"consents": citizen.set_consent(x.backend, x.access_token(), channel, body.get("granted"))})


def my_jobcenter(x: Exchange) -> Response:
    return ok(x, citizen.my_jobcenter(x.backend, x.access_token()))


def get_form(x: Exchange, kind: str) -> Response:
    response = ok(x, citizen.current_form(x.backend, kind))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def lookup_postcode(x: Exchange, plz: str) -> Response:
    response = ok(x, citizen.lookup_postcode(x.backend, plz))
    # The register changes once a year at most; the answer is the same for everyone.
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def find_jobcenter(x: Exchange) -> Response:
    x.limit("finder", x.settings.finder_per_minute)
    query = {name: x.request.args.get(name, "") for name in citizen.FINDER_FIELDS}
    response = ok(x, citizen.find_jobcenter(x.backend, query, x.request.args.get("date") or None))
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def openapi_document(x: Exchange) -> Response:
    from services.gateway.openapi import document

    response = ok(x, document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


CREDENTIALS = obj({"email": STRING, "password": STRING})
SECOND_FACTOR = obj(
    {"login_ticket": STRING},
    {
        "code": {"type": "string", "description": "the TOTP code"},
        "recovery_code": {"type": "string", "description": "instead of a code: one of the recovery codes"},
    },
)
TICKET = obj({"login_ticket": STRING})
ENROLMENT_CODE = obj({"login_ticket": STRING, "code": STRING})
ENROLMENT_DESCRIPTION = (
    "Nobody gets a session with a password alone. When POST /session answers status "
    "second_factor_setup_required, send its login_ticket here, add the secret (or the otpauth URI) to an "
    "authenticator app, then send the app's current code to /session/enrolment/confirm. A token without a "
    "second factor is refused by every service with 401 SECOND_FACTOR_REQUIRED."
)
PASSKEY_ANSWER = {
    "type": "object",
    "required": ["ticket", "credential"],
    "properties": {"ticket": STRING, "credential": open_object("the authenticator's answer as JSON (WebAuthn)")},
}
TAKEN_OVER = map_of(array(STRING), "per section: the fields a WBA draft took over from earlier cases")
NOT_TAKEN_OVER = array(
    STRING,
    description="the sections a prefilled WBA draft had nothing for: absent from the last WBA, or out of date since "
    "a later VÄM reported a change there; the citizen enters them anew",
)
CASE_DETAIL = obj(
    {"case": CASE, **ANSWERS_VIEW, "documents": array(DOCUMENT)},
    {"taken_over": TAKEN_OVER, "not_taken_over": NOT_TAKEN_OVER},
)
SAVED_SECTION = obj({"case_id": STRING, **ANSWERS_VIEW}, {"taken_over": TAKEN_OVER, "not_taken_over": NOT_TAKEN_OVER})

# Error codes that several routes share (the rest are written at each route).
LOGIN_CODES = ("FIELD_REQUIRED", "TOO_MANY_REQUESTS", "TOO_MANY_ATTEMPTS")
TICKET_CODES = (*LOGIN_CODES, "TICKET_INVALID", "SECOND_FACTOR_FAILED")
CITIZEN_CODES = ("CITIZEN_ONLY",)
CASE_CODES = ("CASE_NOT_FOUND", "CASE_ID_INVALID")
OWN_CASE_CODES = (*CASE_CODES, *CITIZEN_CODES, "NOT_YOUR_CASE", "CASE_BUSY")
TEXT_CODES = ("FIELD_REQUIRED", "MESSAGE_LENGTH", "TEXT_TOO_LONG", "HIDDEN_CHARACTERS")
UPLOAD_CODES = (
    "FIELD_REQUIRED", "NACHWEIS_INVALID", "NACHWEIS_STAFF_ONLY", "SIZE_INVALID", "FILE_TOO_LARGE", "DOCUMENT_REJECTED",
    "UPLOAD_FAILED", "CHECK_UNAVAILABLE", "CASES_UNAVAILABLE", "CASE_CLOSED", "CASE_ALREADY_DECIDED",
    "DOCUMENT_ALREADY_ATTACHED", "TOO_MANY_REQUESTS", "REQUEST_TOO_LARGE", "NACHWEIS_UNKNOWN", "CASE_QUOTA_EXCEEDED",
    "CASE_ALREADY_SUBMITTED", "CASE_NOT_SUBMITTED", "DRAFT_GONE",
)  # fmt: skip

ROUTES: tuple[Route, ...] = (
    Route("POST", "/session", login, "Log in with e-mail and password (first step)", request=CREDENTIALS,
          response=LOGIN_ANSWER, public=True, codes=(*LOGIN_CODES, "LOGIN_FAILED", "EMAIL_NOT_CONFIRMED")),
    Route("POST", "/session/second-factor", second_factor, "Second step: TOTP code or recovery code",
          request=SECOND_FACTOR, response=LOGIN_ANSWER, public=True, codes=TICKET_CODES),
    Route("POST", "/session/enrolment", enrolment, "First login without a second factor: the authenticator "
          "app's secret", request=TICKET, response=ENROLMENT, public=True, codes=(*TICKET_CODES,
          "TOTP_ALREADY_ENROLLED"), description=ENROLMENT_DESCRIPTION),
    Route("POST", "/session/enrolment/confirm", confirm_enrolment, "First login: the app's first code; "
          "answers the session and the recovery codes", request=ENROLMENT_CODE, response=LOGIN_ANSWER, public=True,
          codes=(*TICKET_CODES, "TOTP_CODE_WRONG", "TOTP_ALREADY_ENROLLED")),
    Route("GET", "/session", me, "The logged-in account and the CSRF token of the session", response=SESSION),
    Route("DELETE", "/session", logout, "Log out (idempotent)", ok=204, public=True),
    Route("POST", "/session/passkey/options", account_pages.api_passkey_login_options,
          "Passkey login, step 1: the ticket and the options for navigator.credentials.get", public=True,
          response=PASSKEY_OPTIONS, codes=("TOO_MANY_REQUESTS", "BODY_INVALID", "REQUEST_TOO_LARGE")),
    Route("POST", "/session/passkey", account_pages.api_passkey_login, "Passkey login, step 2: the assertion",
          request=PASSKEY_ANSWER, response=LOGIN_ANSWER, public=True,
          codes=(*LOGIN_CODES, "TICKET_INVALID", "PASSKEY_REFUSED")),
    Route("GET", "/account/passkeys", account_pages.api_list_passkeys, "My passkeys",
          response=listing("passkeys", PASSKEY)),
    Route("POST", "/account/passkeys/options", account_pages.api_passkey_registration_options,
          "Add a passkey, step 1: the ticket and the options for navigator.credentials.create",
          response=PASSKEY_OPTIONS, codes=("BODY_INVALID", "REQUEST_TOO_LARGE")),
    Route("POST", "/account/passkeys", account_pages.api_register_passkey,
          "Add a passkey, step 2: the authenticator's answer", ok=201, request=PASSKEY_ANSWER,
          response=listing("passkeys", PASSKEY), codes=("FIELD_REQUIRED", "TICKET_INVALID", "PASSKEY_REFUSED",
                                                        "PASSKEY_EXISTS")),
    Route("DELETE", "/account/passkeys/{credential_id}", account_pages.api_remove_passkey, "Remove a passkey",
          ok=204, codes=("PASSKEY_NOT_FOUND",)),
    Route("POST", "/registration", registration, "Register with an activation code and my name", ok=202,
          request=obj({"email": STRING, "password": STRING, "activation_code": STRING, "given_name": PERSON_NAME,
                       "family_name": PERSON_NAME}), response=REGISTERED,
          public=True, codes=("FIELD_REQUIRED", "TOO_MANY_REQUESTS", "TOO_MANY_ATTEMPTS", "EMAIL_INVALID",
                              "PASSWORD_TOO_SHORT", "PASSWORD_TOO_LONG", "PASSWORD_TOO_COMMON",
                              "ACTIVATION_CODE_INVALID", "EMAIL_TAKEN", "MAIL_UNAVAILABLE", "NAME_INVALID")),
    Route("GET", "/account/name", account_pages.api_my_name, "My name as the Jobcenter's caseworkers see it beside "
          "my Kundennummer (null: not given)", response=MY_NAME, codes=("ROLE_NOT_ALLOWED",)),
    Route("PUT", "/account/name", account_pages.api_change_my_name, "Change my name", request=obj(
          {"given_name": PERSON_NAME, "family_name": PERSON_NAME}), response=MY_NAME,
          codes=("BODY_INVALID", "REQUEST_TOO_LARGE", "NAME_INVALID", "ROLE_NOT_ALLOWED")),
    Route("GET", "/cases", list_cases, "My cases with status and next step",
          response=listing("cases", CASE_SUMMARY), codes=("READ_MODEL_BUILDING",)),
    Route("POST", "/cases", start_case, "Start a Veränderungsmitteilung or Weiterbewilligungsantrag", ok=201,
          request=obj({"kind": KIND}), response=obj({"case_id": STRING}),
          codes=("FIELD_REQUIRED", "CASE_KIND_UNKNOWN", *CITIZEN_CODES)),
    Route("GET", "/cases/{case_id}", get_case, "The case with answers, sections, Nachweise and documents",
          response=CASE_DETAIL, codes=CASE_CODES),
    Route("PUT", "/cases/{case_id}/sections/{section_id}", save_section, "Save one section of a draft",
          request=open_object("the section's answers, as its JSON Schema in GET /forms/{kind} says"),
          response=SAVED_SECTION, codes=(*OWN_CASE_CODES, "SECTION_UNKNOWN", "SECTION_INVALID",
                                         "CASE_ALREADY_SUBMITTED", "DRAFT_GONE")),
    Route("POST", "/cases/{case_id}/submit", submit_case, "Submit the draft; the same Idempotency-Key gives "
          "the same receipt", headers=("Idempotency-Key",), response=CASE,
          codes=(*OWN_CASE_CODES, "IDEMPOTENCY_KEY_REQUIRED", "IDEMPOTENCY_KEY_INVALID", "CASE_INCOMPLETE",
                 "CASE_ALREADY_SUBMITTED", "RESIDENCE_NOT_ROUTABLE", "ROUTING_UNAVAILABLE", "DRAFT_GONE")),
    Route("GET", "/cases/{case_id}/timeline", case_timeline, "The case's events",
          response=listing("events", TIMELINE_EVENT), codes=CASE_CODES),
    Route("GET", "/cases/{case_id}/receipt", case_receipt, "The receipt (Eingangsbestätigung) as PDF",
          response=BINARY, response_type="application/pdf",
          codes=(*CASE_CODES, "CASE_NOT_SUBMITTED", "RECEIPT_UNAVAILABLE"),
          description=RECEIPT_DESCRIPTION, response_headers=(
              ("X-Receipt-Number", "the receipt number, e.g. JC-2026-7KQ4-M2XD"),
              ("X-Receipt-Signature", "the signed receipt: a compact JWS (EdDSA), also printed in the PDF"),
          )),
    Route("POST", "/cases/{case_id}/withdraw", withdraw_case, "Withdraw the case", ok=204,
          codes=(*OWN_CASE_CODES, "CASE_STATUS_DOES_NOT_ALLOW", "CASE_NOT_SUBMITTED", "CASE_CLOSED",
                 "CASE_ALREADY_DECIDED")),
    Route("DELETE", "/cases/{case_id}", discard_draft, "Discard a draft that was never submitted: it and its "
          "uploads are erased at once (409 CASE_ALREADY_SUBMITTED: withdraw it instead; then 404)",
          ok=204, codes=(*OWN_CASE_CODES, "CASE_ALREADY_SUBMITTED", "DRAFT_GONE")),
    Route("GET", "/cases/{case_id}/messages", list_messages, "Messages with the Jobcenter",
          response=listing("messages", CASE_MESSAGE), codes=CASE_CODES),
    Route("POST", "/cases/{case_id}/messages", post_message, "Write to the Jobcenter", ok=201,
          request=obj({"text": STRING}), response=obj({"message_id": STRING}),
          codes=(*OWN_CASE_CODES, *TEXT_CODES, "CASE_NOT_SUBMITTED", "CASE_CLOSED")),
    Route("POST", "/cases/{case_id}/documents", upload_document, "Upload a Nachweis: the raw file as body",
          ok=201, request=BINARY, request_type="application/octet-stream", response=DOCUMENT,
          query=("nachweis",), codes=(*OWN_CASE_CODES, *UPLOAD_CODES)),
    Route("POST", "/cases/{case_id}/documents/merge", merge_photos, "Make one PDF of photos uploaded before "
          "(2 to 20, a page each in the order given); it takes their place in the case", ok=201,
          request=obj({"nachweis": STRING, "document_ids": array(STRING, minItems=2, maxItems=20)}),
          response=DOCUMENT, codes=(*OWN_CASE_CODES, *UPLOAD_CODES, "MERGE_INVALID", "MERGE_NOT_A_PHOTO",
                                    "MERGE_CHANGED", "DOCUMENT_NOT_FOUND", "DOCUMENT_NOT_READY")),
    Route("GET", "/postfach", list_postfach, "My Postfach, newest first, with the unread count",
          response=obj({"messages": array(POSTFACH_MESSAGE), "unread": INTEGER}), codes=CITIZEN_CODES),
    Route("POST", "/postfach/{message_id}/read", mark_read, "Mark a Postfach message read", ok=204,
          codes=(*CITIZEN_CODES, "MESSAGE_NOT_FOUND")),
    Route("GET", "/postfach/{message_id}/attachments/{document_id}", postfach_attachment, "An attachment of a "
          "Postfach message (the Bescheid) as a download; the first download of a Bescheid is its retrieval, "
          "from which its Bekanntgabe can count (see bekanntgabe in GET /postfach)",
          response=BINARY, response_type=DOCUMENT_TYPES,
          codes=(*CITIZEN_CODES, "MESSAGE_NOT_FOUND", "DOCUMENT_NOT_FOUND", "DOCUMENT_UNAVAILABLE")),
    Route("GET", "/me/data", my_data, "Everything the portal holds about me, to take away (Art. 15 and 20 "
          "DSGVO): account, second factors (no secrets), sessions, audit trail, cases with answers, timelines, "
          "messages and documents, Postfach, consents with their history; a download",
          response=open_object("the export (format_version 1): identity, cases, postfach, consents, "
                               "consent_changes, forms; a document to keep, not an interface"),
          codes=CITIZEN_CODES),
    Route("POST", "/me/deletion", delete_my_account, "Delete my account, giving my password again: address, "
          "customer number, password and second factors go, my drafts are deleted, my session ends; submitted "
          "cases stay with the Jobcenter until their retention ends (cases_kept says how many)",
          request=obj({"password": STRING}), response=DELETION,
          codes=("FIELD_REQUIRED", "CURRENT_PASSWORD_WRONG", "TOO_MANY_ATTEMPTS", "STAFF_ACCOUNT")),
    Route("GET", "/me/data.pdf", my_data_pdf, "The same as GET /me/data, as a PDF to read",
          response=BINARY, response_type="application/pdf", codes=CITIZEN_CODES),
    Route("GET", "/consents", get_consents, "My consents per channel", response=obj({"consents": CONSENTS}),
          codes=CITIZEN_CODES),
    Route("PUT", "/consents/{channel}", set_consent, "Give or take back consent for one channel",
          request=obj({"granted": BOOLEAN}), response=obj({"consents": CONSENTS}),
          codes=(*CITIZEN_CODES, "CHANNEL_UNKNOWN", "CONSENT_NOT_BOOLEAN")),
    Route("GET", "/my-jobcenter", my_jobcenter, "The Jobcenter responsible for the address of my last case",
          response=MY_JOBCENTER, codes=("ADDRESS_UNKNOWN", "RESIDENCE_INVALID", "ROUTING_UNAVAILABLE")),
    Route("GET", "/forms/{kind}", get_form, "The current form of a kind: sections with their JSON Schemas",
          response=FORM, public=True, codes=("CASE_KIND_UNKNOWN",)),
    Route("GET", "/postcodes/{plz}", lookup_postcode, "The places of a postcode with their Jobcenter",
          response=POSTCODE_PLACES, public=True, codes=("POSTCODE_INVALID",)),
    Route("GET", "/responsible-jobcenter", find_jobcenter, "Which Jobcenter is responsible for an address, and "
          "why; or what to ask next; or which municipal Jobcenter serves it instead (no login)",
          response=FINDER_ANSWER, public=True, query=("plz",),
          codes=("TOO_MANY_REQUESTS", "POSTCODE_MISSING", "POSTCODE_INVALID", "QUERY_INVALID", "DATE_INVALID",
                 "RESIDENCE_INVALID"),
          filters=(("ort", {"type": "string", "maxLength": 100, "description": "the place, when the postcode "
                            "has several"}),
                   ("strasse", {"type": "string", "maxLength": 100}),
                   ("hausnummer", {"type": "string", "maxLength": 100}),
                   ("berlin_bezirk", {"type": "string", "pattern": "^(0[1-9]|1[0-2])$"}),
                   ("ags", {"type": "string", "pattern": "^[0-9]{8}$", "description": "the Gemeinde's key, as "
                            "the candidates' places give it"}),
                   ("date", {"type": "string", "format": "date", "description": "the day (default today); "
                             "the register changes on 1 January"})),
          description="Answer `ask` by adding that parameter and asking again. The Jobcenters' areas are the "
                      "register of the Eingliederungsmittel-Verordnung; postcodes © OpenStreetMap contributors "
                      "(ODbL), Berlin addresses Geoportal Berlin / Adressen Berlin (dl-de/by-2.0)."),
    Route("GET", "/openapi.json", openapi_document, "This document", public=True,
          response=open_object("an OpenAPI 3.1 document")),
)  # fmt: skip
ROUTES += staff_api.ROUTES  # the caseworker's routes, /api/v1/staff/...

URL_MAP = Map([Rule(route.rule, methods=[route.method], endpoint=route) for route in ROUTES])


def dispatch(x: Exchange) -> Response:
    """Route an API request, check CSRF for every state change, and answer errors from the one table."""
    try:
        try:
            route, params = URL_MAP.bind("", url_scheme="http").match(x.request.path, method=x.request.method)
        except MethodNotAllowed as refused:
            raise Refused(405, "METHOD_NOT_ALLOWED", "Diese Methode gibt es hier nicht.") from refused
        except NoRoute as missing:
            raise NotFound("ROUTE_NOT_FOUND", "Diese Adresse gibt es nicht.") from missing
        # A public route (login, registration) is safe as JSON alone; a stale session cookie must not block it.
        if route.changes_state and not (route.public and x.is_json()):
            x.check_csrf()
        return route.handler(x, **params)
    except Exception as problem:
        return x.finish(response_for(problem, x.correlation))
