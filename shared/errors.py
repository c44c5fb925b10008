"""Errors that cross RPC with a stable code.

Services raise these classes directly (never subclasses), with a code of their own domain such as
``CASE_NOT_FOUND`` and a message in plain German for citizens. nameko sends them as their class
path; ``deserialize_to_instance`` turns them back into the same class on the caller's side, where
the gateway's one error table maps the class to an HTTP status and passes the code on.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import deserialize_to_instance


class PortalError(Exception):
    """Base of every error a service reports on purpose."""

    default_code = "INTERNAL_ERROR"

    def __init__(self, code: str | None = None, message: str = "", details: dict[str, Any] | None = None):
        self.code = code or self.default_code
        self.message = message
        self.details = details or {}
        super().__init__(self.code, self.message, self.details)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


@deserialize_to_instance
class InvalidInput(PortalError):
    """The request breaks a rule of the input (wrong format, missing field)."""

    default_code = "INVALID_INPUT"


@deserialize_to_instance
class NotFound(PortalError):
    """The thing asked for does not exist, or the caller may not know that it does."""

    default_code = "NOT_FOUND"


@deserialize_to_instance
class Conflict(PortalError):
    """The request contradicts the current state (e.g. a second submit of the same case)."""

    default_code = "CONFLICT"


@deserialize_to_instance
class Unauthenticated(PortalError):
    """The caller is not logged in or the credentials are wrong."""

    default_code = "UNAUTHENTICATED"


@deserialize_to_instance
class Forbidden(PortalError):
    """The caller is known but may not do this."""

    default_code = "FORBIDDEN"


@deserialize_to_instance
class Unavailable(PortalError):
    """A dependency is down; the caller may retry later."""

    default_code = "UNAVAILABLE"
