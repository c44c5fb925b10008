"""A software passkey authenticator: what a browser and a platform authenticator answer to WebAuthn.

It makes a P-256 key per credential, answers ``navigator.credentials.create`` with a "none"
attestation and ``navigator.credentials.get`` with a signed assertion, flags user presence and user
verification, and counts signatures. Built from ``cryptography`` and ``cbor2`` only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_ATTESTED_CREDENTIAL = 0x40


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str
    credentials: dict[str, Credential] = field(default_factory=dict)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """The PublicKeyCredential (JSON form) a browser returns for ``credentials.create(options)``."""
        rp_id = options["rp"]["id"]
        credential = Credential(
            os.urandom(16), ec.generate_private_key(ec.SECP256R1()), rp_id, from_b64url(options["user"]["id"])
        )
        self.credentials[b64url(credential.credential_id)] = credential
        numbers = credential.key.public_key().public_numbers()
        cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        attested = (
            bytes(16)
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cbor2.dumps(cose_key)
        )
        flags = FLAG_USER_PRESENT | FLAG_USER_VERIFIED | FLAG_ATTESTED_CREDENTIAL
        authenticator_data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", 0) + attested
        client_data = self._client_data("webauthn.create", options["challenge"])
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": authenticator_data})
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options: dict[str, Any], credential_id: str | None = None) -> dict[str, Any]:
        """The assertion a browser returns for ``credentials.get(options)`` with one stored passkey."""
        credential = self.credentials[credential_id or next(iter(self.credentials))]
        credential.sign_count += 1
        authenticator_data = (
            hashlib.sha256(credential.rp_id.encode()).digest()
            + bytes([FLAG_USER_PRESENT | FLAG_USER_VERIFIED])
            + struct.pack(">I", credential.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = credential.key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(authenticator_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()
