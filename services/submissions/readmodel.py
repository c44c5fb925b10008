"""The read models of the submissions service: the citizen's cases and the Jobcenter's inbox.

One row per case, built from the case's events by ``CaseList`` (see ``shared/projection.py``).
Rows hold ids, codes and dates - no form content beyond the codes of what a VÄM reports as changed
(its categories, one row each in a side table, so that the inbox filters by one with an index).

The tables carry their version (``_v3``): a change to them is a new ``VERSION``, built beside the
live one (``prepare``, before a rollout) while the old code keeps serving its own, switched to once
caught up, the old tables dropped by the system after the grace period
(``shared/read_model_versions.py``, docs/read-models.md). Commands:
``python -m services.submissions.readmodel prepare|status|retire|catch-up|rebuild``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple

import eventlet
import eventlet.event
from nameko.extensions import DependencyProvider
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.submissions.domainmodel import (
    Case,
    CaseErasure,
    CaseStatus,
    receive_deadline,
)
from services.submissions.forms import FormCatalogue
from shared.errors import Unavailable
from shared.projection import SqlProjection
from shared.read_model_versions import DEFAULT_GRACE_SECONDS, ReadModelBuilding, VersionedReadModel
from shared.sql import make_engine

log = logging.getLogger(__name__)

VERSION = 3  # of the case list: a change to its tables or to what it derives is a new version


class CaseListTables(NamedTuple):
    """The tables of one version of the case list."""

    metadata: MetaData
    case_list: Table
    case_categories: Table
    inbox_counts: Table


def case_list_tables(version: int) -> CaseListTables:
    """The tables of the case list as version ``version`` names them (``..._v3``).

    v3 added the form version, the assigned caseworker, the categories table and the partial index
    of overdue cases. A new version is built beside the live one (``shared/read_model_versions.py``).
    """
    metadata = MetaData()
    v = f"v{version}"
    case_list = Table(
        f"submissions_case_list_{v}",
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
        Index(f"submissions_case_list_{v}_owner", "owner_id", "updated_at"),
        Index(f"submissions_case_list_{v}_inbox", "jobcenter_id", "status", "submitted_at"),
        Index(f"submissions_case_list_{v}_age", "jobcenter_id", "submitted_at"),
        Index(f"submissions_case_list_{v}_assignee", "jobcenter_id", "assignee_id", "submitted_at"),
    )
    # Overdue cases are few: a partial index holds only them (PostgreSQL and SQLite both know partial indexes).
    overdue = overdue_condition(case_list)
    Index(
        f"submissions_case_list_{v}_overdue", case_list.c.jobcenter_id, case_list.c.submitted_at,
        postgresql_where=overdue, sqlite_where=overdue,
    )  # fmt: skip
    # What a VÄM reports as changed (``arbeitsaufnahme``) and its category (``einkommen``), one row each,
    # with the case's Jobcenter, status and submission time copied in so that one category's cases of one
    # Jobcenter (and status), oldest first, are one index range.
    case_categories = Table(
        f"submissions_case_categories_{v}",
        metadata,
        Column("case_id", String(36), primary_key=True),
        Column("category", String(40), primary_key=True),
        Column("jobcenter_id", String(64), nullable=True),
        Column("status", String(30), nullable=False),
        Column("submitted_at", DateTime(timezone=True), nullable=True),
        Index(f"submissions_case_categories_{v}_inbox", "jobcenter_id", "category", "submitted_at"),
        Index(f"submissions_case_categories_{v}_status", "jobcenter_id", "category", "status", "submitted_at"),
    )
    # The inbox's counts per status, kept by the projection: counting 100,000 rows per page view would
    # cost more than the page itself.
    inbox_counts = Table(
        f"submissions_inbox_counts_{v}",
        metadata,
        Column("jobcenter_id", String(64), primary_key=True),
        Column("status", String(30), primary_key=True),
        Column("count", Integer, nullable=False),
    )
    return CaseListTables(metadata, case_list, case_categories, inbox_counts)


def overdue_condition(case_list: Table) -> Any:
    """Assigned to a Jobcenter that has not received the case in time."""
    return (case_list.c.status == CaseStatus.ASSIGNED.value) & case_list.c.overdue_since.is_not(None)


TABLES = case_list_tables(VERSION)
metadata, case_list, case_categories, inbox_counts = TABLES
_OVERDUE = overdue_condition(case_list)

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


def changes_for(domain_event: Any) -> dict[str, Any]:
    """The columns of the case's row an event of an existing case sets (both ways of applying share it)."""
    changes: dict[str, Any] = {"updated_at": domain_event.timestamp}
    if type(domain_event) in STATUS_AFTER:
        changes["status"] = STATUS_AFTER[type(domain_event)].value
    if isinstance(domain_event, Case.Submitted):
        changes.update(receipt_number=domain_event.receipt_number, submitted_at=domain_event.timestamp)
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
    return changes


