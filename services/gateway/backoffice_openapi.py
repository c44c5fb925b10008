"""The OpenAPI 3.1 document of the back-office API ``/backoffice/v1`` (``GET /backoffice/v1/openapi.json``).

Each route of ``backoffice_api.ROUTES`` is described here once, by its handler; ``test_openapi.py`` checks
that the two agree both ways. The error answers come from the same builder as those of ``/api/v1``.
"""

from __future__ import annotations

import re
from typing import Any

from services.gateway import backoffice_api as office
from services.gateway.openapi import JWKS, error_responses
from services.gateway.schemas import (
    ANSWERS,
    BINARY,
    DECISION,
    DOCUMENT_TYPES,
    INTEGER,
    NACHWEIS_STATUS,
    STRING,
    TIME,
    array,
    enum,
    map_of,
    nullable,
    obj,
    open_object,
)

KEYS_PATH = "/.well-known/backoffice-keys.json"
BEARER: list[dict[str, list[str]]] = [{"client_credentials": []}]
TOKEN_CODES = ("TOKEN_MISSING", "TOKEN_INVALID")
CASE_CODES = (*TOKEN_CODES, "CASE_NOT_FOUND")

TOKEN = obj(
    {
        "access_token": {"type": "string", "description": "opaque; send it as Authorization: Bearer"},
        "token_type": enum("Bearer"),
        "expires_in": {"type": "integer", "description": "seconds"},
    }
)
TOKEN_REQUEST = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": enum("client_credentials"),
        "client_id": {"type": "string", "description": "unless sent by HTTP Basic"},
        "client_secret": {"type": "string", "description": "unless sent by HTTP Basic"},
    },
}
NEW_CASES = obj(
    {
        "cases": array(obj({"case_id": STRING, "assigned_at": TIME})),
        "page": INTEGER,
        "page_size": INTEGER,
        "total": INTEGER,
        "next_page": nullable(INTEGER),
    }
)
EXPORTED_CASE = obj(
    {
        "case_id": STRING, "kind": STRING, "form_version": STRING, "status": STRING,
        "receipt_number": nullable(STRING), "content_hash": nullable(STRING), "submitted_at": nullable(TIME),
        "jobcenter_id": nullable(STRING), "answers": ANSWERS,
        "nachweise": array(obj({"kind": STRING, "label": STRING, "status": NACHWEIS_STATUS,
                                "document_ids": array(STRING)})),
        "document_ids": array(STRING, description="the documents attached to the case, each once"),
        "decision": nullable(DECISION),
        "handovers": map_of(enum("confirmed", "refused"), "per Jobcenter: its e-file's answer"),
    }
)  # fmt: skip
CASE = obj(
    {
        "case": EXPORTED_CASE,
        "schema": obj({"kind": STRING, "version": STRING}, description="the form, as GET /api/v1/forms/{kind}"),
    }
)
DOCUMENTS = obj(
    {
        "documents": array(
            obj({"document_id": STRING, "nachweis": STRING, "content_type": nullable(STRING), "href": STRING})
        )
    }
)
HANDOVER = obj({"case_id": STRING, "status": enum("accepted", "rejected")})
REASON = obj({"reason": {"type": "string", "minLength": 1, "maxLength": 1000}})
EVENTS = obj(
    {
        "sets": array(
            {"type": "string", "description": "a Security Event Token (RFC 8417): compact JWS, EdDSA"},
            description="the case's events, oldest first",
        )
    }
)


def json_answer(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "success", "content": {"application/json": {"schema": schema}}}


