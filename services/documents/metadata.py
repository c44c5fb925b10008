"""The documents' SQL tables: metadata, the staff access record, and the outbox of events.

They belong to the Alembic history in ``migrations/``: a change to a table goes with a new revision
(docs/migrations.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.documents.checks import hint_details
from services.documents.domainmodel import HOLDING_STATES, Actor, Rejection, State
from shared.correlation import current_correlation_id
from shared.envelope import IntegrationEvent, stable_event_id
from shared.sql import processed_events_table

metadata = MetaData()

documents = Table(
    "documents_documents",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("case_id", String(64), nullable=False, index=True),
    Column("owner_id", String(64), nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    Column("nachweis", String(64), nullable=False),
    Column("original_name", String(200), nullable=False),  # sanitised, for display only
    Column("state", String(20), nullable=False, index=True),
    Column("reason_code", String(40)),
    Column("max_bytes", BigInteger, nullable=False),
    Column("declared_size", BigInteger),
    Column("size", BigInteger),  # as uploaded
    Column("sha256", String(64)),  # of the bytes as uploaded
    Column("content_type", String(50)),
    Column("stored_size", BigInteger),  # as kept (photos are re-encoded)
    Column("stored_sha256", String(64)),
    Column("scan_result", String(200)),  # "clean" or the signature clamd found
    Column("page_count", Integer),
    Column("width", Integer),
    Column("height", Integer),
    Column("quality_hints", JSON, nullable=False, default=list),
    Column("object_key", String(200)),
    Column("multipart_id", String(300)),
    Column("merged_into", String(36)),
    Column("version", Integer, nullable=False, default=0),  # of the published events about it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
    Column("checked_at", DateTime(timezone=True)),
)

# What a document deleted with its case keeps of itself: only the row's ids, states and times remain,
# so that the outbox and the access record stay consistent; what the citizen named it, what it
# contained (its hashes) and what the scanner found go with the object (the privacy page promises it).
ERASED_DETAILS: dict[str, Any] = {
    "original_name": "",
    "sha256": None,
    "stored_sha256": None,
    "scan_result": None,
    "quality_hints": [],
}

# Every time staff see a document's metadata or content: who, when, which document, what.
access_record = Table(
    "documents_access_record",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(36), nullable=False, index=True),
    Column("case_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("role", String(30), nullable=False),
    Column("institution_id", String(64)),
    Column("action", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# Integration events written in the transaction of the change they report; see outbox.py.
outbox = Table(
    "documents_outbox",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(60), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("data", JSON, nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("correlation_id", String(100)),
    Column("published_at", DateTime(timezone=True), index=True),
)
# The events of submissions applied so far (shared.sql.ServiceDatabase.apply_once).
processed_events = processed_events_table(metadata, "documents")


def now() -> datetime:
    return datetime.now(UTC)


def get(session: Session, document_id: str) -> dict[str, Any] | None:
    row = session.execute(select(documents).where(documents.c.document_id == str(document_id))).mappings().first()
    return dict(row) if row else None


def of_case(session: Session, case_id: str, states: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(documents)
        .where(and_(documents.c.case_id == case_id, documents.c.state.in_(states)))
        .order_by(documents.c.created_at, documents.c.document_id)
    ).mappings()
    return [dict(row) for row in rows]


def bytes_held_by_case(session: Session, case_id: str) -> int:
    """What counts against the case's quota: stored sizes, or the limit of uploads still open."""
    held = func.coalesce(documents.c.stored_size, documents.c.size, documents.c.declared_size, documents.c.max_bytes)
    total = session.execute(
        select(func.coalesce(func.sum(held), 0)).where(
            and_(documents.c.case_id == case_id, documents.c.state.in_([str(state) for state in HOLDING_STATES]))
        )
    ).scalar_one()
    return int(total)


def add(session: Session, **values: Any) -> None:
    stamp = now()
    session.execute(insert(documents).values(created_at=stamp, updated_at=stamp, version=0, **values))


def change(session: Session, document_id: str, expected_states: tuple[str, ...], **values: Any) -> bool:
    """Change a document only while it is in one of ``expected_states``; returns whether it did."""
    result = session.execute(
        update(documents)
        .where(and_(documents.c.document_id == document_id, documents.c.state.in_(expected_states)))
        .values(updated_at=now(), **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def record_event(session: Session, event_type: str, document_id: str, data: dict[str, Any]) -> None:
    """Put an event about a document into the outbox, in the caller's transaction."""
    version = session.execute(
        update(documents)
        .where(documents.c.document_id == document_id)
        .values(version=documents.c.version + 1)
        .returning(documents.c.version)
    ).scalar_one()
    event = IntegrationEvent(
        type=event_type,
        aggregate_id=document_id,
        aggregate_version=int(version),
        data={"document_id": document_id, **data},
        event_id=stable_event_id("documents", document_id, int(version)),
        correlation_id=current_correlation_id(),
    )
    session.execute(
        insert(outbox).values(
            event_id=event.event_id,
            type=event.type,
            aggregate_id=event.aggregate_id,
            aggregate_version=event.aggregate_version,
            data=event.data,
            occurred_at=event.occurred_at,
            correlation_id=event.correlation_id,
        )
    )


def record_access(session: Session, actor: Actor, document: dict[str, Any], action: str) -> None:
    session.execute(
        insert(access_record).values(
            document_id=document["document_id"],
            case_id=document["case_id"],
            account_id=actor.account_id,
            role=actor.role,
            institution_id=actor.institution_id,
            action=action,
            at=now(),
        )
    )


def accesses_of(session: Session, document_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(access_record).where(access_record.c.document_id == document_id).order_by(access_record.c.id)
    ).mappings()
    return [
        {
            "account_id": row["account_id"],
            "role": row["role"],
            "institution_id": row["institution_id"],
            "action": row["action"],
            "at": row["at"].isoformat(),
        }
        for row in rows
    ]


def stale_uploads(session: Session, before: datetime) -> list[dict[str, Any]]:
    rows = session.execute(
        select(documents).where(
            and_(
                documents.c.state.in_([str(State.AWAITING_UPLOAD), str(State.CHECKING)]),
                documents.c.updated_at < before,
            )
        )
    ).mappings()
    return [dict(row) for row in rows]


def as_dict(row: dict[str, Any]) -> dict[str, Any]:
    """What callers see of a document; never the storage key."""
    reason = row["reason_code"]
    return {
        "document_id": row["document_id"],
        "case_id": row["case_id"],
        "nachweis": row["nachweis"],
        "original_name": row["original_name"],
        "state": row["state"],
        "reason_code": reason,
        "reason": Rejection(reason).message if reason in Rejection.__members__ else None,
        "content_type": row["content_type"],
        "size": row["size"],
        "sha256": row["sha256"],
        "stored_size": row["stored_size"],
        "stored_sha256": row["stored_sha256"],
        "scan_result": row["scan_result"],
        "page_count": row["page_count"],
        "width": row["width"],
        "height": row["height"],
        "quality_hints": hint_details(row["quality_hints"] or []),
        "merged_into": row["merged_into"],
        # Uploaded by the Jobcenter's staff (a Bescheid), not by the citizen whose case it is.
        "from_jobcenter": row["uploaded_by"] != row["owner_id"],
        "created_at": _iso(row["created_at"]),
        "checked_at": _iso(row["checked_at"]),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
