"""The routing service's SQL tables beside its event store, owned by the Alembic history in ``migrations/``.

Each case's data key (crypto-shredding, ``shared/datakeys.py``), how far the outbox relay got, and the
Jobcenters' contact details (``contacts.py``): the assignments themselves are events, in the
eventsourcing library's tables, which the library makes and no migration touches.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table

from shared.datakeys import data_keys_table
from shared.outbox import relay_positions_table

metadata = MetaData()
data_keys = data_keys_table(metadata, "routing")
outbox_position = relay_positions_table(metadata, "routing")
# Public institutional data, one row per Jobcenter that has set it (services/routing/contacts.py).
jobcenter_contacts = Table(
    "routing_jobcenter_contacts",
    metadata,
    Column("jobcenter_id", String(20), primary_key=True),
    Column("postal_street", String(100), nullable=False),
    Column("postal_postcode", String(5), nullable=False),
    Column("postal_city", String(80), nullable=False),
    Column("visitor_street", String(100), nullable=True),
    Column("visitor_postcode", String(5), nullable=True),
    Column("visitor_city", String(80), nullable=True),
    Column("phone", String(30), nullable=True),
    Column("email", String(254), nullable=True),
    Column("opening_hours", String(500), nullable=True),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
