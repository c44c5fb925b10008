"""The OpenAPI 3.1 document of ``/api/v1``, made from the route table in ``api.py``."""

from __future__ import annotations

import re
from typing import Any

from services.gateway.api import PREFIX, ROUTES, Route
from services.gateway.security import CSRF_HEADER

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "correlation_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "correlation_id": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
ERROR_DESCRIPTIONS = {
    400: "invalid input",
    401: "no session, or it ended",
    403: "not allowed, or CSRF_FAILED",
    404: "not found (also for another person's case)",
    405: "method not allowed",
    409: "the state of the case does not allow it",
    413: "the body is too large",
    429: "too many attempts",
    500: "internal error (says nothing of its cause)",
    503: "a service does not answer",
}


RECEIPT_KEYS_PATH = "/.well-known/receipt-keys.json"
JWKS = {
    "type": "object",
    "required": ["keys"],
    "properties": {
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kty", "crv", "x", "kid"],
                "properties": {
                    "kty": {"const": "OKP"},
                    "crv": {"const": "Ed25519"},
                    "x": {"type": "string"},
                    "kid": {"type": "string"},
                    "use": {"const": "sig"},
                    "alg": {"const": "EdDSA"},
                },
            },
        }
    },
}
RECEIPT_KEYS_OPERATION: dict[str, Any] = {
    "operationId": "receipt_keys",
    "summary": "The public keys that verify receipts (JWKS), for anyone",
    "description": "Every key a receipt was ever signed with, by kid; the newest signs. See the receipt route.",
    "security": [],
    "responses": {
        "200": {"description": "success", "content": {"application/json": {"schema": JWKS}}},
        "503": {
            "description": ERROR_DESCRIPTIONS[503],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
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
        success["content"] = {route.response_type: {"schema": route.response}}
    responses: dict[str, Any] = {str(route.ok): success}
    for status in (*route.errors, 500, 503):
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
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
            "schemas": {"Error": ERROR},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "jc_session"}},
        },
        "security": [{"session": []}],
        "paths": paths,
    }
