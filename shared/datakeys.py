"""Per-aggregate data keys (crypto-shredding): each aggregate's events encrypted with a key of its own.

The data key of an aggregate is random (AES-256), stored wrapped (AES-GCM) by the master key in a
table beside the events. Destroying that row makes every stored event of the aggregate unreadable
(``MapperDeserialisationError``), whatever copies of the events exist - backups included - while
ids, versions and topics stay readable so the store stays consistent. The aggregate id is bound
into each ciphertext as associated data, so events cannot be moved between aggregates.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Compressor, MapperDeserialisationError, StoredEvent, Transcoder
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, Uuid, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.types import TypeEngine

from shared.eventstore import DATA_KEYS_URL, CorrelatingMapper
from shared.sql import make_engine

NONCE_BYTES = 12
CACHE_SIZE = 10_000
# Aggregate ids per key query of ``prefetch`` (well under SQLite's limit of bound parameters).
PREFETCH_CHUNK = 1_000
T = TypeVar("T")
# How long an unwrapped key is used from memory before the table is asked again. A key destroyed
# by one replica is gone from the others' memory at the latest after this: erasure reaches every
# process within minutes, not whenever the least recently used key happens to fall out.
CACHE_SECONDS = 300.0


class KeyDestroyed(Exception):
    """The data key of an aggregate was destroyed: its events can no longer be read."""


class ErasedAggregateEvent(MapperDeserialisationError):
    """A stored event of an aggregate whose data key was destroyed (erased on purpose)."""


def data_keys_table(metadata: MetaData, application: str) -> Table:
    """``<application>_data_keys``, declared in ``metadata``: the service's schema declares it for its history."""
    name = f"{application}_data_keys"
    if name in metadata.tables:
        return metadata.tables[name]
    return Table(
        name,
        metadata,
        Column("aggregate_id", String(36), primary_key=True),
        Column("wrapped_key", LargeBinary, nullable=False),
    )


class DataKeyStore:
    """Wrapped data keys in ``<application>_data_keys``; unwrapped keys cached in memory.

    The table belongs to the service's Alembic history (made by the migrate step, not here).
    """

    def __init__(
        self, database_url: str, master_key: str, application: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.master = AESGCM(base64.b64decode(master_key))
        self.engine = make_engine(database_url)
        self.table = data_keys_table(MetaData(), application)
        self._cache: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # key, when it was read
        self._lock = threading.Lock()
        self._clock = clock

    def key_for(self, aggregate_id: UUID | str, create: bool, new: bool = False) -> bytes:
        """The aggregate's data key; made when ``create`` and missing. Raises KeyDestroyed.

        ``new`` says the aggregate is being created (its first event): its key is then made with one
        statement instead of a lookup, an insert and a second lookup (two round trips less for each new
        case). Should the key exist after all, the stored one is the key, as in any race.
        """
        name = str(aggregate_id)
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and self._clock() - cached[1] < CACHE_SECONDS:
                self._cache.move_to_end(name)
                return cached[0]
        read_at = self._clock()
        if create and new:
            made = AESGCM.generate_key(bit_length=256)
            if self._insert(name, self._wrap(name, made)):
                self._remember(name, made, read_at)
                return made
        wrapped = self._load(name)
        if wrapped is None:
            if not create:
                raise KeyDestroyed(name)
            self._insert(name, self._wrap(name, AESGCM.generate_key(bit_length=256)))
            # Another writer may have won the race: whatever is stored is the key.
            wrapped = self._load(name)
            assert wrapped is not None
        key = self._unwrap(name, wrapped)
        self._remember(name, key, read_at)
        return key

    def prefetch(self, aggregate_ids: Iterable[T]) -> set[T]:
        """Read the keys of many aggregates with one query per thousand; returns those without a key.

        The keys found are cached (and unwrapped) once each, so that decrypting a batch of events
        costs no lookup per event; an aggregate without a key was erased (keys are made before
        the first event is stored).
        """
        wanted: dict[str, T] = {}
        now = self._clock()
        with self._lock:
            for aggregate_id in aggregate_ids:
                name = str(aggregate_id)
                cached = self._cache.get(name)
                if cached is None or now - cached[1] >= CACHE_SECONDS:
                    wanted[name] = aggregate_id
        names = list(wanted)
        for start in range(0, len(names), PREFETCH_CHUNK):
            chunk = names[start : start + PREFETCH_CHUNK]
            with self.engine.connect() as connection:
                found = connection.execute(
                    select(self.table.c.aggregate_id, self.table.c.wrapped_key).where(
                        self.table.c.aggregate_id.in_(chunk)
                    )
                ).all()
            for name, wrapped in found:
                del wanted[name]
                try:
                    self._remember(name, self._unwrap(name, bytes(wrapped)), now)
                except InvalidTag:
                    continue  # not erased but unreadable: reading its events raises as it should
        return set(wanted.values())

    def _remember(self, name: str, key: bytes, read_at: float) -> None:
        with self._lock:
            self._cache[name] = (key, read_at)
            self._cache.move_to_end(name)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def destroy(self, aggregate_id: UUID) -> bool:
        """Erase the aggregate's key; returns whether there was one. Irreversible."""
        name = str(aggregate_id)
        with self._lock:
            self._cache.pop(name, None)
        with self.engine.begin() as connection:
            removed = connection.execute(delete(self.table).where(self.table.c.aggregate_id == name)).rowcount
        return bool(removed)

    def _load(self, name: str) -> bytes | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(self.table.c.wrapped_key).where(self.table.c.aggregate_id == name)).first()
        return bytes(row[0]) if row else None

    def _insert(self, name: str, wrapped: bytes) -> bool:
        """Store a wrapped key unless the aggregate has one; returns whether this one was stored."""
        dialect_insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(self.table).values(aggregate_id=name, wrapped_key=wrapped).on_conflict_do_nothing()
        with self.engine.begin() as connection:
            stored = connection.execute(statement.returning(self.table.c.aggregate_id)).first()
        return stored is not None

    def _wrap(self, name: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self.master.encrypt(nonce, key, name.encode())

    def _unwrap(self, name: str, wrapped: bytes) -> bytes:
        return self.master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], name.encode())


