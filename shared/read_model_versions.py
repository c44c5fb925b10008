"""Versions of a read model, built beside the live one and retired by the system.

A read model's tables are disposable: a change to them is a new version (``..._v4``), built from
the event store while the old version keeps serving. ``<service>_read_models`` records each
version of each read model (its ``family``) with its state:

- ``building``: being built from the log (by ``prepare`` before a rollout, or by the first instance
  of the new code that finds it missing). Nobody reads it; an instance whose code needs it answers
  "building" (not ready) instead of serving a half-built, e.g. empty, inbox.
- ``live``: built to the head of the log once, then switched to; the newest built version. Readers
  of its code catch it up before each read.
- ``retired``: an older version after the switch. It keeps working for instances of the old code
  still running (they catch it up themselves), until its tables are dropped.
- ``dropped``: its tables are gone; the row stays as history.

The rule for dropping (checked by every reader about once a minute, by ``prepare`` and by the
``retire`` command): a retired version is dropped when both its retirement and the last read any
reader recorded of it are older than the grace period (``READ_MODEL_GRACE_SECONDS``, an hour by
default), and never by a process that still serves it. Readers record their reads about once a
minute. Code released before the registry existed (v3 of the submissions case list) records no
reads: for it the grace period after the switch is what protects it, so a rollout must end within
the grace period - or the grace period must be made longer than the rollout.

Tables found that were made before the registry existed are registered on first contact: the code's
own version, if its position table exists, is adopted as live (it was built in place and caught up
on every read, not rebuilt); the older versions a projection names in ``legacy_tables`` are
registered as retired from that moment, so they follow the same rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, Text, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from shared.eventstore import PortalApplication
from shared.projection import BUILD_BATCH, ProjectionRunner, SqlProjection, position_table_name

log = logging.getLogger(__name__)

BUILDING, LIVE, RETIRED, DROPPED = "building", "live", "retired", "dropped"
SERVING = (LIVE, RETIRED)
DEFAULT_GRACE_SECONDS = 3600.0
# How often a reader records that it reads its version (and looks for versions to drop).
READ_RECORD_SECONDS = 60.0


class ReadModelBuilding(Exception):
    """This code's version of the read model is not built yet: it must not be read."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReadModelRegistry:
    """The table ``<service>_read_models``: every version of the service's read models and its state."""

    def __init__(self, engine: Engine, service: str, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.clock = clock
        self.table = Table(
            f"{service}_read_models",
            MetaData(),
            Column("family", String(100), primary_key=True),
            Column("version", Integer, primary_key=True),
            Column("state", String(20), nullable=False),
            Column("position", Integer, nullable=False),  # of the log, when the state last changed
            Column("tables", Text, nullable=False),  # JSON list of the tables dropped with it
            Column("created_at", DateTime(timezone=True), nullable=False),
            Column("live_since", DateTime(timezone=True), nullable=True),
            Column("retired_at", DateTime(timezone=True), nullable=True),
            Column("dropped_at", DateTime(timezone=True), nullable=True),
            Column("last_read_at", DateTime(timezone=True), nullable=True),
        )
        self.table.metadata.create_all(engine)

    def versions(self, family: str) -> list[dict[str, Any]]:
        """Every registered version of a read model, oldest first."""
        query = select(self.table).where(self.table.c.family == family).order_by(self.table.c.version)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def state(self, family: str, version: int) -> str | None:
        with self.engine.connect() as connection:
            return self._state(connection, family, version)

    def _state(self, connection: Connection, family: str, version: int) -> str | None:
        return connection.execute(
            select(self.table.c.state).where(self.table.c.family == family, self.table.c.version == version)
        ).scalar_one_or_none()

    def register(self, projection: SqlProjection) -> str:
        """Make sure the projection's version is registered; returns its state (see the module docstring)."""
        family, version = projection.family, projection.version
        own_tables = [*(table.name for table in projection.metadata.sorted_tables), position_table_name(projection)]
        with self.engine.begin() as connection:
            existing = set(inspect(connection).get_table_names())
            for old_version, names in sorted(projection.legacy_tables.items()):
                found = [name for name in names if name in existing]
                if found and self._state(connection, family, old_version) is None:
                    self._insert(connection, family, old_version, RETIRED, found, retired_at=self.clock())
                    log.info("read_model_registered", extra={"target": f"{family} v{old_version}", "code": RETIRED})
            state = self._state(connection, family, version)
            if state is None:
                state = BUILDING
                if position_table_name(projection) in existing:
                    # Built in place by code older than the registry, and caught up on each read: adopted.
                    state = RETIRED if self._live(connection, family) is not None else LIVE
                moment = {LIVE: "live_since", RETIRED: "retired_at"}.get(state)
                self._insert(
                    connection, family, version, state, own_tables, **({moment: self.clock()} if moment else {})
                )
                log.info("read_model_registered", extra={"target": projection.name, "code": state})
            elif state == DROPPED:
                # Code whose version was dropped runs again (a rollback after the grace period): built anew.
                connection.execute(
                    self._row(family, version).values(
                        state=BUILDING, position=0, created_at=self.clock(), live_since=None, retired_at=None,
                        dropped_at=None, last_read_at=None,
                    )
                )  # fmt: skip
                state = BUILDING
        return self.state(family, version) or state

    def _insert(
        self, connection: Connection, family: str, version: int, state: str, tables: list[str], **moments: Any
    ) -> None:
        dialect_insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        values = {
            "family": family, "version": version, "state": state, "position": 0, "tables": json.dumps(tables),
            "created_at": self.clock(), **moments,
        }  # fmt: skip
        connection.execute(dialect_insert(self.table).values(**values).on_conflict_do_nothing())

    def _row(self, family: str, version: int) -> Any:
        return update(self.table).where(self.table.c.family == family, self.table.c.version == version)

    def _live(self, connection: Connection, family: str) -> int | None:
        return connection.execute(
            select(self.table.c.version).where(self.table.c.family == family, self.table.c.state == LIVE)
        ).scalar_one_or_none()

    def switch_to(self, family: str, version: int, position: int) -> bool:
        """Make a built version the live one and retire the one before; returns whether it switched now."""
        now = self.clock()
        with self.engine.begin() as connection:
            switched = connection.execute(
                self._row(family, version)
                .where(self.table.c.state == BUILDING)
                .values(state=LIVE, live_since=now, position=position)
            ).rowcount
            if not switched:
                return False
            connection.execute(
                update(self.table)
                .where(self.table.c.family == family, self.table.c.state == LIVE, self.table.c.version != version)
                .values(state=RETIRED, retired_at=now, position=position)
            )
        log.info("read_model_switched", extra={"target": f"{family} v{version}", "position": position})
        return True

    def record_read(self, family: str, version: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(self._row(family, version).values(last_read_at=self.clock()))

    def drop_retired(self, family: str, grace: timedelta, keep: int | None = None) -> list[int]:
        """Drop the tables of every retired version the rule allows (never ``keep``); returns their versions."""
        cutoff = self.clock() - grace
        dropped = []
        for row in self.versions(family):
            if row["state"] != RETIRED or row["version"] == keep:
                continue
            last_read = row["last_read_at"]
            if _aware(row["retired_at"]) > cutoff or (last_read is not None and _aware(last_read) > cutoff):
                continue
            with self.engine.begin() as connection:
                # Taken again under the statement that marks it: two instances never drop one version twice.
                claimed = connection.execute(
                    self._row(family, row["version"])
                    .where(self.table.c.state == RETIRED)
                    .values(state=DROPPED, dropped_at=self.clock())
                ).rowcount
                if not claimed:
                    continue
                if self.engine.dialect.name == "postgresql":
                    # A reader of the version holding its tables makes the drop wait; give up rather than block.
                    connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                for name in json.loads(row["tables"]):
                    connection.exec_driver_sql(
                        f"DROP TABLE IF EXISTS {self.engine.dialect.identifier_preparer.quote(name)}"
                    )
            log.info("read_model_dropped", extra={"target": f"{family} v{row['version']}"})
            dropped.append(int(row["version"]))
        return dropped


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class VersionedReadModel:
    """One projection as this code knows it: registered, built beside the live version, then read.

    ``prepare`` builds (or catches up) this code's version and switches to it once it has caught up;
    ``serving`` says whether it may be read; ``catch_up_for_read`` is what a reader calls before each
    read.
    """

    def __init__(
        self,
        application: PortalApplication,
        projection: SqlProjection,
        engine: Engine,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        clock: Callable[[], datetime] = utc_now,
        build_batch: int = BUILD_BATCH,
    ) -> None:
        self.projection = projection
        self.registry = ReadModelRegistry(engine, application.name, clock)
        self.grace = timedelta(seconds=grace_seconds)
        self.clock = clock
        self.build_batch = build_batch
        self.state = self.registry.register(projection)
        # Registered first: a version whose position table exists was built before the registry.
        self.runner = ProjectionRunner(application, projection, engine)
        self._recorded_at: datetime | None = None

    @property
    def serving(self) -> bool:
        """Whether this version has been built to the head of the log once (live, or retired but still read)."""
        if self.state not in SERVING:
            self.state = self.registry.state(self.projection.family, self.projection.version) or BUILDING
        return self.state in SERVING

    def build(self, max_batches: int | None = None) -> int:
        """Build this version from its position on, in large batches; switch to it once caught up.

        Returns the events applied. Stopped early by ``max_batches`` (or by the process ending),
        a build resumes where it stood: the position moves with every batch.
        """
        applied = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            done = self.runner.catch_up(batch_size=self.build_batch, max_batches=1)
            applied += done
            batches += 1
            if done < self.build_batch:
                if not self.serving:
                    self.registry.switch_to(self.projection.family, self.projection.version, self.runner.position())
                    self.state = self.registry.state(self.projection.family, self.projection.version) or BUILDING
                break
            log.info("read_model_building", extra={"target": self.projection.name, "position": self.runner.position()})
        return applied

    def prepare(self) -> int:
        """Build or catch up this version until it serves, then drop what the rule allows; returns events applied."""
        applied = self.build()
        while not self.serving:  # someone else's batch won a race at the head: try again
            applied += self.build()
        self.drop_retired()
        return applied

    def catch_up_for_read(self) -> None:
        """Before a read: raise ``ReadModelBuilding`` unless serving, apply new events, record the read."""
        if not self.serving:
            raise ReadModelBuilding(self.projection.name)
        self.runner.catch_up()
        now = self.clock()
        if self._recorded_at is None or (now - self._recorded_at).total_seconds() >= READ_RECORD_SECONDS:
            self._recorded_at = now
            self.registry.record_read(self.projection.family, self.projection.version)
            try:
                self.drop_retired()
            except SQLAlchemyError:  # e.g. a table still locked: the next reader, a minute later, tries again
                log.warning("read_model_drop_failed", extra={"target": self.projection.family}, exc_info=True)

    def drop_retired(self) -> list[int]:
        """Drop the retired versions the rule allows; never the one this process reads."""
        return self.registry.drop_retired(self.projection.family, self.grace, keep=self.projection.version)
