"""What a receiving Jobcenter system runs: verify a callback from the portal, and a Security Event Token.

Callbacks: the portal POSTs a JSON body with two headers,

- ``Callback-Timestamp``: unix seconds when it was sent,
- ``Callback-Authentication``: lower-case hex of HMAC-SHA-512 with the client's callback secret (the
  string printed by ``create-client``, used as UTF-8 bytes) over ``<timestamp> + "." + <body>``, where
  ``<body>`` is the exact bytes received.

:func:`verify_callback` refuses a wrong signature, a timestamp older than 5 minutes (a replay) and one
more than 30 seconds in the future. :func:`verify_set` checks a SET's signature against the published
JWKS (``/.well-known/backoffice-keys.json``), its issuer and type, and returns its claims.

Only the standard library, PyJWT and cryptography are needed, so a receiver can copy this file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TIMESTAMP_HEADER = "Callback-Timestamp"
SIGNATURE_HEADER = "Callback-Authentication"
MAX_AGE_SECONDS = 300
MAX_FUTURE_SKEW_SECONDS = 30
ISSUER = "jobcenter-portal/backoffice"
SET_TYPE = "secevent+jwt"


class CallbackRefused(ValueError):
    """The callback is not from the portal, was altered, or is too old (a replay)."""


def callback_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA-512 over ``timestamp + "." + body`` with the callback secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha512).hexdigest()


def verify_callback(headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> dict[str, Any]:
    """The callback's JSON body if it is authentic and fresh; raises CallbackRefused otherwise."""
    lowered = {str(key).lower(): str(value) for key, value in headers.items()}
    timestamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    presented = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit() or not presented:
        raise CallbackRefused("timestamp or signature missing")
    expected = callback_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, presented.strip().lower()):
        raise CallbackRefused("signature does not match")
    moment = time.time() if now is None else now
    age = moment - int(timestamp)
    if age > MAX_AGE_SECONDS:
        raise CallbackRefused("timestamp too old")
    if age < -MAX_FUTURE_SKEW_SECONDS:
        raise CallbackRefused("timestamp in the future")
    payload = json.loads(body)
    if not isinstance(payload, dict):
        raise CallbackRefused("body is not an object")
    return payload


def verify_set(token: str, jwks: Mapping[str, Any], audience: str | None = None) -> dict[str, Any]:
    """The claims of a SET signed by a key of ``jwks``; raises ``jwt.PyJWTError`` when it is not valid."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "EdDSA" or header.get("typ") != SET_TYPE:
        raise jwt.InvalidTokenError("not a portal SET")
    for key in jwks.get("keys", []):
        if key.get("kid") == header.get("kid") and key.get("kty") == "OKP" and key.get("crv") == "Ed25519":
            raw = str(key["x"])
            public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=["EdDSA"],
                issuer=ISSUER,
                audience=audience,
                options={"verify_aud": audience is not None, "require": ["iss", "iat", "jti", "events"]},
            )
            return claims
    raise jwt.InvalidKeyError("no published key has this kid")
