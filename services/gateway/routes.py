"""What the JSON API's route tables share: the ``Route`` with its OpenAPI description, and JSON answers.

Its own module so that ``api.py`` can join the route tables of ``staff_api.py`` without an import cycle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Response

from services.gateway.exchange import Exchange

PREFIX = "/api/v1"
Handler = Callable[..., Response]


@dataclass(frozen=True, eq=False)  # hashed by identity: the router uses routes as endpoints
class Route:
    """One operation: how it is routed and how the OpenAPI document describes it."""

    method: str
    path: str  # OpenAPI style, below PREFIX: "/cases/{case_id}"
    handler: Handler
    summary: str
    ok: int = 200
    response: dict[str, Any] | None = None  # the success's body schema (schemas.py); None: no body
    response_type: str | tuple[str, ...] = "application/json"  # several: the answer has one of them
    request: dict[str, Any] | None = None  # JSON body schema
    request_type: str = "application/json"
    public: bool = False  # no session needed
    headers: tuple[str, ...] = ()  # required request headers besides CSRF
    query: tuple[str, ...] = ()  # required query parameters
    filters: tuple[tuple[str, dict[str, Any]], ...] = ()  # optional query parameters with their schemas
    codes: tuple[str, ...] = ()  # its own error codes (error_codes.py); openapi.py adds session, CSRF, body
    description: str = ""  # longer than the summary, for the OpenAPI document
    response_headers: tuple[tuple[str, str], ...] = ()  # (name, what it carries) of a success

    @property
    def rule(self) -> str:
        return PREFIX + self.path.replace("{", "<").replace("}", ">")

    @property
    def changes_state(self) -> bool:
        return self.method not in {"GET", "HEAD"}


def ok(exchange: Exchange, payload: Any, status: int = 200) -> Response:
    return exchange.finish(
        Response(json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json")
    )


def download(exchange: Exchange, body: Any, mimetype: str, filename: str) -> Response:
    """A file to save (bytes, or chunks streamed as they come), under ``filename`` (any characters, RFC 5987)."""
    from urllib.parse import quote

    response = Response(body, mimetype=mimetype, direct_passthrough=not isinstance(body, bytes | str))
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return exchange.finish(response)


def empty(exchange: Exchange) -> Response:
    return exchange.finish(Response(status=204))
