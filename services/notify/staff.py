"""Alerts for a Jobcenter's caseworkers: a new case in the inbox, documents supplied, a case overdue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.orm import Session

TEXTS = {
    "new_case": "Neuer Vorgang im Posteingang",
    "case_handed_in": "Vorgang von einem anderen Jobcenter übernommen",
    "documents_supplied": "Unterlagen wurden nachgereicht",
    "case_overdue": "Vorgang wurde seit 3 Arbeitstagen nicht angenommen",
    "citizen_message": "Neue Nachricht einer Kundin oder eines Kunden",
    "case_withdrawn": "Die Kundin oder der Kunde hat zurückgenommen",
}


def add_table(metadata: MetaData) -> Table:
    return Table(
        "notify_staff_alerts",
        metadata,
        Column("alert_id", String(36), primary_key=True),
        Column("jobcenter_id", String(64), nullable=False, index=True),
        Column("case_id", String(36), nullable=False),
        Column("kind", String(30), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def raise_alert(session: Session, table: Table, jobcenter_id: str, case_id: str, kind: str) -> None:
    session.execute(
        table.insert().values(
            alert_id=str(uuid.uuid4()),
            jobcenter_id=jobcenter_id,
            case_id=case_id,
            kind=kind,
            created_at=datetime.now(UTC),
        )
    )


def alerts_of(session: Session, table: Table, jobcenter_id: str | None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest alerts of one Jobcenter, or of every Jobcenter (``None``: for admins)."""
    query = select(table)
    if jobcenter_id is not None:
        query = query.where(table.c.jobcenter_id == jobcenter_id)
    rows = session.execute(query.order_by(table.c.created_at.desc()).limit(limit)).mappings()
    return [
        {
            "case_id": row["case_id"],
            "jobcenter_id": row["jobcenter_id"],
            "kind": row["kind"],
            "text": TEXTS.get(row["kind"], row["kind"]),
            "at": (
                row["created_at"] if row["created_at"].tzinfo else row["created_at"].replace(tzinfo=UTC)
            ).isoformat(),
        }
        for row in rows
    ]
