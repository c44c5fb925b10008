"""documents: the tables as release b229732 made them with create_all (the history starts here)

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
        "documents_access_record",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_documents_access_record_document_id"),
        "documents_access_record",
        ["document_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "documents_documents",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("nachweis", sa.String(length=64), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("max_bytes", sa.BigInteger(), nullable=False),
        sa.Column("declared_size", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=50), nullable=True),
        sa.Column("stored_size", sa.BigInteger(), nullable=True),
        sa.Column("stored_sha256", sa.String(length=64), nullable=True),
        sa.Column("scan_result", sa.String(length=200), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("quality_hints", sa.JSON(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=True),
        sa.Column("multipart_id", sa.String(length=300), nullable=True),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("document_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_documents_documents_case_id"), "documents_documents", ["case_id"], unique=False, if_not_exists=True
    )
    op.create_index(
        op.f("ix_documents_documents_state"), "documents_documents", ["state"], unique=False, if_not_exists=True
    )
    op.create_index(
        op.f("ix_documents_documents_updated_at"),
        "documents_documents",
        ["updated_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "documents_outbox",
        sa.Column("position", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("aggregate_id", sa.String(length=64), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.String(length=40), nullable=False),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("event_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_documents_outbox_published_at"), "documents_outbox", ["published_at"], unique=False, if_not_exists=True
    )
    op.create_table(
        "documents_processed_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("documents_processed_events")
    op.drop_index(op.f("ix_documents_outbox_published_at"), table_name="documents_outbox")
    op.drop_table("documents_outbox")
    op.drop_index(op.f("ix_documents_documents_updated_at"), table_name="documents_documents")
    op.drop_index(op.f("ix_documents_documents_state"), table_name="documents_documents")
    op.drop_index(op.f("ix_documents_documents_case_id"), table_name="documents_documents")
    op.drop_table("documents_documents")
    op.drop_index(op.f("ix_documents_access_record_document_id"), table_name="documents_access_record")
    op.drop_table("documents_access_record")
