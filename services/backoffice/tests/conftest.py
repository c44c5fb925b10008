"""The back-office interface in this process: submissions, backoffice and the gateway on the real broker.

identity is the test double (its JWKS only: the citizen submits with the test issuer's token), routing lies
outside and is played by publishing its ``case_assigned`` decision; the submissions outbox relay is driven
by hand (``office.relay()``), as in the gateway's tests.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from services.backoffice.cli import open_clients
from services.submissions.application import Cases
from services.submissions.tests.scenarios import submit_over_rpc
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.sql import make_engine
from shared.testing.services import IN_PROCESS_RPC_TIMEOUTS
from shared.testing.tokens import TEST_ISSUER, FakeIdentity

TREPTOW_KOEPENICK = "jc-0394"
ELSEWHERE = "jc-0001"
API = "/backoffice/v1"


def wait_until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """``check()``'s first truthy answer; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise AssertionError("nothing arrived in time")
        time.sleep(0.05)
    return answer


class Office:
    """The running services and what a test does around them: clients, cases, HTTP calls."""

    def __init__(self, containers: dict[str, ServiceContainer], amqp_uri: str) -> None:
        self.containers = containers
        self.amqp_uri = amqp_uri
        self.base = f"http://{containers['gateway'].config['WEB_SERVER_ADDRESS']}"
        self.config = containers["backoffice"].config
        submissions = containers["submissions"].config
        self._cases = Cases.from_settings(str(submissions["DATABASE_URL"]), str(submissions["CIPHER_KEY"]))
        self._engine = make_engine(str(submissions["DATABASE_URL"]))
        self._publisher = EventPublisher(amqp_uri, "submissions")
        self._relay = OutboxRelay(self._cases, self._publisher, RelayPositions(self._engine, self._cases.name))
        self.http = requests.Session()
        self.owners: dict[str, str] = {}

    def url(self, path: str) -> str:
        return self.base + path

    def create_client(self, jobcenter_id: str = TREPTOW_KOEPENICK, callback_url: str | None = None) -> dict[str, Any]:
        with open_clients(self.config) as clients:
            return clients.create(jobcenter_id, callback_url)

    def token(self, client: dict[str, Any]) -> str:
        answer = self.http.post(
            self.url(f"{API}/token"),
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=20,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def call(self, method: str, path: str, token: str | None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url(API + path), headers=headers, timeout=20, **kwargs)

    def relay(self) -> None:
        """Publish what submissions stored (its outbox relay, one batch)."""
        self._relay.relay_batch()

    def submitted_case(self, jobcenter_id: str = TREPTOW_KOEPENICK) -> str:
        """A citizen's Arbeitsaufnahme, submitted and assigned by routing; its id."""
        owner = f"citizen-{uuid.uuid4().hex[:8]}"
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=20) as cluster:
            case_id = str(submit_over_rpc(cluster, owner)["case_id"])
            self.owners[case_id] = owner
            decision = {"case_id": case_id, "jobcenter_id": jobcenter_id, "reason_code": "bezirk"}
            with EventPublisher(self.amqp_uri, "routing") as routing:
                routing.publish(IntegrationEvent("case_assigned", str(uuid.uuid4()), 1, decision))
            wait_until(lambda: cluster.submissions.get_case(case_id)["status"] == "assigned")
        return case_id

    def listed(self, token: str) -> list[str]:
        answer = self.call("GET", "/cases", token)
        assert answer.status_code == 200, answer.text
        return [case["case_id"] for case in answer.json()["cases"]]

    def available(self, token: str, case_id: str) -> None:
        """Relay submissions' events until the backoffice lists the case."""

        def listed() -> bool:
            self.relay()
            return case_id in self.listed(token)

        wait_until(listed)

    def citizens_timeline(self, case_id: str) -> list[str]:
        """The plain German names of the case's events, as its owner's timeline shows them."""
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=20) as cluster:
            entries = cluster.submissions.get_timeline(case_id, TEST_ISSUER.token_for(self.owners[case_id]))
        return [str(entry["label"]) for entry in entries]

    def recorded_reads(self, case_id: str) -> list[dict[str, Any]]:
        """The case's entries in submissions' staff access record, as an admin reads them."""
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=20) as cluster:
            return list(
                cluster.submissions.list_staff_accesses(TEST_ISSUER.token_for("admin-1", role="admin"), case_id)
            )

    def close(self) -> None:
        self.http.close()
        self._publisher.close()
        self._cases.close()
        self._engine.dispose()


SETTINGS = {
    "BACKOFFICE_ALLOW_HTTP_CALLBACKS": "true",
    "BACKOFFICE_CALLBACK_BACKOFF_SECONDS": "0.2",
    "BACKOFFICE_CALLBACK_MAX_ATTEMPTS": "3",
    **IN_PROCESS_RPC_TIMEOUTS,
}


@pytest.fixture
def office(start_services: Any, amqp_uri: str) -> Iterator[Office]:
    containers = start_services(FakeIdentity, "submissions", "routing", "backoffice", "gateway", **SETTINGS)
    running = Office(containers, amqp_uri)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def office_with_documents(start_services: Any, amqp_uri: str, seaweedfs: Any, clamd: Any) -> Iterator[Office]:
    """The same, with the documents service on the session's SeaweedFS and clamd."""
    settings = {**SETTINGS, **seaweedfs.settings, **clamd.settings}
    containers = start_services(
        FakeIdentity, "submissions", "routing", "documents", "backoffice", "gateway", **settings
    )
    running = Office(containers, amqp_uri)
    try:
        yield running
    finally:
        running.close()
