"""The Postfach: messages to a citizen, threaded by case, with read state and attachments."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, MetaData, String, Table, Text, select, update
from sqlalchemy.orm import Session

from shared.errors import NotFound

metadata = MetaData()
messages = Table(
    "notify_postfach_messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("owner_id", String(64), nullable=False, index=True),
    Column("case_id", String(36), nullable=True, index=True),
    Column("kind", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    # For a Bescheid: delivered digitally (with the day it counts as delivered) or on paper.
    Column("paper_delivery", Boolean, nullable=False, default=False),
    Column("alert_sent_at", DateTime(timezone=True), nullable=True),
    Column("legal_delivery_date", Date, nullable=True),
)

# What the citizen reads, in plain German. Only ids and codes come from events; a receipt number
# or a due date is fine here: the Postfach is behind the citizen's login, unlike e-mail.
TEXTS = {
    "receipt": (
        "Ihr Antrag ist eingegangen",
        "Wir haben Ihren Antrag erhalten. Ihre Eingangsnummer ist {receipt_number}. "
        "Die Eingangsbestätigung können Sie beim Vorgang herunterladen.",
    ),
    "documents_requested": (
        "Bitte reichen Sie Unterlagen nach",
        "Ihr Jobcenter braucht für Ihren Antrag noch Unterlagen. Bitte laden Sie sie bis zum {due_date} "
        "beim Vorgang hoch.",
    ),
    "bescheid": (
        "Ihr Bescheid ist da",
        "Ihr Jobcenter hat über Ihren Antrag entschieden. Den Bescheid finden Sie im Anhang.",
    ),
    "message": (
        "Neue Nachricht von Ihrem Jobcenter",
        "Ihr Jobcenter hat Ihnen zu Ihrem Vorgang geschrieben. Sie finden die Nachricht beim Vorgang.",
    ),
    "wba_reminder": (
        "Denken Sie an Ihren Weiterbewilligungsantrag",
        "Ihr Bewilligungszeitraum endet am {approval_to}. Stellen Sie bitte rechtzeitig den "
        "Weiterbewilligungsantrag. Wir haben ihn mit Ihren letzten Angaben vorausgefüllt.",
    ),
    "document_rejected": (
        "Ein Dokument wurde nicht angenommen",
        "Ein Dokument, das Sie hochgeladen haben, konnte nicht angenommen werden und wurde gelöscht. "
        "Den Grund sehen Sie beim Vorgang. Bitte laden Sie den Nachweis noch einmal hoch.",
    ),
    "documents_reminder": (
        "Erinnerung: Unterlagen nachreichen",
        "Bitte denken Sie daran, die angeforderten Unterlagen bis zum {due_date} hochzuladen.",
    ),
}


def post(
    session: Session,
    owner_id: str,
    case_id: str | None,
    kind: str,
    attachments: list[str] | None = None,
    paper_delivery: bool = False,
    values: dict[str, str] | None = None,
) -> str:
    """Post a message of ``kind`` to the citizen; returns its id."""
    subject, body = TEXTS[kind]
    message_id = str(uuid.uuid4())
    session.execute(
        messages.insert().values(
            message_id=message_id,
            owner_id=owner_id,
            case_id=case_id,
            kind=kind,
            subject=subject,
            body=body.format(**(values or {})),
            attachments=json.dumps(attachments or []),
            created_at=datetime.now(UTC),
            paper_delivery=paper_delivery,
        )
    )
    return message_id


def record_alert(session: Session, message_id: str, sent_at: datetime, legal_delivery: date | None) -> None:
    session.execute(
        update(messages)
        .where(messages.c.message_id == message_id)
        .values(alert_sent_at=sent_at, legal_delivery_date=legal_delivery)
    )


def mark_read(session: Session, owner_id: str, message_id: str) -> None:
    """Mark one of the citizen's messages read (the first time only: the Jobcenter sees when)."""
    found = session.execute(
        select(messages.c.read_at).where(messages.c.message_id == message_id, messages.c.owner_id == owner_id)
    ).first()
    if found is None:
        raise NotFound("MESSAGE_NOT_FOUND", "Diese Nachricht gibt es nicht.")
    if found[0] is None:
        session.execute(update(messages).where(messages.c.message_id == message_id).values(read_at=datetime.now(UTC)))


def list_messages(session: Session, owner_id: str, case_id: str | None = None) -> list[dict[str, Any]]:
    """The citizen's messages (of one case, if given), newest first."""
    query = select(messages).where(messages.c.owner_id == owner_id)
    if case_id is not None:
        query = query.where(messages.c.case_id == case_id)
    return [as_dict(row) for row in session.execute(query.order_by(messages.c.created_at.desc())).mappings()]


def messages_of_case(session: Session, case_id: str) -> list[dict[str, Any]]:
    """What was sent about one case and when it was opened: the Jobcenter's view."""
    query = select(messages).where(messages.c.case_id == case_id).order_by(messages.c.created_at)
    return [as_dict(row) for row in session.execute(query).mappings()]


def unread_count(session: Session, owner_id: str) -> int:
    query = select(messages.c.message_id).where(messages.c.owner_id == owner_id, messages.c.read_at.is_(None))
    return len(session.execute(query).all())


def as_dict(row: Any) -> dict[str, Any]:
    return {
        "message_id": row["message_id"],
        "case_id": row["case_id"],
        "kind": row["kind"],
        "subject": row["subject"],
        "body": row["body"],
        "attachments": json.loads(row["attachments"]),
        "created_at": _iso(row["created_at"]),
        "read": row["read_at"] is not None,
        "read_at": _iso(row["read_at"]),
        "paper_delivery": bool(row["paper_delivery"]),
        "alert_sent_at": _iso(row["alert_sent_at"]),
        "legal_delivery_date": row["legal_delivery_date"].isoformat() if row["legal_delivery_date"] else None,
    }


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
