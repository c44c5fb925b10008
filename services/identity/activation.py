"""Activation codes ("Freischaltcode"): issued by a Jobcenter for one customer number, used once.

A code is 16 characters from an alphabet without look-alikes (80 random bits), shown as four
groups; only its SHA-256 is stored, so the code exists in clear only on the letter. It expires
after ``activation_code_days``; wrong codes count against the client address (see ``throttle``).
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity.schema import activation_codes
from services.identity.settings import IdentitySettings, fingerprint
from shared.errors import InvalidInput

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
# Kundennummer of the Bundesagentur / Jobcenter: three digits, a letter, six digits (e.g. 922D123456).
CUSTOMER_NUMBER = re.compile(r"\d{3}[A-Z]\d{6}")
# The Jobcenter's stable id in the routing register (e.g. jc-0394), not its Träger-Nummer, which changes.
INSTITUTION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

CODE_REFUSED_MESSAGE = "Der Freischaltcode ist nicht gültig, abgelaufen oder schon benutzt."


def normalise_customer_number(customer_number: str) -> str:
    value = re.sub(r"\s", "", customer_number).upper()
    if not CUSTOMER_NUMBER.fullmatch(value):
        raise InvalidInput(
            "CUSTOMER_NUMBER_INVALID", "Die Kundennummer hat drei Ziffern, einen Buchstaben und sechs Ziffern."
        )
    return value


def check_institution_id(institution_id: str) -> str:
    if not INSTITUTION_ID.fullmatch(institution_id or ""):
        raise InvalidInput("INSTITUTION_INVALID", "Diese Jobcenter-Kennung ist ungültig.")
    return institution_id


def normalise_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue(
    session: Session, settings: IdentitySettings, customer_number: str, institution_id: str, issued_by: str | None
) -> dict[str, Any]:
    """A new code for ``customer_number`` of ``institution_id``: ``{code_id, code, expires_at}``.

    The clear code is returned once, for the letter; it cannot be read back later.
    """
    number = normalise_customer_number(customer_number)
    check_institution_id(institution_id)
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=settings.activation_code_days)
    code_id = str(uuid.uuid4())
    session.execute(
        activation_codes.insert().values(
            code_id=code_id,
            code_hash=fingerprint(code),
            customer_number=number,
            institution_id=institution_id,
            issued_by=issued_by,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    return {
        "code_id": code_id,
        "code": display_code(code),
        "customer_number": number,
        "institution_id": institution_id,
        "expires_at": expires_at.isoformat(),
    }


def find_redeemable(session: Session, code: str) -> dict[str, Any] | None:
    """The unused, unexpired code's row, or None (the caller does not learn which of the three failed)."""
    row = (
        session.execute(
            select(activation_codes).where(activation_codes.c.code_hash == fingerprint(normalise_code(code)))
        )
        .mappings()
        .first()
    )
    if row is None or row["used_at"] is not None:
        return None
    expires_at = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=UTC)
    return dict(row) if expires_at > datetime.now(UTC) else None


def mark_used(session: Session, code_id: str, account_id: str) -> bool:
    """Use the code once; False when another registration used it first."""
    result = session.execute(
        activation_codes.update()
        .where(activation_codes.c.code_id == code_id, activation_codes.c.used_at.is_(None))
        .values(used_at=datetime.now(UTC), used_by=account_id)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
