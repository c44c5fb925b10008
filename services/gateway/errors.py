"""The one table that turns errors from services into HTTP answers."""

from __future__ import annotations

import json
import logging

from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from shared.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PortalError,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

HTTP_STATUS: dict[type[PortalError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
}


class Refused(Exception):
    """A refusal of the gateway's own that no class of ``shared/errors.py`` stands for (413, 429)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message


# What a broker, database or object-store outage raises (kombu's in the gateway; SQLAlchemy's,
# psycopg's and eventsourcing's in a service, urllib3's under minio when S3 cannot be reached; they
# reach the gateway as a RemoteError of that name), and a service's call of another that got no
# answer in time (shared.messaging.bounded_rpc_waits): the caller may try again later, so the
# answer is 503 SERVICE_UNAVAILABLE, not 500.
OUTAGE_ERROR_TYPES = frozenset({"OperationalError", "InterfaceError", "MaxRetryError", "TimeoutError"})


def dependency_down(exc: BaseException) -> bool:
    kind = exc.exc_type if isinstance(exc, RemoteError) else type(exc).__name__
    return kind in OUTAGE_ERROR_TYPES


GENERIC_MESSAGE = "Das hat leider nicht geklappt. Bitte versuchen Sie es später noch einmal."


def error_body(code: str, message: str, correlation_id: str, details: dict[str, object] | None = None) -> str:
    """The JSON body of every error answer of the API."""
    error: dict[str, object] = {"code": code, "message": message, "correlation_id": correlation_id}
    if details:
        error["details"] = details
    return json.dumps({"error": error}, ensure_ascii=False)


def response_for(exc: BaseException, correlation_id: str) -> Response:
    """The HTTP answer for an exception a service (or the gateway) raised; never leaks internals."""
    status = HTTP_STATUS.get(type(exc)) if isinstance(exc, PortalError) else None
    if isinstance(exc, Refused):
        status = exc.status
        body = error_body(exc.code, exc.message, correlation_id)
    elif isinstance(exc, PortalError) and status is not None:
        body = error_body(exc.code, exc.message, correlation_id, exc.details)
    else:
        status = 503 if isinstance(exc, TimeoutError) or dependency_down(exc) else 500
        code = "SERVICE_UNAVAILABLE" if status == 503 else "INTERNAL_ERROR"
        # RemoteError text may quote the failed input; only its type is logged.
        kind = exc.exc_type if isinstance(exc, RemoteError) else type(exc).__name__
        log.error("request_failed", extra={"code": str(kind), "status": status})
        body = error_body(code, GENERIC_MESSAGE, correlation_id)
    return Response(body, status=status, mimetype="application/json", headers={"X-Correlation-ID": correlation_id})
