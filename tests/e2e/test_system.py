"""The whole system as ``make run`` starts it: separate processes, real servers, real HTTP."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pyotp
import pytest

from services.submissions.tests.scenarios import submit_over_rpc
from shared.config import REPOSITORY_ROOT
from shared.servers import free_port
from shared.testing.http import get_json

DEMO_CITIZEN = "erika.mustermann@example.org"
DEMO_PASSWORD = "Demo-Passwort-2026"
SERVICES = ("identity", "submissions", "documents", "routing", "notify", "gateway")
CORRELATION_ID = "e2e-corr-5e7a11d0"


class RunningSystem:
    def __init__(self, run_dir: Path, amqp_uri: str) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.output = run_dir.parent / f"{run_dir.name}-output-{time.monotonic_ns()}.log"
        environ = {**os.environ, "AMQP_URI": amqp_uri}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.system", "run", "--run-dir", str(run_dir), "--port", str(self.port),
             "--no-follow"],
            cwd=REPOSITORY_ROOT, env=environ, stdout=self.output.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.wait_for_output("[run] ready", timeout=180)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for_output(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the system did not say {marker!r}:\n{self.text()[-4000:]}")
            time.sleep(0.2)

    def get(self, path: str, headers: dict[str, str] | None = None):
        return get_json(f"http://127.0.0.1:{self.port}{path}", headers)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)


def processes_of(run_dir: Path) -> list[str]:
    """Command lines of live processes started for this run folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(run_dir).encode() in environ + cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def wait_for_postfach(cluster, token: str, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (messages := cluster.notify.list_postfach(token)["messages"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return messages


def log_in_as_demo_citizen(cluster, output: str) -> str:
    """Password and TOTP, as the demo output of ``make run`` tells a person to; returns the access token."""
    found = re.search(r"erika\.mustermann@example\.org.*?\n\s+TOTP secret (\w+)", output)
    assert found, "make run printed no TOTP secret for the demo citizen"
    secret = found.group(1)
    first = cluster.identity.login_with_password(DEMO_CITIZEN, DEMO_PASSWORD, "127.0.0.1")
    assert first["status"] == "second_factor_required"
    session = cluster.identity.complete_login_with_totp(first["login_ticket"], pyotp.TOTP(secret).now(), "127.0.0.1")
    return str(session["access_token"])


@pytest.fixture
def run_dir(tmp_path):
    path = tmp_path / "run"
    yield path
    for command in processes_of(path):  # never leave a process behind, even when a test failed
        print("left behind:", command)


def test_the_system_starts_serves_and_stops_without_leaving_a_process(run_dir, amqp_uri, rpc):
    system = RunningSystem(run_dir, amqp_uri)
    try:
        status, _, body = system.get("/healthz")
        assert (status, body) == (200, {"status": "ok"})

        status, headers, report = system.get("/readyz", {"X-Correlation-ID": CORRELATION_ID})
        assert status == 200, report
        assert headers["X-Correlation-ID"] == CORRELATION_ID
        assert report["broker"] == {"status": "ok"}
        dependencies = {
            (service, name) for service, item in report["services"].items() for name in item["dependencies"]
        }
        assert {("documents", "s3"), ("documents", "clamd"), ("notify", "smtp"), ("submissions", "event_store")} <= (
            dependencies
        )
        assert "erika.mustermann@example.org" in system.text()

        with rpc(CORRELATION_ID) as cluster:
            assert [cluster[name].health()["service"] for name in SERVICES] == list(SERVICES)
            token = log_in_as_demo_citizen(cluster, system.text())
            account_id = jwt.decode(token, options={"verify_signature": False})["sub"]
            case_id = submit_over_rpc(cluster, account_id, token=token)["case_id"]
            assert [m["case_id"] for m in wait_for_postfach(cluster, token)] == [case_id]

        submitted = [
            line for line in json_lines(run_dir / "logs" / "submissions.log") if line.get("case_id") == case_id
        ]

        def posted_lines():
            return [line for line in json_lines(run_dir / "logs" / "notify.log") if line.get("case_id") == case_id]

        # The message is committed a moment before notify logs that it posted it.
        deadline = time.monotonic() + 10
        while not (posted := posted_lines()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {line["correlation_id"] for line in submitted} == {CORRELATION_ID}
        assert [line["message"] for line in posted] == ["postfach_message_posted"]
        assert posted[0]["correlation_id"] == CORRELATION_ID
        assert posted[0]["service"] == "notify"
    finally:
        exit_code = system.interrupt()
    assert exit_code == 0
    assert "[run] stopped" in system.text()
    time.sleep(0.5)
    assert processes_of(run_dir) == []

    # A second run on the same folder keeps the state: accounts exist, the stored case still reads.
    again = RunningSystem(run_dir, amqp_uri)
    try:
        assert "(exists)" in again.text()
        with rpc() as cluster:
            case = cluster.submissions.get_case(case_id)
        # Routing assigned the case of a Treptow-Köpenick resident to that Bezirk's Jobcenter.
        assert (case["status"], case["jobcenter_id"]) == ("assigned", "jc-0394")
    finally:
        assert again.interrupt() == 0
    time.sleep(0.5)
    assert processes_of(run_dir) == []
