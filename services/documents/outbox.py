"""An outbox in SQL: events are rows written in the transaction of the change, relayed to AMQP.

documents keeps plain SQL metadata rather than an event store, so it cannot use the notification
log relay of ``shared/outbox.py``. Instead each change inserts its integration events into
``documents_outbox`` in the same transaction; :class:`OutboxRelay` runs inside every instance,
publishes unpublished rows in order with publisher confirms, then marks them. Killed in between,
it publishes them again: at least once, and consumers drop copies by event id. On PostgreSQL
instances take rows with ``FOR UPDATE SKIP LOCKED`` so they rarely publish the same row twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, select, update

from services.documents.metadata import now, outbox
from shared.correlation import correlated
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher
from shared.sql import make_engine

log = logging.getLogger(__name__)


def relay_batch(engine: Engine, publisher: EventPublisher, batch_size: int = 200) -> int:
    """Publish the oldest unpublished events, then mark them; returns how many were published."""
    query = select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.position).limit(batch_size)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            rows = connection.execute(query.with_for_update(skip_locked=True)).mappings().all()
            _publish(publisher, rows)
            _mark(connection, rows)
    else:
        # SQLite: a read transaction that later writes fails when another writer came first, so
        # read and mark in two short transactions (SQLite means one instance anyway).
        with engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        _publish(publisher, rows)
        with engine.begin() as connection:
            _mark(connection, rows)
    return len(rows)


def _publish(publisher: EventPublisher, rows: Any) -> None:
    for row in rows:
        event = IntegrationEvent(
            type=row["type"],
            aggregate_id=row["aggregate_id"],
            aggregate_version=row["aggregate_version"],
            data=dict(row["data"]),
            event_id=row["event_id"],
            occurred_at=row["occurred_at"],
            correlation_id=row["correlation_id"],
        )
        with correlated(event.correlation_id or event.event_id):
            publisher.publish(event)


def _mark(connection: Any, rows: Any) -> None:
    if rows:
        positions = [row["position"] for row in rows]
        connection.execute(update(outbox).where(outbox.c.position.in_(positions)).values(published_at=now()))


class OutboxRelay(DependencyProvider):
    """Relays the outbox in a background thread of the service; ``wake()`` after a commit."""

    def setup(self) -> None:
        settings = self.container.config.get("OUTBOX", {})
        self.batch_size = int(settings.get("BATCH_SIZE", 200))
        self.poll_interval = float(settings.get("POLL_INTERVAL", 0.2))
        self.engine: Engine | None = None
        self.publisher: EventPublisher | None = None
        self.stopping = threading.Event()
        self.woken = threading.Event()

    def start(self) -> None:
        self.engine = make_engine(str(self.container.config["DATABASE_URL"]))
        self.publisher = EventPublisher(str(self.container.config["AMQP_URI"]), self.container.service_name)
        self.container.spawn_managed_thread(self._run, identifier="documents_outbox_relay")

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> OutboxRelay:
        return self

    def wake(self) -> None:
        """Publish now rather than at the next poll."""
        self.woken.set()

    def _run(self) -> None:
        assert self.engine is not None and self.publisher is not None
        failures = 0
        while not self.stopping.is_set():
            try:
                published = relay_batch(self.engine, self.publisher, self.batch_size)
                failures = 0
            except Exception:
                failures += 1
                log.exception("outbox_relay_failed", extra={"attempt": failures})
                self.publisher.close()
                eventlet.sleep(min(0.5 * 2**failures, 10.0))
                continue
            if published:
                log.info("outbox_batch_relayed", extra={"count": published})
            if published < self.batch_size:
                self.woken.wait(self.poll_interval)
                self.woken.clear()
        self.publisher.close()
        self.engine.dispose()
