"""notify: the tables as release b229732 made them with create_all (the history starts here)

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
        "notify_accessibility_feedback",
        sa.Column("feedback_id", sa.String(length=36), nullable=False),
        sa.Column("barrier", sa.Text(), nullable=False),
        sa.Column("page", sa.Text(), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_accessibility_feedback_received_at"),
        "notify_accessibility_feedback",
        ["received_at"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "notify_consent_changes",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("change_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_consent_changes_owner_id"),
        "notify_consent_changes",
        ["owner_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "notify_consents",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "channel"),
        if_not_exists=True,
    )
    op.create_table(
        "notify_mail_alerts",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("is_bescheid", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=60), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
        sa.UniqueConstraint("event_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_mail_alerts_state"), "notify_mail_alerts", ["state"], unique=False, if_not_exists=True
    )
    op.create_table(
        "notify_postfach_messages",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paper_delivery", sa.Boolean(), nullable=False),
        sa.Column("alert_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_delivery_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_postfach_messages_case_id"),
        "notify_postfach_messages",
        ["case_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_postfach_messages_owner_id"),
        "notify_postfach_messages",
        ["owner_id"],
        unique=False,
        if_not_exists=True,
    )
    op.create_table(
        "notify_processed_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
        if_not_exists=True,
    )
    op.create_table(
        "notify_reminders",
        sa.Column("reminder_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("subject_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("reminder_id"),
        sa.UniqueConstraint("kind", "case_id", "subject_date"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_reminders_due_on"), "notify_reminders", ["due_on"], unique=False, if_not_exists=True
    )
    op.create_table(
        "notify_staff_alerts",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("jobcenter_id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
        if_not_exists=True,
    )
    op.create_index(
        op.f("ix_notify_staff_alerts_jobcenter_id"),
        "notify_staff_alerts",
        ["jobcenter_id"],
        unique=False,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notify_staff_alerts_jobcenter_id"), table_name="notify_staff_alerts")
    op.drop_table("notify_staff_alerts")
    op.drop_index(op.f("ix_notify_reminders_due_on"), table_name="notify_reminders")
    op.drop_table("notify_reminders")
    op.drop_table("notify_processed_events")
    op.drop_index(op.f("ix_notify_postfach_messages_owner_id"), table_name="notify_postfach_messages")
    op.drop_index(op.f("ix_notify_postfach_messages_case_id"), table_name="notify_postfach_messages")
    op.drop_table("notify_postfach_messages")
    op.drop_index(op.f("ix_notify_mail_alerts_state"), table_name="notify_mail_alerts")
    op.drop_table("notify_mail_alerts")
    op.drop_table("notify_consents")
    op.drop_index(op.f("ix_notify_consent_changes_owner_id"), table_name="notify_consent_changes")
    op.drop_table("notify_consent_changes")
    op.drop_index(op.f("ix_notify_accessibility_feedback_received_at"), table_name="notify_accessibility_feedback")
    op.drop_table("notify_accessibility_feedback")
