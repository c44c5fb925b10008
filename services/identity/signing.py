"""Ed25519 signing keys, their rotation, the JWKS and the access tokens signed with them.

The newest key signs. Rotation adds a new key and marks the previous one retired; a retired key
stays in the JWKS for one token lifetime plus a minute, so every token it signed verifies until it
expires, and then it disappears. Private keys are stored encrypted with the service's secrets key.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.identity.schema import signing_keys
from services.identity.settings import IdentitySettings
from shared.auth import ALGORITHM, AUDIENCE, ISSUER

_PURPOSE = "signing-key"
RETIRED_KEY_GRACE = timedelta(minutes=1)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def create_key(session: Session, settings: IdentitySettings) -> str:
    """Add a new signing key that signs from now on; the previous ones retire. Returns its kid."""
    now = datetime.now(UTC)
    private = Ed25519PrivateKey.generate()
    kid = f"{now:%Y%m%d}-{uuid.uuid4().hex[:12]}"
    public_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    private_raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    session.execute(signing_keys.update().where(signing_keys.c.retired_at.is_(None)).values(retired_at=now))
    session.execute(
        signing_keys.insert().values(
            kid=kid,
            private_key_encrypted=settings.box.seal(private_raw, f"{_PURPOSE}:{kid}"),
            public_jwk={
                "kty": "OKP",
                "crv": "Ed25519",
                "x": _b64url(public_raw),
                "kid": kid,
                "alg": ALGORITHM,
                "use": "sig",
            },
            created_at=now,
        )
    )
    settings.private_keys[kid] = private
    return kid


def _signing_key(session: Session, settings: IdentitySettings) -> tuple[str, Ed25519PrivateKey]:
    row = (
        session.execute(
            select(signing_keys.c.kid, signing_keys.c.private_key_encrypted)
            .where(signing_keys.c.retired_at.is_(None))
            .order_by(signing_keys.c.created_at.desc())
        )
        .mappings()
        .first()
    )
    if row is None:
        kid = create_key(session, settings)
        return kid, settings.private_keys[kid]
    kid = str(row["kid"])
    if kid not in settings.private_keys:
        raw = settings.box.open(str(row["private_key_encrypted"]), f"{_PURPOSE}:{kid}")
        settings.private_keys[kid] = Ed25519PrivateKey.from_private_bytes(raw)
    return kid, settings.private_keys[kid]


def jwks(session: Session, settings: IdentitySettings) -> dict[str, Any]:
    """The public keys that verify tokens now: the signing key and recently retired ones."""
    _signing_key(session, settings)  # a fresh database gets its first key before anyone asks for it
    still_valid_after = datetime.now(UTC) - timedelta(seconds=settings.access_token_seconds) - RETIRED_KEY_GRACE
    rows = session.execute(
        select(signing_keys.c.public_jwk, signing_keys.c.retired_at).order_by(signing_keys.c.created_at.desc())
    ).mappings()
    keys = [
        dict(row["public_jwk"])
        for row in rows
        if row["retired_at"] is None or _aware(row["retired_at"]) > still_valid_after
    ]
    return {"keys": keys}


def issue_access_token(
    session: Session, settings: IdentitySettings, account: dict[str, Any], session_id: str, amr: list[str]
) -> dict[str, Any]:
    """A signed access token for an account in a session: ``{access_token, token_type, expires_in}``."""
    kid, key = _signing_key(session, settings)
    now = datetime.now(UTC)
    staff = account["role"] in ("caseworker", "team_lead")
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": account["account_id"],
        "role": account["role"],
        # Only staff act for a Jobcenter; a citizen's own Jobcenter is not a scope of authority.
        "inst": account["institution_id"] if staff else None,
        "amr": amr,
        "sid": session_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=settings.access_token_seconds)).timestamp()),
        "jti": str(uuid.uuid4()),
    }
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
    return {"access_token": token, "token_type": "Bearer", "expires_in": settings.access_token_seconds}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
