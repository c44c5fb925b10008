"""Single-use secrets with a purpose and a lifetime: e-mail links, login tickets, WebAuthn challenges."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity.schema import one_time_tokens
from services.identity.settings import fingerprint
from shared.errors import Unauthenticated


class Purpose(StrEnum):
    EMAIL_CONFIRMATION = "email_confirmation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    # Between a correct password and the second factor (or its first enrolment, for staff).
    LOGIN = "login"
    PASSKEY_REGISTRATION = "passkey_registration"
    PASSKEY_LOGIN = "passkey_login"
    # A new e-mail address of a logged-in account, until its owner follows the link sent to it.
    EMAIL_CHANGE = "email_change"
    # A new authenticator app's secret (sealed), until its first code confirms it.
    TOTP_REPLACEMENT = "totp_replacement"


LIFETIMES = {
    Purpose.EMAIL_CONFIRMATION: timedelta(days=2),
    Purpose.PASSWORD_RESET: timedelta(hours=1),
    Purpose.LOGIN: timedelta(minutes=10),
    Purpose.PASSKEY_REGISTRATION: timedelta(minutes=5),
    Purpose.PASSKEY_LOGIN: timedelta(minutes=5),
    Purpose.EMAIL_CHANGE: timedelta(days=1),
    Purpose.TOTP_REPLACEMENT: timedelta(minutes=10),
}

MESSAGES = {
    Purpose.EMAIL_CONFIRMATION: "Dieser Bestätigungslink ist nicht mehr gültig.",
    Purpose.PASSWORD_RESET: "Dieser Link zum Zurücksetzen ist nicht mehr gültig. Bitte fordern Sie einen neuen an.",
    Purpose.LOGIN: "Die Anmeldung hat zu lange gedauert. Bitte beginnen Sie noch einmal.",
    Purpose.PASSKEY_REGISTRATION: "Die Einrichtung hat zu lange gedauert. Bitte beginnen Sie noch einmal.",
    Purpose.PASSKEY_LOGIN: "Die Anmeldung hat zu lange gedauert. Bitte beginnen Sie noch einmal.",
    Purpose.EMAIL_CHANGE: "Dieser Bestätigungslink ist nicht mehr gültig. Bitte ändern Sie die Adresse noch einmal.",
    Purpose.TOTP_REPLACEMENT: "Die Einrichtung hat zu lange gedauert. Bitte beginnen Sie noch einmal.",
}
LINKS = (Purpose.EMAIL_CONFIRMATION, Purpose.PASSWORD_RESET, Purpose.EMAIL_CHANGE)


def issue(session: Session, purpose: Purpose, account_id: str | None, data: dict[str, Any] | None = None) -> str:
    """A new random token for ``purpose``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(
        one_time_tokens.insert().values(
            token_hash=fingerprint(token),
            purpose=purpose.value,
            account_id=account_id,
            data=data,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


def peek(session: Session, purpose: Purpose, token: str) -> dict[str, Any]:
    """The unused, unexpired token's row; raises Unauthenticated ``LINK_INVALID`` / ``TICKET_INVALID``."""
    row = (
        session.execute(
            select(one_time_tokens).where(
                one_time_tokens.c.token_hash == fingerprint(token), one_time_tokens.c.purpose == purpose.value
            )
        )
        .mappings()
        .first()
    )
    expires_at = row["expires_at"] if row else None
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if row is None or row["used_at"] is not None or expires_at is None or expires_at <= datetime.now(UTC):
        code = "LINK_INVALID" if purpose in LINKS else "TICKET_INVALID"
        raise Unauthenticated(code, MESSAGES[purpose])
    return dict(row)


def redeem(session: Session, purpose: Purpose, token: str) -> dict[str, Any]:
    """Like :func:`peek`, and marks the token used: a second redeem fails, also when concurrent."""
    row = peek(session, purpose, token)
    result = session.execute(
        one_time_tokens.update()
        .where(one_time_tokens.c.token_hash == row["token_hash"], one_time_tokens.c.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Unauthenticated("TICKET_INVALID", MESSAGES[purpose])
    return row
