"""shared.datakeys: a key destroyed by one process stops working in the others within CACHE_SECONDS."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from sqlalchemy import MetaData, event

from shared import datakeys
from shared.datakeys import DataKeyStore, KeyDestroyed, data_keys_table
from shared.sql import make_engine


@pytest.fixture
def database_url(database_url):
    """The database with the ``probe_data_keys`` table, made as a service's migration would make its own."""
    engine = make_engine(database_url)
    data_keys_table(MetaData(), "probe").create(engine)
    engine.dispose()
    return database_url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_destroyed_by_another_replica_is_forgotten_here_after_the_cache_time(database_url):
    master = base64.b64encode(os.urandom(32)).decode()
    clock = Clock()
    eraser = DataKeyStore(database_url, master, "probe")
    reader = DataKeyStore(database_url, master, "probe", clock=clock)
    case = uuid.uuid4()
    key = eraser.key_for(case, create=True)
    assert reader.key_for(case, create=False) == key  # now in the reader's memory

    assert eraser.destroy(case)
    with pytest.raises(KeyDestroyed):
        eraser.key_for(case, create=False)
    clock.now += datakeys.CACHE_SECONDS - 1
    assert reader.key_for(case, create=False) == key  # still within the cache time: from memory
    clock.now += 1
    with pytest.raises(KeyDestroyed):
        reader.key_for(case, create=False)


def statements_of(store: DataKeyStore) -> list[str]:
    """Every SQL statement the store sends from now on."""
    sent: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: sent.append(args[2].split()[0]))
    return sent


def test_a_new_aggregates_key_is_made_with_one_statement_and_an_existing_one_is_kept(database_url):
    master = base64.b64encode(os.urandom(32)).decode()
    store = DataKeyStore(database_url, master, "probe")
    other = DataKeyStore(database_url, master, "probe")
    case = uuid.uuid4()
    sent = statements_of(store)
    key = store.key_for(case, create=True, new=True)
    assert sent == ["INSERT"]
    # Another replica told the same (a retried save): the key stored first stays the key.
    assert other.key_for(case, create=True, new=True) == key
    assert DataKeyStore(database_url, master, "probe").key_for(case, create=False) == key


def test_a_batchs_keys_are_read_with_one_query_and_its_erased_aggregates_named(database_url):
    master = base64.b64encode(os.urandom(32)).decode()
    writer = DataKeyStore(database_url, master, "probe")
    kept = [uuid.uuid4() for _ in range(5)]
    keys = {case: writer.key_for(case, create=True, new=True) for case in kept}
    erased = uuid.uuid4()
    writer.key_for(erased, create=True, new=True)
    writer.destroy(erased)

    reader = DataKeyStore(database_url, master, "probe")
    sent = statements_of(reader)
    assert reader.prefetch([*kept, erased]) == {erased}
    assert sent == ["SELECT"]
    assert {case: reader.key_for(case, create=False) for case in kept} == keys
    assert sent == ["SELECT"], "the keys came from memory"
