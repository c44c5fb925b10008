"""The record of every opening of a case by staff: who, in which role and Jobcenter, when, which case.

Kept apart from the read models on purpose: a read model is disposable and rebuilt from the event
store, this record is not (it is the only place the views are written down). Ids only, no content.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.submissions.schema import staff_access
from shared.sql import make_engine

PAGE_SIZE = 50
# A reload within this time is no new opening (see StaffAccessLog.record).
REPEAT_WINDOW = timedelta(minutes=5)


def as_dict(row: Any) -> dict[str, Any]:
    at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=UTC)
    return {
        "case_id": row["case_id"],
        "account_id": row["account_id"],
        "role": row["role"],
        "institution_id": row["institution_id"],
        "action": row["action"],
        "at": at.isoformat(),
    }


class StaffAccessLog(DependencyProvider):
    """Writes and reads the staff access record in the service's database.

    Its table (``schema.staff_access``) is made by the service's migration, which runs before the
    service starts and again when the event store is opened at start.
    """

    def setup(self) -> None:
        self.engine = make_engine(str(self.container.config["DATABASE_URL"]))

    def stop(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> StaffAccessLog:
        return self

    def record(self, case_id: str, account_id: str, role: str, institution_id: str | None, action: str) -> None:
        """Record one access; committed before the caller answers, so no view goes unrecorded.

        The same person opening the same case again within ``REPEAT_WINDOW`` (a reload, the page after
        an action) is the same opening: it is recorded once, with its first time.
        """
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            repeated = session.execute(
                select(staff_access.c.access_id).where(
                    staff_access.c.case_id == case_id, staff_access.c.account_id == account_id,
                    staff_access.c.action == action, staff_access.c.at > now - REPEAT_WINDOW,
                ).limit(1)
            ).first()  # fmt: skip
            if repeated is not None:
                return
            session.execute(
                insert(staff_access).values(
                    access_id=str(uuid.uuid4()), case_id=case_id, account_id=account_id, role=role,
                    institution_id=institution_id, action=action, at=now,
                )
            )  # fmt: skip

    def list(
        self,
        case_id: str | None = None,
        institution_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
    ) -> list[dict[str, Any]]:
        """The newest accesses first, ``PAGE_SIZE`` a page, of one case and/or one Jobcenter, in a time range."""
        query = select(staff_access)
        if case_id:
            query = query.where(staff_access.c.case_id == case_id)
        if institution_id:
            query = query.where(staff_access.c.institution_id == institution_id)
        # In UTC, as the times are stored: SQLite keeps a time's digits without its offset, so a German
        # midnight (+01:00) compared as given missed the first hour of the day.
        if since is not None:
            query = query.where(staff_access.c.at >= since.astimezone(UTC))
        if until is not None:
            query = query.where(staff_access.c.at < until.astimezone(UTC))
        query = query.order_by(staff_access.c.at.desc(), staff_access.c.access_id)
        query = query.offset((max(1, page) - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        with Session(self.engine) as session:
            return [as_dict(row) for row in session.execute(query).mappings()]
