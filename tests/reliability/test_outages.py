"""Under a running load of citizens filing cases with uploads through the gateway, each piece of
infrastructure fails once: RabbitMQ and PostgreSQL are restarted, S3 (SeaweedFS) and SMTP are
unavailable for a while.

Afterwards: every submission that got a success answer exists once, is assigned once, produced one
Postfach message and at most one e-mail; a case whose submit only ever got error answers is either
still a draft or was filed completely; every service is ready again without being restarted by hand.
How long each took is printed (``pytest -s``) and recorded in tests/reliability/README.md.

RabbitMQ and PostgreSQL are private instances made for this module: the machine's own servers are
shared with other test runs and are never stopped.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from services.documents.retention import store_from_config
from services.documents.storage import accepted_key
from services.documents.tests import samples
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.config import load_config
from shared.service import SERVICES
from shared.system import RELAYS
from shared.testing.fixtures import Mailbox
from shared.testing.http import get_json
from shared.testing.waiting import wait_for_process, wait_until
from tests.support import (
    ApiCitizen,
    PrivatePostgres,
    PrivateRabbit,
    RunningSystem,
    ServiceProcess,
    create_citizens,
    system_environ,
)

CITIZENS = 4
OUTAGE_SECONDS = 6.0
# How long one step of a citizen is tried again before the citizen gives the case up.
PATIENCE_SECONDS = 45.0
recovery_report: dict[str, dict[str, float]] = {}


@dataclass
class Outcome:
    """What the load saw: cases with a receipt, cases given up (and at which step), error answers."""

    started: dict[str, str] = field(default_factory=dict)  # case_id -> citizen e-mail
    submitted: dict[str, tuple[str, str]] = field(default_factory=dict)  # case_id -> (citizen e-mail, receipt)
    given_up: dict[str, str] = field(default_factory=dict)  # case_id -> step
    errors: Counter[str] = field(default_factory=Counter)


class Load:
    """Citizens filing VÄM Arbeitsaufnahme with a PDF, one after another; an error answer is tried again."""

    def __init__(self, citizens: list[ApiCitizen]) -> None:
        self.citizens = citizens
        self.outcome = Outcome()
        self.stop = threading.Event()
        self.pdf = samples.large_pdf(50_000)
        self.workers = [threading.Thread(target=self._run, args=(citizen,)) for citizen in citizens]

    def __enter__(self) -> Load:
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=PATIENCE_SECONDS * 3)

    def successes(self) -> int:
        return len(self.outcome.submitted)

    def _run(self, citizen: ApiCitizen) -> None:
        while not self.stop.is_set():
            self._file_one(citizen)

    def _file_one(self, citizen: ApiCitizen) -> None:
        started = self._until_it_works("start", lambda: citizen.start_case(), 201)
        if started is None:
            return
        case_id = started.json()["case_id"]
        self.outcome.started[case_id] = citizen.email
        steps: list[tuple[str, Callable[[], Any], int]] = [
            (section_id, functools.partial(citizen.save_section, case_id, section_id, data), 200)
            for section_id, data in ARBEITSAUFNAHME.items()
        ]
        steps.append(("upload", lambda: citizen.upload(case_id, self.pdf), 201))
        key = f"outage-{uuid.uuid4()}"
        steps.append(("submit", lambda: citizen.submit(case_id, key), 200))
        for step, call, expected in steps:
            answer = self._until_it_works(step, call, expected)
            if answer is None:
                self.outcome.given_up[case_id] = step
                return
        self.outcome.submitted[case_id] = (citizen.email, answer.json()["receipt_number"])

    def _until_it_works(self, step: str, call: Callable[[], Any], expected: int) -> Any:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            try:
                answer = call()
            except requests.RequestException as problem:
                self.outcome.errors[f"{step}: {type(problem).__name__}"] += 1
            else:
                if answer.status_code == expected:
                    return answer
                code = answer.json().get("error", {}).get("code") if answer.content else ""
                self.outcome.errors[f"{step}: {answer.status_code} {code}"] += 1
            if self.stop.is_set() and step != "submit":
                return None
            time.sleep(0.5)
        return None


@dataclass
class Portal:
    running: RunningSystem
    postgres: PrivatePostgres
    rabbit: PrivateRabbit
    citizens: list[ApiCitizen]
    mailbox: Mailbox
    # Servers a test started again after killing them; stopped when the module's system stops.
    restarted: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}"

    def service_pids(self) -> dict[str, int]:
        """The process id of each service and relay; LookupError when one is gone."""
        run_dir = self.running.run_dir
        pids = {name: ServiceProcess.find(run_dir, "shared.run", name).pid for name in SERVICES}
        pids.update({f"{name}-outbox": ServiceProcess.find(run_dir, "shared.outbox", name).pid for name in RELAYS})
        return pids


SERVICE_DATABASES = ("identity", "submissions", "documents", "routing", "notify")


@pytest.fixture(scope="module")
def portal(request: pytest.FixtureRequest) -> Iterator[Portal]:
    postgres = PrivatePostgres()
    rabbit = PrivateRabbit()
    running = None
    portal: Portal | None = None
    # Not under pytest's basetemp: other pytest runs on this machine prune old basetemps while we run.
    workdir = Path(tempfile.mkdtemp(prefix="jc-outages-"))
    try:
        postgres.start()
        rabbit.start()
        rabbit.create_vhost()
        with psycopg.connect(postgres.url, autocommit=True) as connection:
            for name in SERVICE_DATABASES:
                connection.execute(f"CREATE DATABASE {name}")
        databases = {
            f"{name.upper()}_DATABASE_URL": postgres.url.rsplit("/", 1)[0] + f"/{name}" for name in SERVICE_DATABASES
        }
        settings = {
            **databases,
            "GATEWAY_LOGIN_RATE_PER_MINUTE": "1000",
            "GATEWAY_UPLOAD_RATE_PER_MINUTE": "10000",
            "IDENTITY_ARGON2_TIME_COST": "1",
            "IDENTITY_ARGON2_MEMORY_KIB": "8192",
            "IDENTITY_ARGON2_PARALLELISM": "1",
        }
        running = RunningSystem(workdir / "run", rabbit.uri, settings)
        accounts = create_citizens(system_environ(running, {**settings, "AMQP_URI": rabbit.uri}), CITIZENS)
        citizens = [ApiCitizen(f"http://127.0.0.1:{running.port}", email, secret, 20) for email, secret in accounts]
        for citizen in citizens:
            citizen.log_in()
            consent = citizen.request("PUT", "/consents/email_alerts", json={"granted": True})
            assert consent.status_code == 200, consent.text
        portal = Portal(running, postgres, rabbit, citizens, Mailbox(running.run_dir / "mail"))
        yield portal
    finally:
        if running is not None:
            running.interrupt()
        for process in portal.restarted if portal else ():
            process.terminate()
            process.wait(timeout=30)
        rabbit.remove()
        postgres.remove()
        if request.session.testsfailed:
            print(f"\nThe system's logs are kept in {workdir / 'run' / 'logs'}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if recovery_report:
            print("\nRecovery: seconds from the fault until the server was back (its restart included), then")
            print("seconds from then until each service reported ok in the gateway's /readyz, and /readyz as a whole:")
            for fault, times in recovery_report.items():
                back = times.pop("server back")
                each = "  ".join(f"{name} {seconds:.1f}" for name, seconds in times.items())
                print(f"  {fault:<10} server back after {back:4.1f}  |  {each}")


def readiness(portal: Portal) -> tuple[int, dict[str, Any]]:
    try:
        status, _, report = get_json(f"{portal.url}/readyz")
    except OSError:
        return 0, {}
    return status, report


def time_to_recover(portal: Portal, restarted: subprocess.Popen[bytes] | None = None) -> dict[str, float]:
    """Seconds from now until each service reports ok in the gateway's readiness, and the whole of it.

    After a server was started again (weed, the SMTP sink), bounded by that server's CPU time, not the
    clock: on a loaded machine its start alone took longer than the 90 s that bound the other outages.
    """
    start = time.monotonic()
    recovered: dict[str, float] = {}

    def ready() -> bool:
        status, report = readiness(portal)
        now = time.monotonic() - start
        if status:
            recovered.setdefault("gateway", now)
        for name, health in (report.get("services") or {}).items():
            if isinstance(health, dict) and health.get("status") == "ok":
                recovered.setdefault(name, now)
        if status == 200:
            recovered["readyz"] = now
        return status == 200

    what = "the gateway's readiness after the outage"
    if restarted is None:
        wait_until(ready, 90, what, interval=0.25)
    else:
        wait_for_process(restarted, ready, 60, what, interval=0.25)
    return recovered


def run_outage(portal: Portal, fault: str, fail: Callable[[], None], restore: Callable[[], None]) -> Outcome:
    """Load before, during and after one outage; returns what the citizens saw once every case settled."""
    pids_before = portal.service_pids()
    assert readiness(portal)[0] == 200, "the system was not ready before the outage"
    with Load(portal.citizens) as load:
        wait_until(lambda: load.successes() >= 2, 90, f"cases filed before the {fault} outage")
        began = time.monotonic()
        fail()
        time.sleep(OUTAGE_SECONDS)
        started_before = len(portal.restarted)
        restore()
        restored = time.monotonic()
        mails_at_restore = len(portal.mailbox.messages())
        started = portal.restarted[-1] if len(portal.restarted) > started_before else None
        recovery_report[fault] = time_to_recover(portal, started)
        recovery_report[fault]["server back"] = restored - began
        after_restore = load.successes()
        wait_until(lambda: load.successes() >= after_restore + 3, 120, f"cases filed after the {fault} outage")
    outcome = load.outcome
    print(f"\n{fault}: {len(outcome.submitted)} filed, {len(outcome.given_up)} given up, errors {dict(outcome.errors)}")
    assert_every_case_settled_once(portal, outcome)
    assert portal.service_pids() == pids_before, "a service was restarted or died"
    # E-mail alerts flow again after every outage, not only after SMTP's: a notify worker that waits for
    # ever on a call lost with the broker stops its timer, and with it every alert (seen once in CI).
    wait_until(lambda: len(portal.mailbox.messages()) > mails_at_restore, 120, f"an e-mail after the {fault} outage")
    assert_at_most_one_mail_per_case(portal)
    return outcome


filed_by_email: Counter[str] = Counter()


def assert_every_case_settled_once(portal: Portal, outcome: Outcome) -> None:
    by_email = {citizen.email: citizen for citizen in portal.citizens}
    for email, _ in outcome.submitted.values():
        filed_by_email[email] += 1

    def settled(case_id: str, citizen: ApiCitizen) -> bool:
        case = citizen.request("GET", f"/cases/{case_id}").json()["case"]
        posted = [m for m in citizen.postfach() if m["case_id"] == case_id]
        return case["status"] == "assigned" and len(posted) >= 1

    for case_id, (email, receipt_number) in outcome.submitted.items():
        citizen = by_email[email]
        wait_until(functools.partial(settled, case_id, citizen), 120, f"case {case_id} to be assigned and posted")
        case = citizen.request("GET", f"/cases/{case_id}").json()["case"]
        assert case["receipt_number"] == receipt_number
        timeline = [e["event"] for e in citizen.request("GET", f"/cases/{case_id}/timeline").json()["events"]]
        assert timeline.count("Submitted") == 1, timeline
        assert timeline.count("Assigned") == 1, timeline
        assert [m["kind"] for m in citizen.postfach() if m["case_id"] == case_id] == ["receipt"]
    # Every case the load started is a draft or was filed completely: nothing half done. (A case
    # whose start answer was lost is not known here; it can only be an empty draft.)
    for case_id in set(outcome.started) - set(outcome.submitted):
        citizen = by_email[outcome.started[case_id]]
        detail = citizen.request("GET", f"/cases/{case_id}").json()
        if detail["case"]["status"] != "draft":
            wait_until(functools.partial(settled, case_id, citizen), 120, f"case {case_id} to settle")
            assert [m["kind"] for m in citizen.postfach() if m["case_id"] == case_id] == ["receipt"]
        assert "checking" not in {d["state"] for d in detail["documents"]}, detail["documents"]


def assert_at_most_one_mail_per_case(portal: Portal) -> None:
    mails = portal.mailbox.messages()
    ids = [mail["Message-ID"] for mail in mails]
    assert len(ids) == len(set(ids)), "an alert was sent twice"
    per_recipient = Counter(str(mail["To"]) for mail in mails)
    for email, count in per_recipient.items():
        assert count <= filed_by_email[email], f"{count} mails for {filed_by_email[email]} filed cases"


def signal_group(process: ServiceProcess, signum: signal.Signals) -> None:
    os.killpg(os.getpgid(process.pid), signum)


def test_a_rabbitmq_restart_under_load_loses_and_doubles_nothing(portal: Portal) -> None:
    run_outage(portal, "rabbitmq", portal.rabbit.stop, portal.rabbit.start)


def test_a_postgresql_restart_under_load_loses_and_doubles_nothing(portal: Portal) -> None:
    run_outage(portal, "postgresql", portal.postgres.stop, portal.postgres.start)


def test_s3_unavailable_for_a_while_under_load_loses_and_doubles_nothing(portal: Portal) -> None:
    weed = ServiceProcess.find(portal.running.run_dir, "mini")
    run_outage(portal, "s3", lambda: signal_group(weed, signal.SIGSTOP), lambda: signal_group(weed, signal.SIGCONT))


def test_s3_down_and_restarted_under_load_answers_errors_and_leaves_no_half_case(portal: Portal) -> None:
    """SeaweedFS killed and started again: uploads meanwhile get error answers (a frozen server only
    makes them wait, above), and a case whose upload failed is still a draft without that document."""
    weed = ServiceProcess.find(portal.running.run_dir, "mini")

    def restart() -> None:
        # A killed weed leaves its unix sockets behind; a new one would not bind them.
        for argument in weed.cmdline:
            if argument.split("=", 1)[0].endswith(".localSocket"):
                Path(argument.split("=", 1)[1]).unlink(missing_ok=True)
        for stale in Path(tempfile.gettempdir()).glob("seaweedfs-*.sock"):
            if any(stale.stem.endswith(f"-{port}") for port in _ports_of(weed)):
                stale.unlink(missing_ok=True)
        portal.restarted.append(weed.start(portal.running.run_dir / "seaweedfs-restarted.log"))

    outcome = run_outage(portal, "s3 killed", weed.kill, restart)
    failed_uploads = {error: count for error, count in outcome.errors.items() if error.startswith("upload:")}
    assert failed_uploads, f"no upload got an error answer while S3 was down: {dict(outcome.errors)}"
    # Each a clean "try again later", never 500 (minio's MaxRetryError was 500 before).
    assert all(error.split()[1] == "503" for error in failed_uploads), failed_uploads
    # What was stored before the kill is still there, byte for byte, from the restarted server.
    filed_before, (email, _) = next(iter(outcome.submitted.items()))
    owner = next(citizen for citizen in portal.citizens if citizen.email == email)
    accepted = [
        d for d in owner.request("GET", f"/cases/{filed_before}").json()["documents"] if d["state"] == "accepted"
    ]
    assert accepted, "the case filed before the kill has no accepted document"
    store = store_from_config(
        load_config("documents", ServiceProcess.find(portal.running.run_dir, "shared.run", "documents").environ)
    )
    for document in accepted:
        content = store.read(accepted_key(document["document_id"]))
        assert hashlib.sha256(content).hexdigest() == document["stored_sha256"]


def test_smtp_unavailable_for_a_while_under_load_loses_and_doubles_nothing(portal: Portal) -> None:
    sink = ServiceProcess.find(portal.running.run_dir, "shared.smtp_sink")

    def restart() -> None:
        portal.restarted.append(sink.start(portal.running.run_dir / "smtp-sink-restarted.log"))

    run_outage(portal, "smtp", sink.kill, restart)


def _ports_of(process: ServiceProcess) -> set[str]:
    return {argument.rsplit("=", 1)[1] for argument in process.cmdline if ".port" in argument and "=" in argument}
