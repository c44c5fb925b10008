"""The gateway service: HTTP in, RPC out. The JSON API, the citizen's pages, health for operators."""

from __future__ import annotations

import json
import logging
from typing import Any

import eventlet
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.routing import Map, PathConverter
from werkzeug.wrappers import Request, Response

from services.gateway import api, backoffice_api, pages
from services.gateway.errors import response_for
from services.gateway.exchange import Exchange, GatewayState, RpcBackend
from services.gateway.security import GatewaySettings, SecurityHeaders, served_over_https
from shared.correlation import CONTEXT_KEY, HTTP_HEADER, accepted_or_new
from shared.service import PortalService

log = logging.getLogger(__name__)

BACKEND_SERVICES = ("identity", "submissions", "documents", "routing", "notify", "backoffice")
HEALTH_TIMEOUT_SECONDS = 3.0
JWKS_TIMEOUT_SECONDS = 5.0


class AnyCharacterPathConverter(PathConverter):
    """``<path:...>`` that also matches a newline: werkzeug's stops there, and the request then got
    werkzeug's HTML 404 instead of the API's JSON error (found by schemathesis)."""

    regex = "[^/](?s:.)*?"


class CorrelatingWebServer(WebServer):
    """Starts each request's correlation id from the client's header, or mints one."""

    def context_data_from_headers(self, request: Request) -> dict[str, str]:
        return {CONTEXT_KEY: accepted_or_new(request.headers.get(HTTP_HEADER))}

    def make_url_map(self) -> Map:
        url_map = Map(converters={"path": AnyCharacterPathConverter})
        for provider in self._providers:
            rule = provider.get_url_rule()
            rule.endpoint = provider
            url_map.add(rule)
        return url_map

    def get_wsgi_app(self) -> Any:
        return SecurityHeaders(WsgiApp(self), served_over_https(self.container.config))


class Gateway(DependencyProvider):
    """The process's settings, cached access tokens and rate-limit counts, made in ``setup()``."""

    def setup(self) -> None:
        self.state = GatewayState(GatewaySettings.from_config(self.container.config))

    def get_dependency(self, worker_ctx: Any) -> GatewayState:
        return self.state


class PortalHttp(HttpRequestHandler):
    server = CorrelatingWebServer()


http = PortalHttp.decorator


def json_response(payload: Any, correlation_id: str, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers={HTTP_HEADER: correlation_id, "Cache-Control": "no-store"},
    )


class GatewayService(PortalService):
    name = "gateway"

    config: dict[str, Any] = Config()
    state: GatewayState = Gateway()
    identity: Any = RpcProxy("identity")
    submissions: Any = RpcProxy("submissions")
    documents: Any = RpcProxy("documents")
    routing: Any = RpcProxy("routing")
    notify: Any = RpcProxy("notify")
    backoffice: Any = RpcProxy("backoffice")

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        """The gateway process answers; says nothing about anything else."""
        return json_response({"status": "ok"}, self.correlation)

    @http("GET", "/.well-known/jwks.json")
    def jwks(self, request: Request) -> Response:
        """identity's public token keys (JWKS), for verifiers outside the AMQP network."""
        try:
            with eventlet.Timeout(JWKS_TIMEOUT_SECONDS, TimeoutError):
                keys = self.identity.get_jwks.call_async().result()
        except Exception as problem:  # identity down or slow: 503, and the verifier asks again
            return response_for(problem, self.correlation)
        response = json_response(keys, self.correlation)
        # Short, so that a rotated key reaches every verifier well within one token lifetime.
        response.headers["Cache-Control"] = "public, max-age=60"
        return response

    @http("GET", "/.well-known/receipt-keys.json")
    def receipt_keys(self, request: Request) -> Response:
        """The keys that verify receipts (Eingangsbestätigungen) offline, for anyone."""
        response = self._call(lambda: self.submissions.get_receipt_keys.call_async())
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @http("GET,POST,PUT,DELETE", "/api/v1/<path:path>")
    def api(self, request: Request, path: str) -> Response:
        """The JSON API; routes, CSRF and errors in ``api.py``."""
        return api.dispatch(self._exchange(request))

    @http("GET,POST,PUT,DELETE", "/backoffice/v1/<path:path>")
    def backoffice_http(self, request: Request, path: str) -> Response:
        """The back-office API for the Jobcenters' e-files: bearer tokens only, no cookies, no CSRF."""
        return backoffice_api.dispatch(request, self._backend(), self.state, self.correlation)

    @http("GET", "/.well-known/backoffice-keys.json")
    def backoffice_keys(self, request: Request) -> Response:
        """The keys that verify the back-office API's Security Event Tokens (JWKS), for anyone."""
        return backoffice_api.keys(self._backend(), self.correlation)

    @http("GET,POST", "/")
    def home(self, request: Request) -> Response:
        """The start page."""
        return pages.dispatch(self._exchange(request))

    @http("GET,POST", "/<path:path>")
    def page(self, request: Request, path: str) -> Response:
        """The citizen's pages; routes in ``pages.py``."""
        return pages.dispatch(self._exchange(request))

    def _exchange(self, request: Request) -> Exchange:
        return Exchange(request, self._backend(), self.state, self.correlation)

    def _backend(self) -> RpcBackend:
        return RpcBackend(self, self.state.settings.rpc_timeout_seconds)

    def _call(self, start: Any) -> Response:
        """One RPC with the gateway's timeout; its answer as JSON, or the error table's answer."""
        try:
            with eventlet.Timeout(self.state.settings.rpc_timeout_seconds, TimeoutError):
                result = start().result()
        except Exception as problem:
            return response_for(problem, self.correlation)
        return json_response(result, self.correlation)

    @http("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        """Each service's health RPC and the broker; 503 when anything required is down."""
        try:
            pending = {name: getattr(self, name).health.call_async() for name in BACKEND_SERVICES}
            services = {name: self._await_health(name, reply) for name, reply in pending.items()}
        except Exception:  # the broker itself is gone: no reply can come
            log.exception("readiness_check_failed")
            services = {name: {"status": "failing", "error": "broker"} for name in BACKEND_SERVICES}
        broker = self._broker_health()
        failing = broker["status"] != "ok" or any(item["status"] != "ok" for item in services.values())
        report = {
            "status": "failing" if failing else "ok",
            "broker": broker,
            "services": services,
        }
        return json_response(report, self.correlation, status=503 if failing else 200)

    def _await_health(self, name: str, reply: Any) -> dict[str, Any]:
        try:
            with eventlet.Timeout(HEALTH_TIMEOUT_SECONDS):
                report: dict[str, Any] = reply.result()
                return report
        except eventlet.Timeout:
            return {"service": name, "status": "failing", "error": "timeout"}
        except Exception as problem:
            return {"service": name, "status": "failing", "error": type(problem).__name__}

    def _broker_health(self) -> dict[str, Any]:
        try:
            with Connection(str(self.config["AMQP_URI"]), connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
            return {"status": "ok"}
        except Exception as problem:
            return {"status": "failing", "error": type(problem).__name__}
