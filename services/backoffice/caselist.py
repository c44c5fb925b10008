"""Which cases each Jobcenter has, and their clean documents, as the backoffice learns them from events.

Kept from submissions' and documents' integration events, so listing new cases asks no other service.
States: ``new`` (assigned, not yet answered by the Jobcenter's e-file), ``accepted``, ``rejected``,
``gone`` (withdrawn, handed over outside the portal, or erased).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.backoffice.schema import cases, clean_documents
from shared.errors import NotFound

CASE_NOT_FOUND_MESSAGE = "Diesen Vorgang gibt es nicht."


def case_not_found() -> NotFound:
    """The one answer for a case that does not exist and for one of another Jobcenter."""
    return NotFound("CASE_NOT_FOUND", CASE_NOT_FOUND_MESSAGE)


def record_assignment(session: Session, case_id: str, jobcenter_id: str, at: datetime) -> None:
    """The case is (now) with ``jobcenter_id`` and new to it; a re-assignment moves the row."""
    found = session.execute(select(cases.c.case_id).where(cases.c.case_id == case_id)).first()
    if found is None:
        session.execute(
            insert(cases).values(case_id=case_id, jobcenter_id=jobcenter_id, state="new", assigned_at=at, updated_at=at)
        )
    else:
        session.execute(
            update(cases)
            .where(cases.c.case_id == case_id)
            .values(jobcenter_id=jobcenter_id, state="new", assigned_at=at, updated_at=at)
        )


def set_state(session: Session, case_id: str, state: str, jobcenter_id: str | None = None) -> None:
    """Record an answer (or the end) of a case; with ``jobcenter_id`` only while it is that Jobcenter's."""
    condition = [cases.c.case_id == case_id]
    if jobcenter_id is not None:
        condition.append(cases.c.jobcenter_id == jobcenter_id)
    session.execute(update(cases).where(*condition).values(state=state, updated_at=datetime.now(UTC)))


def new_cases(session: Session, jobcenter_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the Jobcenter's new cases, oldest assignment first, and how many there are."""
    where = (cases.c.jobcenter_id == jobcenter_id, cases.c.state == "new")
    rows = session.execute(
        select(cases.c.case_id, cases.c.assigned_at)
        .where(*where)
        .order_by(cases.c.assigned_at, cases.c.case_id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = int(session.execute(select(func.count()).select_from(cases).where(*where)).scalar_one())
    listed = [{"case_id": case_id, "assigned_at": _aware(at).isoformat()} for case_id, at in rows]
    return listed, total


def state_for(session: Session, case_id: str, jobcenter_id: str) -> str:
    """The case's state for its own Jobcenter; NotFound for any other Jobcenter and for a case gone."""
    state = session.execute(
        select(cases.c.state).where(cases.c.case_id == str(case_id), cases.c.jobcenter_id == jobcenter_id)
    ).scalar()
    if state is None or state == "gone":
        raise case_not_found()
    return str(state)


def record_clean_document(session: Session, data: dict[str, Any], at: datetime) -> None:
    document_id = str(data["document_id"])
    session.execute(delete(clean_documents).where(clean_documents.c.document_id == document_id))
    session.execute(
        insert(clean_documents).values(
            document_id=document_id,
            case_id=str(data["case_id"]),
            nachweis=str(data.get("nachweis") or ""),
            content_type=data.get("content_type"),
            accepted_at=at,
        )
    )


def forget_document(session: Session, document_id: str) -> None:
    session.execute(delete(clean_documents).where(clean_documents.c.document_id == document_id))


def clean_documents_of(session: Session, case_id: str, document_ids: list[str]) -> list[dict[str, Any]]:
    """Those of ``document_ids`` (attached to the case) that passed documents' checks."""
    if not document_ids:
        return []
    rows = session.execute(
        select(clean_documents.c.document_id, clean_documents.c.nachweis, clean_documents.c.content_type)
        .where(clean_documents.c.case_id == case_id, clean_documents.c.document_id.in_(document_ids))
        .order_by(clean_documents.c.accepted_at)
    ).mappings()
    return [dict(row) for row in rows]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
