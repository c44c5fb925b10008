"""The Postfach: messages to a citizen, threaded by case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

metadata = MetaData()
messages = Table(
    "notify_postfach_messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("owner_id", String(64), nullable=False, index=True),
    Column("case_id", String(36), nullable=True, index=True),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
)


def post_receipt_confirmation(session: Session, owner_id: str, case_id: str, receipt_number: str) -> str:
    """Tell the citizen that the case arrived, with its receipt number; returns the message id."""
    message_id = str(uuid.uuid4())
    session.execute(
        messages.insert().values(
            message_id=message_id,
            owner_id=owner_id,
            case_id=case_id,
            subject="Ihr Antrag ist eingegangen",
            body=(
                f"Wir haben Ihren Antrag erhalten. Ihre Eingangsnummer ist {receipt_number}. "
                "Bitte heben Sie die Eingangsbestätigung auf."
            ),
            created_at=datetime.now(UTC),
        )
    )
    return message_id


def list_messages(session: Session, owner_id: str) -> list[dict[str, Any]]:
    """The citizen's messages, newest first."""
    rows = session.execute(
        select(messages).where(messages.c.owner_id == owner_id).order_by(messages.c.created_at.desc())
    ).mappings()
    return [
        {
            "message_id": row["message_id"],
            "case_id": row["case_id"],
            "subject": row["subject"],
            "body": row["body"],
            "created_at": row["created_at"].isoformat(),
            "read": row["read_at"] is not None,
        }
        for row in rows
    ]
