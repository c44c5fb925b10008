"""The gateway's health endpoints against the real services in this process."""

import pytest

from shared.service import SERVICES
from shared.testing.http import get_json


def get(container, path, headers=None):
    return get_json(f"http://{container.config['WEB_SERVER_ADDRESS']}{path}", headers)


@pytest.fixture
def infrastructure(seaweedfs, clamd, smtp_sink):
    return {**seaweedfs.settings, **clamd.settings, **smtp_sink.settings}


def test_healthz_answers_while_nothing_else_runs(start_services):
    gateway = start_services("gateway")["gateway"]
    assert get(gateway, "/healthz")[::2] == (200, {"status": "ok"})


def test_readyz_is_ok_when_every_service_and_dependency_answers(start_services, infrastructure):
    gateway = start_services(*SERVICES, **infrastructure)["gateway"]
    status, _, report = get(gateway, "/readyz")
    assert status == 200, report
    assert report["status"] == "ok"
    assert set(report["services"]) == {"identity", "submissions", "documents", "routing", "notify", "backoffice"}
    assert set(report["services"]["documents"]["dependencies"]) == {"database", "s3", "clamd"}


def test_readyz_is_503_and_names_the_service_that_does_not_answer(start_services, infrastructure):
    running = [service for service in SERVICES if service != "routing"]
    gateway = start_services(*running, **infrastructure)["gateway"]
    status, _, report = get(gateway, "/readyz")
    assert status == 503
    assert report["status"] == "failing"
    assert report["services"]["routing"] == {"service": "routing", "status": "failing", "error": "timeout"}
    assert report["services"]["identity"]["status"] == "ok"


def test_readyz_is_503_when_a_dependency_of_a_service_is_down(start_services, infrastructure):
    from shared.servers import free_port

    settings = {**infrastructure, "CLAMD_PORT": str(free_port())}
    gateway = start_services(*SERVICES, **settings)["gateway"]
    status, _, report = get(gateway, "/readyz")
    assert status == 503
    assert report["services"]["documents"]["dependencies"]["clamd"]["status"] == "failing"


def test_the_clients_correlation_id_is_echoed_and_a_bad_one_replaced(start_services):
    gateway = start_services("gateway")["gateway"]
    _, headers, _ = get(gateway, "/healthz", {"X-Correlation-ID": "client-abc-123456"})
    assert headers["X-Correlation-ID"] == "client-abc-123456"
    _, headers, _ = get(gateway, "/healthz", {"X-Correlation-ID": "erika@example.org <script>"})
    assert headers["X-Correlation-ID"] != "erika@example.org <script>"
    assert len(headers["X-Correlation-ID"]) == 32
