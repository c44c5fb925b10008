"""End-to-end submission benchmark (issue #11): simulated citizens through the gateway's JSON API.

Starts the whole system as ``make run`` does (``shared.system``), on fresh PostgreSQL databases
and a fresh vhost of the machine's servers. Citizen accounts (password + TOTP) are made beforehand
with identity's operator functions and are not timed. ``--concurrency`` citizens log in (password,
then TOTP; timed as logins per second), then file the ``--cases`` between them, each case: start a
VÄM, save its four sections, upload a PDF of ``--size`` bytes, submit. A case counts once it is
assigned (submissions' ``case_assigned`` event on the broker) and its receipt is in the Postfach
(notify's table), which one watcher thread checks for all cases instead of each citizen polling.
With ``--login-per-case`` every case is filed by a new citizen who logs in first.

It prints the CPU time each part of the system used while filing (from /proc), per case. Two
baselines run in the same process at the same concurrency: the same cases saved step by step into
a bare ``eventsourcing`` application on the same PostgreSQL server (one save per step, no
encryption), and a direct ``put_object`` of the same file to the same SeaweedFS.

    .venv/bin/python bench/bench_submissions.py --cases 300 --concurrency 32 --size 200000
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

from services.documents.tests.samples import large_pdf  # noqa: E402
from services.submissions.tests.scenarios import ARBEITSAUFNAHME  # noqa: E402
from shared import servers  # noqa: E402
from tests.support import ApiCitizen, RunningSystem, ServiceProcess, create_citizens, system_environ  # noqa: E402

SERVICE_DATABASES = ("identity", "submissions", "documents", "routing", "notify", "backoffice")
STEPS = ("login", "start", "sections", "upload", "submit", "case until submitted", "assigned+notified")


class Timings:
    """Latencies per step, from all threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, int] = defaultdict(int)

    def timed(self, step: str, call: Callable[[], Any], expected: int | None = None) -> Any:
        """``call()``'s answer, timed; tries included (see ``attempt``)."""
        start = time.perf_counter()
        result = self.attempt(step, call, expected)
        with self.lock:
            self.seconds[step].append(time.perf_counter() - start)
        return result

    def attempt(self, step: str, call: Callable[[], Any], expected: int | None = None) -> Any:
        """``call()`` until it answers ``expected``: a client tries a 5xx again after 1 s, up to 10 times."""
        for _ in range(10):
            try:
                result = call()
            except (requests.RequestException, AssertionError):
                result = None
            status = getattr(result, "status_code", None)
            if result is not None and (expected is None or status == expected):
                return result
            if status is not None and status < 500:
                raise AssertionError(f"{step}: {status} {result.text}")
            with self.lock:
                self.failures[step] += 1
            time.sleep(1)
        raise AssertionError(f"{step} kept failing")

    def add(self, step: str, seconds: float) -> None:
        with self.lock:
            self.seconds[step].append(seconds)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Watcher:
    """Notices when a submitted case is assigned and its receipt is in the Postfach.

    One thread listens for submissions' ``case_assigned`` events on the broker and reads notify's
    Postfach table every 50 ms for all cases in flight, instead of every citizen asking the gateway
    ten times a second: that polling was load real citizens do not make, and it cost the gateway
    more than the cases themselves.
    """

    def __init__(self, amqp_uri: str, notify_url: str, timings: Timings) -> None:
        from kombu import Connection, Queue
        from nameko.events import get_event_exchange

        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"bench-watcher-{uuid.uuid4().hex}", get_event_exchange("submissions", {}), routing_key="case_assigned",
            exclusive=True, auto_delete=True,
        )  # fmt: skip
        self.notify_url = _libpq(notify_url)
        self.timings = timings
        self.pending: dict[str, float] = {}  # case id -> when its submission was answered
        self.assigned: set[str] = set()
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)
        self.missed: list[str] = []
        self.stopping = False
        self.consumer = self.connection.Consumer(self.queue, callbacks=[self._on_assigned], accept=["json"])
        self.consumer.consume()  # bound before the first case is submitted
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def submitted(self, case_id: str) -> None:
        with self.lock:
            self.pending[case_id] = time.perf_counter()

    def wait_until_empty(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        with self.done:
            while self.pending and time.perf_counter() < deadline:
                self.done.wait(0.5)
            self.missed = list(self.pending)
            self.stopping = True
        self.thread.join(5)

    def _on_assigned(self, body: Any, message: Any) -> None:
        self.assigned.add(str(body["aggregate_id"]))
        message.ack()

    def _watch(self) -> None:
        import psycopg

        with psycopg.connect(self.notify_url, autocommit=True) as notify, self.connection:
            while not self.stopping:
                try:
                    while True:
                        self.connection.drain_events(timeout=0.05)
                except TimeoutError:
                    pass
                with self.lock:
                    ids = [case_id for case_id in self.pending if case_id in self.assigned]
                if not ids:
                    continue
                posted = {row[0] for row in notify.execute(
                    "SELECT DISTINCT case_id FROM notify_postfach_messages WHERE case_id = ANY(%s)", (ids,)
                )}  # fmt: skip
                now = time.perf_counter()
                with self.done:
                    for case_id in posted:
                        self.timings.add("assigned+notified", now - self.pending.pop(case_id))
                    self.done.notify_all()


def _libpq(sqlalchemy_url: str) -> str:
    """``postgresql+psycopg://user@host:port/db`` as libpq takes it."""
    return "postgresql://" + sqlalchemy_url.split("://", 1)[1]


def log_in(base_url: str, account: tuple[str, str], timings: Timings) -> ApiCitizen:
    citizen = ApiCitizen(base_url, account[0], account[1], timeout=120)

    def attempt() -> bool:
        citizen.log_in()  # AssertionError on an error answer: tried again
        return True

    timings.timed("login", attempt)
    return citizen


def file_case(citizen: ApiCitizen, pdf: bytes, timings: Timings, watcher: Watcher) -> None:
    """One VÄM by a logged-in citizen, up to the submission's answer; the watcher sees the rest."""
    whole = time.perf_counter()
    case_id = timings.timed("start", citizen.start_case, 201).json()["case_id"]

    def sections() -> bool:
        for section_id, data in ARBEITSAUFNAHME.items():
            timings.attempt("sections", functools.partial(citizen.save_section, case_id, section_id, data), 200)
        return True

    timings.timed("sections", sections)
    timings.timed("upload", lambda: citizen.upload(case_id, pdf), 201)
    key = f"bench-{uuid.uuid4()}"
    timings.timed("submit", lambda: citizen.submit(case_id, key), 200)
    watcher.submitted(case_id)
    timings.add("case until submitted", time.perf_counter() - whole)


# --- Baseline 1: the same cases in a bare eventsourcing application ----------------------------------


class BareCase(Aggregate):
    @event("Started")
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.answers: dict[str, Any] = {}
        self.documents: list[str] = []
        self.receipt = ""

    @event("SectionSaved")
    def save_section(self, section_id: str, data: dict[str, Any]) -> None:
        self.answers[section_id] = data

    @event("DocumentAttached")
    def attach(self, document_id: str) -> None:
        self.documents.append(document_id)

    @event("Submitted")
    def submit(self, receipt: str) -> None:
        self.receipt = receipt


class BareCases(Application[Any]):
    pass


def bare_case(app: BareCases) -> None:
    """The steps of one case, each its own load and save, as the service does them."""
    case = BareCase("veraenderungsmitteilung")
    app.save(case)
    for section_id, data in ARBEITSAUFNAHME.items():
        case = app.repository.get(case.id)
        case.save_section(section_id, data)
        app.save(case)
    case = app.repository.get(case.id)
    case.attach(str(uuid.uuid4()))
    app.save(case)
    case = app.repository.get(case.id)
    case.submit(f"JC-{uuid.uuid4().hex[:10]}")
    app.save(case)


# --- Running ------------------------------------------------------------------------------------------


def run_parallel(count: int, concurrency: int, job: Callable[[int], None]) -> tuple[float, int]:
    """Seconds for ``count`` jobs, ``concurrency`` at a time, and how many failed (a step kept failing)."""
    start = time.perf_counter()
    failed = 0
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(job, n) for n in range(count)]:
            try:
                future.result()
            except AssertionError as problem:
                failed += 1
                print(f"  a case failed: {str(problem)[:120]}", flush=True)
    return time.perf_counter() - start, failed


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) used so far by each part of the system on this machine, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = defaultdict(float)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        used[_part(int(entry.name), cmdline)] += (int(fields[11]) + int(fields[12])) / tick
    return used


