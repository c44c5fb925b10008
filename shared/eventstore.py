"""A base for event-sourced services: an ``eventsourcing`` Application built from config.

The store is a SQLite file by default and PostgreSQL when the service's database URL says so.
Event state is compressed (zlib) and encrypted (AES-GCM); originator ids, versions and topics stay
in clear, which is why ids are random and never derived from personal data.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import unquote, urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import InternalError, Mapper, Notification, StoredEvent
from eventsourcing.utils import get_topic
from nameko.extensions import DependencyProvider

from shared.correlation import current_correlation_id
from shared.envelope import IntegrationEvent, stable_event_id
from shared.sql import make_engine, migrate, migrations_of

# Where a per-aggregate-key application keeps its data keys (the database of its events).
DATA_KEYS_URL = "DATA_KEYS_URL"
TABLE_CREATION_ATTEMPTS = 5
# The key under which the correlation id rides inside each stored event's (encrypted) state.
CORRELATION_ATTRIBUTE = "_correlation_id"


class CorrelatingMapper(Mapper[UUID]):
    """Stores the correlation id of the request that caused an event together with the event."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if CORRELATION_ATTRIBUTE not in vars(domain_event):
            correlation_id = current_correlation_id()
            if correlation_id is not None:
                # Events are frozen dataclasses; the attribute travels only inside the stored state.
                object.__setattr__(domain_event, CORRELATION_ATTRIBUTE, correlation_id)
        return super().to_stored_event(domain_event)


@dataclass(frozen=True)
class Publishes:
    """Declares that a domain event is published as integration event ``type`` with ``fields``.

    Only the named fields leave the service, so a new attribute of a domain event never leaks
    into AMQP by accident.
    """

    type: str
    fields: tuple[str, ...] = ()


def eventstore_environment(database_url: str, cipher_key: str) -> dict[str, str]:
    """The ``eventsourcing`` environment for a database URL and a base64 AES key."""
    if not cipher_key:
        raise ValueError("an event store needs a cipher key (base64 of 16, 24 or 32 bytes)")
    env = {
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
        "CIPHER_KEY": cipher_key,
        "MAPPER_TOPIC": get_topic(CorrelatingMapper),
    }
    url = urlsplit(database_url)
    if url.scheme == "sqlite":
        path = unquote(url.path[1:] if url.path.startswith("/") else url.path)
        if not path:
            raise ValueError("a sqlite URL needs a file path: sqlite:///path/to/file.sqlite")
        env.update({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path, "SQLITE_LOCK_TIMEOUT": "10"})
    elif url.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        env.update(
            {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": url.path.lstrip("/"),
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
                "POSTGRES_CONNECT_TIMEOUT": "5",
            }
        )
    else:
        raise ValueError(f"unsupported event store URL scheme {url.scheme!r}")
    return env


def sqlite_path(database_url: str) -> Path | None:
    """The file of a sqlite URL, else None."""
    url = urlsplit(database_url)
    if url.scheme != "sqlite":
        return None
    return Path(unquote(url.path[1:]))


