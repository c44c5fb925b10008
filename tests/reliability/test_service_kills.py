"""Under a running load of submissions, each service and each outbox relay is SIGKILLed once.

Afterwards: every submission that got a success answer exists exactly once, is assigned exactly
once and produced exactly one Postfach message; every service answers health again.
"""

import sqlite3
import subprocess
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.errors import Unavailable
from shared.testing.waiting import wait_for_process, wait_until
from tests.support import RunningSystem, ServiceProcess, log_in_as_demo_citizen

KILLED = (
    ("shared.run", "submissions"),
    ("shared.outbox", "submissions"),
    ("shared.run", "routing"),
    ("shared.outbox", "routing"),
    ("shared.run", "notify"),
    ("shared.run", "identity"),
    ("shared.run", "documents"),
    ("shared.run", "gateway"),
)
SERVICES = ("identity", "submissions", "documents", "routing", "notify", "backoffice", "gateway")

# A whole system's start, eight kills and restarts and the settling: at load 15 the start alone took 164 s.
pytestmark = pytest.mark.timeout(600)


class Load:
    """Citizens filing cases one after another; a failed call is repeated as a client would.

    Submit carries an idempotency key, so repeating it after a lost answer cannot file twice.
    """

    def __init__(self, amqp_uri: str, token: str) -> None:
        self.amqp_uri = amqp_uri
        self.token = token
        self.submitted: dict[str, str] = {}
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=20) as cluster:
            while not self.stop.is_set():
                self.file_one(cluster.submissions)

    def file_one(self, submissions) -> None:
        case_id = self._until_it_works(submissions.start_draft, self.token, "veraenderungsmitteilung")
        for section_id, data in ARBEITSAUFNAHME.items():
            self._until_it_works(submissions.save_section, case_id, self.token, section_id, data)
        key = f"load-{uuid.uuid4()}"
        case = self._until_it_works(submissions.submit_case, case_id, self.token, key)
        self.submitted[case_id] = case["receipt_number"]

    def _until_it_works(self, call, *args):
        for _ in range(30):
            try:
                return call(*args)
            except Exception:  # a killed service: its queue waits for the restart, or the call timed out
                self.errors += 1
                time.sleep(0.5)
        raise AssertionError("a call kept failing after every service was back")


def progress(load: Load, cases: int):
    """A condition: ``cases`` more cases filed than now."""
    start = len(load.submitted)
    return lambda: len(load.submitted) >= start + cases


def notify_has_handled(run_dir: Path, case_ids: set[str]) -> bool:
    """Notify posted each case's receipt to the citizen and told its Jobcenter of the assignment."""
    with closing(sqlite3.connect(f"file:{run_dir / 'data' / 'notify.sqlite'}?mode=ro", uri=True)) as db:
        receipts = {row[0] for row in db.execute("SELECT case_id FROM notify_postfach_messages WHERE kind = 'receipt'")}
        assigned = {row[0] for row in db.execute("SELECT case_id FROM notify_staff_alerts WHERE kind = 'new_case'")}
    return case_ids <= receipts and case_ids <= assigned


def postfach(cluster, token: str) -> list[dict] | None:
    """The citizen's Postfach messages; None while notify answers that it cannot check the session yet."""
    try:
        return cluster.notify.list_postfach(token)["messages"]
    except Unavailable as unavailable:
        if unavailable.code != "KEYS_UNAVAILABLE":
            raise
        return None


@pytest.fixture
def system(tmp_path, amqp_uri):
    running = RunningSystem(tmp_path / "run", amqp_uri)
    restarted: list[subprocess.Popen[bytes]] = []
    yield running, restarted
    for process in restarted:
        process.kill()
        process.wait()
    running.interrupt()


def test_every_service_and_relay_killed_once_under_load_loses_and_doubles_nothing(system, amqp_uri, rpc):
    running, restarted = system
    with rpc() as cluster:
        token = log_in_as_demo_citizen(cluster, running.text())
    load = Load(amqp_uri, token)
    worker = threading.Thread(target=load.run)
    worker.start()
    try:
        log_path = None
        for words in KILLED:
            what = f"progress before killing {words}"
            # After a kill, bounded by the restarted process's CPU time: its start alone costs ~5 s of CPU.
            if restarted:
                wait_for_process(restarted[-1], progress(load, 1), 60, what, log_path)
            else:
                wait_until(progress(load, 1), 60, what)
            victim = ServiceProcess.find(running.run_dir, *words)
            log_path = running.run_dir / "logs" / f"{words[-1]}-restarted.log"
            restarted.append(victim.kill_and_restart(log_path))
        wait_for_process(restarted[-1], progress(load, 3), 60, "progress after the last kill", log_path)
    finally:
        load.stop.set()
        worker.join(timeout=120)

    submitted = dict(load.submitted)
    assert len(submitted) >= len(KILLED)
    # Settling is watched in notify's own tables, not by polling notify over RPC: right after the kills it
    # works off a backlog of events with all its workers (events and RPC share its prefetch), and on CI a
    # poll queued behind them exceeded the 15-s RPC timeout.
    wait_until(lambda: notify_has_handled(running.run_dir, set(submitted)), 120, "every case's receipt and assignment")
    with rpc() as cluster:
        # The restarted notify fetches identity's keys on its first request; on a loaded machine that RPC may
        # time out, and the answer is "try later" (KEYS_UNAVAILABLE) until the next fetch succeeds.
        messages = wait_until(lambda: postfach(cluster, token), 120, "notify to serve the citizen's Postfach again")
        for case_id, receipt_number in submitted.items():
            case = cluster.submissions.get_case(case_id)
            timeline = [entry["event"] for entry in cluster.submissions.get_timeline(case_id, token)]
            assert case["receipt_number"] == receipt_number
            assert case["status"] == "assigned"
            assert timeline.count("Submitted") == 1
            assert timeline.count("Assigned") == 1
            assert [m["kind"] for m in messages if m["case_id"] == case_id] == ["receipt"]
        assert {cluster[name].health()["status"] for name in SERVICES} == {"ok"}
    status, _, report = running.get("/readyz")
    assert status == 200, report
    print(f"{len(submitted)} cases filed under {len(KILLED)} kills; {load.errors} calls had to be repeated")