def new_row(domain_event: Any) -> dict[str, Any]:
    """The row a started draft gets."""
    at = domain_event.timestamp
    return {
        "case_id": str(domain_event.originator_id),
        "owner_id": domain_event.owner_id,
        "kind": str(domain_event.kind),
        "form_version": str(domain_event.form_version),
        "status": CaseStatus.DRAFT.value,
        "receipt_number": None,
        "jobcenter_id": None,
        "assignee_id": None,
        "started_at": at,
        "submitted_at": None,
        "updated_at": at,
        "documents_due": None,
        "overdue_since": None,
    }


# The case's columns copied into each of its category rows.
COPIED = ("jobcenter_id", "status", "submitted_at")


@dataclass
class CaseRows:
    """One case's rows while a batch is folded in memory: its row (None: no case) and its category codes."""

    row: dict[str, Any] | None
    codes: list[str]


class CaseList(SqlProjection):
    family = "submissions_case_list"
    version = VERSION
    metadata: ClassVar[MetaData] = metadata
    tables: ClassVar[CaseListTables] = TABLES
    legacy_tables: ClassVar[dict[int, tuple[str, ...]]] = {
        1: ("submissions_case_list", "submissions_case_list_position"),
        2: ("submissions_case_list_v2", "submissions_inbox_counts_v2", "submissions_case_list_v2_position"),
    }

    def __init__(self) -> None:
        self.forms = FormCatalogue.load()

    # -- one event at a time: the reference ------------------------------------------------------

    def apply(self, session: Session, domain_event: Any) -> None:
        case_list, case_categories = self.tables.case_list, self.tables.case_categories
        if isinstance(domain_event, CaseErasure.Recorded):
            forget_case(session.connection(), domain_event.case_id, self.tables)
            return
        case_id = str(domain_event.originator_id)
        if isinstance(domain_event, Case.DraftStarted):
            session.execute(case_list.insert().values(**new_row(domain_event)))
            for section_id, data in dict(domain_event.answers).items():
                self._record_categories(session, case_id, section_id, data)
            return
        if isinstance(domain_event, Case.SectionSaved):
            self._record_categories(session, case_id, domain_event.section_id, domain_event.data)
        changes = changes_for(domain_event)
        copied = {key: changes[key] for key in COPIED if key in changes}
        if copied:
            session.execute(update(case_categories).where(case_categories.c.case_id == case_id).values(**copied))
        if "status" in changes or "jobcenter_id" in changes:
            before = session.execute(
                select(case_list.c.jobcenter_id, case_list.c.status).where(case_list.c.case_id == case_id)
            ).first()
            if before is not None:
                counts = {(before.jobcenter_id, before.status): -1}
                after = (changes.get("jobcenter_id", before.jobcenter_id), changes.get("status", before.status))
                counts[after] = counts.get(after, 0) + 1
                _count(session, self.tables.inbox_counts, counts)
        session.execute(update(case_list).where(case_list.c.case_id == case_id).values(**changes))

    def _record_categories(self, session: Session, case_id: str, section_id: str, data: Any) -> None:
        """A saved section that reports what changed replaces the case's categories."""
        case_list, case_categories = self.tables.case_list, self.tables.case_categories
        row = session.execute(
            select(case_list.c.kind, case_list.c.form_version, *(case_list.c[key] for key in COPIED)).where(
                case_list.c.case_id == case_id
            )
        ).first()
        if row is None:
            return
        codes = self._category_codes(row.kind, row.form_version, section_id, data)
        if codes is None:
            return
        session.execute(delete(case_categories).where(case_categories.c.case_id == case_id))
        if codes:
            copied = {key: getattr(row, key) for key in COPIED}
            session.execute(
                case_categories.insert(), [{"case_id": case_id, "category": code, **copied} for code in codes]
            )

    def _category_codes(self, kind: str, form_version: str, section_id: str, data: Any) -> list[str] | None:
        try:
            form = self.forms.version(kind, form_version)
        except KeyError:
            return None
        return form.category_codes(section_id, data)

    # -- a batch at a time: the same rows, each written once -------------------------------------

    def apply_batch(self, session: Session, domain_events: Sequence[Any]) -> None:
        """Read the touched cases' rows once, fold the events into them in memory, write them back.

        A category row always carries its case's current ``COPIED`` columns (``apply`` updates them
        together), so the categories are kept as codes and written with the case's final values.
        """
        if not domain_events:
            return
        touched = {
            event.case_id if isinstance(event, CaseErasure.Recorded) else str(event.originator_id)
            for event in domain_events
        }
        cases = self._load(session, touched)
        before = {case_id: _counted(rows.row) for case_id, rows in cases.items()}
        for domain_event in domain_events:
            self._fold(cases, domain_event)
        self._store(session, cases, before)

    def _load(self, session: Session, case_ids: set[str]) -> dict[str, CaseRows]:
        case_list, case_categories = self.tables.case_list, self.tables.case_categories
        cases = {case_id: CaseRows(None, []) for case_id in case_ids}
        for chunk in _chunks(sorted(case_ids)):
            for row in session.execute(select(case_list).where(case_list.c.case_id.in_(chunk))).mappings():
                cases[row["case_id"]].row = dict(row)
            categories = select(case_categories.c.case_id, case_categories.c.category).where(
                case_categories.c.case_id.in_(chunk)
            )
            for case_id, category in session.execute(categories).all():
                cases[case_id].codes.append(category)
        return cases

    def _fold(self, cases: dict[str, CaseRows], domain_event: Any) -> None:
        if isinstance(domain_event, CaseErasure.Recorded):
            cases[domain_event.case_id] = CaseRows(None, [])
            return
        rows = cases[str(domain_event.originator_id)]
        if isinstance(domain_event, Case.DraftStarted):
            rows.row = new_row(domain_event)
            for section_id, data in dict(domain_event.answers).items():
                self._fold_categories(rows, section_id, data)
            return
        if rows.row is None:
            return  # not a case of this read model (an erased one)
        if isinstance(domain_event, Case.SectionSaved):
            self._fold_categories(rows, domain_event.section_id, domain_event.data)
        rows.row.update(changes_for(domain_event))

    def _fold_categories(self, rows: CaseRows, section_id: str, data: Any) -> None:
        assert rows.row is not None
        codes = self._category_codes(rows.row["kind"], rows.row["form_version"], section_id, data)
        if codes is not None:
            rows.codes = list(codes)

    def _store(self, session: Session, cases: dict[str, CaseRows], before: dict[str, tuple[Any, Any]]) -> None:
        """Replace the touched cases' rows and move the counts by the difference."""
        case_list, case_categories = self.tables.case_list, self.tables.case_categories
        for chunk in _chunks(sorted(cases)):
            session.execute(delete(case_categories).where(case_categories.c.case_id.in_(chunk)))
            session.execute(delete(case_list).where(case_list.c.case_id.in_(chunk)))
        kept = [(rows.row, rows.codes) for rows in cases.values() if rows.row is not None]
        if kept:
            session.execute(case_list.insert(), [row for row, _ in kept])
        categories = [
            {"case_id": row["case_id"], "category": code, **{key: row[key] for key in COPIED}}
            for row, codes in kept
            for code in codes
        ]
        if categories:
            session.execute(case_categories.insert(), categories)
        counts: dict[tuple[Any, Any], int] = {}
        for case_id, rows in cases.items():
            for key, delta in ((before[case_id], -1), (_counted(rows.row), 1)):
                counts[key] = counts.get(key, 0) + delta
        _count(session, self.tables.inbox_counts, counts)