class PortalApplication(Application[UUID]):
    """An event-sourced application of the portal.

    Subclasses set ``name`` (the table prefix, e.g. ``submissions``) and ``integration_events``,
    mapping domain event classes to what is published about them.
    """

    integration_events: ClassVar[dict[type, Publishes]] = {}
    # When set, each aggregate's events are encrypted with a data key of its own (shared/datakeys.py),
    # wrapped by the cipher key, so that destroying one key erases one aggregate (crypto-shredding).
    per_aggregate_keys: ClassVar[bool] = False
    # Set with ``per_aggregate_keys`` when the application stored events under the shared cipher key before:
    # those stay readable until ``shared.datakeys.rekey_shared_key_events`` seals them with their own keys.
    stored_under_shared_key: ClassVar[bool] = False

    @classmethod
    def from_settings(cls, database_url: str, cipher_key: str) -> Self:
        """Build the application for a database URL; creates the SQLite file's folder if needed.

        The service's own tables beside the events (data keys, the relay's position, ...) are brought to
        the newest revision of its Alembic history first, one process at a time: a no-op after the
        migrate step (``python -m shared.migrate``), which is how a rollout does it. The library's own
        tables are the library's to make.
        """
        path = sqlite_path(database_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        migrations = migrations_of(cls.name)
        if (migrations / "env.py").exists():
            engine = make_engine(database_url)
            try:
                migrate(engine, migrations, cls.name)
            finally:
                engine.dispose()
        env = eventstore_environment(database_url, cipher_key)
        env[DATA_KEYS_URL] = database_url
        for attempt in range(TABLE_CREATION_ATTEMPTS):
            try:
                return cls(env=env)
            except InternalError:
                # On a fresh PostgreSQL database the service and its outbox relay (or two instances)
                # create the same tables at once; the loser gets "tuple concurrently updated".
                if attempt == TABLE_CREATION_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def construct_mapper(self) -> Mapper[UUID]:
        if not self.per_aggregate_keys:
            return super().construct_mapper()
        from shared.datakeys import data_key_mapper

        return data_key_mapper(self, self.env[DATA_KEYS_URL], self.env["CIPHER_KEY"], self.stored_under_shared_key)

    def destroy_data_key(self, aggregate_id: UUID) -> bool:
        """Make every stored event of one aggregate unreadable; returns whether a key existed."""
        from shared.datakeys import DataKeyMapper

        if not isinstance(self.mapper, DataKeyMapper):
            raise TypeError(f"{self.name} has no per-aggregate keys")
        return self.mapper.keys.destroy(aggregate_id)

    def integration_event_for(self, notification: Notification) -> IntegrationEvent | None:
        """The integration event to publish for a stored event, or None if it stays internal."""
        spec = self._published_topics().get(notification.topic)
        if spec is None:
            return None
        domain_event = self.readable_event(notification)
        if domain_event is None:
            return None
        state = vars(domain_event)
        aggregate_id = str(notification.originator_id)
        return IntegrationEvent(
            type=spec.type,
            aggregate_id=aggregate_id,
            aggregate_version=notification.originator_version,
            # An event stored before a field was published lacks it: it leaves in the shape it was stored in.
            data={name: jsonable(state[name]) for name in spec.fields if name in state},
            event_id=stable_event_id(self.name, aggregate_id, notification.originator_version),
            occurred_at=jsonable(state.get("timestamp")) or "",
            correlation_id=state.get(CORRELATION_ATTRIBUTE),
        )

    def readable_event(self, notification: Notification) -> DomainEventProtocol[UUID] | None:
        """The domain event of a notification, or None when its aggregate was erased on purpose."""
        from shared.datakeys import ErasedAggregateEvent

        try:
            return self.mapper.to_domain_event(notification)
        except ErasedAggregateEvent:
            return None

    def readable_events(self, notifications: Sequence[Notification]) -> list[DomainEventProtocol[UUID] | None]:
        """The domain events of consecutive notifications (None for erased aggregates).

        With per-aggregate keys, the keys of all the batch's aggregates are read with one query and
        unwrapped once each, rather than looked up event by event.
        """
        from shared.datakeys import DataKeyMapper

        erased: set[Any] = set()
        if isinstance(self.mapper, DataKeyMapper):
            erased = self.mapper.keys.prefetch({notification.originator_id for notification in notifications})
        if self.stored_under_shared_key:
            # An aggregate without a key may still have events under the shared key: the mapper knows.
            erased = set()
        return [
            None if notification.originator_id in erased else self.readable_event(notification)
            for notification in notifications
        ]

    def check_store(self) -> int:
        """Read the head of the notification log; raises when the store is unreachable."""
        return int(self.recorder.max_notification_id() or 0)

    @classmethod
    def _published_topics(cls) -> dict[str, Publishes]:
        cached: dict[str, Publishes] | None = cls.__dict__.get("_topic_cache")
        if cached is None:
            cached = {get_topic(event_class): spec for event_class, spec in cls.integration_events.items()}
            cls._topic_cache = cached
        return cached

    _topic_cache: ClassVar[dict[str, Publishes] | None] = None


def jsonable(value: Any) -> Any:
    """Turn the value types domain events hold into JSON types."""
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


class EventSourcedApplication(DependencyProvider):
    """Gives a service its ``PortalApplication``, built from ``DATABASE_URL`` and ``CIPHER_KEY``."""

    health_name = "event_store"

    def __init__(self, application_class: type[PortalApplication]) -> None:
        self.application_class = application_class
        self.application: PortalApplication | None = None

    def setup(self) -> None:
        config = self.container.config
        self.application = self.application_class.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))

    def stop(self) -> None:
        if self.application is not None:
            self.application.close()

    def get_dependency(self, worker_ctx: Any) -> PortalApplication:
        assert self.application is not None
        return self.application

    def check_health(self) -> None:
        assert self.application is not None
        self.application.check_store()
