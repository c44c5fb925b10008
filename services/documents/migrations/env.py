"""Alembic environment of the documents service: its tables only (see ``shared.migrate.is_own_table``)."""

from __future__ import annotations

from services.documents.metadata import metadata
from shared.migrate import run_environment

run_environment(metadata, "documents")
