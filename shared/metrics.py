"""Prometheus metrics and the per-process health endpoints beside them.

Each process (a service or an outbox relay) serves, on ``METRICS_PORT`` (0 = off):

- ``/metrics``: Prometheus text format;
- ``/healthz``: 200 while the process schedules work at all (the liveness probe);
- ``/readyz``: 200 when what the process registered says it is ready, else 503 with the report
  (the readiness probe). A service is ready once its container runs and its own dependencies
  answer; this pod's, not any instance's, which is what an RPC to ``health`` would reach.

Labels carry service and method names and outcomes only: never ids, never personal data.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from shared.errors import PortalError, Unavailable
from shared.health import HealthChecks

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

ENTRYPOINT_CALLS = Counter(
    "portal_entrypoint_calls",
    "Entrypoint calls (RPC, event handlers, timers, HTTP) by outcome: ok, refused (a PortalError the caller caused), "
    "error (anything else, Unavailable included).",
    ["service", "method", "outcome"],
    registry=REGISTRY,
)
ENTRYPOINT_SECONDS = Histogram(
    "portal_entrypoint_duration_seconds",
    "How long an entrypoint call took, by outcome.",
    ["service", "method", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
OUTBOX_LAG = Gauge(
    "portal_outbox_lag_events",
    "Stored events the outbox relay has not passed yet: head of the notification log minus its position.",
    ["service"],
    registry=REGISTRY,
)
OUTBOX_PUBLISHED = Counter(
    "portal_outbox_published_events",
    "Integration events the outbox relay published (at least once: a restart may publish a batch again).",
    ["service"],
    registry=REGISTRY,
)
OUTBOX_ACTIVE = Gauge(
    "portal_outbox_relay_active",
    "1 while this relay holds the lock and publishes, 0 while it waits as a spare.",
    ["service"],
    registry=REGISTRY,
)
OUTBOX_LAST_BATCH = Gauge(
    "portal_outbox_last_batch_timestamp_seconds",
    "Unix time of the relay's last successful poll of the notification log.",
    ["service"],
    registry=REGISTRY,
)

SCANS = Counter(
    "portal_virus_scans",
    "Files scanned by clamd, by result: clean, found (a signature matched), failed (clamd could not scan).",
    ["result"],
    registry=REGISTRY,
)
MAILS = Counter(
    "portal_mails",
    "E-mail alerts by outcome: sent, retry (the relay refused; tried again later), dead (given up).",
    ["outcome"],
    registry=REGISTRY,
)

HealthReport = Callable[[], dict[str, Any]]
_readiness: dict[str, HealthReport] = {}
_readiness_lock = threading.Lock()


def register_readiness(name: str, report: HealthReport) -> None:
    """Make ``/readyz`` ask ``report`` (a ``{"status": "ok"|..., ...}`` dict) under ``name``."""
    with _readiness_lock:
        _readiness[name] = report


def unregister_readiness(name: str) -> None:
    with _readiness_lock:
        _readiness.pop(name, None)


def readiness() -> tuple[bool, dict[str, Any]]:
    """Whether every registered part is ready, and their reports; nothing registered = not ready."""
    with _readiness_lock:
        reports = dict(_readiness)
    if not reports:
        return False, {"status": "starting"}
    answers: dict[str, Any] = {}
    for name, report in reports.items():
        try:
            answers[name] = report()
        except Exception as problem:  # a readiness check reports failures, it never raises
            answers[name] = {"status": "failing", "error": type(problem).__name__}
    ready = all(answer.get("status") == "ok" for answer in answers.values())
    return ready, {"status": "ok" if ready else "failing", "parts": answers}


def health_app(registry: CollectorRegistry = REGISTRY) -> Callable[..., Iterable[bytes]]:
    """WSGI app: ``/healthz``, ``/readyz``, and the metrics of ``registry`` on every other path."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _json(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            ready, report = readiness()
            return _json(start_response, 200 if ready else 503, report)
        return metrics(environ, start_response)

    return app


def _json(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = "OK" if status == 200 else "Service Unavailable"
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Probes every few seconds would flood the JSON logs with access lines."""


class MetricsServer:
    """The metrics and health HTTP server of one process, in a daemon thread (green under eventlet)."""

    def __init__(self, port: int, address: str) -> None:
        self.server = make_server(address, port, health_app(), _ThreadingServer, handler_class=_QuietHandler)
        self.port: int = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_metrics(port: int, address: str = "0.0.0.0") -> MetricsServer | None:  # noqa: S104 - a pod's own port
    """Start the metrics server on ``port``; 0 means off (the default outside Kubernetes)."""
    if port <= 0:
        return None
    server = MetricsServer(port, address)
    log.info("metrics_serving", extra={"target": f":{server.port}/metrics"})
    return server


def outcome_of(exc_info: Any) -> str:
    """``ok``, ``refused`` (the caller's mistake, expected) or ``error`` (ours, or a dependency's)."""
    if exc_info is None:
        return "ok"
    error = exc_info[1]
    if isinstance(error, PortalError) and not isinstance(error, Unavailable):
        return "refused"
    return "error"


class EntrypointMetrics(DependencyProvider):
    """Counts and times every entrypoint call of its service; registers the container's readiness."""

    def setup(self) -> None:
        self._started: dict[Any, float] = {}

    def start(self) -> None:
        register_readiness(self.container.service_name, self._container_health)

    def stop(self) -> None:
        unregister_readiness(self.container.service_name)

    def kill(self) -> None:
        unregister_readiness(self.container.service_name)

    def _container_health(self) -> dict[str, Any]:
        """The same report as the ``health`` RPC, but of this container's own dependencies."""
        for provider in self.container.dependencies:
            if isinstance(provider, HealthChecks):
                return provider.get_dependency(None).report()
        return {"service": self.container.service_name, "status": "ok", "dependencies": {}}

    def worker_setup(self, worker_ctx: Any) -> None:
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        labels = (self.container.service_name, worker_ctx.entrypoint.method_name, outcome_of(exc_info))
        ENTRYPOINT_CALLS.labels(*labels).inc()
        if started is not None:
            ENTRYPOINT_SECONDS.labels(*labels).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx: Any) -> None:
        self._started.pop(worker_ctx, None)


class RelayMetrics:
    """What the outbox relay of ``service`` reports: lag, published events, whether it is the active one."""

    # The relay polls every fraction of a second; a minute without a successful poll means it is stuck.
    STALE_AFTER_SECONDS = 60.0

    def __init__(self, service: str) -> None:
        self.service = service
        self.waiting = True
        self.last_success = time.monotonic()
        OUTBOX_ACTIVE.labels(service).set(0)

    def activated(self) -> None:
        """The relay holds the lock (or needs none) and starts publishing."""
        self.waiting = False
        self.last_success = time.monotonic()
        OUTBOX_ACTIVE.labels(self.service).set(1)

    def batch_relayed(self, head: int, position: int, published: int) -> None:
        OUTBOX_LAG.labels(self.service).set(max(head - position, 0))
        OUTBOX_PUBLISHED.labels(self.service).inc(published)
        OUTBOX_LAST_BATCH.labels(self.service).set_to_current_time()
        self.last_success = time.monotonic()

    def report(self) -> dict[str, Any]:
        """Ready while waiting as a spare, or while polls succeed; not ready when they have stopped."""
        if self.waiting:
            return {"status": "ok", "role": "spare"}
        idle = time.monotonic() - self.last_success
        status = "ok" if idle < self.STALE_AFTER_SECONDS else "failing"
        return {"status": status, "role": "active", "seconds_since_last_poll": round(idle, 1)}
