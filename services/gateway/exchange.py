"""One HTTP request as the API and the pages handle it: body, cookie, CSRF, access token, RPC."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import eventlet
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from services.gateway.errors import Refused
from services.gateway.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    GatewaySettings,
    RateLimiter,
    client_address,
    csrf_token,
    csrf_valid,
)
from services.gateway.session import AccessTokenCache, access_token_for
from shared.errors import Forbidden, InvalidInput, Unauthenticated

log = logging.getLogger(__name__)

UPLOAD_CHUNK_BYTES = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


CSRF_FAILED = Forbidden(
    "CSRF_FAILED",
    "Die Anfrage konnte nicht bestätigt werden. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON number")


def load_json(data: bytes) -> Any:
    """Standard JSON: Python's reader also takes NaN and Infinity, which no schema's minimum stops and no
    database's JSON type stores."""
    return json.loads(data or b"null", parse_constant=_refuse_constant)


@dataclass
class GatewayState:
    """What one gateway process keeps in memory: settings, cached access tokens, rate-limit counts."""

    settings: GatewaySettings
    tokens: AccessTokenCache = field(default_factory=AccessTokenCache)
    limiter: RateLimiter = field(default_factory=RateLimiter)


class RpcBackend:
    """The services behind the gateway, each call bounded by a timeout (``GATEWAY_RPC_TIMEOUT_SECONDS``)."""

    def __init__(self, service: Any, default_timeout: float) -> None:
        self.service = service
        self.default_timeout = default_timeout

    def call(self, service: str, method: str, *args: Any, timeout: float | None = None) -> Any:
        proxy = getattr(getattr(self.service, service), method)
        # A request nobody took up while the gateway waited expires in the queue: it must not run
        # later, after the citizen was told it failed (a submit, an upload, a message).
        seconds = timeout or self.default_timeout
        proxy.publisher.expiration = seconds
        try:
            with eventlet.Timeout(seconds, TimeoutError):
                return proxy.call_async(*args).result()
        except TimeoutError:
            # Which call ran out of time: the page or answer that follows says only "später noch einmal".
            log.warning("rpc_timeout", extra={"dependency": service, "method": method, "duration_ms": seconds * 1000})
            raise


