"""The whole system as ``make run`` starts it, for cross-service tests: start, log in, look, stop."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyotp

from shared.config import REPOSITORY_ROOT
from shared.servers import free_port
from shared.testing.http import get_json

DEMO_CITIZEN = "erika.mustermann@example.org"
DEMO_PASSWORD = "Demo-Passwort-2026"


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


class ServiceProcess:
    """One process the system started (a service or a relay), found by its command line."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cmdline = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]
        raw_environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        self.environ = dict(item.decode(errors="replace").split("=", 1) for item in raw_environ if b"=" in item)

    @classmethod
    def find(cls, run_dir: Path, *words: str) -> "ServiceProcess":
        """The live process of this run whose command line holds ``words`` in order, e.g. ("shared.run", "notify")."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            parts = [part.decode(errors="replace") for part in cmdline if part]
            if str(run_dir).encode() in environ and _holds(parts, words):
                return cls(int(entry.name))
        raise LookupError(f"no process {' '.join(words)} for {run_dir}")

    def kill_and_restart(self, log_path: Path) -> "subprocess.Popen[bytes]":
        """SIGKILL it, then start the same command with the same environment, as an orchestrator would."""
        os.kill(self.pid, signal.SIGKILL)
        while Path(f"/proc/{self.pid}").exists() and _state(self.pid) != "Z":
            time.sleep(0.05)
        with log_path.open("ab") as log:
            return subprocess.Popen(
                self.cmdline, cwd=REPOSITORY_ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip


def _holds(parts: list[str], words: tuple[str, ...]) -> bool:
    return any(parts[i : i + len(words)] == list(words) for i in range(len(parts)))


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (OSError, IndexError):
        return "X"
