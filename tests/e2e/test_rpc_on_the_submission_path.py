"""The RPC calls a case makes on its way in, seen on the broker: none returns a whole case, few per request.

The system runs as ``make run`` starts it. A tap queue bound to nameko's RPC exchange copies every
request; each HTTP request of the citizen carries a correlation id of its own, which nameko forwards in
every call it causes (the gateway's, the services' among themselves, and the consumers' of the events the
request caused), so each call is counted against the request that caused it.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from services.documents.tests.samples import large_pdf
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.testing.waiting import wait_until
from tests.support import ApiCitizen, RunningSystem, create_citizens, processes_of, system_environ

# Methods whose answer is the case itself (answers, residence, checklist, decision), not ids and codes: on the
# submission path no service calls them, so no service holds a copy of a case it does not own.
WHOLE_CASE_METHODS = frozenset(
    {"submissions.get_case", "submissions.view_case", "submissions.export_case", "submissions.get_answers",
     "backoffice.get_case"}
)  # fmt: skip
# The calls each step may cause, counted with the calls services make among themselves. The upload needs two
# of the gateway's (open the upload, have it checked) and one into the case; documents asks whose case it is.
BUDGET = {"start": 1, "section": 1, "upload": 4, "submit": 2, "assignment and Postfach": 0}
SERVICES = ("identity", "submissions", "documents", "routing", "notify", "backoffice", "gateway")

# Starts the whole system (at load 15: 164 s on the clock for 95 s of CPU), so more than the default 300 s.
pytestmark = pytest.mark.timeout(600)


class RpcTap:
    """A queue bound to ``nameko-rpc`` that copies every RPC request: (caller, "service.method", correlation)."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        channel = self.connection.default_channel
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        exchange(channel).declare()
        self.queue = Queue(f"rpc-tap-{uuid.uuid4().hex}", exchange, routing_key="#", auto_delete=True, durable=False)
        self.bound = self.queue(channel)
        self.bound.declare()
        self.calls: list[tuple[str, str, str]] = []

    def drain(self) -> None:
        while (message := self.bound.get(no_ack=True)) is not None:
            target = message.delivery_info["routing_key"]
            if target.partition(".")[0] not in SERVICES:
                continue  # a reply, routed to its caller's reply queue
            headers = message.headers or {}
            stack = headers.get("nameko.call_id_stack") or ["test"]
            caller = str(stack[-1]).partition(".")[0]
            self.calls.append((caller, target, str(headers.get("nameko.correlation_id"))))

    def of(self, correlation_id: str) -> list[tuple[str, str]]:
        self.drain()
        return [(caller, target) for caller, target, seen in self.calls if seen == correlation_id]

    def close(self) -> None:
        self.bound.delete()
        self.connection.release()


@pytest.fixture
def system(tmp_path: Path, amqp_uri: str) -> Iterator[RunningSystem]:
    run_dir = tmp_path / "run"
    running = RunningSystem(run_dir, amqp_uri)
    try:
        yield running
    finally:
        running.interrupt()
        assert processes_of(run_dir) == []


@pytest.fixture
def tap(system: RunningSystem, amqp_uri: str) -> Iterator[RpcTap]:
    opened = RpcTap(amqp_uri)
    try:
        yield opened
    finally:
        opened.close()


def test_filing_a_case_calls_no_method_that_returns_a_whole_case_and_keeps_to_its_rpc_budget(
    system: RunningSystem, tap: RpcTap, amqp_uri: str
):
    ((email, secret),) = create_citizens(system_environ(system, {"AMQP_URI": amqp_uri}), 1)
    citizen = ApiCitizen(f"http://127.0.0.1:{system.port}", email, secret)
    citizen.log_in()
    seen: dict[str, list[list[tuple[str, str]]]] = {step: [] for step in BUDGET}

    def step(name: str, method: str, path: str, headers: dict | None = None, **kwargs) -> tuple[dict, str]:
        """One request of the citizen; its answer and its correlation id."""
        correlation_id = f"rpc-path-{uuid.uuid4().hex}"
        headers = {**(headers or {}), "X-Correlation-ID": correlation_id}
        answer = citizen.request(method, path, headers=headers, **kwargs)
        assert answer.status_code in (200, 201), answer.text
        seen[name].append(tap.of(correlation_id))
        return dict(answer.json()), correlation_id

    case_id = step("start", "POST", "/cases", json={"kind": "veraenderungsmitteilung"})[0]["case_id"]
    for section_id, data in ARBEITSAUFNAHME.items():
        step("section", "PUT", f"/cases/{case_id}/sections/{section_id}", json=data)
    step("upload", "POST", f"/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "a.pdf"},
         data=large_pdf(200_000), headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    _, submit_correlation = step("submit", "POST", f"/cases/{case_id}/submit", {"Idempotency-Key": f"k-{case_id}"})

    def assigned_and_in_the_postfach() -> bool:
        case = citizen.request("GET", f"/cases/{case_id}").json()["case"]
        return case["status"] == "assigned" and any(m["case_id"] == case_id for m in citizen.postfach())

    wait_until(assigned_and_in_the_postfach, timeout=60, what="the assignment and the receipt in the Postfach")
    # The consumers of the submit's events (routing, notify, backoffice) call with the submit's correlation id.
    seen["assignment and Postfach"].append(tap.of(submit_correlation)[len(seen["submit"][0]) :])

    report = {name: [sorted(f"{caller} -> {target}" for caller, target in calls) for calls in each]
              for name, each in seen.items()}  # fmt: skip
    print(json.dumps(report, indent=1))
    whole_cases = [target for each in seen.values() for calls in each for _caller, target in calls
                   if target in WHOLE_CASE_METHODS]  # fmt: skip
    assert whole_cases == [], report
    over = {name: [len(calls) for calls in each] for name, each in seen.items()
            if any(len(calls) > BUDGET[name] for calls in each)}  # fmt: skip
    assert over == {}, report
    assert Counter(target for calls in seen["upload"] for _caller, target in calls) == Counter(
        {"documents.start_upload": 1, "submissions.get_case_parties": 1, "documents.complete_upload": 1,
         "submissions.add_document": 1}
    ), report  # fmt: skip
