"""The outbox relay: the event store's notification log, published to AMQP, at least once.

The relay reads stored events after the last position it recorded, publishes each that the
application declares as an integration event (with publisher confirms), then records the position
of the batch in a table beside the events. Killed between publishing and recording, it publishes
the last batch again on restart; consumers drop the copies by event id.

Run one per event-sourced service: ``python -m shared.outbox submissions services.submissions.application:Cases``.
On PostgreSQL a second relay waits on an advisory lock, so a spare can stand by.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import zlib
from typing import Any

from eventsourcing.utils import resolve_topic
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.config import load_config
from shared.correlation import correlated
from shared.eventstore import PortalApplication
from shared.logs import configure_logging
from shared.messaging import EventPublisher
from shared.metrics import RelayMetrics, register_readiness, serve_metrics
from shared.sql import make_engine

log = logging.getLogger(__name__)


def relay_positions_table(metadata: MetaData, relay: str) -> Table:
    """``<relay>_outbox_position``, declared in ``metadata``: the service's schema declares it for its history."""
    name = f"{relay}_outbox_position"
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("relay", String(100), primary_key=True),
        Column("position", Integer, nullable=False),
    )


class RelayPositions:
    """How far the relay of one application got, stored beside that application's events.

    The table belongs to the service's Alembic history (``services/<service>/schema.py`` declares
    it); made by the migration, here only its row is added when missing.
    """

    def __init__(self, engine: Engine, relay: str) -> None:
        self.engine = engine
        self.relay = relay
        self.table = relay_positions_table(MetaData(), relay)
        dialect_insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        with engine.begin() as connection:
            connection.execute(dialect_insert(self.table).values(relay=relay, position=0).on_conflict_do_nothing())

    def load(self) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(self.table.c.position).where(self.table.c.relay == self.relay)).scalar_one()
            )

    def save(self, position: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(self.table).where(self.table.c.relay == self.relay).values(position=position))


class OutboxRelay:
    """Publishes an application's new stored events; see the module docstring for the guarantees."""

    def __init__(
        self,
        application: PortalApplication,
        publisher: EventPublisher,
        positions: RelayPositions,
        batch_size: int = 200,
        poll_interval: float = 0.2,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self.application = application
        self.publisher = publisher
        self.positions = positions
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.position = positions.load()
        self.metrics = metrics

    def relay_batch(self) -> int:
        """Publish the next batch of stored events; returns how many stored events it passed."""
        notifications = self.application.recorder.select_notifications(
            start=self.position, limit=self.batch_size, inclusive_of_start=False
        )
        published = 0
        for notification in notifications:
            event = self.application.integration_event_for(notification)
            if event is None:
                continue
            with correlated(event.correlation_id or event.event_id):
                self.publisher.publish(event)
                log.debug("event_published", extra={"event_id": event.event_id, "event_type": event.type})
            published += 1
        if notifications:
            self.position = notifications[-1].id
            self.positions.save(self.position)
            log.info("outbox_batch_relayed", extra={"position": self.position, "count": published})
        if self.metrics is not None:
            head = self.application.recorder.max_notification_id() or 0
            self.metrics.batch_relayed(head, self.position, published)
        return len(notifications)

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; publishing failures are retried after a pause."""
        log.info("outbox_relay_started", extra={"position": self.position})
        failures = 0
        while not stop.is_set():
            try:
                passed = self.relay_batch()
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox_relay_failed", extra={"position": self.position, "attempt": failures})
                self.publisher.close()
                stop.wait(min(0.5 * 2**failures, 10.0))
                continue
            if passed < self.batch_size:
                stop.wait(self.poll_interval)
        log.info("outbox_relay_stopped", extra={"position": self.position})


class SingleRelayLock:
    """On PostgreSQL, lets one relay per application publish at a time; elsewhere a no-op."""

    def __init__(self, engine: Engine, relay: str) -> None:
        self.engine = engine
        self.key = zlib.crc32(f"outbox:{relay}".encode())
        self.connection: Any = None

    def acquire(self, stop: threading.Event) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        self.connection = self.engine.connect()
        while not stop.is_set():
            if self.connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar():
                return True
            self.connection.rollback()
            stop.wait(2.0)
        return False

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Relay an event-sourced service's stored events to AMQP.")
    parser.add_argument("service", help="the service whose config to read, e.g. submissions")
    parser.add_argument("application", help="application class, e.g. services.submissions.application:Cases")
    args = parser.parse_args(argv)

    config = load_config(args.service)
    configure_logging(f"{args.service}-outbox", str(config.get("LOG_LEVEL", "INFO")))
    application_class: type[PortalApplication] = resolve_topic(args.application)
    database_url = str(config["DATABASE_URL"])
    application = application_class.from_settings(database_url, str(config["CIPHER_KEY"]))
    engine = make_engine(database_url)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    metrics = RelayMetrics(args.service)
    register_readiness(f"{args.service}-outbox", metrics.report)
    serve_metrics(int(config.get("METRICS_PORT", 0)))
    lock = SingleRelayLock(engine, application.name)
    if not lock.acquire(stop):
        return
    metrics.activated()
    relay_settings = config.get("OUTBOX", {})
    try:
        with EventPublisher(str(config["AMQP_URI"]), args.service) as publisher:
            relay = OutboxRelay(
                application,
                publisher,
                RelayPositions(engine, application.name),
                batch_size=int(relay_settings.get("BATCH_SIZE", 200)),
                poll_interval=float(relay_settings.get("POLL_INTERVAL", 0.2)),
                metrics=metrics,
            )
            relay.run(stop)
    finally:
        lock.release()
        application.close()
        engine.dispose()


if __name__ == "__main__":
    main()
