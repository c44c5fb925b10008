"""The read models of the submissions service: the citizen's cases and the Jobcenter's inbox.

One row per case, built from the case's events by ``CaseList`` (see ``shared/projection.py``).
Rows hold ids, codes and dates - no form content beyond the codes of what a VÄM reports as changed
(its categories, one row each in a side table, so that the inbox filters by one with an index).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from nameko.extensions import DependencyProvider
from sqlalchemy import Column, Date, DateTime, Index, Integer, MetaData, String, Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.submissions.domainmodel import Case, CaseStatus
from services.submissions.forms import FormCatalogue
from shared.projection import ProjectionRunner, SqlProjection
from shared.sql import make_engine

metadata = MetaData()
# Read models are disposable: a change to a table gets a new name (_v2...), and the new table is
# built from the event store on first use while the old one is dropped by hand. v3 added the form
# version, the assigned caseworker, the categories table and the partial index of overdue cases.
case_list = Table(
    "submissions_case_list_v3",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("form_version", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("receipt_number", String(30), nullable=True, unique=True),
    Column("jobcenter_id", String(64), nullable=True),
    Column("assignee_id", String(64), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("documents_due", Date, nullable=True),
    Column("overdue_since", Date, nullable=True),
    Index("submissions_case_list_v3_owner", "owner_id", "updated_at"),
    Index("submissions_case_list_v3_inbox", "jobcenter_id", "status", "submitted_at"),
    Index("submissions_case_list_v3_age", "jobcenter_id", "submitted_at"),
    Index("submissions_case_list_v3_assignee", "jobcenter_id", "assignee_id", "submitted_at"),
)
# Overdue cases are few: a partial index holds only them (PostgreSQL and SQLite both know partial indexes).
_OVERDUE = (case_list.c.status == CaseStatus.ASSIGNED.value) & case_list.c.overdue_since.is_not(None)
Index(
    "submissions_case_list_v3_overdue", case_list.c.jobcenter_id, case_list.c.submitted_at,
    postgresql_where=_OVERDUE, sqlite_where=_OVERDUE,
)  # fmt: skip
# What a VÄM reports as changed (``arbeitsaufnahme``) and its category (``einkommen``), one row each,
# with the case's Jobcenter, status and submission time copied in so that one category's cases of one
# Jobcenter (and status), oldest first, are one index range.
case_categories = Table(
    "submissions_case_categories_v3",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("jobcenter_id", String(64), nullable=True),
    Column("status", String(30), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Index("submissions_case_categories_v3_inbox", "jobcenter_id", "category", "submitted_at"),
    Index("submissions_case_categories_v3_status", "jobcenter_id", "category", "status", "submitted_at"),
)
# The inbox's counts per status, kept by the projection: counting 100,000 rows per page view would
# cost more than the page itself.
inbox_counts = Table(
    "submissions_inbox_counts_v3",
    metadata,
    Column("jobcenter_id", String(64), primary_key=True),
    Column("status", String(30), primary_key=True),
    Column("count", Integer, nullable=False),
)

STATUS_AFTER: dict[type, CaseStatus] = {
    Case.Submitted: CaseStatus.SUBMITTED,
    Case.Assigned: CaseStatus.ASSIGNED,
    Case.AssignmentPending: CaseStatus.ASSIGNMENT_PENDING,
    Case.HandedOver: CaseStatus.HANDED_OVER,
    Case.Received: CaseStatus.RECEIVED,
    Case.ProcessingStarted: CaseStatus.IN_PROGRESS,
    Case.DocumentsRequested: CaseStatus.WAITING_FOR_DOCUMENTS,
    Case.Decided: CaseStatus.DECIDED,
    Case.Closed: CaseStatus.CLOSED,
    Case.Withdrawn: CaseStatus.WITHDRAWN,
    Case.Discarded: CaseStatus.DISCARDED,
    Case.Expired: CaseStatus.EXPIRED,
}

# What the citizen has to do next, by status; None when it is the Jobcenter's turn.
NEXT_STEP_FOR_CITIZEN = {
    CaseStatus.DRAFT.value: "Antrag fertig ausfüllen und abschicken",
    CaseStatus.WAITING_FOR_DOCUMENTS.value: "Angeforderte Unterlagen hochladen",
}


class CaseList(SqlProjection):
    name = "submissions_case_list_v3"
    metadata: ClassVar[MetaData] = metadata

    def __init__(self) -> None:
        self.forms = FormCatalogue.load()

    def apply(self, session: Session, domain_event: Any) -> None:
        case_id = str(domain_event.originator_id)
        at = domain_event.timestamp
        if isinstance(domain_event, Case.DraftStarted):
            session.execute(
                case_list.insert().values(
                    case_id=case_id,
                    owner_id=domain_event.owner_id,
                    kind=str(domain_event.kind),
                    form_version=str(domain_event.form_version),
                    status=CaseStatus.DRAFT.value,
                    started_at=at,
                    updated_at=at,
                )
            )
            for section_id, data in dict(domain_event.answers).items():
                self._record_categories(session, case_id, section_id, data)
            return
        if isinstance(domain_event, Case.SectionSaved):
            self._record_categories(session, case_id, domain_event.section_id, domain_event.data)
        changes: dict[str, Any] = {"updated_at": at}
        if type(domain_event) in STATUS_AFTER:
            changes["status"] = STATUS_AFTER[type(domain_event)].value
        if isinstance(domain_event, Case.Submitted):
            changes.update(receipt_number=domain_event.receipt_number, submitted_at=at)
        if isinstance(domain_event, Case.Assigned | Case.Reassigned):
            changes["jobcenter_id"] = domain_event.jobcenter_id
        if isinstance(domain_event, Case.DocumentsRequested):
            changes["documents_due"] = date.fromisoformat(domain_event.due_date)
        if isinstance(domain_event, Case.ProcessingStarted | Case.Decided):
            changes["documents_due"] = None
        if isinstance(domain_event, Case.BecameOverdue):
            changes["overdue_since"] = date.fromisoformat(domain_event.due_since)
        if isinstance(domain_event, Case.Received | Case.Reassigned):
            changes["overdue_since"] = None
        if isinstance(domain_event, Case.CaseworkerAssigned):
            changes["assignee_id"] = domain_event.caseworker_id
        if isinstance(domain_event, Case.Reassigned):
            changes["assignee_id"] = None
        copied = {key: changes[key] for key in ("jobcenter_id", "status", "submitted_at") if key in changes}
        if copied:
            session.execute(update(case_categories).where(case_categories.c.case_id == case_id).values(**copied))
        if "status" in changes or "jobcenter_id" in changes:
            before = session.execute(
                select(case_list.c.jobcenter_id, case_list.c.status).where(case_list.c.case_id == case_id)
            ).first()
            if before is not None:
                _count(session, before.jobcenter_id, before.status, -1)
                _count(
                    session, changes.get("jobcenter_id", before.jobcenter_id), changes.get("status", before.status), 1
                )
        session.execute(update(case_list).where(case_list.c.case_id == case_id).values(**changes))

    def _record_categories(self, session: Session, case_id: str, section_id: str, data: Any) -> None:
        """A saved section that reports what changed replaces the case's categories."""
        row = session.execute(
            select(
                case_list.c.kind,
                case_list.c.form_version,
                case_list.c.jobcenter_id,
                case_list.c.status,
                case_list.c.submitted_at,
            ).where(case_list.c.case_id == case_id)
        ).first()
        if row is None:
            return
        try:
            form = self.forms.version(row.kind, row.form_version)
        except KeyError:
            return
        codes = form.category_codes(section_id, data)
        if codes is None:
            return
        session.execute(delete(case_categories).where(case_categories.c.case_id == case_id))
        if codes:
            session.execute(
                case_categories.insert(),
                [{"case_id": case_id, "category": code, "jobcenter_id": row.jobcenter_id,
                  "status": row.status, "submitted_at": row.submitted_at} for code in codes],
            )  # fmt: skip


