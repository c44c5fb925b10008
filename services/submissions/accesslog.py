"""The record of every opening of a case by staff: who, in which role and Jobcenter, when, which case.

Kept apart from the read models on purpose: a read model is disposable and rebuilt from the event
store, this record is not (it is the only place the views are written down). Ids only, no content.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.submissions.schema import staff_access
from shared.sql import make_engine

LIST_LIMIT = 200


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
        """Record one access; committed before the caller answers, so no view goes unrecorded."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                insert(staff_access).values(
                    access_id=str(uuid.uuid4()), case_id=case_id, account_id=account_id, role=role,
                    institution_id=institution_id, action=action, at=datetime.now(UTC),
                )
            )  # fmt: skip

    def list(self, case_id: str | None = None, institution_id: str | None = None) -> list[dict[str, Any]]:
        """The newest accesses first (at most 200), of one case and/or one Jobcenter."""
        query = select(staff_access)
        if case_id:
            query = query.where(staff_access.c.case_id == case_id)
        if institution_id:
            query = query.where(staff_access.c.institution_id == institution_id)
        query = query.order_by(staff_access.c.at.desc()).limit(LIST_LIMIT)
        with Session(self.engine) as session:
            return [as_dict(row) for row in session.execute(query).mappings()]
