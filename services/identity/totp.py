"""TOTP (RFC 6238, pyotp) as second factor, with one-time recovery codes for a lost phone."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity.schema import recovery_codes, totp_secrets
from services.identity.settings import IdentitySettings, fingerprint
from shared.errors import Conflict

ISSUER_NAME = "Jobcenter-Portal"
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_PURPOSE = "totp-secret"
STEP_SECONDS = 30


def start_enrolment(session: Session, settings: IdentitySettings, account_id: str, label: str) -> dict[str, str]:
    """A new, not yet confirmed secret for ``account_id``: ``{secret, otpauth_uri}``; replaces an unconfirmed one.

    ``label`` appears in the authenticator app; the caller chooses one without personal data.
    """
    secret = pyotp.random_base32()
    sealed = settings.box.seal(secret.encode(), f"{_PURPOSE}:{account_id}")
    existing = session.execute(select(totp_secrets).where(totp_secrets.c.account_id == account_id)).mappings().first()
    values = {"secret_encrypted": sealed, "created_at": datetime.now(UTC), "confirmed_at": None, "last_used_step": None}
    if existing is None:
        session.execute(totp_secrets.insert().values(account_id=account_id, **values))
    elif existing["confirmed_at"] is None:
        session.execute(totp_secrets.update().where(totp_secrets.c.account_id == account_id).values(**values))
    else:
        # Replacing a confirmed factor is a separate, deliberate flow (not yet offered): a half-done
        # change must never leave the account without its second factor.
        raise Conflict("TOTP_ALREADY_ENROLLED", "Für dieses Konto ist schon eine Authenticator-App eingerichtet.")
    return {"secret": secret, "otpauth_uri": pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER_NAME)}


def is_enrolled(session: Session, account_id: str) -> bool:
    row = session.execute(select(totp_secrets.c.confirmed_at).where(totp_secrets.c.account_id == account_id)).first()
    return row is not None and row.confirmed_at is not None


def secret_of(session: Session, settings: IdentitySettings, account_id: str) -> str | None:
    row = session.execute(
        select(totp_secrets.c.secret_encrypted).where(totp_secrets.c.account_id == account_id)
    ).first()
    return settings.box.open(row.secret_encrypted, f"{_PURPOSE}:{account_id}").decode() if row else None


def verify(session: Session, settings: IdentitySettings, account_id: str, code: str, confirming: bool = False) -> bool:
    """True when ``code`` is the current (±1 step) code and was not used before; records its step."""
    row = (
        session.execute(select(totp_secrets).where(totp_secrets.c.account_id == account_id).with_for_update())
        .mappings()
        .first()
    )
    if row is None or (row["confirmed_at"] is None) != confirming:
        return False
    secret = settings.box.open(row["secret_encrypted"], f"{_PURPOSE}:{account_id}").decode()
    candidate = "".join(code.split())
    now_step = int(time.time()) // STEP_SECONDS
    for step in (now_step, now_step - 1, now_step + 1):
        if secrets.compare_digest(pyotp.TOTP(secret).at(step * STEP_SECONDS), candidate):
            if row["last_used_step"] is not None and step <= row["last_used_step"]:
                return False  # replay of a code already used
            values: dict[str, Any] = {"last_used_step": step}
            if confirming:
                values["confirmed_at"] = datetime.now(UTC)
            session.execute(totp_secrets.update().where(totp_secrets.c.account_id == account_id).values(**values))
            return True
    return False


def new_recovery_codes(session: Session, account_id: str) -> list[str]:
    """Replace the account's recovery codes with ten new ones, returned once in clear."""
    session.execute(recovery_codes.delete().where(recovery_codes.c.account_id == account_id))
    codes = []
    now = datetime.now(UTC)
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        session.execute(
            recovery_codes.insert().values(code_hash=fingerprint(raw), account_id=account_id, created_at=now)
        )
    return codes


def use_recovery_code(session: Session, account_id: str, code: str) -> bool:
    """True once for each recovery code of the account."""
    raw = "".join(ch for ch in code.lower() if ch.isalnum())
    result = session.execute(
        recovery_codes.update()
        .where(
            recovery_codes.c.code_hash == fingerprint(raw),
            recovery_codes.c.account_id == account_id,
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