def _counted(row: dict[str, Any] | None) -> tuple[Any, Any]:
    """Where a case counts in the inbox counts: (Jobcenter, status); (None, None) counts nowhere."""
    return (row["jobcenter_id"], row["status"]) if row is not None else (None, None)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def forget_case(connection: Connection, case_id: str, tables: CaseListTables = TABLES) -> None:
    """Delete an erased case's rows and take it out of its Jobcenter's counts."""
    case_list, case_categories, inbox_counts = tables.case_list, tables.case_categories, tables.inbox_counts
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


def _count(session: Session, inbox_counts: Table, deltas: dict[tuple[Any, Any], int]) -> None:
    """Move the counts per (Jobcenter, status); a case without Jobcenter counts nowhere."""
    moved = [
        {"jobcenter_id": jobcenter_id, "status": status, "count": delta}
        for (jobcenter_id, status), delta in deltas.items()
        if jobcenter_id is not None and delta != 0
    ]
    if not moved:
        return
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(inbox_counts)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[inbox_counts.c.jobcenter_id, inbox_counts.c.status],
            set_={"count": inbox_counts.c.count + statement.excluded.count},
        ),
        moved,
    )


def due(row: Any) -> tuple[date | None, str | None]:
    """The case's Frist and whose it is: the Jobcenter's to receive an assigned case (``receive``), the
    citizen's to supply what was asked for (``documents``); (None, None) when nothing is due."""
    if row["status"] == CaseStatus.ASSIGNED.value and row["submitted_at"]:
        return receive_deadline(_aware(row["submitted_at"]).date()), "receive"
    if row["status"] == CaseStatus.WAITING_FOR_DOCUMENTS.value and row["documents_due"]:
        return row["documents_due"], "documents"
    return None, None


