"""Read models: SQL tables built from an event-sourced application's notification log.

A ``ProjectionRunner`` applies the stored events to the projection's tables batch by batch and
moves the projection's position in the same SQL transaction, so every event is applied exactly
once. The position only moves if nobody else moved it meanwhile (``UPDATE ... WHERE position =
old``), so several runners - one per service instance, or an instance and a build job - can follow
the same log; the loser of a race rolls back and tries again.

A batch is applied with ``SqlProjection.apply_batch``: a projection that folds the batch's events
into rows in memory and writes each touched row once (instead of a few statements per event) is
what makes a build of millions of events take minutes rather than an hour. ``apply`` - one event,
its own statements - stays as the reference the batched path must agree with (``batched=False``).

A projection has a ``family`` (what it is, e.g. ``submissions_case_list``) and a ``version``; its
tables end in ``_v<version>`` and its position lives in ``<family>_v<version>_position``. A change
to the tables is a new version, built beside the old one: see ``shared/read_model_versions.py``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import Column, CursorResult, Engine, Integer, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.eventstore import PortalApplication

log = logging.getLogger(__name__)

CATCH_UP_BATCH = 500
# A build reads the log in large batches: one key lookup and one write per touched row per batch.
BUILD_BATCH = 5_000


def version_name(family: str, version: int) -> str:
    """The name of one version of a read model, e.g. ``submissions_case_list_v3``."""
    return f"{family}_v{version}"


class SqlProjection(ABC):
    """A read model: its tables and how domain events change them."""

    family: ClassVar[str]
    version: ClassVar[int]
    metadata: ClassVar[MetaData]
    # Tables of older versions made before versions were registered (``shared/read_model_versions.py``),
    # by version: dropped by the system once the rule allows, like any retired version.
    legacy_tables: ClassVar[dict[int, tuple[str, ...]]] = {}

    @property
    def name(self) -> str:
        return version_name(self.family, self.version)

    @abstractmethod
    def apply(self, session: Session, domain_event: Any) -> None:
        """Change the tables for one event; must not commit."""

    def apply_batch(self, session: Session, domain_events: Sequence[Any]) -> None:
        """Change the tables for consecutive events, in order; must not commit.

        The default applies them one by one; a projection overrides it to write fewer statements,
        with exactly the rows ``apply`` would leave.
        """
        for domain_event in domain_events:
            self.apply(session, domain_event)


class ProjectionRunner:
    """Keeps one projection up to date with one application; see the module docstring."""

    def __init__(
        self,
        application: PortalApplication,
        projection: SqlProjection,
        engine: Engine,
        batch_size: int = CATCH_UP_BATCH,
        batched: bool = True,
    ) -> None:
        self.application = application
        self.projection = projection
        self.engine = engine
        self.batch_size = batch_size
        self.batched = batched
        self.positions = Table(
            position_table_name(projection),
            MetaData(),
            Column("projection", String(100), primary_key=True),
            Column("position", Integer, nullable=False),
        )
        self.setup()

    def setup(self) -> None:
        """Create the tables and the position row when missing."""
        self.projection.metadata.create_all(self.engine)
        self.positions.metadata.create_all(self.engine)
        dialect_insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as connection:
            connection.execute(
                dialect_insert(self.positions)
                .values(projection=self.projection.name, position=0)
                .on_conflict_do_nothing()
            )

    def position(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(self.positions.c.position).where(self.positions.c.projection == self.projection.name)
                ).scalar_one()
            )

    def catch_up(self, batch_size: int | None = None, max_batches: int | None = None) -> int:
        """Apply every stored event not yet applied; returns how many were applied by this call.

        ``max_batches`` stops earlier (a build that is interrupted resumes from the position).
        """
        size = batch_size or self.batch_size
        applied = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            done = self._apply_batch(size)
            if done is None:
                continue  # another runner moved the position: read it again
            applied += done
            batches += 1
            if done < size:
                break
        return applied

    def _apply_batch(self, size: int) -> int | None:
        with Session(self.engine) as session, session.begin():
            start = session.execute(
                select(self.positions.c.position).where(self.positions.c.projection == self.projection.name)
            ).scalar_one()
            notifications = self.application.recorder.select_notifications(
                start=start, limit=size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            if self.batched:
                # Events of erased aggregates leave no trace.
                readable = self.application.readable_events(notifications)
                self.projection.apply_batch(session, [event for event in readable if event is not None])
            else:
                for notification in notifications:  # the reference: each event decoded and applied alone
                    domain_event = self.application.readable_event(notification)
                    if domain_event is not None:
                        self.projection.apply(session, domain_event)
            moved: CursorResult[Any] = session.execute(  # type: ignore[assignment]
                update(self.positions)
                .where(self.positions.c.projection == self.projection.name, self.positions.c.position == start)
                .values(position=notifications[-1].id)
            )
            if moved.rowcount != 1:
                session.rollback()
                return None
            return len(notifications)

    def rebuild(self) -> int:
        """Empty the read model in place and replay the whole log into it; returns the events applied.

        Readers see an emptying model meanwhile: a live read model is rebuilt as a new version
        beside it instead (``shared/read_model_versions.py``).
        """
        with self.engine.begin() as connection:
            for table in reversed(self.projection.metadata.sorted_tables):
                connection.execute(table.delete())
            connection.execute(
                update(self.positions).where(self.positions.c.projection == self.projection.name).values(position=0)
            )
        # The per-event path keeps its old batches, so that it stays the reference it was.
        applied = self.catch_up(batch_size=BUILD_BATCH if self.batched else self.batch_size)
        log.info("projection_rebuilt", extra={"target": self.projection.name, "count": applied})
        return applied


def position_table_name(projection: SqlProjection) -> str:
    return f"{projection.name}_position"
