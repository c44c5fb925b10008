"""Access tokens: every service verifies them offline and checks the caller's role and Jobcenter itself.

identity signs short-lived JWTs with Ed25519 (``alg: EdDSA``) and publishes the public keys as a
JWKS, each key named by its ``kid``. A verifier here pins the algorithm (``none``, HS256 and every
other algorithm are refused before a key is even looked up), requires issuer, audience, expiry and
the portal's claims, and fetches the JWKS again only when a token names a ``kid`` it does not know,
at most once per ``refresh_interval`` so that random kids cannot make it hammer identity.

Logout is checked by identity itself (``verify_access_token`` RPC); other services accept a token
until it expires (≤ 10 minutes), which is why tokens are that short.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ServiceRpcProxy

from shared.errors import Forbidden, Unauthenticated, Unavailable
from shared.messaging import named_standalone

log = logging.getLogger(__name__)

ISSUER = "jobcenter-portal/identity"
AUDIENCE = "jobcenter-portal"
ALGORITHM = "EdDSA"
# Clocks of two machines disagree a little; more would stretch the token lifetime noticeably.
LEEWAY_SECONDS = 10
# Tokens already verified, kept so that the several calls of one page view check the signature once.
VERIFIED_CACHE_SIZE = 10_000
REQUIRED_CLAIMS = ("sub", "role", "amr", "sid", "exp", "iat", "jti", "iss", "aud")

CITIZEN = "citizen"
CASEWORKER = "caseworker"
TEAM_LEAD = "team_lead"
ADMIN = "admin"
# Roles whose every action is bound to the one Jobcenter named in their token's ``inst``.
INSTITUTION_SCOPED_ROLES = frozenset({CASEWORKER, TEAM_LEAD})

SECOND_FACTOR = "mfa"
SECOND_FACTOR_REQUIRED_MESSAGE = (
    "Bitte melden Sie sich mit Ihrem zweiten Faktor an (Authenticator-App oder Passkey), um weiterzumachen."
)
TOKEN_INVALID_MESSAGE = "Ihre Anmeldung ist nicht gültig. Bitte melden Sie sich erneut an."  # noqa: S105 - a message


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says about its bearer."""

    account_id: str
    role: str
    institution_id: str | None
    amr: tuple[str, ...]
    session_id: str
    token_id: str
    expires_at: int

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AccessClaims:
        institution = payload.get("inst")
        amr = payload.get("amr")
        if not (isinstance(institution, str | None) and isinstance(amr, list) and all(isinstance(a, str) for a in amr)):
            raise Unauthenticated("TOKEN_INVALID", TOKEN_INVALID_MESSAGE)
        return cls(
            account_id=str(payload["sub"]),
            role=str(payload["role"]),
            institution_id=institution,
            amr=tuple(amr),
            session_id=str(payload["sid"]),
            token_id=str(payload["jti"]),
            expires_at=int(payload["exp"]),
        )


def authorize(claims: AccessClaims, roles: Iterable[str], institution_id: str | None = None) -> None:
    """Raises Forbidden unless the bearer has one of ``roles`` and, when staff, belongs to ``institution_id``.

    Staff (caseworker, team lead) act only for the Jobcenter in their token; a role without a
    Jobcenter (admin, citizen) passes the scope check only because the caller listed it in ``roles``.
    """
    if claims.role not in set(roles):
        raise Forbidden("ROLE_NOT_ALLOWED", "Dafür fehlt Ihnen die Berechtigung.")
    if institution_id is not None and claims.role in INSTITUTION_SCOPED_ROLES:
        if claims.institution_id != institution_id:
            raise Forbidden("INSTITUTION_NOT_ALLOWED", "Das gehört zu einem anderen Jobcenter.")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key of one JWKS entry; ValueError for anything else."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        raise ValueError("not an Ed25519 signing key")
    raw = str(jwk["x"])
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


