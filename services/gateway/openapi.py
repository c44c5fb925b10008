"""The OpenAPI 3.1 document of ``/api/v1``, made from the route table in ``api.py``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from services.gateway import schemas
from services.gateway.api import PREFIX, ROUTES, Route
from services.gateway.error_codes import STATUS_OF, UNEXPECTED
from services.gateway.security import CSRF_HEADER

ERROR_DESCRIPTIONS = {
    400: "invalid input",
    401: "not authenticated: no session or token, or a refused one",
    403: "not allowed, or CSRF_FAILED",
    404: "not found (also for another person's case)",
    409: "the state of the case does not allow it",
    413: "the body is too large",
    429: "too many attempts",
    500: "internal error (says nothing of its cause)",
    503: "a service does not answer",
}
# Behind a session: none, or ended; or the services refuse the access token the gateway holds for it
# (forged, expired, signed with a key they do not know), or cannot fetch identity's keys to check it.
SESSION_CODES = ("SESSION_REQUIRED", "SESSION_ENDED", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_KEY_UNKNOWN",
                 "KEYS_UNAVAILABLE")  # fmt: skip
CSRF_CODES = ("CSRF_FAILED",)
JSON_BODY_CODES = ("BODY_INVALID", "REQUEST_TOO_LARGE")


def error_responses(codes: Iterable[str]) -> dict[str, Any]:
    """One response per status the codes have (and 500, 503), each listing its codes as an enum."""
    by_status: dict[int, set[str]] = defaultdict(set)
    for code in (*codes, *UNEXPECTED):
        for status in STATUS_OF[code]:
            by_status[status].add(code)
    return {
        str(status): {
            "description": f"{ERROR_DESCRIPTIONS[status]}: " + ", ".join(sorted(by_status[status])),
            "content": {"application/json": {"schema": schemas.error(sorted(by_status[status]))}},
        }
        for status in sorted(by_status)
    }


def codes_of(route: Route) -> tuple[str, ...]:
    """The route's own codes and those every route of its kind can answer with."""
    codes = [*route.codes]
    if not route.public:
        codes += SESSION_CODES
    if route.changes_state:
        codes += CSRF_CODES
    if route.request is not None and route.request_type == "application/json":
        codes += JSON_BODY_CODES
    return tuple(dict.fromkeys(codes))


RECEIPT_KEYS_PATH = "/.well-known/receipt-keys.json"
JWKS = schemas.obj(
    {
        "keys": schemas.array(
            schemas.obj(
                {"kty": {"const": "OKP"}, "crv": {"const": "Ed25519"}, "x": schemas.STRING, "kid": schemas.STRING},
                {"use": {"const": "sig"}, "alg": {"const": "EdDSA"}},
            )
        )
    }
)
RECEIPT_KEYS_OPERATION: dict[str, Any] = {
    "operationId": "receipt_keys",
    "summary": "The public keys that verify receipts (JWKS), for anyone",
    "description": "Every key a receipt was ever signed with, by kid; the newest signs. See the receipt route.",
    "security": [],
    "responses": {
        "200": {"description": "success", "content": {"application/json": {"schema": JWKS}}},
        **error_responses(()),
    },
}


def operation(route: Route) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": True, "schema": {"type": "string"}} for name in route.query
    ]
    parameters += [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in route.filters]
    if route.path.endswith("/documents"):
        parameters.append({"name": "filename", "in": "query", "required": False, "schema": {"type": "string"}})
    parameters += [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string", "minLength": 8, "maxLength": 100}}
        for name in route.headers
    ]
    if route.changes_state and not route.public:
        parameters.append({"name": CSRF_HEADER, "in": "header", "required": True, "schema": {"type": "string"}})
    success: dict[str, Any] = {"description": "success"}
    if route.response_headers:
        success["headers"] = {
            name: {"description": what, "schema": {"type": "string"}} for name, what in route.response_headers
        }
    if route.response is not None:
        types = (route.response_type,) if isinstance(route.response_type, str) else route.response_type
        success["content"] = {media: {"schema": route.response} for media in types}
    responses: dict[str, Any] = {str(route.ok): success, **error_responses(codes_of(route))}
    result: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if route.description:
        result["description"] = route.description
    if route.request is not None:
        result["requestBody"] = {"required": True, "content": {route.request_type: {"schema": route.request}}}
    if route.public:
        result["security"] = []
    return result


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; every route of ``ROUTES`` and nothing else."""
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(PREFIX + route.path, {})[route.method.lower()] = operation(route)
    paths[RECEIPT_KEYS_PATH] = {"get": RECEIPT_KEYS_OPERATION}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Jobcenter-Portal API",
            "version": "1",
            "description": "The citizen's actions of the portal. Log in with POST /session (and "
            "/session/second-factor); the session is an HttpOnly cookie, and every state change needs "
            f"the session's CSRF token in {CSRF_HEADER}. Receipts (GET /api/v1/cases/{{case_id}}/receipt) "
            f"are signed JWS; their keys are at {RECEIPT_KEYS_PATH}.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": {"Error": schemas.error()},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "jc_session"}},
        },
        "security": [{"session": []}],
        "paths": paths,
    }
