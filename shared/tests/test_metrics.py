"""Prometheus metrics and the per-process probes: entrypoint counts by outcome, the relay's lag, /readyz."""

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from nameko.rpc import rpc

from services.submissions.application import Cases
from shared.config import REPOSITORY_ROOT
from shared.errors import InvalidInput, Unavailable
from shared.metrics import (
    REGISTRY,
    MetricsServer,
    RelayMetrics,
    register_readiness,
    serve_metrics,
    unregister_readiness,
)
from shared.outbox import OutboxRelay, RelayPositions
from shared.servers import free_port
from shared.service import PortalService
from shared.sql import make_engine
from shared.testing.waiting import wait_for_process


class MeteredService(PortalService):
    name = "metered"

    @rpc
    def succeed(self) -> str:
        return "ok"

    @rpc
    def refuse(self) -> None:
        raise InvalidInput("SAMPLE_INVALID", "Das ist kein gültiger Wert.")

    @rpc
    def fail_on_dependency(self) -> None:
        raise Unavailable("SAMPLE_UNAVAILABLE", "Bitte später noch einmal.")


def calls(method: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "portal_entrypoint_calls_total", {"service": "metered", "method": method, "outcome": outcome}
    )
    return value or 0.0


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = answer.read()
            return answer.status, json.loads(body) if answer.headers["Content-Type"] == "application/json" else body
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def relayed(port: int) -> bytes | None:
    """The relay's metrics page once it reports no lag; None before (or while its port does not answer)."""
    with contextlib.suppress(OSError):
        body = get(f"http://127.0.0.1:{port}/metrics")[1]
        if b'portal_outbox_lag_events{service="submissions"} 0.0' in body:
            return body
    return None


@pytest.fixture
def metrics_server():
    server = MetricsServer(0, "127.0.0.1")  # a free port: tests never take a fixed one
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_port_zero_means_no_metrics_server():
    assert serve_metrics(0) is None


def test_every_entrypoint_call_is_counted_and_timed_by_outcome(start_services, rpc):
    start_services(MeteredService)
    before = {outcome: calls(method, outcome) for method, outcome in SAMPLE_CALLS}
    with rpc() as cluster:
        cluster.metered.succeed()
        with pytest.raises(InvalidInput):
            cluster.metered.refuse()
        with pytest.raises(Unavailable):
            cluster.metered.fail_on_dependency()
    # nameko sends the reply before it tells the dependencies the result: wait for the count.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(calls(m, o) == before[o] for m, o in SAMPLE_CALLS):
        time.sleep(0.05)
    for method, outcome in SAMPLE_CALLS:
        assert calls(method, outcome) == before[outcome] + 1, (method, outcome)
    timed = REGISTRY.get_sample_value(
        "portal_entrypoint_duration_seconds_count", {"service": "metered", "method": "succeed", "outcome": "ok"}
    )
    assert timed and timed >= 1


SAMPLE_CALLS = [("succeed", "ok"), ("refuse", "refused"), ("fail_on_dependency", "error")]


def test_the_metrics_endpoint_serves_the_portal_metrics_in_prometheus_format(metrics_server):
    status, body = get(f"{metrics_server}/metrics")
    assert status == 200
    assert b"# TYPE portal_entrypoint_calls_total counter" in body
    assert b"# TYPE portal_outbox_lag_events gauge" in body


def test_liveness_answers_while_the_process_serves(metrics_server):
    assert get(f"{metrics_server}/healthz") == (200, {"status": "ok"})


def test_readiness_fails_until_something_registered_says_it_is_ready(metrics_server):
    assert get(f"{metrics_server}/readyz")[0] == 503
    register_readiness("sample", lambda: {"status": "ok"})
    try:
        assert get(f"{metrics_server}/readyz")[0] == 200
        register_readiness("sample-dependency", lambda: {"status": "failing"})
        status, report = get(f"{metrics_server}/readyz")
        assert status == 503
        assert report["parts"]["sample-dependency"] == {"status": "failing"}
    finally:
        unregister_readiness("sample")
        unregister_readiness("sample-dependency")


def test_a_running_service_is_ready_with_its_own_dependencies_and_not_after_it_stopped(start_services, metrics_server):
    container = start_services(MeteredService)["metered"]
    status, report = get(f"{metrics_server}/readyz")
    assert status == 200
    assert report["parts"]["metered"]["service"] == "metered"
    container.stop()
    assert get(f"{metrics_server}/readyz")[0] == 503


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, event) -> None:
        self.published.append(event.event_id)


def test_the_relay_reports_its_lag_behind_the_head_of_the_notification_log(tmp_path, cipher_key):
    url = f"sqlite:///{tmp_path}/submissions.sqlite"
    application = Cases.from_settings(url, cipher_key)
    engine = make_engine(url)
    try:
        for _ in range(5):
            application.start_draft(str(uuid.uuid4()), "veraenderungsmitteilung")
        head = application.recorder.max_notification_id() or 0
        service = f"relay-{uuid.uuid4().hex[:8]}"
        relay_metrics = RelayMetrics(service)
        publisher: Any = RecordingPublisher()  # the broker is outside what this test is about
        relay = OutboxRelay(application, publisher, RelayPositions(engine, application.name), 2, metrics=relay_metrics)
        relay.relay_batch()
        assert REGISTRY.get_sample_value("portal_outbox_lag_events", {"service": service}) == head - relay.position
        assert head - relay.position > 0
        while relay.relay_batch():
            pass
        assert REGISTRY.get_sample_value("portal_outbox_lag_events", {"service": service}) == 0
    finally:
        application.close()
        engine.dispose()


def test_a_spare_relay_is_ready_and_an_active_one_only_while_its_polls_succeed():
    relay_metrics = RelayMetrics(f"relay-{uuid.uuid4().hex[:8]}")
    assert relay_metrics.report()["role"] == "spare"
    assert relay_metrics.report()["status"] == "ok"
    relay_metrics.activated()
    assert relay_metrics.report()["status"] == "ok"
    relay_metrics.last_success -= RelayMetrics.STALE_AFTER_SECONDS + 1
    assert relay_metrics.report()["status"] == "failing"


def test_a_relay_process_serves_its_lag_and_readiness_on_the_metrics_port(amqp_uri, cipher_key, tmp_path):
    url = f"sqlite:///{tmp_path}/submissions.sqlite"
    application = Cases.from_settings(url, cipher_key)
    application.start_draft(str(uuid.uuid4()), "veraenderungsmitteilung")
    port = free_port()
    environ = {
        **os.environ,
        "SUBMISSIONS_DATABASE_URL": url,
        "CIPHER_KEY": cipher_key,
        "RECEIPT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "AMQP_URI": amqp_uri,
        "METRICS_PORT": str(port),
    }
    log_path = tmp_path / "relay.log"
    with log_path.open("wb") as log:
        relay = subprocess.Popen(
            [sys.executable, "-m", "shared.outbox", "submissions", "services.submissions.application:Cases"],
            cwd=REPOSITORY_ROOT,
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Importing and starting costs the relay about 5 s of CPU: at load 13 on two cores, half a minute.
        body = wait_for_process(
            relay,
            lambda: relayed(port),
            cpu_seconds=60,
            what="an outbox lag of 0 on the metrics page",
            log_path=log_path,
        )
        assert b'portal_outbox_relay_active{service="submissions"} 1.0' in body
        status, report = get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200
        assert report["parts"]["submissions-outbox"]["role"] == "active"
    finally:
        relay.terminate()
        relay.wait(timeout=30)
        application.close()