class DataKeyMapper(CorrelatingMapper):
    """Compresses, then encrypts each event's state with its aggregate's own data key."""

    def __init__(self, transcoder: Transcoder, compressor: Compressor | None, keys: DataKeyStore) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=None)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        # The first event of an aggregate creates it (eventsourcing numbers versions from 1).
        key = self.keys.key_for(stored.originator_id, create=True, new=stored.originator_version == 1)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(key).encrypt(nonce, stored.state, str(stored.originator_id).encode())
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        originator = stored_event.originator_id
        try:
            key = self.keys.key_for(originator, create=False)
        except KeyDestroyed as erased:
            raise ErasedAggregateEvent(f"{originator} was erased") from erased
        except InvalidTag as problem:
            raise MapperDeserialisationError(f"cannot unwrap the data key of {originator}") from problem
        try:
            state = stored_event.state
            plain = AESGCM(key).decrypt(state[:NONCE_BYTES], state[NONCE_BYTES:], str(originator).encode())
        except InvalidTag as problem:
            raise MapperDeserialisationError(
                f"cannot read event {stored_event.originator_version} of {originator}: {type(problem).__name__}"
            ) from problem
        opened = StoredEvent(originator, stored_event.originator_version, stored_event.topic, plain)
        return super().to_domain_event(opened)


def data_key_mapper(
    application: Any, database_url: str, master_key: str, stored_under_shared_key: bool = False
) -> DataKeyMapper:
    """The mapper for an application whose aggregates each get their own data key.

    ``stored_under_shared_key``: events stored before under ``master_key`` itself are still read
    (:class:`SharedKeyFallbackMapper`).
    """
    factory = application.factory
    keys = DataKeyStore(database_url, master_key, application.name)
    transcoder, compressor = application.construct_transcoder(), factory.compressor()
    if stored_under_shared_key:
        return SharedKeyFallbackMapper(transcoder=transcoder, compressor=compressor, keys=keys, shared_key=master_key)
    return DataKeyMapper(transcoder=transcoder, compressor=compressor, keys=keys)


