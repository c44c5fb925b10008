"""End-to-end submission benchmark (issue #11): simulated citizens through the gateway's JSON API.

Starts the whole system as ``make run`` does (``shared.system``), on fresh PostgreSQL databases
and a fresh vhost of the machine's servers. Citizen accounts (one per case, password + TOTP) are
made beforehand with identity's operator functions and are not timed. Then ``--concurrency``
citizens at a time each: log in (password, then TOTP), start a VÄM, save its four sections,
upload a PDF of ``--size`` bytes, submit, and wait until the case is assigned and its receipt is
in the Postfach (the case counts only then).

Two baselines run in the same process at the same concurrency: the same cases saved step by step
into a bare ``eventsourcing`` application on the same PostgreSQL server (one save per step, no
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
STEPS = ("login", "start", "sections", "upload", "submit", "assigned+notified", "whole case")


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


def file_case(base_url: str, account: tuple[str, str], pdf: bytes, timings: Timings) -> None:
    whole = time.perf_counter()
    citizen = ApiCitizen(base_url, account[0], account[1], timeout=120)

    def log_in() -> bool:
        citizen.log_in()  # AssertionError on an error answer: tried again
        return True

    timings.timed("login", log_in)
    case_id = timings.timed("start", citizen.start_case, 201).json()["case_id"]

    def sections() -> bool:
        for section_id, data in ARBEITSAUFNAHME.items():
            timings.attempt("sections", functools.partial(citizen.save_section, case_id, section_id, data), 200)
        return True

    timings.timed("sections", sections)
    timings.timed("upload", lambda: citizen.upload(case_id, pdf), 201)
    key = f"bench-{uuid.uuid4()}"
    timings.timed("submit", lambda: citizen.submit(case_id, key), 200)
    waited = time.perf_counter()
    deadline = waited + 300
    while True:
        try:
            case = citizen.request("GET", f"/cases/{case_id}").json()["case"]
            if case["status"] == "assigned" and any(m["case_id"] == case_id for m in citizen.postfach()):
                break
        except (requests.RequestException, AssertionError, KeyError):
            pass  # an error answer while the system is busy: look again
        if time.perf_counter() > deadline:
            raise AssertionError(f"case {case_id} was not assigned and notified within 300 s")
        time.sleep(0.1)
    timings.add("assigned+notified", time.perf_counter() - waited)
    timings.add("whole case", time.perf_counter() - whole)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=200_000, help="bytes of the uploaded PDF")
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
    try:
        print(f"starting the system in {run_dir} ...", flush=True)
        running = RunningSystem(run_dir, amqp_uri, settings)
        base_url = f"http://127.0.0.1:{running.port}"
        made = time.perf_counter()
        accounts = create_citizens(system_environ(running, {**settings, "AMQP_URI": amqp_uri}), args.cases)
        print(f"{len(accounts)} citizen accounts made in {time.perf_counter() - made:.1f} s (not timed)", flush=True)
        pdf = large_pdf(args.size)

        # Warm up: one case, so that first-call costs (imports, connection pools) stay out of the figures.
        file_case(base_url, accounts.pop(), pdf, Timings())
        timings = Timings()
        elapsed, failed = run_parallel(
            len(accounts), args.concurrency, lambda n: file_case(base_url, accounts[n], pdf, timings)
        )
        cases = len(accounts) - failed

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
    print()
    print(f"End-to-end submissions through the gateway: {cases} cases, {args.concurrency} citizens at a time, "
          f"PDF of {len(pdf):,} bytes")  # fmt: skip
    print(f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"  cases that failed (a step still failed after 10 tries): {failed}")
    print(f"  throughput (counted when assigned and notified)   {rate:8.1f} cases/s   ({elapsed:.1f} s)")
    print("  latency per step               p50 ms     p95 ms     p99 ms")
    for step in STEPS:
        values = timings.seconds[step]
        failed = timings.failures.get(step, 0)
        note = f"   ({failed} tries failed and were repeated)" if failed else ""
        print(f"    {step:<24} {percentile(values, 0.5) * 1000:9.0f}  {percentile(values, 0.95) * 1000:9.0f}  "
              f"{percentile(values, 0.99) * 1000:9.0f}{note}")  # fmt: skip
    print(f"  baseline: bare eventsourcing app, 7 saves a case  {bare_rate:8.1f} cases/s   ({bare_elapsed:.1f} s)")
    print(f"  baseline: direct put_object of the file           {put_rate:8.1f} cases/s   ({put_elapsed:.1f} s)")
    print(f"  ratio end-to-end / bare eventsourcing   {rate / bare_rate:.3f}")
    print(f"  ratio end-to-end / direct put_object    {rate / put_rate:.3f}")
    print(f"  ratio end-to-end / slower baseline      {rate / slower:.3f}   (aim >= 0.3; aim >= 100 cases/s)")


if __name__ == "__main__":
    main()
