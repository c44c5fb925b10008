"""SQL storage of a service (SQLAlchemy), and the record of integration events it has processed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from nameko.extensions import DependencyProvider
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.envelope import IntegrationEvent

log = logging.getLogger(__name__)
T = TypeVar("T")


def sqlalchemy_url(database_url: str) -> str:
    """Our URLs say ``postgresql://``; SQLAlchemy must be told to use psycopg 3 for them."""
    scheme, _, rest = database_url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    return database_url


def make_engine(database_url: str) -> Engine:
    """An engine for a service database; SQLite files get WAL and a busy timeout."""
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite:///"):
        Path(urlsplit(url).path[1:]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def processed_events_table(metadata: MetaData, service: str) -> Table:
    """The table in which a consumer records each event id it has applied."""
    name = f"{service}_processed_events"
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(100), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


class ServiceDatabase:
    """What a service method sees of its database: sessions and once-only event application."""

    def __init__(self, engine: Engine, processed_events: Table) -> None:
        self.engine = engine
        self.processed_events = processed_events

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed at the end of the block, or rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def apply_once(self, event: IntegrationEvent, apply: Callable[[Session], T]) -> T | None:
        """Apply ``event`` in one transaction with the record that it was applied.

        Returns what ``apply`` returned, or None when the event id was applied before (a
        redelivery); the effect and the record commit together or not at all.
        """
        try:
            with self.transaction() as session:
                session.execute(
                    insert(self.processed_events).values(
                        event_id=event.event_id, event_type=event.type, processed_at=datetime.now(UTC)
                    )
                )
                session.flush()
                return apply(session)
        except IntegrityError:
            with self.transaction() as session:
                seen = session.execute(
                    select(self.processed_events.c.event_id).where(self.processed_events.c.event_id == event.event_id)
                ).first()
            if seen is None:
                raise
            log.info("event_already_processed", extra={"event_id": event.event_id, "event_type": event.type})
            return None

    def check_health(self) -> None:
        """Raises when the database does not answer."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def migrations_of(service: str) -> Path:
    """The folder of a service's Alembic history: ``services/<service>/migrations``."""
    return Path(__file__).resolve().parent.parent / "services" / service / "migrations"


def migrate(engine: Engine, migrations: Path, service: str) -> None:
    """Bring the service's schema to the newest Alembic revision in ``migrations``.

    The revision is recorded in ``<service>_alembic_version``, so services sharing one database keep
    their own histories. Only one process migrates a database at a time: on PostgreSQL an advisory
    lock, on SQLite a lock file beside the database (the migrate step, a service and its outbox
    relay may all start at once on a fresh file). At the newest revision this only reads the version.
    """
    # Alembic announces every plugin and step at INFO; only its warnings belong in the service's log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from alembic import command
    from alembic.config import Config as AlembicConfig

    settings = AlembicConfig()
    settings.set_main_option("script_location", str(migrations))
    settings.attributes["version_table"] = f"{service}_alembic_version"
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"{service}_migrations"})
        settings.attributes["connection"] = connection
        ahead = _revision_unknown_here(connection, settings, service)
        if ahead is not None:
            # A newer release migrated this database and was rolled back (or still runs beside this one in
            # a rollout): its migrations only add what this code ignores (docs/upgrading.md), so this code
            # works on it as it is. Refusing to start would turn every rollback into an outage.
            log.warning("schema_ahead_of_code", extra={"target": service, "version": ahead})
            return
        command.upgrade(settings, "head")


def _revision_unknown_here(connection: Any, settings: Any, service: str) -> str | None:
    """The database's revision of ``service`` when this code's history does not know it, else None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    current = MigrationContext.configure(connection, opts={"version_table": f"{service}_alembic_version"})
    revisions = current.get_current_heads()
    script = ScriptDirectory.from_config(settings)
    for revision in revisions:
        try:
            script.get_revision(revision)
        except Exception:  # alembic raises its own ResolutionError/CommandError for an unknown revision
            return str(revision)
    return None


_PROCESS_MIGRATION_LOCK = threading.Lock()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on ``<database file>.migrate-lock``; nothing for other databases."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    # flock keeps other processes out; within this process (several services, or several dependency
    # providers set up at once by nameko) the in-process lock does, which under eventlet is a green
    # lock, so a second green thread waits without blocking the first one's thread in flock.
    with _PROCESS_MIGRATION_LOCK, open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Database(DependencyProvider):
    """A service's own SQL database, from the ``DATABASE_URL`` of its config.

    ``metadata`` holds the service's tables (its ``<service>_processed_events`` included). They are
    never made with ``create_all``: the schema belongs to the service's Alembic history
    (``services/<service>/migrations``, or ``migrations``), which ``python -m shared.migrate`` applies
    before a rollout. At start the service upgrades too, one instance at a time (see :func:`migrate`),
    which does nothing when the migrate step ran. Table names start with the service's name, so
    services can share one PostgreSQL database without sharing a table.
    """

    health_name = "database"

    def __init__(self, metadata: MetaData, migrations: Path | None = None) -> None:
        self.metadata = metadata
        self.migrations = migrations
        self.database: ServiceDatabase | None = None

    def setup(self) -> None:
        service = self.container.service_name
        processed_events = processed_events_table(self.metadata, service)
        engine = make_engine(str(self.container.config["DATABASE_URL"]))
        self.prepare_schema(engine, service)
        self.database = ServiceDatabase(engine, processed_events)

    def prepare_schema(self, engine: Engine, service: str) -> None:
        """Bring the schema to the newest revision of the service's history (a no-op after the migrate step)."""
        migrate(engine, self.migrations or migrations_of(service), service)

    def stop(self) -> None:
        if self.database is not None:
            self.database.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> ServiceDatabase:
        assert self.database is not None
        return self.database

    def check_health(self) -> None:
        assert self.database is not None
        self.database.check_health()
