"""The back-office clients of each Jobcenter: credentials, OAuth2 client-credentials tokens, callback URLs.

A client is one system of one Jobcenter (its e-file). Its ``client_secret`` is shown once and stored
as an argon2id hash. A token is an opaque random string (256 bits) valid ``BACKOFFICE_TOKEN_SECONDS``
and stored only as its SHA-256, so a copy of the database grants nothing; it names the client and
its Jobcenter. The callback secret is not stored at all: it is derived from the service's key, the
client id and the secret's generation (HKDF-SHA-256), so rotating the client's secret changes it too,
and changing ``BACKOFFICE_SIGNING_KEY`` changes every callback secret (rotate each client's secret then).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, insert, select, update

from services.backoffice.schema import access_tokens, clients
from shared.errors import InvalidInput, NotFound, Unauthenticated
from shared.sql import ServiceDatabase

log = logging.getLogger(__name__)

# Routing's stable ids of the Jobcenters (``jc-0394`` = Berlin Treptow-Köpenick).
JOBCENTER_ID = re.compile(r"jc-\d{4}")
# Client secrets are 256 random bits, not passwords: the argon2id cost only has to make a stolen hash
# useless, and every token request pays it (OWASP's minimum parameters).
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
CREDENTIALS_INVALID = Unauthenticated("CLIENT_CREDENTIALS_INVALID", "Client-ID oder Client-Secret sind falsch.")
TOKEN_INVALID = Unauthenticated("TOKEN_INVALID", "Das Zugangstoken ist ungültig oder abgelaufen.")
# A hash to verify against when the client id is unknown, so both answers take the same time.
_UNKNOWN_CLIENT_HASH = HASHER.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class Settings:
    """The service's settings from its config (see config.yaml)."""

    signing_key: Ed25519PrivateKey
    key_seed: bytes
    token_lifetime: timedelta
    page_size: int
    allow_http_callbacks: bool
    callback_max_attempts: int
    callback_backoff: timedelta
    callback_timeout: float

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        try:
            seed = base64.b64decode(str(config["SIGNING_KEY"]), validate=True)
            key = Ed25519PrivateKey.from_private_bytes(seed)
        except ValueError as problem:
            raise ValueError("BACKOFFICE_SIGNING_KEY must be base64 of 32 bytes") from problem
        callbacks = config["CALLBACKS"]
        return cls(
            signing_key=key,
            key_seed=seed,
            token_lifetime=timedelta(seconds=max(30, min(int(config["TOKEN_SECONDS"]), 3600))),
            page_size=max(1, min(int(config["PAGE_SIZE"]), 200)),
            allow_http_callbacks=bool(callbacks["ALLOW_HTTP"]),
            callback_max_attempts=max(1, int(callbacks["MAX_ATTEMPTS"])),
            callback_backoff=timedelta(seconds=float(callbacks["BACKOFF_SECONDS"])),
            callback_timeout=float(callbacks["TIMEOUT_SECONDS"]),
        )


@dataclass(frozen=True)
class Client:
    """A verified caller: which client, for which Jobcenter."""

    client_id: str
    jobcenter_id: str


