"""Barriers people report from the Erklärung zur Barrierefreiheit, kept for the operators to answer.

The text is what a visitor typed (and perhaps how to reach them): it is stored here and shown only
to admins, never logged, never mailed, never published as an event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, select
from sqlalchemy.orm import Session

TEXT_LIMIT = 2000


def add_table(metadata: MetaData) -> Table:
    return Table(
        "notify_accessibility_feedback",
        metadata,
        Column("feedback_id", String(36), primary_key=True),
        Column("barrier", Text, nullable=False),
        Column("page", Text, nullable=False),
        Column("contact", Text, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    )


def record(session: Session, table: Table, barrier: str, page: str, contact: str) -> str:
    feedback_id = str(uuid.uuid4())
    session.execute(
        table.insert().values(
            feedback_id=feedback_id,
            barrier=barrier[:TEXT_LIMIT],
            page=page[:TEXT_LIMIT],
            contact=contact[:TEXT_LIMIT],
            received_at=datetime.now(UTC),
        )
    )
    return feedback_id


def newest(session: Session, table: Table, limit: int = 200) -> list[dict[str, Any]]:
    rows = session.execute(select(table).order_by(table.c.received_at.desc()).limit(limit)).mappings()
    return [{**row, "received_at": row["received_at"].isoformat()} for row in rows]
