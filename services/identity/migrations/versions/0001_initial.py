"""accounts, activation codes, second factors, sessions, keys, throttles, audit

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
        "identity_accounts",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=True),
        sa.Column("customer_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("account_id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "identity_activation_codes",
        sa.Column("code_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_number", sa.String(length=32), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("code_id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "identity_audit_records",
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )
    with op.batch_alter_table("identity_audit_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_audit_records_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_audit_records_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "identity_one_time_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "identity_passkeys",
        sa.Column("credential_id", sa.String(length=400), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("credential_id"),
    )
    with op.batch_alter_table("identity_passkeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_passkeys_account_id"), ["account_id"], unique=False)

    op.create_table(
        "identity_recovery_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    with op.batch_alter_table("identity_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_recovery_codes_account_id"), ["account_id"], unique=False)

    op.create_table(
        "identity_sessions",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("identity_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_sessions_account_id"), ["account_id"], unique=False)

    op.create_table(
        "identity_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "identity_processed_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "identity_throttles",
        sa.Column("throttle_key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("throttle_key"),
    )
    op.create_table(
        "identity_totp_secrets",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("account_id"),
    )


def downgrade() -> None:
    op.drop_table("identity_totp_secrets")
    op.drop_table("identity_throttles")
    op.drop_table("identity_processed_events")
    op.drop_table("identity_signing_keys")
    with op.batch_alter_table("identity_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_sessions_account_id"))

    op.drop_table("identity_sessions")
    with op.batch_alter_table("identity_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_recovery_codes_account_id"))

    op.drop_table("identity_recovery_codes")
    with op.batch_alter_table("identity_passkeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_passkeys_account_id"))

    op.drop_table("identity_passkeys")
    op.drop_table("identity_one_time_tokens")
    with op.batch_alter_table("identity_audit_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_audit_records_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_identity_audit_records_account_id"))

    op.drop_table("identity_audit_records")
    op.drop_table("identity_activation_codes")
    op.drop_table("identity_accounts")