def callback_secret(settings: Settings, client_id: str, generation: int) -> str:
    """The key with which callbacks to this client are signed (HMAC-SHA-512), as the client receives it."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"backoffice-callback:{client_id}:{generation}".encode()
    ).derive(settings.key_seed)
    return base64.urlsafe_b64encode(derived).rstrip(b"=").decode()


def check_callback_url(url: str | None, allow_http: bool) -> str | None:
    """The URL if callbacks may go there: https (http only when allowed, for local tests), with a host."""
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("CALLBACK_URL_INVALID", "Die Callback-Adresse muss mit https:// beginnen.")
    return url


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Clients:
    """The registry of clients and their tokens, over the service's database."""

    def __init__(self, db: ServiceDatabase, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # -- the operator's commands --------------------------------------------------------------------

    def create(self, jobcenter_id: str, callback_url: str | None = None) -> dict[str, Any]:
        """A new client of a Jobcenter; the answer holds its secrets, which are shown this once."""
        if not JOBCENTER_ID.fullmatch(jobcenter_id):
            raise InvalidInput("JOBCENTER_ID_INVALID", "Die Jobcenter-ID hat die Form jc-0394.")
        url = check_callback_url(callback_url, self.settings.allow_http_callbacks)
        client_id = f"bo-{secrets.token_hex(8)}"
        secret = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            session.execute(
                insert(clients).values(
                    client_id=client_id,
                    jobcenter_id=jobcenter_id,
                    secret_hash=HASHER.hash(secret),
                    secret_generation=1,
                    callback_url=url,
                    created_at=datetime.now(UTC),
                )
            )
        log.info("backoffice_client_created", extra={"institution_id": jobcenter_id})
        return self._credentials(client_id, jobcenter_id, secret, 1, url)

    def rotate_secret(self, client_id: str) -> dict[str, Any]:
        """A new client secret and callback secret; the old ones stop working at once, tokens too."""
        secret = secrets.token_urlsafe(32)
        with self.db.transaction() as session:
            row = self._row(session, client_id)
            generation = int(row["secret_generation"]) + 1
            session.execute(
                update(clients)
                .where(clients.c.client_id == client_id)
                .values(secret_hash=HASHER.hash(secret), secret_generation=generation)
            )
            session.execute(delete(access_tokens).where(access_tokens.c.client_id == client_id))
        return self._credentials(client_id, str(row["jobcenter_id"]), secret, generation, row["callback_url"])

    def disable(self, client_id: str) -> None:
        """The client can no longer get tokens; its tokens end now, its pending callbacks are not sent."""
        with self.db.transaction() as session:
            self._row(session, client_id)
            session.execute(
                update(clients)
                .where(clients.c.client_id == client_id, clients.c.disabled_at.is_(None))
                .values(disabled_at=datetime.now(UTC))
            )
            session.execute(delete(access_tokens).where(access_tokens.c.client_id == client_id))

    def _credentials(
        self, client_id: str, jobcenter_id: str, secret: str, generation: int, url: str | None
    ) -> dict[str, Any]:
        return {
            "client_id": client_id,
            "client_secret": secret,
            "jobcenter_id": jobcenter_id,
            "callback_url": url,
            "callback_secret": callback_secret(self.settings, client_id, generation),
        }

    @staticmethod
    def _row(session: Any, client_id: str) -> Any:
        row = session.execute(select(clients).where(clients.c.client_id == client_id)).mappings().first()
        if row is None:
            raise NotFound("CLIENT_NOT_FOUND", "Diesen Client gibt es nicht.")
        return row

    # -- OAuth2 client credentials -----------------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """``{access_token, token_type, expires_in}`` for valid credentials; Unauthenticated otherwise."""
        with self.db.transaction() as session:
            row = session.execute(select(clients).where(clients.c.client_id == str(client_id)[:64])).mappings().first()
        try:
            HASHER.verify(row["secret_hash"] if row is not None else _UNKNOWN_CLIENT_HASH, str(client_secret))
        except (VerificationError, InvalidHashError):
            raise CREDENTIALS_INVALID from None
        if row is None or row["disabled_at"] is not None:
            raise CREDENTIALS_INVALID
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.db.transaction() as session:
            session.execute(delete(access_tokens).where(access_tokens.c.expires_at < now))
            session.execute(
                insert(access_tokens).values(
                    token_hash=_token_hash(token),
                    client_id=row["client_id"],
                    jobcenter_id=row["jobcenter_id"],
                    expires_at=now + self.settings.token_lifetime,
                )
            )
        log.info("backoffice_token_issued", extra={"institution_id": row["jobcenter_id"]})
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.settings.token_lifetime.total_seconds()),
        }

    def verify_token(self, token: str, now: datetime | None = None) -> Client:
        """The client a bearer token was issued to; Unauthenticated ``TOKEN_INVALID`` when unknown or expired."""
        if not isinstance(token, str) or not token or len(token) > 200:
            raise TOKEN_INVALID
        moment = now or datetime.now(UTC)
        with self.db.transaction() as session:
            row = (
                session.execute(
                    select(access_tokens.c.client_id, access_tokens.c.jobcenter_id, access_tokens.c.expires_at)
                    .join(clients, clients.c.client_id == access_tokens.c.client_id)
                    .where(access_tokens.c.token_hash == _token_hash(token), clients.c.disabled_at.is_(None))
                )
                .mappings()
                .first()
            )
        if row is None or _aware(row["expires_at"]) <= moment:
            raise TOKEN_INVALID
        return Client(str(row["client_id"]), str(row["jobcenter_id"]))

    def callback_targets(self, session: Any, jobcenter_id: str) -> list[Any]:
        """The enabled clients of a Jobcenter that registered a callback URL."""
        return list(
            session.execute(
                select(clients.c.client_id).where(
                    clients.c.jobcenter_id == jobcenter_id,
                    clients.c.disabled_at.is_(None),
                    clients.c.callback_url.is_not(None),
                )
            ).scalars()
        )


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