class TokenVerifier:
    """Verifies access tokens against a JWKS that it fetches on demand and caches."""

    def __init__(
        self,
        fetch_jwks: Callable[[], Mapping[str, Any]],
        refresh_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch_jwks = fetch_jwks
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at: float | None = None
        self._fetch_failed = False
        self._lock = threading.Lock()
        self._verified: OrderedDict[str, tuple[str, AccessClaims]] = OrderedDict()

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; raises Unauthenticated ``TOKEN_INVALID``, ``TOKEN_EXPIRED`` or
        ``TOKEN_KEY_UNKNOWN``, and Unavailable when the keys cannot be fetched.

        A token verified before is taken from memory while it has not expired and its key is still
        published: the same bytes verify the same way, and a signature check is the dearest part.
        """
        known = self._verified.get(token) if isinstance(token, str) else None
        if known is not None:
            kid, claims = known
            if kid in self._keys and time.time() <= claims.expires_at + LEEWAY_SECONDS:
                return claims
            self._verified.pop(token, None)
        kid, claims = self._verify(token)
        self._verified[token] = (kid, claims)
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> tuple[str, AccessClaims]:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, TypeError, ValueError):
            raise Unauthenticated("TOKEN_INVALID", TOKEN_INVALID_MESSAGE) from None
        kid = header.get("kid")
        # Pinned before anything else: "none", HMAC with the public key as secret and the rest never reach a key.
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise Unauthenticated("TOKEN_INVALID", TOKEN_INVALID_MESSAGE)
        key = self._key(kid)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(
                "TOKEN_EXPIRED", "Ihre Anmeldung ist abgelaufen. Bitte melden Sie sich erneut an."
            ) from None
        except jwt.PyJWTError:
            raise Unauthenticated("TOKEN_INVALID", TOKEN_INVALID_MESSAGE) from None
        claims = AccessClaims.from_payload(payload)
        # Defence in depth: identity issues no session without a second factor (RFC 8176 "mfa"); a token
        # that lacks it reaches no data, whoever signed it.
        if SECOND_FACTOR not in claims.amr:
            raise Unauthenticated("SECOND_FACTOR_REQUIRED", SECOND_FACTOR_REQUIRED_MESSAGE)
        return kid, claims

    def _key(self, kid: str) -> Ed25519PublicKey:
        key = self._keys.get(kid)
        if key is None:
            # Under the lock: a request arriving while another one's refresh is under way waits for its
            # keys instead of finding the interval just started and the new key not yet there.
            with self._lock:
                key = self._keys.get(kid)
                if key is None and self._may_refresh():
                    self._refresh()
                    key = self._keys.get(kid)
        if key is None and self._fetch_failed:
            # Not the token's fault: until identity answers again, "try later", never "log in again".
            raise _keys_unavailable()
        if key is None:
            raise Unauthenticated("TOKEN_KEY_UNKNOWN", TOKEN_INVALID_MESSAGE)
        return key

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._refresh_interval

    def refresh(self) -> None:
        """Fetch the JWKS now; keys no longer published are forgotten."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        self._fetched_at = self._clock()
        try:
            jwks = self._fetch_jwks()
        except Exception:
            log.exception("jwks_fetch_failed")
            self._fetch_failed = True
            raise _keys_unavailable() from None
        self._fetch_failed = False
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in jwks.get("keys", []):
            try:
                keys[str(jwk["kid"])] = public_key_from_jwk(jwk)
            except (KeyError, ValueError):
                log.warning("jwks_entry_ignored")
        self._keys = keys
        log.info("jwks_refreshed", extra={"count": len(keys)})


def _keys_unavailable() -> Unavailable:
    return Unavailable("KEYS_UNAVAILABLE", "Die Anmeldung kann gerade nicht geprüft werden. Bitte später erneut.")


class AccessTokens(DependencyProvider):
    """Gives a service the one :class:`TokenVerifier` of its container, fed from identity's ``get_jwks`` RPC."""

    def __init__(self, refresh_interval: float = 5.0) -> None:
        self.refresh_interval = refresh_interval

    def setup(self) -> None:
        self.verifier = TokenVerifier(self._fetch_jwks, self.refresh_interval)

    def _fetch_jwks(self) -> Mapping[str, Any]:
        proxy = named_standalone(ServiceRpcProxy, self.container.service_name)
        with proxy("identity", {"AMQP_URI": self.container.config["AMQP_URI"]}, timeout=5) as identity:
            jwks: Mapping[str, Any] = identity.get_jwks()
            return jwks

    def get_dependency(self, worker_ctx: Any) -> TokenVerifier:
        return self.verifier
