"""The rolling upgrade (issue #22): an instance of the previous release beside the current one, competing.

During a rollout old and new pods of one service consume the same queues. Here the current system runs
(PostgreSQL, as in production) and one more submissions and one more notify instance of the previous
release (``releases.toml``) start from the release's tree with the environment of the running instance.
The demo citizen files Arbeitsaufnahmen until the old and the new instance of each service have both
served some: RPCs of the gateway (submissions), routing's events (submissions), submissions' events
(notify). Every case still gets exactly one receipt in the Postfach and reaches its Jobcenter.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from functools import partial
from pathlib import Path

import pytest

from shared.testing.waiting import wait_until
from tests.support import DEMO_CITIZEN, RunningSystem, ServiceProcess, json_lines, processes_of
from tests.upgrade.releases import materialise, releases
from tests.upgrade.story import CASEWORKER, SETTLE, assigned, demo_people, filed_arbeitsaufnahme, postfach_ids

# A system start, two old instances and up to a dozen cases: more than 300 s may pass on a loaded 2-core machine.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

MOST_CASES = 12  # round-robin gives each instance some long before this


class OldInstance:
    """``python -m shared.run <service>`` of the release's tree, with the running instance's environment."""

    def __init__(self, tree: Path, run_dir: Path, service: str) -> None:
        running = ServiceProcess.find(run_dir, "shared.run", service)
        self.log = run_dir / "logs" / f"{service}-previous-release.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "shared.run", service], cwd=tree,
                env={**running.environ, "PYTHONPATH": str(tree)}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def said(self, message: str) -> list[dict]:
        return said(self.log, message)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def said(log: Path, message: str) -> list[dict]:
    return [line for line in json_lines(log) if line.get("message") == message]


def test_an_old_and_a_new_instance_serve_side_by_side(tmp_path, database, vhost):
    tree = materialise(releases()["previous"]["commit"], tmp_path / "previous")
    run_dir = tmp_path / "run"
    logs = run_dir / "logs"
    system = RunningSystem(run_dir, vhost, {"DATABASE_URL": database})
    old: dict[str, OldInstance] = {}
    try:
        for service in ("submissions", "notify"):
            old[service] = OldInstance(tree, run_dir, service)
        # Both consume once the old instances declared their queues and said so.
        for instance in old.values():
            wait_until(partial(instance.said, "service_starting"), SETTLE, "the old instance to start")
        people = demo_people(system, f"http://127.0.0.1:{system.port}")
        citizen, caseworker = people[DEMO_CITIZEN], people[CASEWORKER]

        cases: list[str] = []

        def handled(case_id: str, count: int) -> bool:
            """The case is at its Jobcenter with its receipt posted, and the logs of both instances say so."""
            listed = {case["case_id"]: case["status"] for case in citizen.get("/cases").json()["cases"]}
            routed = said(logs / "submissions.log", "routing_event_applied") + old["submissions"].said(
                "routing_event_applied"
            )
            posted = said(logs / "notify.log", "postfach_message_posted") + old["notify"].said(
                "postfach_message_posted"
            )
            return (
                listed.get(case_id) == "assigned"
                and len(routed) >= count
                and any(line.get("case_id") == case_id for line in posted)
            )

        def both_served() -> bool:
            """One more submitted case; whether each old and each new instance has served some by now."""
            if len(cases) % 2:
                # One more submissions RPC every other case: with strict round-robin and an even number of
                # RPCs per case, every submit_case would otherwise land on the same instance.
                assert citizen.get("/cases").status_code == 200
            case_id, _ = filed_arbeitsaufnahme(citizen)
            answer = citizen.submit(case_id, f"submit-{uuid.uuid4()}")
            assert answer.status_code == 200, answer.text
            cases.append(case_id)
            # Routing's event and the receipt are handled asynchronously: on a loaded machine a dozen cases
            # were filed before the first ones were handled. Whom each case's work went to is known only
            # once that work is done.
            wait_until(partial(handled, case_id, len(cases)), SETTLE, "the case's routing and receipt")
            assert len(cases) <= MOST_CASES, "the old and the new instances did not both get work"
            served = [
                said(logs / "submissions.log", "case_submitted"), old["submissions"].said("case_submitted"),
                said(logs / "submissions.log", "routing_event_applied"),
                old["submissions"].said("routing_event_applied"),
                said(logs / "notify.log", "postfach_message_posted"), old["notify"].said("postfach_message_posted"),
            ]  # fmt: skip
            return all(served)

        wait_until(both_served, SETTLE * 3, "work for the old and the new instance of each service", interval=0.5)

        # Every case, whoever served it: assigned to its Jobcenter, one receipt in the Postfach.
        for case_id in cases:
            wait_until(partial(postfach_ids, citizen, case_id), SETTLE, "the receipt in the Postfach")
            wait_until(partial(assigned, caseworker, case_id), SETTLE, "the case at its Jobcenter")
        assert all(len(postfach_ids(citizen, case_id)) == 1 for case_id in cases)
        listed = {case["case_id"]: case["status"] for case in citizen.get("/cases").json()["cases"]}
        assert all(listed[case_id] == "assigned" for case_id in cases), listed
        for instance in old.values():
            assert instance.process.poll() is None, instance.log.read_text()[-3000:]
    finally:
        for instance in old.values():
            instance.stop()
        assert system.interrupt() == 0, system.text()[-3000:]
    wait_until(lambda: processes_of(run_dir) == [], 30, "every process to end")
