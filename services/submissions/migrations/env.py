"""Alembic environment of the submissions service: its tables only (see ``shared.migrate.is_own_table``)."""

from __future__ import annotations

from services.submissions.schema import metadata
from shared.migrate import run_environment

run_environment(metadata, "submissions")
