"""Access tokens for tests: an issuer that signs like identity does, and a double of identity.

Services verify tokens offline with keys from identity's ``get_jwks`` RPC; in a service's own
tests ``FakeIdentity`` (a double for what lies outside the service) publishes the test issuer's
keys and answers ``get_contact``.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.rpc import rpc

from shared.auth import AUDIENCE, ISSUER


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Issuer:
    """Signs tokens like identity does and serves its JWKS, counting how often it was fetched."""

    def __init__(self) -> None:
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.fetches = 0
        self.rotate()

    def rotate(self) -> str:
        self.kid = uuid.uuid4().hex[:12]
        self.keys[self.kid] = Ed25519PrivateKey.generate()
        return self.kid

    def jwks(self) -> dict[str, Any]:
        self.fetches += 1
        return {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": kid,
                    "x": b64url(
                        key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                    ),
                }
                for kid, key in self.keys.items()
            ]
        }

    def token(self, lifetime: int = 300, kid: str | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "account-1",
            "role": "caseworker",
            "inst": "92204",
            "amr": ["pwd", "otp", "mfa"],
            "sid": "session-1",
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            **overrides,
        }
        kid = kid or self.kid
        return jwt.encode(claims, self.keys[kid], algorithm="EdDSA", headers={"kid": kid})

    def token_for(self, account_id: str, role: str = "citizen", institution_id: str | None = None) -> str:
        """A valid token of one account, as identity would issue it after a full login."""
        return self.token(sub=account_id, role=role, inst=institution_id, sid=f"session-{account_id}")


# One issuer per test process, so that FakeIdentity (a nameko service class) can serve its keys.
TEST_ISSUER = Issuer()
# Seeded contact data of the fake identity: tests check that none of it leaks where it must not.
CONTACT_NAME = "Erika Mustermann"
CONTACT_EMAIL = "erika.mustermann@example.org"


class FakeIdentity:
    """identity as other services see it: the JWKS and where to write to an account."""

    name = "identity"

    @rpc
    def get_jwks(self) -> dict[str, Any]:
        return TEST_ISSUER.jwks()

    @rpc
    def get_contact(self, account_id: str) -> dict[str, Any]:
        return {"email": CONTACT_EMAIL, "locale": "de", "display_name": CONTACT_NAME}


@pytest.fixture
def issue_token() -> Any:
    """``issue_token(account_id, role="citizen", institution_id=None)``: a valid access token."""
    return TEST_ISSUER.token_for