def row_as_dict(row: Any) -> dict[str, Any]:
    submitted_at = row["submitted_at"]
    due_on, due_kind = due(row)
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
        "due_on": due_on.isoformat() if due_on else None,
        "due_kind": due_kind,
    }


def cases_of_owner(session: Session, owner_id: str) -> list[Any]:
    query = select(case_list).where(case_list.c.owner_id == owner_id).order_by(case_list.c.updated_at.desc())
    return list(session.execute(query).mappings())


def prefill_sources_of_owner(session: Session, owner_id: str, kind: str) -> list[str]:
    """The owner's last submitted case of ``kind`` and every case submitted after it, oldest first
    (all submitted cases when there is none of ``kind``); withdrawn ones left out."""
    query = (
        select(case_list.c.case_id, case_list.c.kind)
        .where(
            case_list.c.owner_id == owner_id,
            case_list.c.submitted_at.is_not(None),
            case_list.c.status != "withdrawn",
        )
        .order_by(case_list.c.submitted_at)
    )
    rows = session.execute(query).all()
    last = max((index for index, row in enumerate(rows) if row.kind == kind), default=0)
    return [str(row.case_id) for row in rows[last:]]


RECEIPT_PART = re.compile(r"[A-Z0-9-]{2,20}")
UNASSIGNED = "nobody"  # the ``assignee`` filter for cases nobody of the Jobcenter works on yet
# The inbox's orders: by receipt (oldest first), by Frist (soonest first, cases without one last), by
# status in the order a case goes through them.
SORTS = ("received", "due", "status")
STATUS_ORDER = ("assigned", "received", "in_progress", "waiting_for_documents", "decided", "closed", "withdrawn",
                "handed_over")  # fmt: skip
