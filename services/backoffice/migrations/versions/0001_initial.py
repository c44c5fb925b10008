"""backoffice: the tables as release b229732 made them with create_all (the history starts here)

Every table and index is created only when missing, so that a database of that release adopts
the history without hand work (``if_not_exists``); a fresh database gets them all.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backoffice_access_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jobcenter_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_backoffice_access_tokens_expires_at"),
        "backoffice_access_tokens",
        ["expires_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "backoffice_callbacks",
        sa.Column("callback_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("callback_id"),
        if_not_exists=True,
    )
    op.create_index(
        "backoffice_callbacks_due",
        "backoffice_callbacks",
        ["state", "next_attempt_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "backoffice_cases",
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("jobcenter_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
        if_not_exists=True,
    )
    op.create_index(
        "backoffice_cases_listing",
        "backoffice_cases",
        ["jobcenter_id", "state", "assigned_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "backoffice_clean_documents",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("nachweis", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_backoffice_clean_documents_case_id"),
        "backoffice_clean_documents",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "backoffice_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jobcenter_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=False),
        sa.Column("secret_generation", sa.Integer(), nullable=False),
        sa.Column("callback_url", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_backoffice_clients_jobcenter_id"),
        "backoffice_clients",
        ["jobcenter_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "backoffice_processed_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("backoffice_processed_events")
    op.drop_index(op.f("ix_backoffice_clients_jobcenter_id"), table_name="backoffice_clients")
    op.drop_table("backoffice_clients")
    op.drop_index(op.f("ix_backoffice_clean_documents_case_id"), table_name="backoffice_clean_documents")
    op.drop_table("backoffice_clean_documents")
    op.drop_index("backoffice_cases_listing", table_name="backoffice_cases")
    op.drop_table("backoffice_cases")
    op.drop_index("backoffice_callbacks_due", table_name="backoffice_callbacks")
    op.drop_table("backoffice_callbacks")
    op.drop_index(op.f("ix_backoffice_access_tokens_expires_at"), table_name="backoffice_access_tokens")
    op.drop_table("backoffice_access_tokens")
