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
from services.gateway.routes import ARRAY_OF_OBJECTS, OBJECT, Route, download, empty, listing, ok
from services.gateway.routes import PREFIX as PREFIX  # openapi.py reads it here
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
        x.client,
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


JOBCENTER = {
    "type": "object",
    "required": ["jobcenter_id", "traeger_nummer", "form", "name", "display_name"],
    "properties": {
        "jobcenter_id": {"type": "string", "description": "the portal's stable id (jc-NNNN)"},
        "traeger_nummer": {"type": "string", "description": "the Träger-Nummer of the Federal Employment Agency"},
        "form": {"enum": ["gE", "zkT"], "description": "gE: served by this portal; zkT: a municipal Jobcenter"},
        "name": {"type": "string"},
        "display_name": {"type": "string", "description": "as the citizen reads it: Jobcenter Berlin Mitte"},
    },
}
FINDER_ANSWER = {
    "type": "object",
    "required": ["outcome", "code", "message", "jobcenter", "candidates", "ask", "on_date", "register_version"],
    "properties": {
        "outcome": {"enum": ["assigned", "ambiguous", "not_served", "unknown_input"], "description":
                    "assigned: this portal's Jobcenter is responsible; ambiguous: answer `ask` and ask again; "
                    "not_served: a municipal Jobcenter (zkT) is responsible; unknown_input: see `code`"},
        "code": {"type": "string", "description": "stable: MATCHED_BERLIN_ADDRESS, POSTCODE_SPANS_JOBCENTERS, "
                 "AREA_OF_ZKT, BERLIN_BEZIRK_NOT_IN_POSTCODE, POSTCODE_UNKNOWN, ..."},
        "message": {"type": "string", "description": "German, for the citizen"},
        "jobcenter": {"oneOf": [JOBCENTER, {"type": "null"}]},
        "reason": {"type": ["string", "null"], "description": "why this Jobcenter, in German"},
        "matched_key": {"type": ["string", "null"], "description": "the area that decided: kreis:14612, "
                        "gemeinde:06435014, berlin_bezirk:09"},
        "how_to_reach": {"type": "string", "description": "not_served: how to reach the responsible zkT"},
        "ask": {"enum": ["ort", "strasse_hausnummer", "berlin_bezirk", None],
                "description": "what to add to the query next"},
        "candidates": {"type": "array", "items": {
            "type": "object", "required": ["jobcenter"],
            "properties": {"jobcenter": JOBCENTER,
                           "places": {"type": "array", "items": {"type": "object", "required": ["ags", "ort"],
                                                                 "properties": {"ags": {"type": "string"},
                                                                                "ort": {"type": "string"}}}},
                           "berlin_bezirk": {"type": "string"}}}},
        "on_date": {"type": "string", "format": "date"},
        "register_version": {"type": "string"},
    },
}  # fmt: skip


def openapi_document(x: Exchange) -> Response:
    from services.gateway.openapi import document

    response = ok(x, document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


CREDENTIALS = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
}
SECOND_FACTOR = {
    "type": "object",
    "required": ["login_ticket"],
    "properties": {
        "login_ticket": {"type": "string"},
        "code": {"type": "string", "description": "the TOTP code"},
        "recovery_code": {"type": "string", "description": "instead of a code: one of the recovery codes"},
    },
}
TICKET = {"type": "object", "required": ["login_ticket"], "properties": {"login_ticket": {"type": "string"}}}
ENROLMENT = {
    "type": "object",
    "required": ["secret", "otpauth_uri"],
    "properties": {"secret": {"type": "string"}, "otpauth_uri": {"type": "string"}},
}
ENROLMENT_CODE = {
    "type": "object",
    "required": ["login_ticket", "code"],
    "properties": {"login_ticket": {"type": "string"}, "code": {"type": "string"}},
}
ENROLMENT_DESCRIPTION = (
    "Nobody gets a session with a password alone. When POST /session answers status "
    "second_factor_setup_required, send its login_ticket here, add the secret (or the otpauth URI) to an "
    "authenticator app, then send the app's current code to /session/enrolment/confirm. A token without a "
    "second factor is refused by every service with 401 SECOND_FACTOR_REQUIRED."
)
LOGIN_ANSWER = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": ["authenticated", "second_factor_required", "second_factor_setup_required"]},
        "login_ticket": {"type": "string"},
        "methods": {"type": "array", "items": {"type": "string"}},
        "account_id": {"type": "string"},
        "role": {"type": "string"},
        "csrf_token": {"type": "string"},
        "recovery_codes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "after the first login's enrolment only: codes that replace the phone once each",
        },
    },
}
PASSKEY_OPTIONS = {
    "type": "object",
    "required": ["ticket", "options"],
    "properties": {"ticket": {"type": "string"}, "options": OBJECT},
}
PASSKEY_ANSWER = {
    "type": "object",
    "required": ["ticket", "credential"],
    "properties": {"ticket": {"type": "string"}, "credential": OBJECT},
}
CASE_DETAIL = {
    "type": "object",
    "required": ["case", "answers", "sections", "nachweise", "problems", "documents"],
    "properties": {
        "case": OBJECT,
        "answers": OBJECT,
        "sections": ARRAY_OF_OBJECTS,
        "nachweise": ARRAY_OF_OBJECTS,
        "problems": {},
        "documents": ARRAY_OF_OBJECTS,
    },
}