# Days from a submission's weekday (0 Sunday ... 6 Saturday, as SQL counts them) to the last day of
# receive_deadline: the third working day after it.
_RECEIVE_DAYS = {0: 3, 1: 3, 2: 3, 3: 5, 4: 5, 5: 5, 6: 4}


def _receive_deadline_sql(dialect: str) -> Any:
    """``receive_deadline(submitted_at)`` as SQL on this database, to sort by (``due`` shows it)."""
    submitted = case_list.c.submitted_at
    if dialect == "postgresql":
        utc = func.timezone("UTC", submitted)
        weekday = cast(func.extract("dow", utc), Integer)
        return cast(utc, Date) + case(_RECEIVE_DAYS, value=weekday)
    weekday = cast(func.strftime("%w", submitted), Integer)  # SQLite keeps UTC times as text
    return func.date(submitted, literal("+") + cast(case(_RECEIVE_DAYS, value=weekday), String) + " days")


def _order(sort: str, dialect: str, received: Any) -> list[Any]:
    if sort == "due":
        due_on = case(
            (case_list.c.status == CaseStatus.ASSIGNED.value, _receive_deadline_sql(dialect)),
            (case_list.c.status == CaseStatus.WAITING_FOR_DOCUMENTS.value, case_list.c.documents_due),
        )
        return [due_on.is_(None), due_on.asc(), received.asc(), case_list.c.case_id]
    if sort == "status":
        rank = case({status: index for index, status in enumerate(STATUS_ORDER)}, value=case_list.c.status,
                    else_=len(STATUS_ORDER))  # fmt: skip
        return [rank, received.asc(), case_list.c.case_id]
    return [received.asc(), case_list.c.case_id]


def inbox(
    session: Session,
    jobcenter_id: str,
    status: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    overdue: bool = False,
    owner_ids: Sequence[str] | None = None,
    category: str | None = None,
    assignee: str | None = None,
    receipt_part: str | None = None,
    sort: str = "received",
) -> tuple[list[Any], dict[str, int]]:
    """A page of a Jobcenter's cases, oldest submission first (or ``sort``: one of SORTS), and the count
    per status. ``receipt_part`` keeps the cases whose receipt number contains it (letters, digits and
    dashes only: no pattern characters reach the query).

    Overdue cases (assigned, not yet received) are read from their partial index; one category's
    cases from the categories table's (Jobcenter, category, submitted) index; ``assignee`` (an
    account id, or ``UNASSIGNED``) walks the (Jobcenter, assignee, submitted) index; the cases of
    ``owner_ids`` (None: anyone's; empty: nobody's) the owner index.
    """
    conditions = [case_list.c.jobcenter_id == jobcenter_id]
    if overdue:
        conditions.append(_OVERDUE)
    if owner_ids is not None:
        conditions.append(case_list.c.owner_id.in_(list(owner_ids)))
    if status:
        conditions.append(case_list.c.status == status)
    if kind:
        conditions.append(case_list.c.kind == kind)
    if assignee:
        conditions.append(
            case_list.c.assignee_id.is_(None) if assignee == UNASSIGNED else case_list.c.assignee_id == assignee
        )
    if receipt_part:
        if not RECEIPT_PART.fullmatch(receipt_part):
            raise ValueError("a part of a receipt number is letters, digits and dashes")
        conditions.append(case_list.c.receipt_number.contains(receipt_part))
    query = select(case_list)
    received = case_list.c.submitted_at
    if category:
        query = query.join(case_categories, case_categories.c.case_id == case_list.c.case_id)
        conditions += [case_categories.c.jobcenter_id == jobcenter_id, case_categories.c.category == category]
        if status:
            conditions.append(case_categories.c.status == status)
        received = case_categories.c.submitted_at
    dialect = session.get_bind().dialect.name
    ordered = query.where(*conditions).order_by(*_order(sort, dialect, received))
    rows = session.execute(ordered.limit(limit).offset(offset)).mappings()
    counts = session.execute(
        select(inbox_counts.c.status, inbox_counts.c.count).where(
            inbox_counts.c.jobcenter_id == jobcenter_id, inbox_counts.c.count > 0
        )
    ).all()
    return list(rows), {str(status_): int(count) for status_, count in counts}


