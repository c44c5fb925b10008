"""The identity service's tables. Changes go through an Alembic migration in ``migrations/versions/``.

Secrets are never stored as given: passwords as argon2id hashes; activation codes, recovery codes,
session tokens and e-mailed links as SHA-256 of a high-entropy random value; TOTP secrets and
private signing keys encrypted with AES-GCM under the service's secrets key.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

from shared.sql import processed_events_table

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

metadata = MetaData()


def is_own_table(name: str) -> bool:
    """Whether a table of a (possibly shared) database is one of identity's, Alembic's record aside."""
    from shared.migrate import is_own_table as owned_by

    return owned_by("identity", name)


accounts = Table(
    "identity_accounts",
    metadata,
    Column("account_id", String(36), primary_key=True),
    # Normalised (lower case) so that the same address cannot register twice.
    Column("email", String(254), nullable=False, unique=True),
    # Empty until a staff member sets a password through the link they were sent.
    Column("password_hash", String(200), nullable=True),
    Column("role", String(20), nullable=False),
    # Staff: the Jobcenter they act for. Citizen: the Jobcenter whose activation code linked them.
    Column("institution_id", String(64), nullable=True),
    Column("customer_number", String(32), nullable=True),
    # Staff: how colleagues see them (reassignment, access record); None for citizens and older accounts.
    Column("display_name", String(100), nullable=True),
    # Citizen: the name they gave at registration or in the settings; None = not given (accounts made before
    # names were asked, staff, deleted accounts). ``name_key`` is what the inbox's name search compares:
    # both names in lower case without accents (accounts.search_key).
    Column("given_name", String(80), nullable=True),
    Column("family_name", String(80), nullable=True),
    Column("name_key", String(500), nullable=True),
    Column("status", String(30), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("email_confirmed_at", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
)

activation_codes = Table(
    "identity_activation_codes",
    metadata,
    Column("code_id", String(36), primary_key=True),
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("customer_number", String(32), nullable=False),
    Column("institution_id", String(64), nullable=False),
    Column("issued_by", String(36), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("used_by", String(36), nullable=True),
    # A revoked code can never be redeemed; who revoked it, and when, stays recorded.
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(36), nullable=True),
)

# Single-use secrets handed to a person or a browser: e-mail confirmation and reset links, login
# tickets between password and second factor, WebAuthn challenges.
one_time_tokens = Table(
    "identity_one_time_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(30), nullable=False),
    Column("account_id", String(36), nullable=True),
    Column("data", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

sessions = Table(
    "identity_sessions",
    metadata,
    Column("session_id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("account_id", String(36), nullable=False, index=True),
    Column("amr", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

totp_secrets = Table(
    "identity_totp_secrets",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("secret_encrypted", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True), nullable=True),
    # The last 30-second step a code was accepted for: the same code cannot be used twice.
    Column("last_used_step", BigInteger, nullable=True),
)

recovery_codes = Table(
    "identity_recovery_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("account_id", String(36), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

passkeys = Table(
    "identity_passkeys",
    metadata,
    Column("credential_id", String(400), primary_key=True),
    Column("account_id", String(36), nullable=False, index=True),
    Column("public_key", Text, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

signing_keys = Table(
    "identity_signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_key_encrypted", Text, nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set when a newer key takes over signing; the key stays published until its tokens expired.
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

# Failed attempts per login name (hashed, so unknown addresses are throttled exactly like known
# ones), per client address (hashed) and per purpose.
throttles = Table(
    "identity_throttles",
    metadata,
    Column("throttle_key", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True), nullable=True),
)

# Not used yet (identity consumes no events); declared so the migrations own every table of the service.
processed_events = processed_events_table(metadata, "identity")

audit_records = Table(
    "identity_audit_records",
    metadata,
    Column("record_id", String(36), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("account_id", String(36), nullable=True, index=True),
    Column("actor_id", String(36), nullable=True),
    Column("client_address", String(64), nullable=True),
    # Codes only (e.g. "LOGIN_FAILED", "role=caseworker"), never a password, code or address.
    Column("detail", String(200), nullable=True),
)
