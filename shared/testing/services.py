"""pytest fixtures to run our nameko services in the test process against the real servers."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from shared.config import load_config
from shared.correlation import CONTEXT_KEY
from shared.logs import PortalJsonFormatter
from shared.servers import free_port, principal_environ
from shared.service import service_class


@pytest.fixture(scope="session")
def cipher_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
def receipt_signing_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="session")
def backoffice_signing_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def service_env(
    amqp_uri: str, tmp_path: Path, cipher_key: str, receipt_signing_key: str, backoffice_signing_key: str
) -> dict[str, str]:
    """The environment our services' configs are resolved from in a test: real broker, SQLite in tmp."""
    return {
        "AMQP_URI": amqp_uri,  # guest: the tests' own RPC calls and doubles
        **principal_environ(amqp_uri),  # each service its own broker user
        "RUN_DIR": str(tmp_path / "run"),
        "CIPHER_KEY": cipher_key,
        "RECEIPT_SIGNING_KEY": receipt_signing_key,
        "BACKOFFICE_SIGNING_KEY": backoffice_signing_key,
        "LOG_LEVEL": "INFO",
    }


# In a test process every service runs on one eventlet hub and at most one core: a request waits for the CPU
# of all of them and of the test itself. Production's 5 s (gateway) and 2 s (submissions to routing) then
# came too soon on a loaded machine (#23: 503s at load 11-13 in the outside, fuzzing and finder tests).
# Harnesses that run the gateway with real services behind it set these; timeout tests keep production's.
IN_PROCESS_RPC_TIMEOUTS = {
    "GATEWAY_RPC_TIMEOUT_SECONDS": "30",
    "SUBMISSIONS_ROUTING_TIMEOUT_SECONDS": "12",  # below the gateway's, as 2 s is below 5 s
}

StartServices = Callable[..., dict[str, ServiceContainer]]


@pytest.fixture
def start_services(service_env: dict[str, str]) -> Iterator[StartServices]:
    """Start services in this process, by name or as classes (doubles of other services).

    Named services read their own config with the extra settings given as environment variables;
    a class gets just the broker.
    """
    started: list[ServiceContainer] = []

    def start(*services: str | type, **settings: str) -> dict[str, ServiceContainer]:
        environ = {"GATEWAY_PORT": str(free_port()), **service_env, **settings}
        containers = {}
        for service in services:
            if isinstance(service, type):
                container = ServiceContainer(service, {"AMQP_URI": service_env["AMQP_URI"]})
            else:
                container = ServiceContainer(service_class(service), load_config(service, environ))
            container.start()
            started.append(container)
            containers[container.service_name] = container
        return containers

    yield start
    # Each container's consumer takes a moment to stop; stopping them together saves seconds a test.
    pool = eventlet.GreenPool()
    for container in started:
        pool.spawn(container.stop)
    pool.waitall()


@pytest.fixture
def rpc(amqp_uri: str) -> Callable[..., Any]:
    """``with rpc(correlation_id) as cluster: cluster.identity.health()``."""

    @contextmanager
    def cluster(correlation_id: str | None = None, timeout: float = 15) -> Iterator[Any]:
        context = {CONTEXT_KEY: correlation_id} if correlation_id else {}
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data=context, timeout=timeout) as proxy:
            yield proxy

    return cluster


class CapturedLogs:
    """Every log record of the test, formatted exactly as the services print them."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.strip()]

    def named(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["message"] == message]


@pytest.fixture
def captured_logs() -> Iterator[CapturedLogs]:
    captured = CapturedLogs()
    handler = logging.StreamHandler(captured.stream)
    handler.setFormatter(PortalJsonFormatter("test"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
