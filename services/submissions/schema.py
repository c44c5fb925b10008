"""The submissions service's SQL tables beside its event store, owned by the Alembic history in ``migrations/``.

A change to a table here goes with a new revision (docs/migrations.md). Not here, and not in the
history: the event store's tables (the eventsourcing library makes them) and the read models
(``readmodel.py``: disposable, versioned by name, built from the events).
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table

from shared.datakeys import data_keys_table
from shared.outbox import relay_positions_table

metadata = MetaData()

# The record of every opening of a case by staff (accesslog.py); not disposable, unlike a read model.
staff_access = Table(
    "submissions_staff_access",
    metadata,
    Column("access_id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("role", String(20), nullable=False),
    Column("institution_id", String(64), nullable=True),
    Column("action", String(30), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("submissions_staff_access_case", "case_id", "at"),
    Index("submissions_staff_access_institution", "institution_id", "at"),
    Index("submissions_staff_access_at", "at"),
)
# Each case's own data key (crypto-shredding, shared/datakeys.py) and how far the outbox relay got.
data_keys = data_keys_table(metadata, "submissions")
outbox_position = relay_positions_table(metadata, "submissions")
