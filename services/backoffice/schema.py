"""The backoffice service's tables: its clients, their tokens, the cases per Jobcenter, clean documents, callbacks.

Every name starts with ``backoffice_``, so the tables can share a PostgreSQL database with other services'.
No table holds a secret as given: client secrets as argon2id hashes, access tokens as SHA-256 hashes.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text

from shared.sql import processed_events_table

metadata = MetaData()

clients = Table(
    "backoffice_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("jobcenter_id", String(64), nullable=False, index=True),
    Column("secret_hash", String(200), nullable=False),
    # Bumped by every rotation: the callback secret derives from it (see clients.callback_secret).
    Column("secret_generation", Integer, nullable=False),
    Column("callback_url", String(2000), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)

access_tokens = Table(
    "backoffice_access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("jobcenter_id", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

# One row per case assigned to a Jobcenter, from submissions' events: what the listing reads.
cases = Table(
    "backoffice_cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("jobcenter_id", String(64), nullable=False),
    Column("state", String(20), nullable=False),  # new, accepted, rejected, gone
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("backoffice_cases_listing", "jobcenter_id", "state", "assigned_at"),
)

# Documents that passed documents' checks, from its events: only these are offered for download.
clean_documents = Table(
    "backoffice_clean_documents",
    metadata,
    Column("document_id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False, index=True),
    Column("nachweis", String(100), nullable=False),
    Column("content_type", String(100), nullable=True),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
)

callbacks = Table(
    "backoffice_callbacks",
    metadata,
    Column("callback_id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(20), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_status", String(40), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("backoffice_callbacks_due", "state", "next_attempt_at"),
)

# The events of submissions and documents applied so far (shared.sql.ServiceDatabase.apply_once).
processed_events = processed_events_table(metadata, "backoffice")
