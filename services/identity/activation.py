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
from shared.errors import InvalidInput, NotFound

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
# Kundennummer of the Bundesagentur / Jobcenter: three digits, a letter, six digits (e.g. 922D123456).
CUSTOMER_NUMBER = re.compile(r"\d{3}[A-Z]\d{6}")
# The Jobcenter's stable id in the routing register (e.g. jc-0394), not its Träger-Nummer, which changes.
INSTITUTION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

LISTED_CODES = 500
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
    """The unused, unrevoked, unexpired code's row, or None (the caller does not learn which check failed)."""
    row = (
        session.execute(
            select(activation_codes).where(activation_codes.c.code_hash == fingerprint(normalise_code(code)))
        )
        .mappings()
        .first()
    )
    if row is None or row["used_at"] is not None or row["revoked_at"] is not None:
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


def state(row: dict[str, Any], now: datetime) -> str:
    """``used``, ``revoked``, ``expired`` or ``open`` (may still be redeemed)."""
    expires_at = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=UTC)
    if row["used_at"] is not None:
        return "used"
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if expires_at <= now else "open"


def codes_of(session: Session, institution_id: str | None) -> list[dict[str, Any]]:
    """The codes of one Jobcenter (None: of all), newest first, without their hashes."""
    query = select(activation_codes).order_by(activation_codes.c.issued_at.desc()).limit(LISTED_CODES)
    if institution_id is not None:
        query = query.where(activation_codes.c.institution_id == institution_id)
    now = datetime.now(UTC)
    listed = []
    for row in session.execute(query).mappings():
        shown = {key: value for key, value in row.items() if key != "code_hash"}
        for key in ("issued_at", "expires_at", "used_at", "revoked_at"):
            shown[key] = row[key].isoformat() if row[key] is not None else None
        listed.append({**shown, "state": state(dict(row), now)})
    return listed


def get(session: Session, code_id: str) -> dict[str, Any]:
    """The code's row; raises NotFound ``ACTIVATION_CODE_NOT_FOUND``."""
    row = session.execute(select(activation_codes).where(activation_codes.c.code_id == code_id)).mappings().first()
    if row is None:
        raise NotFound("ACTIVATION_CODE_NOT_FOUND", "Diesen Freischaltcode gibt es nicht.")
    return dict(row)


def revoke(session: Session, code_id: str, revoked_by: str) -> bool:
    """Revoke an unused code for good; False when it was used or revoked already."""
    result = session.execute(
        activation_codes.update()
        .where(
            activation_codes.c.code_id == code_id,
            activation_codes.c.used_at.is_(None),
            activation_codes.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC), revoked_by=revoked_by)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
