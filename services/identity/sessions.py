"""Server-side sessions: revocable, ended after 30 minutes idle or 12 hours in all.

The browser (through the gateway) holds an opaque session token; only its SHA-256 is stored. Each
access token names its session in ``sid``, so identity can refuse a token whose session ended.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity import accounts, signing
from services.identity.schema import sessions
from services.identity.settings import IdentitySettings, fingerprint
from shared.errors import Unauthenticated

SESSION_ENDED_MESSAGE = "Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an."


def start(session: Session, settings: IdentitySettings, account: dict[str, Any], amr: list[str]) -> dict[str, Any]:
    """A new session for ``account`` and its first access token."""
    now = datetime.now(UTC)
    session_token = secrets.token_urlsafe(32)
    session_id = str(uuid.uuid4())
    session.execute(
        sessions.insert().values(
            session_id=session_id,
            token_hash=fingerprint(session_token),
            account_id=account["account_id"],
            amr=amr,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=settings.session_max_seconds),
        )
    )
    return {
        "status": "authenticated",
        "session_token": session_token,
        "session_id": session_id,
        "account_id": account["account_id"],
        "role": account["role"],
        **signing.issue_access_token(session, settings, account, session_id, amr),
    }


def live(session: Session, settings: IdentitySettings, session_id: str, touch: bool = False) -> dict[str, Any]:
    """The session row while it is usable; raises Unauthenticated ``SESSION_ENDED`` otherwise."""
    row = session.execute(select(sessions).where(sessions.c.session_id == session_id)).mappings().first()
    now = datetime.now(UTC)
    if (
        row is None
        or row["revoked_at"] is not None
        or _aware(row["expires_at"]) <= now
        or now - _aware(row["last_seen_at"]) > timedelta(seconds=settings.session_idle_seconds)
    ):
        raise Unauthenticated("SESSION_ENDED", SESSION_ENDED_MESSAGE)
    if touch:
        session.execute(sessions.update().where(sessions.c.session_id == session_id).values(last_seen_at=now))
    return dict(row)


def refresh(session: Session, settings: IdentitySettings, session_token: str) -> dict[str, Any]:
    """A new access token for a live session (which counts as activity); raises ``SESSION_ENDED``."""
    row = session.execute(
        select(sessions.c.session_id).where(sessions.c.token_hash == fingerprint(session_token))
    ).first()
    if row is None:
        raise Unauthenticated("SESSION_ENDED", SESSION_ENDED_MESSAGE)
    current = live(session, settings, row.session_id, touch=True)
    account = accounts.get(session, current["account_id"])
    if account["status"] != accounts.Status.ACTIVE:
        raise Unauthenticated("SESSION_ENDED", SESSION_ENDED_MESSAGE)
    return signing.issue_access_token(session, settings, account, current["session_id"], list(current["amr"]))


def end(session: Session, session_token: str) -> str | None:
    """Revoke the session of ``session_token``; returns its account id (None when unknown). Idempotent."""
    row = session.execute(
        select(sessions.c.session_id, sessions.c.account_id).where(sessions.c.token_hash == fingerprint(session_token))
    ).first()
    if row is None:
        return None
    session.execute(
        sessions.update()
        .where(sessions.c.session_id == row.session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return str(row.account_id)


def end_all(session: Session, account_id: str) -> int:
    """Revoke every open session of an account (password reset, disabling, role change)."""
    result = session.execute(
        sessions.update()
        .where(sessions.c.account_id == account_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
