"""The audit trail: who did what to which account, when and from where — never a password or code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity.schema import audit_records

# Everything that is recorded; anything else is a programming error.
ACTIONS = frozenset(
    {
        "account_created",
        "account_disabled",
        "data_exported",
        "account_deleted",
        "activation_code_issued",
        "activation_code_redeemed",
        "activation_code_refused",
        "activation_code_revoked",
        "email_confirmed",
        "login_succeeded",
        "login_failed",
        "logout",
        "password_changed",
        "password_reset_requested",
        "totp_enrolled",
        "recovery_code_used",
        "passkey_registered",
        "passkey_removed",
        "email_change_requested",
        "email_changed",
        "name_changed",
        "recovery_codes_renewed",
        "role_changed",
        "signing_key_rotated",
    }
)


def record(
    session: Session,
    action: str,
    outcome: str = "ok",
    account_id: str | None = None,
    actor_id: str | None = None,
    client_address: str | None = None,
    detail: str | None = None,
) -> None:
    """Add one audit record in the caller's transaction, so it commits with the change it describes."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.execute(
        audit_records.insert().values(
            record_id=str(uuid.uuid4()),
            occurred_at=datetime.now(UTC),
            action=action,
            outcome=outcome,
            account_id=account_id,
            actor_id=actor_id,
            client_address=(client_address or None) and client_address[:64],
            detail=detail,
        )
    )


def records_of(session: Session, account_id: str) -> list[dict[str, Any]]:
    """The audit records of one account, oldest first."""
    rows = session.execute(
        select(audit_records).where(audit_records.c.account_id == account_id).order_by(audit_records.c.occurred_at)
    ).mappings()
    return [{**row, "occurred_at": row["occurred_at"].isoformat()} for row in rows]