OPERATIONS: dict[Any, dict[str, Any]] = {
    office.token: {
        "summary": "An access token for the client (OAuth2 client credentials, RFC 6749 4.4)",
        "description": "The client's id and secret by HTTP Basic or as client_id and client_secret in the form. "
        "At most 60 requests a minute from one address.",
        "security": [{"client_basic": []}, {}],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_REQUEST}},
        },
        "responses": {
            "200": json_answer(TOKEN),
            **error_responses(
                (
                    "BODY_INVALID",
                    "UNSUPPORTED_GRANT_TYPE",
                    "CLIENT_CREDENTIALS_INVALID",
                    "TOO_MANY_REQUESTS",
                    "REQUEST_TOO_LARGE",
                )
            ),  # fmt: skip
        },
    },
    office.list_cases: {
        "summary": "The Jobcenter's new cases (assigned, neither accepted nor rejected), oldest first",
        "parameters": [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": office.MAX_PAGE, "default": 1},
            }
        ],
        "responses": {"200": json_answer(NEW_CASES), **error_responses((*TOKEN_CODES, "PAGE_INVALID"))},
    },
    office.get_case: {
        "summary": "The submitted case as the e-file takes it over, with its form kind and version",
        "responses": {"200": json_answer(CASE), **error_responses(CASE_CODES)},
    },
    office.list_documents: {
        "summary": "The case's attached documents that passed the virus scan and checks",
        "responses": {"200": json_answer(DOCUMENTS), **error_responses(CASE_CODES)},
    },
    office.download_document: {
        "summary": "The document's bytes, streamed from a presigned URL (valid at most 60 s)",
        "responses": {
            "200": {
                "description": "the file, as an attachment",
                "headers": {"X-Content-SHA256": {"description": "hex SHA-256 of the file", "schema": STRING}},
                "content": {media: {"schema": BINARY} for media in DOCUMENT_TYPES},
            },
            **error_responses((*CASE_CODES, "DOCUMENT_NOT_FOUND")),
        },
    },
    office.accept_case: {
        "summary": "The e-file took the case over (recorded on the case); a repeated accept answers the same",
        "responses": {
            "200": json_answer(HANDOVER),
            **error_responses(
                (
                    *CASE_CODES,
                    "HANDOVER_ALREADY_REFUSED",
                    "CASE_NOT_ASSIGNED_TO_JOBCENTER",
                    "CASE_CLOSED",
                    "CASE_NOT_SUBMITTED",
                    "CASE_BUSY",
                )
            ),  # fmt: skip
        },
    },
    office.reject_case: {
        "summary": "The e-file refuses the case, with a reason (recorded on the case)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": REASON}}},
        "responses": {
            "200": json_answer(HANDOVER),
            **error_responses(
                (
                    *CASE_CODES,
                    "BODY_INVALID",
                    "REQUEST_TOO_LARGE",
                    "REASON_REQUIRED",
                    "REASON_INVALID",
                    "HANDOVER_ALREADY_CONFIRMED",
                    "CASE_NOT_ASSIGNED_TO_JOBCENTER",
                    "CASE_CLOSED",
                    "CASE_NOT_SUBMITTED",
                    "CASE_BUSY",
                )
            ),  # fmt: skip
        },
    },
    office.case_events: {
        "summary": "The case's event log, each event a Security Event Token signed with a key of " + KEYS_PATH,
        "responses": {"200": json_answer(EVENTS), **error_responses(CASE_CODES)},
    },
    office.openapi_document: {
        "summary": "This document",
        "security": [],
        "responses": {"200": json_answer(open_object("an OpenAPI 3.1 document"))},
    },
}
KEYS_OPERATION: dict[str, Any] = {
    "operationId": "backoffice_keys",
    "summary": "The public keys that verify the Security Event Tokens (JWKS), for anyone",
    "security": [],
    "responses": {"200": json_answer(JWKS), **error_responses(())},
}


def document(origin: str) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; every route of ``backoffice_api.ROUTES`` and nothing else.

    ``origin`` (``https://portal.example``) makes the token URL absolute, as the OAuth2 flow object wants it.
    """
    paths: dict[str, dict[str, Any]] = {}
    for method, rule, handler in office.ROUTES:
        path = office.PREFIX + re.sub(r"<(\w+)>", r"{\1}", rule)
        described = {"operationId": f"backoffice_{handler.__name__}", **OPERATIONS[handler]}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": STRING} for name in re.findall(r"<(\w+)>", rule)
        ]
        described["parameters"] = parameters + described.get("parameters", [])
        paths.setdefault(path, {})[method.lower()] = described
    paths[KEYS_PATH] = {"get": KEYS_OPERATION}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jobcenter-Portal back-office API",
            "version": "1",
            "description": "How a Jobcenter's e-file takes over the portal's cases: list the new ones, fetch each "
            "with its documents, accept or reject it, read its events as signed Security Event Tokens. A client "
            "gets a token with its client id and secret (POST /backoffice/v1/token, OAuth2 client credentials) "
            "and sends it as Authorization: Bearer; cookies count for nothing here and every 401 names the Bearer "
            "scheme. A case of another Jobcenter is 404 CASE_NOT_FOUND, as one that does not exist.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "client_credentials": {
                    "type": "oauth2",
                    "description": "an opaque access token (10 minutes) from the token endpoint, sent as "
                    "Authorization: Bearer",
                    "flows": {"clientCredentials": {"tokenUrl": origin + office.PREFIX + "/token", "scopes": {}}},
                },
                "client_basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "the token endpoint only: client_id and client_secret (form-encoded, RFC 6749 "
                    "2.3.1); or send them as form fields instead",
                },
            }
        },
        "security": BEARER,
        "paths": paths,
    }
