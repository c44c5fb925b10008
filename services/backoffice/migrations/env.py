"""Alembic environment of the backoffice service: its tables only (see ``shared.migrate.is_own_table``)."""

from __future__ import annotations

from services.backoffice.schema import metadata
from shared.migrate import run_environment

run_environment(metadata, "backoffice")