ROUTES: tuple[Route, ...] = (
    Route("POST", "/session", login, "Log in with e-mail and password (first step)", request=CREDENTIALS,
          response=LOGIN_ANSWER, public=True, errors=(400, 401, 403, 429)),
    Route("POST", "/session/second-factor", second_factor, "Second step: TOTP code or recovery code",
          request=SECOND_FACTOR, response=LOGIN_ANSWER, public=True, errors=(400, 401, 403, 429)),
    Route("POST", "/session/enrolment", enrolment, "First login without a second factor: the authenticator "
          "app's secret", request=TICKET, response=ENROLMENT, public=True, errors=(400, 401, 403, 429),
          description=ENROLMENT_DESCRIPTION),
    Route("POST", "/session/enrolment/confirm", confirm_enrolment, "First login: the app's first code; "
          "answers the session and the recovery codes", request=ENROLMENT_CODE, response=LOGIN_ANSWER, public=True,
          errors=(400, 401, 403, 429)),
    Route("GET", "/session", me, "The logged-in account and the CSRF token of the session",
          response={"type": "object", "required": ["account_id", "role", "csrf_token"]}, errors=(401,)),
    Route("DELETE", "/session", logout, "Log out (idempotent)", ok=204, response=None, public=True, errors=(403,)),
    Route("POST", "/session/passkey/options", account_pages.api_passkey_login_options,
          "Passkey login, step 1: the ticket and the options for navigator.credentials.get", public=True,
          response=PASSKEY_OPTIONS, errors=(400, 403, 429)),
    Route("POST", "/session/passkey", account_pages.api_passkey_login, "Passkey login, step 2: the assertion",
          request=PASSKEY_ANSWER, response=LOGIN_ANSWER, public=True, errors=(400, 401, 403, 429)),
    Route("GET", "/account/passkeys", account_pages.api_list_passkeys, "My passkeys",
          response=listing("passkeys"), errors=(401,)),
    Route("POST", "/account/passkeys/options", account_pages.api_passkey_registration_options,
          "Add a passkey, step 1: the ticket and the options for navigator.credentials.create",
          response=PASSKEY_OPTIONS, errors=(401, 403)),
    Route("POST", "/account/passkeys", account_pages.api_register_passkey,
          "Add a passkey, step 2: the authenticator's answer", ok=201, request=PASSKEY_ANSWER,
          response=listing("passkeys")),
    Route("DELETE", "/account/passkeys/{credential_id}", account_pages.api_remove_passkey, "Remove a passkey",
          ok=204, response=None),
    Route("POST", "/registration", registration, "Register with an activation code", ok=202,
          request={"type": "object", "required": ["email", "password", "activation_code"]}, public=True,
          errors=(400, 401, 403, 429, 503)),
    Route("GET", "/cases", list_cases, "My cases with status and next step", response=listing("cases"),
          errors=(401,)),
    Route("POST", "/cases", start_case, "Start a Veränderungsmitteilung or Weiterbewilligungsantrag", ok=201,
          request={"type": "object", "required": ["kind"],
                   "properties": {"kind": {"enum": ["veraenderungsmitteilung", "weiterbewilligungsantrag"]}}},
          response={"type": "object", "required": ["case_id"], "properties": {"case_id": {"type": "string"}}}),
    Route("GET", "/cases/{case_id}", get_case, "The case with answers, sections, Nachweise and documents",
          response=CASE_DETAIL),
    Route("PUT", "/cases/{case_id}/sections/{section_id}", save_section, "Save one section of a draft",
          request=OBJECT),
    Route("POST", "/cases/{case_id}/submit", submit_case, "Submit the draft; the same Idempotency-Key gives "
          "the same receipt", headers=("Idempotency-Key",)),
    Route("GET", "/cases/{case_id}/timeline", case_timeline, "The case's events", response=listing("events")),
    Route("GET", "/cases/{case_id}/receipt", case_receipt, "The receipt (Eingangsbestätigung) as PDF",
          response={"type": "string", "format": "binary"}, response_type="application/pdf",
          description=RECEIPT_DESCRIPTION, response_headers=(
              ("X-Receipt-Number", "the receipt number, e.g. JC-2026-7KQ4-M2XD"),
              ("X-Receipt-Signature", "the signed receipt: a compact JWS (EdDSA), also printed in the PDF"),
          )),
    Route("POST", "/cases/{case_id}/withdraw", withdraw_case, "Withdraw the case", ok=204, response=None),
    Route("DELETE", "/cases/{case_id}", discard_draft, "Discard a draft that was never submitted: it and its "
          "uploads are erased at once (409 CASE_ALREADY_SUBMITTED: withdraw it instead; then 404)",
          ok=204, response=None, errors=(400, 401, 403, 404, 409)),
    Route("GET", "/cases/{case_id}/messages", list_messages, "Messages with the Jobcenter",
          response=listing("messages")),
    Route("POST", "/cases/{case_id}/messages", post_message, "Write to the Jobcenter", ok=201,
          request={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
          response={"type": "object", "required": ["message_id"]}),
    Route("POST", "/cases/{case_id}/documents", upload_document, "Upload a Nachweis: the raw file as body",
          ok=201, request={"type": "string", "format": "binary"}, request_type="application/octet-stream",
          query=("nachweis",), errors=(400, 401, 403, 404, 409, 413, 429, 503)),
    Route("POST", "/cases/{case_id}/documents/merge", merge_photos, "Make one PDF of photos uploaded before "
          "(2 to 20, a page each in the order given); it takes their place in the case", ok=201,
          request={"type": "object", "required": ["nachweis", "document_ids"],
                   "properties": {"nachweis": {"type": "string"},
                                  "document_ids": {"type": "array", "items": {"type": "string"},
                                                   "minItems": 2, "maxItems": 20}}},
          errors=(400, 401, 403, 404, 409, 429, 503)),
    Route("GET", "/postfach", list_postfach, "My Postfach, newest first, with the unread count",
          response={"type": "object", "required": ["messages", "unread"]}, errors=(401, 403)),
    Route("POST", "/postfach/{message_id}/read", mark_read, "Mark a Postfach message read", ok=204,
          response=None),
    Route("GET", "/postfach/{message_id}/attachments/{document_id}", postfach_attachment, "An attachment of a "
          "Postfach message (the Bescheid) as a download; the first download of a Bescheid is its retrieval, "
          "from which its Bekanntgabe can count (see bekanntgabe in GET /postfach)",
          response={"type": "string", "format": "binary"}, response_type="application/octet-stream",
          errors=(401, 403, 404, 503)),
    Route("GET", "/me/data", my_data, "Everything the portal holds about me, to take away (Art. 15 and 20 "
          "DSGVO): account, second factors (no secrets), sessions, audit trail, cases with answers, timelines, "
          "messages and documents, Postfach, consents with their history; a download", errors=(401, 403)),
    Route("POST", "/me/deletion", delete_my_account, "Delete my account, giving my password again: address, "
          "customer number, password and second factors go, my drafts are deleted, my session ends; submitted "
          "cases stay with the Jobcenter until their retention ends (cases_kept says how many)",
          request={"type": "object", "required": ["password"], "properties": {"password": {"type": "string"}}},
          response={"type": "object", "required": ["drafts_deleted", "cases_kept"]}, errors=(400, 401, 403, 409, 429)),
    Route("GET", "/me/data.pdf", my_data_pdf, "The same as GET /me/data, as a PDF to read",
          response={"type": "string", "format": "binary"}, response_type="application/pdf", errors=(401, 403)),
    Route("GET", "/consents", get_consents, "My consents per channel", errors=(401, 403)),  # 403: staff
    Route("PUT", "/consents/{channel}", set_consent, "Give or take back consent for one channel",
          request={"type": "object", "required": ["granted"], "properties": {"granted": {"type": "boolean"}}}),
    Route("GET", "/my-jobcenter", my_jobcenter, "The Jobcenter responsible for the address of my last case",
          response={"type": "object", "required": ["case_id", "resolution"]}, errors=(401, 404)),
    Route("GET", "/forms/{kind}", get_form, "The current form of a kind: sections with their JSON Schemas",
          response={"type": "object", "required": ["kind", "version", "sections"]}, public=True, errors=(400,)),
    Route("GET", "/postcodes/{plz}", lookup_postcode, "The places of a postcode with their Jobcenter",
          public=True, errors=(400,)),
    Route("GET", "/responsible-jobcenter", find_jobcenter, "Which Jobcenter is responsible for an address, and "
          "why; or what to ask next; or which municipal Jobcenter serves it instead (no login)",
          response=FINDER_ANSWER, public=True, errors=(400, 429), query=("plz",),
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
    Route("GET", "/openapi.json", openapi_document, "This document", public=True, errors=()),
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
