"""Accounts and their passwords (argon2id), stored with SQLAlchemy."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.errors import Conflict, InvalidInput, Unauthenticated

MINIMUM_PASSWORD_LENGTH = 12

metadata = MetaData()
accounts = Table(
    "identity_accounts",
    metadata,
    Column("account_id", String(36), primary_key=True),
    # Normalised (lower case) so that the same address cannot register twice.
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("institution_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps the answer time the same, so the
# time taken does not tell whether an address is registered.
_DUMMY_HASH = _hasher.hash("not-a-real-password-at-all")


class Role(StrEnum):
    CITIZEN = "citizen"
    CASEWORKER = "caseworker"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"


STAFF_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not at or not local or "." not in domain or len(value) > 254 or any(c.isspace() for c in value):
        raise InvalidInput("EMAIL_INVALID", "Bitte geben Sie eine gültige E-Mail-Adresse ein.")
    return value


def create_account(session: Session, email: str, password: str, role: str, institution_id: str | None = None) -> str:
    """Create an account; returns its random id. Raises InvalidInput or Conflict ``EMAIL_TAKEN``."""
    address = normalise_email(email)
    try:
        account_role = Role(role)
    except ValueError:
        raise InvalidInput("ROLE_UNKNOWN", "Diese Rolle gibt es nicht.") from None
    if account_role in STAFF_ROLES and not institution_id:
        raise InvalidInput("INSTITUTION_REQUIRED", "Mitarbeitende gehören zu genau einem Jobcenter.")
    if account_role not in STAFF_ROLES and institution_id:
        raise InvalidInput("INSTITUTION_NOT_ALLOWED", "Nur Mitarbeitende gehören zu einem Jobcenter.")
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise InvalidInput(
            "PASSWORD_TOO_SHORT", f"Das Passwort muss mindestens {MINIMUM_PASSWORD_LENGTH} Zeichen lang sein."
        )
    account_id = str(uuid.uuid4())
    try:
        with session.begin_nested():
            session.execute(
                accounts.insert().values(
                    account_id=account_id,
                    email=address,
                    password_hash=_hasher.hash(password),
                    role=account_role.value,
                    institution_id=institution_id,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        raise Conflict("EMAIL_TAKEN", "Für diese E-Mail-Adresse gibt es schon ein Konto.") from None
    return account_id


def authenticate(session: Session, email: str, password: str) -> dict[str, Any]:
    """The account for e-mail and password; raises Unauthenticated without saying which was wrong."""
    try:
        address = normalise_email(email)
    except InvalidInput:
        address = ""
    row = session.execute(select(accounts).where(accounts.c.email == address)).mappings().first()
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None:
        raise Unauthenticated("LOGIN_FAILED", "E-Mail-Adresse oder Passwort ist falsch.")
    if _hasher.check_needs_rehash(row["password_hash"]):
        session.execute(
            accounts.update()
            .where(accounts.c.account_id == row["account_id"])
            .values(password_hash=_hasher.hash(password))
        )
    return {"account_id": row["account_id"], "role": row["role"], "institution_id": row["institution_id"]}
