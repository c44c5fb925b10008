"""The routing service's SQL tables beside its event store, owned by the Alembic history in ``migrations/``.

Each case's data key (crypto-shredding, ``shared/datakeys.py``) and how far the outbox relay got: the
assignments themselves are events, in the eventsourcing library's tables, which the library makes and
no migration touches.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from shared.datakeys import data_keys_table
from shared.outbox import relay_positions_table

metadata = MetaData()
data_keys = data_keys_table(metadata, "routing")
outbox_position = relay_positions_table(metadata, "routing")