def categories_of(session: Session, case_ids: list[str]) -> dict[str, list[str]]:
    """What each of these VÄMs reports as changed: its change and category codes (a WBA has none)."""
    found: dict[str, list[str]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    query = (
        select(case_categories.c.case_id, case_categories.c.category)
        .where(case_categories.c.case_id.in_(case_ids))
        .order_by(case_categories.c.case_id, case_categories.c.category)
    )
    for case_id, category in session.execute(query).all():
        found[case_id].append(str(category))
    return found


def open_cases_of_owner(session: Session, owner_id: str, kind: str, statuses: Sequence[str]) -> list[Any]:
    """The owner's cases of ``kind`` in one of ``statuses`` (the owner index)."""
    query = select(case_list.c.case_id, case_list.c.jobcenter_id).where(
        case_list.c.owner_id == owner_id, case_list.c.kind == kind, case_list.c.status.in_(list(statuses))
    )
    return list(session.execute(query).mappings())


def moves_reported_since(session: Session, since: datetime) -> list[str]:
    """The VÄM submitted since ``since`` that report a move (the categories table's ``umzug`` rows)."""
    query = select(case_categories.c.case_id).where(
        case_categories.c.category == "umzug", case_categories.c.submitted_at >= since.astimezone(UTC)
    )  # in UTC, as stored: SQLite compares a time's digits, not its offset
    return list(session.execute(query).scalars())


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


def drafts_gone(session: Session) -> list[str]:
    """Drafts discarded or expired whose rows are still here: not erased yet."""
    gone = (CaseStatus.DISCARDED.value, CaseStatus.EXPIRED.value)
    return list(session.execute(select(case_list.c.case_id).where(case_list.c.status.in_(gone))).scalars())


def finished_before(session: Session, cutoff: datetime) -> list[str]:
    """Cases whose file may be erased: finished, or decided and never closed (the decision ends the case for
    retention when nobody closes it), with no change since ``cutoff``."""
    finished = (CaseStatus.CLOSED.value, CaseStatus.WITHDRAWN.value, CaseStatus.HANDED_OVER.value,
                CaseStatus.DECIDED.value)  # fmt: skip
    query = select(case_list.c.case_id).where(case_list.c.status.in_(finished), case_list.c.updated_at < cutoff)
    return list(session.execute(query).scalars())


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def open_read_model(config: Mapping[str, Any], application: Any | None = None) -> VersionedReadModel:
    """This code's version of the case list over the service's database (registered, not built)."""
    from services.submissions.application import Cases

    database_url = str(config["DATABASE_URL"])
    if application is None:
        application = Cases.from_settings(database_url, str(config["CIPHER_KEY"]))
    grace = float(config.get("READ_MODEL_GRACE_SECONDS") or DEFAULT_GRACE_SECONDS)
    return VersionedReadModel(application, CaseList(), make_engine(database_url), grace_seconds=grace)


def close(read_model: VersionedReadModel) -> None:
    read_model.runner.application.close()
    read_model.runner.engine.dispose()


def prepare(config: Mapping[str, Any]) -> int:
    """Build (or catch up) this code's case list beside the live one; returns once it is live.

    Run before a rollout (``python -m services.submissions.readmodel prepare``), so that the new
    instances find their version built; the old instances keep serving theirs meanwhile. Returns
    the events applied.
    """
    read_model = open_read_model(config)
    try:
        return read_model.prepare()
    finally:
        close(read_model)


class CaseListReadModel(DependencyProvider):
    """The case list, caught up with the event store before each read (read-your-writes).

    When this code's version is not built yet (no ``prepare`` ran before the rollout), the instance
    builds it in the background and answers reads with Unavailable ``READ_MODEL_BUILDING`` and its
    health with ``ReadModelBuilding`` (not ready) until it is live: an empty inbox is never served as
    if it were the truth.
    """

    health_name = "read_model"
    # How long a read waits for a build in progress before answering Unavailable (a fresh store is built in ms).
    BUILD_WAIT_SECONDS = 2.0

    def setup(self) -> None:
        from services.submissions.application import Cases

        config = self.container.config
        self.application = Cases.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
        self.read_model = open_read_model(config, self.application)
        self.runner = self.read_model.runner
        self.built = eventlet.event.Event()

    def start(self) -> None:
        if self.read_model.serving:
            self.built.send(True)
        else:
            self.container.spawn_managed_thread(self._build, identifier="case_list_build")

    def _build(self) -> None:
        delay = 1.0
        while not self.read_model.serving:
            try:
                self.read_model.build()
            except Exception:  # the database may be away for a while: the build resumes from its position
                log.exception("read_model_build_failed", extra={"target": self.read_model.projection.name})
                eventlet.sleep(delay)
                delay = min(delay * 2, 60.0)
        self.built.send(True)

    def stop(self) -> None:
        self.application.close()
        self.runner.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> CaseListReadModel:
        return self

    @property
    def serving(self) -> bool:
        return self.built.ready()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session on the case list after applying every event stored so far.

        Raises Unavailable ``READ_MODEL_BUILDING`` while this version is being built.
        """
        if not self.built.ready():
            with eventlet.Timeout(self.BUILD_WAIT_SECONDS, False):
                self.built.wait()
        if not self.built.ready():
            raise Unavailable(
                "READ_MODEL_BUILDING", "Die Übersicht wird gerade aufgebaut. Bitte später erneut versuchen."
            )
        self.read_model.catch_up_for_read()
        with Session(self.runner.engine) as session:
            yield session

    def check_health(self) -> None:
        if not self.built.ready():
            raise ReadModelBuilding(self.read_model.projection.name)
        self.runner.position()


def main(argv: list[str] | None = None) -> None:
    """``python -m services.submissions.readmodel prepare|status|retire|catch-up|rebuild``."""
    import argparse

    from shared.config import load_config

    parser = argparse.ArgumentParser(description="Maintain the read models of the submissions service.")
    parser.add_argument(
        "command",
        choices=("prepare", "status", "retire", "catch-up", "rebuild"),
        help="prepare: build this code's version beside the live one and switch to it once caught up; "
        "status: the registered versions; retire: drop the retired versions the rule allows; "
        "catch-up: apply new events to this code's version; "
        "rebuild: empty this code's version in place and replay the log (readers see it empty meanwhile)",
    )
    args = parser.parse_args(argv)
    read_model = open_read_model(load_config("submissions"))
    try:
        if args.command == "prepare":
            applied = read_model.prepare()
            print(f"prepare: {read_model.projection.name} is {read_model.state}, {applied} events applied")
        elif args.command == "status":
            for row in read_model.registry.versions(read_model.projection.family):
                print(f"v{row['version']}: {row['state']}, position {row['position']}, last read {row['last_read_at']}")
        elif args.command == "retire":
            print(f"retire: dropped versions {read_model.drop_retired() or 'none'}")
        else:
            runner = read_model.runner
            applied = runner.rebuild() if args.command == "rebuild" else runner.catch_up()
            print(f"{args.command}: {applied} events applied, position {runner.position()}")
    finally:
        close(read_model)


if __name__ == "__main__":
    main()
