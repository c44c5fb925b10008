"""The whole system on one machine: ``python -m shared.system run`` (what ``make run`` calls).

Starts what the services need (RabbitMQ if it is down, SeaweedFS, clamd, an SMTP sink), runs the
migrate step (``shared.migrate``: each service's schema to its newest revision), then the services
and the outbox relays, waits until the gateway is ready, seeds the demo accounts and
follows the logs. Ctrl-C (or SIGTERM) stops everything it started. State lives in the run folder,
so a second run continues where the first stopped; ``clean`` removes it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from secrets import token_urlsafe
from typing import IO

from shared.broker_access import PRINCIPALS, environ_variable
from shared.config import REPOSITORY_ROOT
from shared.servers import (
    RunningServer,
    create_rabbit_vhost,
    ensure_clamd_installed,
    ensure_rabbitmq,
    free_port,
    principal_environ,
    start_clamd,
    start_seaweedfs,
    start_smtp_sink,
)
from shared.service import SERVICES

DEFAULT_RUN_DIR = REPOSITORY_ROOT / "run"
RUN_VHOST = "jobcenter_portal"
RELAYS = {
    "submissions": "services.submissions.application:Cases",
    "routing": "services.routing.application:Assignments",
}
READY_TIMEOUT_SECONDS = 120.0


# Keys a run folder may lack from an older release; made when missing (none of them locks stored data).
# GATEWAY_SECRET keys the CSRF tokens: kept, a form opened before a restart of `make run` can still be sent.
LATER_KEYS = ("RECEIPT_SIGNING_KEY", "BACKOFFICE_SIGNING_KEY", "GATEWAY_SECRET")


def dev_secrets(run_dir: Path) -> dict[str, str]:
    """Keys made once per run folder; the event store cannot be read without the same key later."""
    path = run_dir / "dev-secrets.json"
    if path.exists():
        secrets: dict[str, str] = json.loads(path.read_text())
        # Run folders of an older release get the keys they lack now (LATER_KEYS).
        missing = [name for name in LATER_KEYS if name not in secrets]
        for name in missing:
            secrets[name] = base64.b64encode(os.urandom(32)).decode()
        if missing:
            path.write_text(json.dumps(secrets))
        return secrets
    if holds_data(run_dir):
        # New keys would make every stored case unreadable: that is a lost file, not a first run.
        raise RuntimeError(
            f"{path} is missing, but {run_dir} holds data written with its keys: put the file back (from your "
            "backup) or start afresh with `make clean`"
        )
    secrets = {
        "CIPHER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "RECEIPT_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "BACKOFFICE_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(),
        "GATEWAY_SECRET": base64.b64encode(os.urandom(32)).decode(),
    }
    path.write_text(json.dumps(secrets))
    path.chmod(0o600)
    return secrets


def broker_passwords(run_dir: Path) -> dict[str, str]:
    """The password of each service's and relay's broker user (shared.broker_access), made once per run folder."""
    path = run_dir / "broker-passwords.json"
    passwords: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    made = {p.name: token_urlsafe(18) for p in PRINCIPALS if p.name not in passwords}
    if made or not path.exists():
        passwords.update(made)
        path.write_text(json.dumps(passwords))
        path.chmod(0o600)
    return passwords


def port_or_free(preferred: int) -> int:
    """The preferred port when nothing listens there, else any free one."""
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def holds_data(run_dir: Path) -> bool:
    """Whether an earlier run stored something here (its S3 objects or SQLite databases)."""
    return (run_dir / "seaweedfs").exists() or any((run_dir / "data").glob("*.sqlite"))


def hold_run_dir(run_dir: Path) -> IO[str]:
    """Take the run folder for this run: one run at a time, or two would serve and migrate the same data.

    The lock is an ``flock`` on ``run_dir/.run.lock``, passed on to the services and relays: processes
    an interrupted run left behind still hold it, so the next run says so instead of failing somewhere
    inside SeaweedFS. Kept open (and so held) as long as the returned file is.
    """
    import fcntl

    lock = (run_dir / ".run.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        raise RuntimeError(
            f"another run uses {run_dir} (started by pid {holder}), or processes an interrupted run left behind "
            f"still do: stop them first (they are listed by `ps -eo pid,args | grep {run_dir}`)"
        ) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


class System:
    """The processes of one run; stops them in reverse order, each only once."""

    def __init__(self, run_dir: Path, gateway_port: int) -> None:
        self.run_dir = run_dir
        self.gateway_port = gateway_port
        self.logs = run_dir / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.environ: dict[str, str] = {}
        self.run_lock: IO[str] | None = None

    def start_infrastructure(self, stack: ExitStack) -> None:
        self.environ.update(dev_secrets(self.run_dir))
        self.environ["RUN_DIR"] = str(self.run_dir)
        self.environ["GATEWAY_PORT"] = str(self.gateway_port)
        if "AMQP_URI" in os.environ:
            # A broker of the caller's: its vhost and users are the caller's (the tests pass each
            # service's and relay's own user as <PRINCIPAL>_AMQP_URI, which reach the processes as they are).
            self.environ["AMQP_URI"] = os.environ["AMQP_URI"]
        else:
            say("RabbitMQ: checking 127.0.0.1:5672 (starting or installing it if needed)")
            ensure_rabbitmq()
            vhost = os.environ.get("BROKER_VHOST", RUN_VHOST)
            self.environ["AMQP_URI"] = create_rabbit_vhost(vhost, broker_passwords(self.run_dir))
            self.environ.update(principal_environ(self.environ["AMQP_URI"]))
        if "S3_ENDPOINT" not in os.environ:
            say("SeaweedFS (S3): starting")
            self.environ.update(keep(stack, start_seaweedfs(self.run_dir / "seaweedfs", port_or_free(8333))).settings)
        if "CLAMD_HOST" not in os.environ:
            say("clamd: starting with the development signature database")
            ensure_clamd_installed()
            self.environ.update(keep(stack, start_clamd(self.run_dir / "clamd", port_or_free(3310))).settings)
        if "SMTP_HOST" not in os.environ:
            say(f"SMTP sink: starting; every mail is kept under {self.run_dir / 'mail'}")
            sink = start_smtp_sink(self.run_dir / "mail", port_or_free(8025), self.logs / "smtp-sink.log")
            self.environ.update(keep(stack, sink).settings)

    def migrate(self) -> None:
        """The migrate step (``python -m shared.migrate``) for every service, before any of them starts."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / "migrate.log").open("ab") as log:
            result = subprocess.run(
                [sys.executable, "-m", "shared.migrate"],
                cwd=REPOSITORY_ROOT,
                env={**os.environ, **self.environ, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=300,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"the migrate step failed ({result.returncode}); see {self.logs / 'migrate.log'}")

    def start_services(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        environ = {**os.environ, **self.environ, "PYTHONUNBUFFERED": "1"}
        for service in SERVICES:
            self._spawn(service, [sys.executable, "-m", "shared.run", service], environ)
        for service, application in RELAYS.items():
            relay = f"{service}-outbox"
            own = environ.get(environ_variable(relay))
            # The relay reads its service's config, whose AMQP_URI must then be the relay's own user.
            relay_environ = {**environ, environ_variable(service): own} if own else environ
            self._spawn(relay, [sys.executable, "-m", "shared.outbox", service, application], relay_environ)

    def _spawn(self, name: str, command: list[str], environ: dict[str, str]) -> None:
        held = (self.run_lock.fileno(),) if self.run_lock is not None else ()
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=REPOSITORY_ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=held,  # the run folder's lock (hold_run_dir) stays held while any of them lives
            )  # fmt: skip

    def wait_until_ready(self) -> dict[str, object]:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        report: dict[str, object] = {}
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=10) as answer:  # noqa: S310
                    return dict(json.load(answer))
            except urllib.error.HTTPError as not_ready:
                report = json.load(not_ready)
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the system did not become ready: {json.dumps(report)}")

    def seed_demo_accounts(self) -> str:
        """The demo accounts (identity) and the demo back-office client (backoffice), as printed for people."""
        environ = {**os.environ, **self.environ}
        printed = []
        for module in ("services.identity.demo", "services.backoffice.demo"):
            result = subprocess.run(
                [sys.executable, "-m", module],
                cwd=REPOSITORY_ROOT,
                env=environ,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"seeding the demo accounts failed ({module}): {result.stderr[-2000:]}")
            printed.append(result.stdout)
        return "".join(printed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def stop(self) -> None:
        for process in self.processes.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def keep(stack: ExitStack, server: RunningServer) -> RunningServer:
    stack.callback(server.stop)
    return server


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt, so both stop the run the same way.

    SIGINT explicitly: a process started in the background by a non-interactive shell (``make test``'s
    side, a script's ``make run &``) inherits SIGINT ignored, and Python then leaves Ctrl-C ignored.
    """

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def follow_logs(logs: Path) -> None:
    """Print every service's log lines as they come, compactly, until interrupted."""
    files = {path.stem: path.open("r", errors="replace") for path in sorted(logs.glob("*.log"))}
    for handle in files.values():
        handle.seek(0, os.SEEK_END)
    while True:
        quiet = True
        for name, handle in files.items():
            for line in handle.readlines():
                quiet = False
                print(f"{name:>20} | {compact(line.rstrip())}", flush=True)
        if quiet:
            time.sleep(0.3)


def compact(line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return line
    extras = {k: v for k, v in record.items() if k not in ("timestamp", "level", "service", "logger", "message")}
    return f"{record.get('timestamp', '')} {record.get('level', ''):7} {record.get('message', '')} {json.dumps(extras)}"


def run(run_dir: Path, gateway_port: int, follow: bool) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    system = System(run_dir.resolve(), gateway_port)
    with stop_signals(), ExitStack() as stack:
        system.run_lock = stack.enter_context(hold_run_dir(system.run_dir))
        try:
            system.start_infrastructure(stack)
            stack.callback(system.stop)
            say("migrating each service's database (python -m shared.migrate)")
            system.migrate()
            say("starting the services and the outbox relays")
            system.start_services()
            system.wait_until_ready()
            accounts = system.seed_demo_accounts()
            say(f"ready: {system.url}  (readiness: {system.url}/readyz)")
            print(accounts, flush=True)
            say(f"logs: {system.logs}   mail: {run_dir / 'mail'}   stop with Ctrl-C")
            if follow:
                follow_logs(system.logs)
            else:
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            say("stopping everything this run started")
    say("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("run", "clean"))
    parser.add_argument("--run-dir", type=Path, default=Path(os.environ.get("RUN_DIR", DEFAULT_RUN_DIR)))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8000")))
    parser.add_argument("--no-follow", action="store_true", help="do not print the services' logs")
    args = parser.parse_args(argv)
    if args.command == "clean":
        shutil.rmtree(args.run_dir, ignore_errors=True)
        say(f"removed {args.run_dir}")
        return
    try:
        run(args.run_dir, args.port, follow=not args.no_follow)
    except RuntimeError as problem:
        sys.exit(f"[run] failed: {problem}")


if __name__ == "__main__":
    main()
