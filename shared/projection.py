"""Read models: SQL tables built from an event-sourced application's notification log.

A ``ProjectionRunner`` applies each stored event to the projection's tables and moves the
projection's position in the same SQL transaction, so every event is applied exactly once. The
position only moves if nobody else moved it meanwhile (``UPDATE ... WHERE position = old``), so
several runners - one per service instance - can follow the same log; the loser of a race rolls
back and tries again. ``rebuild`` empties the tables and replays the log from the start.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sqlalchemy import Column, CursorResult, Engine, Integer, MetaData, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.eventstore import PortalApplication

log = logging.getLogger(__name__)


class SqlProjection(ABC):
    """A read model: its tables and how each domain event changes them."""

    name: ClassVar[str]
    metadata: ClassVar[MetaData]

    @abstractmethod
    def apply(self, session: Session, domain_event: Any) -> None:
        """Change the tables for one event; must not commit."""


class ProjectionRunner:
    """Keeps one projection up to date with one application; see the module docstring."""

    def __init__(
        self, application: PortalApplication, projection: SqlProjection, engine: Engine, batch_size: int = 500
    ) -> None:
        self.application = application
        self.projection = projection
        self.engine = engine
        self.batch_size = batch_size
        self.positions = Table(
            f"{projection.name}_position",
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

    def catch_up(self) -> int:
        """Apply every stored event not yet applied; returns how many were applied by this call."""
        applied = 0
        while True:
            done = self._apply_batch()
            if done is None:
                continue  # another runner moved the position: read it again
            applied += done
            if done < self.batch_size:
                return applied

    def _apply_batch(self) -> int | None:
        with Session(self.engine) as session, session.begin():
            start = session.execute(
                select(self.positions.c.position).where(self.positions.c.projection == self.projection.name)
            ).scalar_one()
            notifications = self.application.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            for notification in notifications:
                domain_event = self.application.readable_event(notification)
                if domain_event is not None:  # events of erased aggregates leave no trace
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
        """Empty the read model and replay the whole log into it; returns the events applied."""
        with self.engine.begin() as connection:
            for table in reversed(self.projection.metadata.sorted_tables):
                connection.execute(table.delete())
            connection.execute(
                update(self.positions).where(self.positions.c.projection == self.projection.name).values(position=0)
            )
        applied = self.catch_up()
        log.info("projection_rebuilt", extra={"target": self.projection.name, "count": applied})
        return applied
