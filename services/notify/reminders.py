"""Reminders: the WBA reminder 8 weeks before the approval period ends, and before a document due date."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Column, Date, MetaData, String, Table, UniqueConstraint, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

WBA_REMINDER_BEFORE = timedelta(weeks=8)
DOCUMENTS_REMINDER_BEFORE = timedelta(days=3)


def add_table(metadata: MetaData) -> Table:
    return Table(
        "notify_reminders",
        metadata,
        Column("reminder_id", String(36), primary_key=True),
        Column("kind", String(30), nullable=False),
        Column("owner_id", String(64), nullable=False),
        Column("case_id", String(36), nullable=False),
        Column("due_on", Date, nullable=False, index=True),
        Column("subject_date", Date, nullable=False),
        Column("state", String(10), nullable=False),
        UniqueConstraint("kind", "case_id", "subject_date"),
    )


class Reminders:
    def __init__(self, table: Table) -> None:
        self.table = table

    def schedule(self, session: Session, kind: str, owner_id: str, case_id: str, subject_date: date) -> None:
        """Schedule once; scheduling the same reminder again changes nothing."""
        before = WBA_REMINDER_BEFORE if kind == "wba_reminder" else DOCUMENTS_REMINDER_BEFORE
        dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            dialect_insert(self.table)
            .values(
                reminder_id=str(uuid.uuid4()),
                kind=kind,
                owner_id=owner_id,
                case_id=case_id,
                due_on=subject_date - before,
                subject_date=subject_date,
                state="pending",
            )
            .on_conflict_do_nothing()
        )

    def due(self, session: Session, today: date) -> list[dict[str, Any]]:
        rows = session.execute(
            select(self.table).where(self.table.c.state == "pending", self.table.c.due_on <= today)
        ).mappings()
        return [dict(row) for row in rows]

    def mark_sent(self, session: Session, reminder_id: str) -> bool:
        """Returns False when another instance sent it first."""
        result = session.execute(
            update(self.table)
            .where(self.table.c.reminder_id == reminder_id, self.table.c.state == "pending")
            .values(state="sent")
        )
        return bool(getattr(result, "rowcount", 0) == 1)