def forget_case(connection: Connection, case_id: str) -> None:
    """Delete an erased case's rows and take it out of its Jobcenter's counts."""
    row = connection.execute(
        select(case_list.c.jobcenter_id, case_list.c.status).where(case_list.c.case_id == case_id)
    ).first()
    if row is not None and row.jobcenter_id is not None:
        connection.execute(
            update(inbox_counts)
            .where(inbox_counts.c.jobcenter_id == row.jobcenter_id, inbox_counts.c.status == row.status)
            .values(count=inbox_counts.c.count - 1)
        )
    connection.execute(delete(case_categories).where(case_categories.c.case_id == case_id))
    connection.execute(delete(case_list).where(case_list.c.case_id == case_id))


def _count(session: Session, jobcenter_id: str | None, status: str, delta: int) -> None:
    if jobcenter_id is None:
        return
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(inbox_counts).values(jobcenter_id=jobcenter_id, status=status, count=delta)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[inbox_counts.c.jobcenter_id, inbox_counts.c.status],
            set_={"count": inbox_counts.c.count + delta},
        )
    )


def row_as_dict(row: Any) -> dict[str, Any]:
    submitted_at = row["submitted_at"]
    return {
        "case_id": row["case_id"],
        "kind": row["kind"],
        "status": row["status"],
        "receipt_number": row["receipt_number"],
        "jobcenter_id": row["jobcenter_id"],
        "assignee_id": row["assignee_id"],
        "submitted_at": _aware(submitted_at).isoformat() if submitted_at else None,
        "updated_at": _aware(row["updated_at"]).isoformat(),
        "documents_due": row["documents_due"].isoformat() if row["documents_due"] else None,
        "next_step": NEXT_STEP_FOR_CITIZEN.get(row["status"]),
        "overdue": row["overdue_since"] is not None,
    }


def cases_of_owner(session: Session, owner_id: str) -> list[Any]:
    query = select(case_list).where(case_list.c.owner_id == owner_id).order_by(case_list.c.updated_at.desc())
    return list(session.execute(query).mappings())


