"""A case's event log as Security Event Tokens (RFC 8417): one signed JWS per event.

Each SET is a JWT signed with the service's Ed25519 key (``alg: EdDSA``, header ``typ: secevent+jwt``
and ``kid`` = the key's RFC 7638 thumbprint, published in ``/.well-known/backoffice-keys.json``):

- ``iss`` ``jobcenter-portal/backoffice``, ``iat`` when signed, ``aud`` the Jobcenter id,
- ``jti`` the event's stable id (the same id its integration event carries: redelivered, it stays equal),
- ``sub`` the case id, ``toe`` the time of the event (unix seconds),
- ``events``: ``{"https://schema.jobcenter-portal.example/events/<type>": {...}}`` holding only ids and codes
  (e.g. ``jobcenter_id``, ``reason_code``, ``document_id``), never answers, messages or the owner's account.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ISSUER = "jobcenter-portal/backoffice"
EVENT_TYPE_BASE = "https://schema.jobcenter-portal.example/events/"
SET_TYPE = "secevent+jwt"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class EventSigner:
    """Signs SETs with one Ed25519 key and publishes its public half as a JWKS."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        public = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
        canonical = json.dumps(public, sort_keys=True, separators=(",", ":")).encode()
        self.kid = _b64url(hashlib.sha256(canonical).digest())
        self.public_jwk = {**public, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self.public_jwk)]}

    def sign(self, case_id: str, audience: str, entry: dict[str, Any], now: int) -> str:
        """The SET of one exported event (``event_id``, ``type``, ``at``, ``data``) for ``audience``."""
        claims = {
            "iss": ISSUER,
            "iat": now,
            "jti": entry["event_id"],
            "aud": audience,
            "sub": case_id,
            "toe": int(datetime.fromisoformat(entry["at"]).timestamp()),
            "events": {EVENT_TYPE_BASE + entry["type"]: dict(entry.get("data") or {})},
        }
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, "typ": SET_TYPE})
