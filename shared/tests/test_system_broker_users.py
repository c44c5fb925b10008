"""`make run` gives each service and relay its own broker user (shared/broker_access.py, issue #18)."""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from urllib.parse import urlsplit

import pytest
from kombu import Connection

from shared import servers, system
from shared.broker_access import PRINCIPALS
from shared.config import load_config


@pytest.fixture
def run_vhost(monkeypatch):
    name = f"jc_test_{secrets.token_hex(6)}"
    monkeypatch.setattr(system, "RUN_VHOST", name)
    # The other servers are not what this test is about: the run takes them as given.
    for variable in ("AMQP_URI", "S3_ENDPOINT", "CLAMD_HOST", "SMTP_HOST"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:1")
    monkeypatch.setenv("CLAMD_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    yield name
    servers.delete_rabbit_vhost(name)


def spawned_environments(run: system.System, monkeypatch) -> dict[str, dict[str, str]]:
    spawned: dict[str, dict[str, str]] = {}
    monkeypatch.setattr(run, "_spawn", lambda name, command, environ: spawned.__setitem__(name, environ))
    run.start_services()
    return spawned


def test_each_process_of_make_run_logs_in_as_its_own_user_and_keeps_it_across_runs(run_vhost, tmp_path, monkeypatch):
    first = system.System(tmp_path, 8000)
    with ExitStack() as stack:
        first.start_infrastructure(stack)
    processes = spawned_environments(first, monkeypatch)
    assert set(processes) == {p.name for p in PRINCIPALS}
    for name, environ in processes.items():
        service = name.removesuffix("-outbox")
        uri = load_config(service, environ)["AMQP_URI"]  # what the process will connect with
        assert urlsplit(uri).username == f"{run_vhost}.{name}", name
        with Connection(uri, connect_timeout=5) as connection:
            connection.connect()

    # A second run on the same folder: the same users, the same passwords (a process of the first may still run).
    second = system.System(tmp_path, 8000)
    with ExitStack() as stack:
        second.start_infrastructure(stack)
    assert spawned_environments(second, monkeypatch) == processes
