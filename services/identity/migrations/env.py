"""Alembic environment of the identity service: its tables only (see ``shared.migrate.is_own_table``)."""

from __future__ import annotations

from services.identity.schema import metadata
from shared.migrate import run_environment

run_environment(metadata, "identity")
