"""shared.datakeys: a key destroyed by one process stops working in the others within CACHE_SECONDS."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from shared import datakeys
from shared.datakeys import DataKeyStore, KeyDestroyed


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