class Exchange:
    """The request and what the gateway knows about it; each answer's cookie changes are collected here."""

    def __init__(self, request: Request, backend: RpcBackend, state: GatewayState, correlation: str) -> None:
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            # eventlet's server takes the chunks apart and ends the input where the body ends, but does not
            # say so; werkzeug then reads a body without Content-Length as empty ("Die Datei ist leer").
            request.environ["wsgi.input_terminated"] = True
        self.request = request
        self.backend = backend
        self.state = state
        self.settings = state.settings
        self.correlation = correlation
        self.new_session: str | None = None
        self.session_ended = False
        self._form: MultiDict[str, str] | None = None

    @property
    def client(self) -> str:
        # The socket's peer, or behind a proxy of GATEWAY_TRUSTED_PROXIES the client it names; identity
        # throttles per login name as well, so a shared address is not a bypass.
        return client_address(
            str(self.request.remote_addr or ""),
            self.request.headers.getlist("X-Forwarded-For"),
            self.settings.trusted_proxies,
        )

    @property
    def session_token(self) -> str | None:
        if self.session_ended:
            return None
        return self.new_session or self.request.cookies.get(self.settings.cookie_name) or None

    def access_token(self) -> str:
        """The session's access token; Unauthenticated when there is no session or it ended."""
        try:
            return access_token_for(self.state.tokens, self.session_token, self._refresh)
        except Unauthenticated:
            if self.session_token:
                self.session_ended = True  # the cookie is cleared in the answer
            raise

    def _refresh(self, session_token: str) -> dict[str, Any]:
        return dict(self.backend.call("identity", "refresh_access_token", session_token))

    def begin_session(self, session: dict[str, Any]) -> None:
        """Remember a session identity just opened; its token goes into the cookie of the answer."""
        self.new_session = str(session["session_token"])
        self.session_ended = False
        self.state.tokens.remember(self.new_session, str(session["access_token"]), int(session["expires_in"]))

    def end_session(self) -> None:
        if self.session_token:
            self.state.tokens.forget(self.session_token)
        self.session_ended = True

    # -- CSRF ------------------------------------------------------------------------------------

    def csrf_binding(self) -> str | None:
        """What the CSRF token is bound to: the session, else the pre-login form nonce cookie."""
        return self.session_token or self.request.cookies.get(self.settings.form_cookie_name) or None

    def csrf_token(self) -> str:
        binding = self.csrf_binding()
        return csrf_token(self.settings, binding) if binding else ""

    def check_csrf(self, presented: str | None = None) -> None:
        """Raises Forbidden ``CSRF_FAILED`` unless a state change carries the token of its session.

        API calls without a session (login, registration) must be JSON, which a foreign page cannot
        send without the browser asking first (CORS preflight, which the gateway never allows).
        """
        if self.request.method in SAFE_METHODS:
            return
        if presented is None:
            presented = self.request.headers.get(CSRF_HEADER)
        binding = self.request.cookies.get(self.settings.cookie_name) or None
        if binding is None and self.is_json():
            return
        if binding is None:
            binding = self.request.cookies.get(self.settings.form_cookie_name) or None
        if not csrf_valid(self.settings, binding, presented):
            raise CSRF_FAILED

    def is_json(self) -> bool:
        return self.request.mimetype == "application/json"

    # -- bodies and limits ---------------------------------------------------------------------

    def limit(self, action: str, per_minute: int) -> None:
        if not self.state.limiter.allow(action, self.client, per_minute):
            raise Refused(429, "TOO_MANY_REQUESTS", "Zu viele Versuche in kurzer Zeit. Bitte warten Sie eine Minute.")

    def body_bytes(self) -> bytes:
        """The body, refused with ``REQUEST_TOO_LARGE`` beyond ``GATEWAY_MAX_BODY_BYTES``."""
        limit = self.settings.max_body_bytes
        length = self.request.content_length
        if length is not None and length > limit:
            raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
        data = self.request.stream.read(limit + 1)
        if len(data) > limit:
            raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
        return bytes(data)

    def json(self) -> Any:
        if not self.is_json():
            raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Angaben als JSON (application/json).")
        try:
            return load_json(self.body_bytes())
        except ValueError as problem:
            raise InvalidInput("BODY_INVALID", "Die Angaben sind kein gültiges JSON.") from problem

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Angaben als JSON-Objekt.")
        return body

    def form(self) -> MultiDict[str, str]:
        """A url-encoded form body within the size limit."""
        if self._form is None:
            text = self.body_bytes().decode("utf-8", errors="replace")
            self._form = MultiDict(parse_qsl(text, keep_blank_values=True))
        return self._form

    def form_csrf(self) -> str | None:
        return self.form().get(CSRF_FIELD)

    def body_chunks(self) -> Iterator[bytes]:
        """The raw body, chunk by chunk, for streaming; never read whole."""
        stream = self.request.stream
        while chunk := stream.read(UPLOAD_CHUNK_BYTES):
            yield bytes(chunk)

    # -- answers -------------------------------------------------------------------------------

    def finish(self, response: Response) -> Response:
        """Set or clear the session cookie as this request decided; never cache personal answers."""
        name = self.settings.cookie_name
        secure = self.settings.secure
        if self.session_ended:
            response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
        elif self.new_session:
            response.set_cookie(
                name, self.new_session, path="/", secure=secure, httponly=True, samesite="Lax"
            )  # a session cookie: gone when the browser closes; identity ends the session anyway
        response.headers.setdefault("X-Correlation-ID", self.correlation)
        return response
