"""The whole system as ``make run`` starts it, for cross-service tests: start, log in, look, stop."""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyotp

from shared import servers
from shared.config import REPOSITORY_ROOT
from shared.servers import free_port, principal_environ
from shared.testing.http import get_json
from shared.testing.waiting import wait_for_process

DEMO_CITIZEN = "erika.mustermann@example.org"
DEMO_PASSWORD = "Demo-Passwort-2026"


class RunningSystem:
    """``python -m shared.system run`` of this checkout, or of ``root``: an older release's tree (tests/upgrade)."""

    def __init__(
        self, run_dir: Path, amqp_uri: str, environ: dict[str, str] | None = None, root: Path = REPOSITORY_ROOT
    ) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.output = run_dir.parent / f"{run_dir.name}-output-{time.monotonic_ns()}.log"
        # guest for the tests' own calls; each service and relay its own broker user on that vhost
        environ = {**os.environ, **principal_environ(amqp_uri), **(environ or {}), "AMQP_URI": amqp_uri}
        if root != REPOSITORY_ROOT:
            environ["PYTHONPATH"] = str(root)  # its own shared/ and services/, this venv's packages
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.system", "run", "--run-dir", str(run_dir), "--port", str(self.port),
             "--no-follow"],
            cwd=root, env=environ, stdout=self.output.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # About a minute of CPU for all its processes on our machines; minutes on the clock when loaded.
            self.wait_for_output("[run] ready", cpu_seconds=300)
        except BaseException:
            # No fixture tears down what failed to start: a system left running loads every test after it.
            self.process.terminate()
            self.process.wait(timeout=60)
            raise

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for_output(self, marker: str, cpu_seconds: float) -> None:
        """Until the system prints ``marker``; bounded by the CPU time of the system and all its processes."""
        wait_for_process(self.process, lambda: marker in self.text(), cpu_seconds, repr(marker), self.output)

    def get(self, path: str, headers: dict[str, str] | None = None):
        return get_json(f"http://127.0.0.1:{self.port}{path}", headers)

    def interrupt(self) -> int:
        """Ctrl-C, as at a terminal; if that does not stop it within a minute, SIGTERM and fail, so that no
        system is left running (on a vhost its test deletes next, where it would retry for ever)."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=60)
            raise AssertionError(f"Ctrl-C did not stop the system within 60 s:\n{self.text()[-4000:]}") from None


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


class LogMark:
    """Where each log of a run folder ends now; ``problems_since`` is what was logged at WARNING or worse after.

    A test that fails shows the system's own account of that moment in its report (the logs hold no
    personal data): a page that said "Das hat leider nicht geklappt" names its cause there.
    """

    LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})

    def __init__(self, run_dir: Path) -> None:
        self.logs = run_dir / "logs"
        self.sizes = {path: path.stat().st_size for path in self.logs.glob("*.log")}

    def problems_since(self) -> str:
        lines = []
        for path in sorted(self.logs.glob("*.log")):
            with path.open("rb") as log:
                log.seek(self.sizes.get(path, 0))
                for line in log.read().decode(errors="replace").splitlines():
                    try:
                        level = json.loads(line).get("level") if line.startswith("{") else None
                    except ValueError:
                        level = None
                    if level in self.LEVELS or not line.startswith("{"):  # a traceback is no JSON
                        lines.append(f"{path.stem}: {line}")
        return "\n".join(lines)


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
            if str(run_dir).encode() in environ + b"\0".join(cmdline) and _holds(parts, words):
                return cls(int(entry.name))
        raise LookupError(f"no process {' '.join(words)} for {run_dir}")

    def kill_and_restart(self, log_path: Path) -> "subprocess.Popen[bytes]":
        """SIGKILL it, then start the same command with the same environment, as an orchestrator would."""
        self.kill()
        return self.start(log_path)

    def kill(self) -> None:
        """SIGKILL it and wait until it is gone."""
        os.kill(self.pid, signal.SIGKILL)
        while Path(f"/proc/{self.pid}").exists() and _state(self.pid) != "Z":
            time.sleep(0.05)

    def start(self, log_path: Path) -> "subprocess.Popen[bytes]":
        """Start the same command again with the same environment (after ``kill``)."""
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


# --- Private servers that a test may stop and start (never the machine's shared ones) -------------------


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary folder, on a free port, trust auth on 127.0.0.1.

    PostgreSQL refuses to run as root, so the cluster belongs to the ``postgres`` user, in a folder of
    /tmp that it can reach (a test's tmp_path lies under folders only root may enter).
    """

    BIN = Path("/usr/lib/postgresql/15/bin")

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="jc-private-postgres-"))
        shutil.chown(self.workdir, "postgres", "postgres")
        self.data = self.workdir / "data"
        self.port = free_port()
        self.log = self.workdir / "postgres.log"
        self._as_postgres(str(self.BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                          "--no-sync", "-E", "UTF8")  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
        self._as_postgres(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                          "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: open connections are ended, as when the server is restarted by its operator."""
        self._as_postgres(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        with contextlib.suppress(AssertionError):
            self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _as_postgres(self, *command: str) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True, timeout=90)
        if done.returncode != 0:
            raise AssertionError(f"{command[0]} failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")


class PrivateRabbit:
    """A second RabbitMQ node with its own name, ports and data folder; guest may connect from 127.0.0.1.

    The machine's /etc/rabbitmq/rabbitmq.conf names port 5672, so the node gets a config file of its own;
    the server script drops to the rabbitmq user, so its folder lies in /tmp and belongs to that user.
    """

    def __init__(self) -> None:
        workdir = self.workdir = Path(tempfile.mkdtemp(prefix="jc-private-rabbit-"))
        self.node = f"rel{secrets.token_hex(4)}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        (workdir / "enabled_plugins").write_text("[].\n")
        (workdir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        for path in (workdir, workdir / "enabled_plugins", workdir / "rabbitmq.conf"):
            shutil.chown(path, "rabbitmq", "rabbitmq")
        self.environ = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
        }

    @property
    def uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{self.VHOST}"

    VHOST = "portal"

    def create_vhost(self) -> None:
        """The portal's vhost with every service's and relay's own user (``principal_environ(self.uri)``)."""
        servers.create_rabbit_vhost(self.VHOST, node=servers.PrivateNode(self.node, self.port, self.environ))

    def start(self, timeout: float = 90) -> None:
        subprocess.run(["rabbitmq-server", "-detached"], env=self.environ, check=True, capture_output=True)
        deadline = time.monotonic() + timeout
        while not self._accepts_login():
            if time.monotonic() > deadline:
                raise AssertionError(f"RabbitMQ node {self.node} did not start; see {self.workdir / 'log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self.environ, capture_output=True, timeout=90)

    def remove(self) -> None:
        """Stop the node and delete its folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _accepts_login(self) -> bool:
        import kombu

        try:
            with kombu.Connection(f"amqp://guest:guest@127.0.0.1:{self.port}/", connect_timeout=1) as connection:
                connection.connect()
            return True
        except Exception:
            return False


# --- A citizen through the gateway's JSON API -------------------------------------------------------------

API = "/api/v1"
CITIZEN_PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"


def create_citizens(system_environ: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` citizen accounts with TOTP, made with identity's operator functions: (e-mail, TOTP secret)."""
    from services.identity.operations import Identity
    from shared.config import load_config

    identity = Identity.open(load_config("identity", system_environ))
    try:
        made = []
        for _ in range(count):
            email = f"citizen.{secrets.token_hex(5)}@example.org"
            created = identity.create_account(email, "citizen", "jc-0394", CITIZEN_PASSWORD, None, True)
            made.append((email, str(created["secret"])))
        return made
    finally:
        identity.close()


def system_environ(running: RunningSystem, extra: dict[str, str]) -> dict[str, str]:
    """The settings the services of ``running`` run with (their keys from the run folder), for operator tools."""
    secrets_file = json.loads((running.run_dir / "dev-secrets.json").read_text())
    return {**os.environ, **secrets_file, "RUN_DIR": str(running.run_dir), **extra}


TOTP_STEP_SECONDS = 30
TOTP_STEPS_USED: dict[str, int] = {}


def unused_totp_code(secret: str) -> str:
    """A code identity takes: its 30-second step lies after the last one this process used for ``secret``.

    Identity refuses a step it has seen (replay) and accepts the steps next to now, so a second login within
    the same half minute (e.g. after an upgrade) uses the next step's code, or waits until that is near.
    """
    step = max(int(time.time()) // TOTP_STEP_SECONDS, TOTP_STEPS_USED.get(secret, -1) + 1)
    while step > int(time.time()) // TOTP_STEP_SECONDS + 1:
        time.sleep(0.5)
    TOTP_STEPS_USED[secret] = step
    return str(pyotp.TOTP(secret).at(step * TOTP_STEP_SECONDS))


class ApiCitizen:
    """One citizen's session through ``/api/v1``: cookie jar, CSRF token on every state change."""

    def __init__(
        self, base_url: str, email: str, totp_secret: str, timeout: float = 30, password: str = CITIZEN_PASSWORD
    ) -> None:
        import requests

        self.base_url = base_url
        self.email = email
        self.totp_secret = totp_secret
        self.timeout = timeout
        self.password = password
        self.http = requests.Session()
        self.csrf = ""

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if self.csrf and method not in {"GET", "HEAD"}:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return self.http.request(method, self.base_url + API + path, headers=headers, timeout=self.timeout, **kwargs)

    def log_in(self) -> None:
        first = self.request("POST", "/session", json={"email": self.email, "password": self.password})
        assert first.status_code == 200, first.text
        second = self.request(
            "POST", "/session/second-factor",
            json={"login_ticket": first.json()["login_ticket"], "code": unused_totp_code(self.totp_secret)},
        )  # fmt: skip
        assert second.status_code == 200, second.text
        self.csrf = second.json()["csrf_token"]

    def start_case(self) -> Any:
        return self.request("POST", "/cases", json={"kind": "veraenderungsmitteilung"})

    def save_section(self, case_id: str, section_id: str, data: dict[str, Any]) -> Any:
        return self.request("PUT", f"/cases/{case_id}/sections/{section_id}", json=data)

    def upload(self, case_id: str, content: bytes, nachweis: str = "arbeitsvertrag") -> Any:
        return self.request(
            "POST", f"/cases/{case_id}/documents", params={"nachweis": nachweis, "filename": "Arbeitsvertrag.pdf"},
            data=content, headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip

    def submit(self, case_id: str, idempotency_key: str) -> Any:
        return self.request("POST", f"/cases/{case_id}/submit", headers={"Idempotency-Key": idempotency_key})

    def postfach(self) -> list[dict[str, Any]]:
        answer = self.request("GET", "/postfach")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["messages"])