class SharedKeyFallbackMapper(DataKeyMapper):
    """A ``DataKeyMapper`` for an application that stored events under one shared cipher key before.

    An event stored the old way (``eventsourcing``'s AES cipher with the shared key, no aggregate bound
    in) is still read, until :func:`rekey_shared_key_events` has sealed it with its aggregate's own key.
    New events are always written under the aggregate's key.
    """

    def __init__(
        self, transcoder: Transcoder, compressor: Compressor | None, keys: DataKeyStore, shared_key: str
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, keys=keys)
        self.shared = AESGCM(base64.b64decode(shared_key))

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        try:
            return super().to_domain_event(stored_event)
        except MapperDeserialisationError:
            compressed = self.open_shared(stored_event.state)
            if compressed is None:
                raise
        opened = StoredEvent(
            stored_event.originator_id, stored_event.originator_version, stored_event.topic, compressed
        )
        return CorrelatingMapper.to_domain_event(self, opened)

    def open_shared(self, state: bytes) -> bytes | None:
        """The (compressed) state of an event sealed with the shared key, None for any other event."""
        # eventsourcing.cryptography.AESCipher: nonce, then the tag, then the ciphertext.
        nonce, tag, sealed = state[:NONCE_BYTES], state[NONCE_BYTES : NONCE_BYTES + 16], state[NONCE_BYTES + 16 :]
        try:
            return self.shared.decrypt(nonce, sealed + tag, None)
        except (InvalidTag, ValueError):
            return None

    def seal(self, aggregate_id: UUID, compressed: bytes) -> bytes:
        """``compressed`` sealed with the aggregate's own key (made when missing), as ``to_stored_event`` does."""
        key = self.keys.key_for(aggregate_id, create=True)
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(key).encrypt(nonce, compressed, str(aggregate_id).encode())


def rekey_shared_key_events(application: Any, aggregate_ids: Iterable[UUID] | None = None, page: int = 500) -> int:
    """Seal every event still stored under the shared key with its aggregate's own key; returns how many.

    Idempotent: an event already under its aggregate's key is left as it is. ``aggregate_ids`` limits it
    to those aggregates (erasure does that before destroying the key); None goes through the whole store.
    The state column is rewritten in place: ids, versions, topics and notification ids stay as they were,
    so the notification log (the outbox) and the library's tables are not otherwise touched.
    """
    mapper = application.mapper
    if not isinstance(mapper, SharedKeyFallbackMapper):
        raise TypeError(f"{application.name} never stored events under a shared key")
    recorder = application.recorder
    if aggregate_ids is None:
        stored: Iterable[StoredEvent] = _all_stored_events(recorder, page)
    else:
        stored = (event for aggregate_id in aggregate_ids for event in recorder.select_events(aggregate_id))
    engine = make_engine(application.env[DATA_KEYS_URL])
    postgres = engine.dialect.name == "postgresql"
    # The library keeps PostgreSQL's ids as uuid, SQLite's as their hex digits.
    id_type: TypeEngine[Any] = Uuid() if postgres else String(32)
    events = Table(
        recorder.events_table_name,
        MetaData(),
        Column("originator_id", id_type),
        Column("originator_version", Integer),
        Column("state", LargeBinary),
    )
    rekeyed = 0
    try:
        for event in stored:
            compressed = mapper.open_shared(event.state)
            if compressed is None:
                continue
            aggregate_id = UUID(str(event.originator_id))
            with engine.begin() as connection:
                connection.execute(
                    update(events)
                    .where(
                        events.c.originator_id == (aggregate_id if postgres else aggregate_id.hex),
                        events.c.originator_version == event.originator_version,
                    )
                    .values(state=mapper.seal(aggregate_id, compressed))
                )
            rekeyed += 1
    finally:
        engine.dispose()
    return rekeyed


def _all_stored_events(recorder: Any, page: int) -> Iterable[StoredEvent]:
    start = 0
    while True:
        notifications = recorder.select_notifications(start=start, limit=page, inclusive_of_start=False)
        if not notifications:
            return
        yield from notifications
        start = notifications[-1].id
