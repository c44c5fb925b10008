"""Passkeys (WebAuthn, py_webauthn): phishing-resistant login for citizens and staff alike.

A passkey is discoverable (the browser offers it without an e-mail address being typed) and must
verify the user (PIN or biometrics on the device), so on its own it counts as two factors.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import webauthn
from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from services.identity import tickets
from services.identity.schema import passkeys
from services.identity.settings import IdentitySettings
from shared.errors import Conflict, Unauthenticated

PASSKEY_REFUSED_MESSAGE = "Der Passkey konnte nicht geprüft werden."


def start_registration(session: Session, settings: IdentitySettings, account: dict[str, Any]) -> dict[str, Any]:
    """``{ticket, options}``: the options go to ``navigator.credentials.create``."""
    existing = session.execute(
        select(passkeys.c.credential_id).where(passkeys.c.account_id == account["account_id"])
    ).scalars()
    options = webauthn.generate_registration_options(
        rp_id=settings.webauthn_rp_id,
        rp_name=settings.webauthn_rp_name,
        user_name=account["email"],
        user_id=account["account_id"].encode(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(credential_id)) for credential_id in existing
        ],
    )
    ticket = tickets.issue(
        session,
        tickets.Purpose.PASSKEY_REGISTRATION,
        account["account_id"],
        {"challenge": bytes_to_base64url(options.challenge)},
    )
    return {"ticket": ticket, "options": json.loads(webauthn.options_to_json(options))}


def complete_registration(
    session: Session, settings: IdentitySettings, account_id: str, ticket: str, credential: dict[str, Any]
) -> str:
    """Store the new passkey after checking the authenticator's answer; returns its credential id."""
    pending = tickets.redeem(session, tickets.Purpose.PASSKEY_REGISTRATION, ticket)
    if pending["account_id"] != account_id:
        raise Unauthenticated("TICKET_INVALID", tickets.MESSAGES[tickets.Purpose.PASSKEY_REGISTRATION])
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(pending["data"]["challenge"]),
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_origin,
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError):
        raise Unauthenticated("PASSKEY_REFUSED", PASSKEY_REFUSED_MESSAGE) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.execute(select(passkeys.c.account_id).where(passkeys.c.credential_id == credential_id)).first():
        raise Conflict("PASSKEY_EXISTS", "Dieser Passkey ist schon eingerichtet.")
    session.execute(
        passkeys.insert().values(
            credential_id=credential_id,
            account_id=account_id,
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            created_at=datetime.now(UTC),
        )
    )
    return credential_id


def has_passkey(session: Session, account_id: str) -> bool:
    return (
        session.execute(select(passkeys.c.credential_id).where(passkeys.c.account_id == account_id)).first() is not None
    )


def start_login(session: Session, settings: IdentitySettings) -> dict[str, Any]:
    """``{ticket, options}`` for ``navigator.credentials.get``; no account named (discoverable passkeys)."""
    options = webauthn.generate_authentication_options(
        rp_id=settings.webauthn_rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    ticket = tickets.issue(
        session, tickets.Purpose.PASSKEY_LOGIN, None, {"challenge": bytes_to_base64url(options.challenge)}
    )
    return {"ticket": ticket, "options": json.loads(webauthn.options_to_json(options))}


def complete_login(session: Session, settings: IdentitySettings, ticket: str, credential: dict[str, Any]) -> str | None:
    """The account id the passkey belongs to when its assertion verifies, else None."""
    pending = tickets.redeem(session, tickets.Purpose.PASSKEY_LOGIN, ticket)
    credential_id = str(credential.get("id", "")) if isinstance(credential, dict) else ""
    stored = session.execute(select(passkeys).where(passkeys.c.credential_id == credential_id)).mappings().first()
    if stored is None:
        return None
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=webauthn.base64url_to_bytes(pending["data"]["challenge"]),
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_origin,
            credential_public_key=webauthn.base64url_to_bytes(stored["public_key"]),
            credential_current_sign_count=int(stored["sign_count"]),
            require_user_verification=True,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError):
        return None
    session.execute(
        passkeys.update()
        .where(passkeys.c.credential_id == credential_id)
        .values(sign_count=verified.new_sign_count, last_used_at=datetime.now(UTC))
    )
    return str(stored["account_id"])