def last_submitted_case_of_owner(session: Session, owner_id: str) -> str | None:
    query = (
        select(case_list.c.case_id)
        .where(case_list.c.owner_id == owner_id, case_list.c.submitted_at.is_not(None))
        .order_by(case_list.c.submitted_at.desc())
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


UNASSIGNED = "nobody"  # the ``assignee`` filter for cases nobody of the Jobcenter works on yet


def inbox(
    session: Session,
    jobcenter_id: str,
    status: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    overdue: bool = False,
    owner_id: str | None = None,
    category: str | None = None,
    assignee: str | None = None,
) -> tuple[list[Any], dict[str, int]]:
    """A page of a Jobcenter's cases, oldest submission first, and the count per status.

    Overdue cases (assigned, not yet received) are read from their partial index; one category's
    cases from the categories table's (Jobcenter, category, submitted) index; ``assignee`` (an
    account id, or ``UNASSIGNED``) walks the (Jobcenter, assignee, submitted) index; one customer's
    cases the owner index.
    """
    conditions = [case_list.c.jobcenter_id == jobcenter_id]
    if overdue:
        conditions.append(_OVERDUE)
    if owner_id:
        conditions.append(case_list.c.owner_id == owner_id)
    if status:
        conditions.append(case_list.c.status == status)
    if kind:
        conditions.append(case_list.c.kind == kind)
    if assignee:
        conditions.append(
            case_list.c.assignee_id.is_(None) if assignee == UNASSIGNED else case_list.c.assignee_id == assignee
        )
    query = select(case_list)
    order = case_list.c.submitted_at
    if category:
        query = query.join(case_categories, case_categories.c.case_id == case_list.c.case_id)
        conditions += [case_categories.c.jobcenter_id == jobcenter_id, case_categories.c.category == category]
        if status:
            conditions.append(case_categories.c.status == status)
        order = case_categories.c.submitted_at
    rows = session.execute(query.where(*conditions).order_by(order.asc()).limit(limit).offset(offset)).mappings()
    counts = session.execute(
        select(inbox_counts.c.status, inbox_counts.c.count).where(
            inbox_counts.c.jobcenter_id == jobcenter_id, inbox_counts.c.count > 0
        )
    ).all()
    return list(rows), {str(status_): int(count) for status_, count in counts}


def by_receipt_number(session: Session, receipt_number: str) -> Any:
    return session.execute(select(case_list).where(case_list.c.receipt_number == receipt_number)).mappings().first()


def assigned_not_received(session: Session) -> list[tuple[str, datetime]]:
    """Cases waiting for their Jobcenter to receive them and not yet flagged overdue."""
    query = select(case_list.c.case_id, case_list.c.submitted_at).where(
        case_list.c.status == CaseStatus.ASSIGNED.value, case_list.c.overdue_since.is_(None)
    )
    return [(case_id, _aware(submitted_at)) for case_id, submitted_at in session.execute(query).all()]


def drafts_untouched_since(session: Session, cutoff: datetime) -> list[str]:
    query = select(case_list.c.case_id).where(
        case_list.c.status == CaseStatus.DRAFT.value, case_list.c.updated_at < cutoff
    )
    return list(session.execute(query).scalars())


def finished_before(session: Session, cutoff: datetime) -> list[str]:
    finished = (CaseStatus.CLOSED.value, CaseStatus.WITHDRAWN.value, CaseStatus.HANDED_OVER.value)
    query = select(case_list.c.case_id).where(case_list.c.status.in_(finished), case_list.c.updated_at < cutoff)
    return list(session.execute(query).scalars())


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class CaseListReadModel(DependencyProvider):
    """The case list, caught up with the event store before each read (read-your-writes)."""

    health_name = "read_model"

    def setup(self) -> None:
        from services.submissions.application import Cases

        config = self.container.config
        self.application = Cases.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
        self.engine = make_engine(str(config["DATABASE_URL"]))
        self.runner = ProjectionRunner(self.application, CaseList(), self.engine)

    def stop(self) -> None:
        self.application.close()
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> CaseListReadModel:
        return self

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session on the case list after applying every event stored so far."""
        self.runner.catch_up()
        with Session(self.engine) as session:
            yield session

    def check_health(self) -> None:
        self.runner.position()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.submissions.readmodel rebuild``: replay the event store into the case list."""
    import argparse

    from services.submissions.application import Cases
    from shared.config import load_config

    parser = argparse.ArgumentParser(description="Maintain the read models of the submissions service.")
    parser.add_argument("command", choices=("rebuild", "catch-up"))
    args = parser.parse_args(argv)
    config = load_config("submissions")
    application = Cases.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
    runner = ProjectionRunner(application, CaseList(), make_engine(str(config["DATABASE_URL"])))
    applied = runner.rebuild() if args.command == "rebuild" else runner.catch_up()
    print(f"{args.command}: {applied} events applied, position {runner.position()}")


if __name__ == "__main__":
    main()
