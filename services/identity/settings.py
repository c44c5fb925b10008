"""The identity service's settings from its config, and the secrets key that protects stored secrets."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import eventlet
import eventlet.tpool
from argon2 import PasswordHasher, Type
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nameko.extensions import DependencyProvider

T = TypeVar("T")


class ThreadedPasswordHasher(PasswordHasher):
    """argon2 in a native thread: under eventlet a hash would otherwise stop every other request of the
    process for its whole duration (argon2-cffi releases the GIL, so two logins use two cores)."""

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return _off_the_hub(super().hash, password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        return _off_the_hub(super().verify, hash, password)


def _off_the_hub(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if eventlet.patcher.is_monkey_patched("thread"):
        return eventlet.tpool.execute(call, *args, **kwargs)
    return call(*args, **kwargs)


class SecretBox:
    """AES-GCM for the secrets identity must read back (TOTP secrets, private signing keys)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the identity secrets key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, purpose: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())).decode()

    def open(self, sealed: str, purpose: str) -> bytes:
        raw = base64.b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], purpose.encode())


def load_secrets_key(given: str, key_file: Path) -> bytes:
    """The configured key (base64 of 32 bytes), or the key file under RUN_DIR, made on first start."""
    if given:
        return base64.b64decode(given)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two instances starting together on one run folder end up with the same key.
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return base64.b64decode(key_file.read_text().strip())
    with os.fdopen(descriptor, "w") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return base64.b64decode(key_file.read_text().strip())


def fingerprint(value: str) -> str:
    """SHA-256 of a high-entropy secret (codes, links, session tokens): how it is stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class IdentitySettings:
    """Everything the identity domain needs from config, built once per container."""

    hasher: PasswordHasher
    box: SecretBox
    public_url: str
    webauthn_rp_id: str
    webauthn_origin: str
    webauthn_rp_name: str
    access_token_seconds: int
    session_idle_seconds: int
    session_max_seconds: int
    activation_code_days: int
    failures_before_lock: int
    address_failures_before_lock: int
    lock_base_seconds: int
    lock_max_seconds: int
    # Private keys already decrypted, by kid; keys never change once made.
    private_keys: dict[str, Any] = field(default_factory=dict)
    dummy_hash: str = ""
    # The service's own TokenVerifier, made on first use (see IdentityService._verifier).
    verifier: Any = None

    def __post_init__(self) -> None:
        # Verified when an address is unknown, so that the answer takes as long as for a known one.
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> IdentitySettings:
        argon2 = config["ARGON2"]
        tokens = config["TOKENS"]
        abuse = config["LOGIN_THROTTLE"]
        key = load_secrets_key(str(config["SECRETS"]["KEY"] or ""), Path(str(config["SECRETS"]["KEY_FILE"])))
        return cls(
            hasher=ThreadedPasswordHasher(
                time_cost=int(argon2["TIME_COST"]),
                memory_cost=int(argon2["MEMORY_KIB"]),
                parallelism=int(argon2["PARALLELISM"]),
                type=Type.ID,
            ),
            box=SecretBox(key),
            public_url=str(config["PORTAL_URL"]).rstrip("/"),
            webauthn_rp_id=str(config["WEBAUTHN"]["RP_ID"]),
            webauthn_origin=str(config["WEBAUTHN"]["ORIGIN"]).rstrip("/"),
            webauthn_rp_name=str(config["WEBAUTHN"]["RP_NAME"]),
            access_token_seconds=min(int(tokens["ACCESS_TOKEN_SECONDS"]), 600),
            session_idle_seconds=int(tokens["SESSION_IDLE_SECONDS"]),
            session_max_seconds=int(tokens["SESSION_MAX_SECONDS"]),
            activation_code_days=int(config["ACTIVATION_CODE_DAYS"]),
            failures_before_lock=int(abuse["FAILURES_BEFORE_LOCK"]),
            address_failures_before_lock=int(abuse["ADDRESS_FAILURES_BEFORE_LOCK"]),
            lock_base_seconds=int(abuse["LOCK_BASE_SECONDS"]),
            lock_max_seconds=int(abuse["LOCK_MAX_SECONDS"]),
        )


class Settings(DependencyProvider):
    """Gives each worker the container's :class:`IdentitySettings`."""

    def setup(self) -> None:
        self.settings = IdentitySettings.from_config(self.container.config)

    def get_dependency(self, worker_ctx: Any) -> IdentitySettings:
        return self.settings