def _part(pid: int, cmdline: str) -> str:
    words = cmdline.split()
    if pid == os.getpid():
        return "load generator (this process)"
    if "shared.run" in words:
        return "service " + words[words.index("shared.run") + 1]
    if "shared.outbox" in words:
        return "outbox relay " + words[words.index("shared.outbox") + 1]
    for needle, name in (("postgres", "postgresql"), ("beam.smp", "rabbitmq"), ("weed", "seaweedfs"),
                         ("clamd", "clamd"), ("shared.system", "system runner"), ("smtp", "smtp sink")):  # fmt: skip
        if needle in cmdline:
            return name
    return "other (rest of the machine)"


def print_cpu(before: dict[str, float], after: dict[str, float], seconds: float, cases: int) -> None:
    used = {part: after.get(part, 0.0) - before.get(part, 0.0) for part in after}
    total = sum(used.values())
    print(f"  CPU used while filing: {total:.1f} s of {seconds * (os.cpu_count() or 1):.1f} s the machine had "
          f"({total / max(cases, 1) * 1000:.0f} ms a case)")  # fmt: skip
    for part, value in sorted(used.items(), key=lambda item: -item[1]):
        if value >= 0.05 * total / 10:
            print(f"    {part:<34} {value:7.1f} s  {value / max(cases, 1) * 1000:6.1f} ms a case  {value / total:5.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=200_000, help="bytes of the uploaded PDF")
    parser.add_argument(
        "--login-per-case", action="store_true",
        help="every case by a new citizen who logs in first (the login counts in the throughput)",
    )  # fmt: skip
    args = parser.parse_args()

    names = {name: f"jc_bench_{name}_{uuid.uuid4().hex[:6]}" for name in SERVICE_DATABASES + ("baseline",)}
    vhost = f"jc_bench_{uuid.uuid4().hex[:6]}"
    servers.ensure_postgres()
    servers.ensure_rabbitmq()
    urls = {name: servers.create_postgres_database(db) for name, db in names.items()}
    amqp_uri = servers.create_rabbit_vhost(vhost)
    settings = {f"{name.upper()}_DATABASE_URL": urls[name] for name in SERVICE_DATABASES}
    settings.update({"GATEWAY_LOGIN_RATE_PER_MINUTE": "100000", "GATEWAY_UPLOAD_RATE_PER_MINUTE": "100000"})
    run_dir = Path(tempfile.mkdtemp(prefix="jc-bench-")) / "run"
    running = None
    timings = Timings()
    try:
        print(f"starting the system in {run_dir} ...", flush=True)
        running = RunningSystem(run_dir, amqp_uri, settings)
        base_url = f"http://127.0.0.1:{running.port}"
        made = time.perf_counter()
        citizens_needed = args.cases if args.login_per_case else args.concurrency
        accounts = create_citizens(system_environ(running, {**settings, "AMQP_URI": amqp_uri}), citizens_needed + 1)
        print(f"{len(accounts)} citizen accounts made in {time.perf_counter() - made:.1f} s (not timed)", flush=True)
        pdf = large_pdf(args.size)
        watcher = Watcher(amqp_uri, urls["notify"], timings)

        # Warm up: one case, so that first-call costs (imports, connection pools) stay out of the figures.
        warm = Timings()
        warm_watcher = Watcher(amqp_uri, urls["notify"], warm)
        file_case(log_in(base_url, accounts.pop(), warm), pdf, warm, warm_watcher)
        warm_watcher.wait_until_empty(timeout=120)

        logins_elapsed = 0.0
        sessions: list[ApiCitizen] = []
        if not args.login_per_case:
            # Each simulated citizen logs in once (timed on its own), then files its share of the cases.
            logins_elapsed, _ = run_parallel(
                len(accounts), args.concurrency, lambda n: sessions.append(log_in(base_url, accounts[n], timings))
            )
        before = cpu_seconds()
        if args.login_per_case:
            elapsed, failed = run_parallel(
                args.cases, args.concurrency,
                lambda n: file_case(log_in(base_url, accounts[n], timings), pdf, timings, watcher),
            )  # fmt: skip
        else:
            per_citizen = [args.cases // len(sessions) + (n < args.cases % len(sessions)) for n in range(len(sessions))]

            def citizen_files(n: int) -> None:
                for _ in range(per_citizen[n]):
                    file_case(sessions[n], pdf, timings, watcher)

            elapsed, failed = run_parallel(len(sessions), args.concurrency, citizen_files)
            failed = args.cases - len(timings.seconds["submit"]) if failed else 0
        start_wait = time.perf_counter()
        watcher.wait_until_empty(timeout=300)
        elapsed += time.perf_counter() - start_wait
        after = cpu_seconds()
        cases = args.cases - failed - len(watcher.missed)

        # Baseline 1: a bare eventsourcing application on the same PostgreSQL server.
        address = urls["baseline"].split("@", 1)[1]
        host_port, database = address.split("/", 1)
        bare = BareCases(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": database,
                "POSTGRES_HOST": host_port.split(":")[0],
                "POSTGRES_PORT": host_port.split(":")[1],
                "POSTGRES_USER": "postgres",
                "POSTGRES_PASSWORD": "",
                "POSTGRES_POOL_SIZE": str(args.concurrency),
                "POSTGRES_MAX_OVERFLOW": "0",
            }
        )
        bare_case(bare)
        bare_elapsed, _ = run_parallel(cases, args.concurrency, lambda n: bare_case(bare))

        # Baseline 2: put_object of the same file to the same SeaweedFS.
        from minio import Minio

        s3 = ServiceProcess.find(running.run_dir, "shared.run", "documents").environ
        client = Minio(s3["S3_ENDPOINT"], s3["S3_ACCESS_KEY"], s3["S3_SECRET_KEY"], secure=False, region="us-east-1")
        bucket = "bench-baseline"
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)

        def put(n: int) -> None:
            import io

            client.put_object(bucket, f"{uuid.uuid4()}.pdf", io.BytesIO(pdf), len(pdf), "application/pdf")

        put(0)
        put_elapsed, _ = run_parallel(cases, args.concurrency, put)
    finally:
        if running is not None:
            running.interrupt()
        for db in names.values():
            servers.drop_postgres_database(db)
        servers.delete_rabbit_vhost(vhost)

    rate = cases / elapsed
    bare_rate = cases / bare_elapsed
    put_rate = cases / put_elapsed
    slower = min(bare_rate, put_rate)
    mode = "a new citizen per case, logging in first" if args.login_per_case else (
        f"{len(sessions)} logged-in citizens filing {args.cases} cases")  # fmt: skip
    print()
    print(f"End-to-end submissions through the gateway: {cases} cases, {args.concurrency} at a time ({mode}), "
          f"PDF of {len(pdf):,} bytes")  # fmt: skip
    print(f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"  cases that failed (a step still failed after 10 tries): {failed}; not assigned and notified "
          f"within 300 s: {len(watcher.missed)}")  # fmt: skip
    print(f"  throughput (counted when assigned and notified)   {rate:8.1f} cases/s   ({elapsed:.1f} s)")
    if logins_elapsed:
        print(f"  logins beforehand (password + TOTP, argon2id)     {len(sessions) / logins_elapsed:8.1f} logins/s  "
              f"({logins_elapsed:.1f} s for {len(sessions)})")  # fmt: skip
    print("  latency per step               p50 ms     p95 ms     p99 ms")
    for step in STEPS:
        values = timings.seconds[step]
        if not values:
            continue
        tries = timings.failures.get(step, 0)
        note = f"   ({tries} tries failed and were repeated)" if tries else ""
        print(f"    {step:<24} {percentile(values, 0.5) * 1000:9.0f}  {percentile(values, 0.95) * 1000:9.0f}  "
              f"{percentile(values, 0.99) * 1000:9.0f}{note}")  # fmt: skip
    print_cpu(before, after, elapsed, cases)
    print(f"  baseline: bare eventsourcing app, 7 saves a case  {bare_rate:8.1f} cases/s   ({bare_elapsed:.1f} s)")
    print(f"  baseline: direct put_object of the file           {put_rate:8.1f} cases/s   ({put_elapsed:.1f} s)")
    print(f"  ratio end-to-end / bare eventsourcing   {rate / bare_rate:.3f}")
    print(f"  ratio end-to-end / direct put_object    {rate / put_rate:.3f}")
    print(f"  ratio end-to-end / slower baseline      {rate / slower:.3f}   (aim >= 0.3; aim >= 100 cases/s)")


if __name__ == "__main__":
    main()
