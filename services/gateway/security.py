"""What protects every HTTP answer: settings, the session cookie, CSRF tokens, headers, rate limits."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.gateway.legal import Operator

log = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Browsers only accept a __Host- cookie over HTTPS, with Path=/ and no Domain: it cannot be set by a
# sibling subdomain, so it is used whenever the cookie is Secure.
SECURE_COOKIE_NAME = "__Host-jc_session"
PLAIN_COOKIE_NAME = "jc_session"
FORM_NONCE_COOKIE = "jc_form"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class GatewaySettings:
    """The gateway's own settings, read once from its config."""

    secret: bytes
    secure: bool
    max_body_bytes: int
    login_per_minute: int
    upload_per_minute: int
    finder_per_minute: int = 60
    # How long the gateway waits for a service's answer before it says 503 ("später noch einmal").
    rpc_timeout_seconds: float = 5.0
    # GATEWAY_TRUSTED_PROXIES: only behind these may X-Forwarded-For name the client.
    trusted_proxies: tuple[IpNetwork, ...] = ()
    # OPERATOR_*: who runs the portal, for the legal pages (services/gateway/legal.py)
    operator: Operator = field(default_factory=lambda: Operator.from_config({}))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GatewaySettings:
        configured = str(config.get("GATEWAY_SECRET") or "")
        if configured:
            secret = configured.encode()
        else:
            # Fine for one local process; several instances must share GATEWAY_SECRET or their CSRF
            # tokens disagree.
            log.warning("gateway_secret_generated")
            secret = secrets.token_bytes(32)
        return cls(
            secret=secret,
            secure=served_over_https(config),
            max_body_bytes=int(config.get("GATEWAY_MAX_BODY_BYTES", 65536)),
            login_per_minute=int(config.get("GATEWAY_LOGIN_RATE_PER_MINUTE", 10)),
            upload_per_minute=int(config.get("GATEWAY_UPLOAD_RATE_PER_MINUTE", 20)),
            finder_per_minute=int(config.get("GATEWAY_FINDER_RATE_PER_MINUTE", 60)),
            rpc_timeout_seconds=float(config.get("GATEWAY_RPC_TIMEOUT_SECONDS", 5)),
            trusted_proxies=parse_networks(str(config.get("GATEWAY_TRUSTED_PROXIES") or "")),
            operator=Operator.from_config(config),
        )

    @property
    def cookie_name(self) -> str:
        return SECURE_COOKIE_NAME if self.secure else PLAIN_COOKIE_NAME

    @property
    def form_cookie_name(self) -> str:
        return f"__Host-{FORM_NONCE_COOKIE}" if self.secure else FORM_NONCE_COOKIE


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """``10.0.0.0/8, 192.168.1.7`` as networks; raises ValueError on a typo, so a bad setting stops the start."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[IpNetwork, ...]) -> str:
    """The address a request came from: the socket's peer, or behind trusted proxies the rightmost
    ``X-Forwarded-For`` hop that is not one of them (hops left of it could be made up by the client)."""

    def is_trusted(address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    closest = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return closest  # garbage in the header: the last address a trusted proxy vouched for
        if not is_trusted(hop):
            return hop
        closest = hop
    return closest


def served_over_https(config: dict[str, Any]) -> bool:
    """``GATEWAY_SECURE_COOKIES``: Secure cookies and HSTS; off only for local http."""
    value = config.get("GATEWAY_SECURE_COOKIES", False)
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


def csrf_token(settings: GatewaySettings, binding: str) -> str:
    """The CSRF token bound to a session token (or, before login, to the form nonce cookie)."""
    return hmac.new(settings.secret, b"csrf\0" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(settings: GatewaySettings, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented:
        return False
    return hmac.compare_digest(csrf_token(settings, binding), presented)


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """Headers every answer carries; HSTS only when the portal is served over HTTPS."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(self), geolocation=(), microphone=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


class SecurityHeaders:
    """WSGI middleware: the security headers on every answer, including the router's own 404/405.

    Answers that do not say how to cache them are personal: ``Cache-Control: no-store``.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], secure: bool) -> None:
        self.app = app
        self.headers = security_headers(secure)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers = [*headers, *((name, value) for name, value in self.headers if name.lower() not in present)]
            if "cache-control" not in present:
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


class RateLimiter:
    """A sliding one-minute window per (action, client address), in this process's memory only.

    Several gateway instances each count on their own, so the real limit is the configured one times
    the number of instances; identity's own throttles stay the authority for logins.
    """

    WINDOW_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.hits: dict[tuple[str, str], list[float]] = {}
        self.lock = threading.Lock()

    def allow(self, action: str, client: str, per_minute: int) -> bool:
        """Count one attempt; False when the client already made ``per_minute`` within the window."""
        now = self.clock()
        key = (action, client)
        with self.lock:
            recent = [at for at in self.hits.get(key, []) if now - at < self.WINDOW_SECONDS]
            if len(recent) >= per_minute:
                self.hits[key] = recent
                return False
            recent.append(now)
            self.hits[key] = recent
            if len(self.hits) > 50_000:  # forget idle clients so memory stays bounded
                self.hits = {k: v for k, v in self.hits.items() if v and now - v[-1] < self.WINDOW_SECONDS}
            return True
