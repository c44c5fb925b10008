"""Alembic environment of the identity service: run by ``shared.sql.migrate`` with an open connection."""

from __future__ import annotations

from alembic import context

from services.identity.schema import is_own_table, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=context.config.attributes.get("version_table", "identity_alembic_version"),
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, type_, _parent: type_ != "table" or is_own_table(str(name)),
)
with context.begin_transaction():
    context.run_migrations()
