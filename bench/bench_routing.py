"""Routing benchmark, run by hand: ``.venv/bin/python bench/bench_routing.py [--sources DIR]``.

Prints, each against a baseline measured in the same run:

1. the time to load the register and the shipped postcode and Berlin street index (``data/``), and,
   with ``--sources`` (the published files ``derive_places`` reads), the time to build the same index
   from them, as the service did before the data was shipped;
2. in-process resolutions per second for a realistic mix of inputs drawn from the shipped data,
   against a plain dict lookup of the same postcodes;
3. the RPC round trip of ``resolve_residence`` against the ``health`` RPC, on the same broker, with
   the routing service running in its own process (``python -m shared.run routing``) on a fresh vhost;
4. the public finder over HTTP (``GET /api/v1/responsible-jobcenter``, the gateway in its own process
   asking routing) against the gateway's ``/healthz``, which asks no one.
"""

from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import csv  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import requests  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.routing.index import build_resolver  # noqa: E402
from services.routing.places import (  # noqa: E402
    BERLIN_ADDRESS_SOURCE,
    BERLIN_STREETS_FILE,
    POSTCODE_SOURCE,
    POSTCODES_FILE,
    SHIPPED_PLACES,
    load_berlin_address_file,
    load_berlin_streets,
    load_postcode_file,
    load_postcodes,
)
from services.routing.register import Register  # noqa: E402
from services.routing.resolver import Residence, Resolver  # noqa: E402
from shared.config import REPOSITORY_ROOT  # noqa: E402
from shared.servers import create_rabbit_vhost, delete_rabbit_vhost, ensure_rabbitmq, free_port  # noqa: E402

ON_DATE = date(2026, 6, 1)


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def realistic_mix(resolver: Resolver, count: int, seed: int = 4711) -> list[Residence]:
    """Inputs as the forms send them, drawn from the shipped files: mostly postcode + place + street.

    60 % postcode, place, street and number outside Berlin; 15 % Berlin address; 10 % postcode
    only; 10 % Gemeinde key; 5 % Kreis key.
    """
    chooser = random.Random(seed)
    with (SHIPPED_PLACES / POSTCODES_FILE).open(encoding="utf-8", newline="") as handle:
        places = [row for row in csv.DictReader(handle, delimiter=";") if not row["ags"].startswith("11")]
    with (SHIPPED_PLACES / BERLIN_STREETS_FILE).open(encoding="utf-8", newline="") as handle:
        berlin = list(csv.DictReader(handle, delimiter=";"))
    kreise = sorted(resolver.register.at(ON_DATE).by_kreis)
    mix = []
    for _ in range(count):
        pick = chooser.random()
        if pick < 0.60:
            row = chooser.choice(places)
            mix.append(Residence(plz=row["plz"], ort=row["ort"], strasse="Hauptstraße", hausnummer="1"))
        elif pick < 0.75:
            row = chooser.choice(berlin)
            number = (row["hausnummern"].split(",")[0].split("-")[0] or "1").strip()
            mix.append(Residence(plz=row["plz"], ort="Berlin", strasse=row["strasse"], hausnummer=number))
        elif pick < 0.85:
            mix.append(Residence(plz=chooser.choice(places)["plz"]))
        elif pick < 0.95:
            mix.append(Residence(ags=chooser.choice(places)["ags"]))
        else:
            mix.append(Residence(kreis=chooser.choice(kreise)))
    return mix


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s"


def bench_loading(sources: Path | None) -> Resolver:
    print("1. Loading")
    register, register_seconds = timed(Register.load)
    postcodes, postcode_seconds = timed(load_postcodes, SHIPPED_PLACES / POSTCODES_FILE)
    berlin, berlin_seconds = timed(load_berlin_streets, SHIPPED_PLACES / BERLIN_STREETS_FILE)
    resolver, total_seconds = timed(build_resolver)
    rows = [
        (f"register ({len(register.jobcenter_periods)} Jobcenter periods)", register_seconds),
        (f"shipped postcode index ({len(postcodes):,} postcodes)", postcode_seconds),
        (f"shipped Berlin street index ({len(berlin):,} postcode/street pairs)", berlin_seconds),
        ("all three, as the service's setup does", total_seconds),
    ]
    if sources is not None:
        _, raw_postcodes = timed(load_postcode_file, sources / POSTCODE_SOURCE)
        _, raw_berlin = timed(load_berlin_address_file, sources / BERLIN_ADDRESS_SOURCE)
        rows += [("baseline: postcode index from the published file", raw_postcodes),
                 ("baseline: Berlin index from the published addresses", raw_berlin)]  # fmt: skip
    for label, seconds in rows:
        print(f"   {label:<56} {seconds * 1000:8.1f} ms")
    if sources is not None:
        shipped, raw = postcode_seconds + berlin_seconds, raw_postcodes + raw_berlin
        print(f"   ratio: the shipped files load in {shipped / raw:.3f} of the time the published ones take")
    return resolver


def bench_in_process(resolver: Resolver, count: int) -> list[Residence]:
    print(f"2. In-process resolution, {count:,} inputs of a realistic mix")
    mix = realistic_mix(resolver, count)
    # The baseline: one plain dict lookup per input (postcode → places), what a naive router would do.
    naive = dict(resolver.postcodes.places)
    keys = [residence.plz or residence.ags or residence.kreis or "" for residence in mix]
    best_resolve, best_lookup = float("inf"), float("inf")
    for _ in range(3):
        started = time.perf_counter()
        outcomes = [resolver.resolve(residence, ON_DATE).outcome for residence in mix]
        best_resolve = min(best_resolve, time.perf_counter() - started)
        started = time.perf_counter()
        found = [naive.get(key) for key in keys]
        best_lookup = min(best_lookup, time.perf_counter() - started)
    assert len(outcomes) == len(found) == count
    shares = {outcome.value: outcomes.count(outcome) / count for outcome in set(outcomes)}
    print(
        f"   resolve_residence (pure)    {per_second(count, best_resolve)}   ({best_resolve / count * 1e6:.1f} µs each)"
    )
    print(
        f"   plain dict lookup baseline  {per_second(count, best_lookup)}   ({best_lookup / count * 1e6:.2f} µs each)"
    )
    print(f"   ratio: resolution costs {best_resolve / best_lookup:,.0f} dict lookups")
    print("   outcomes: " + ", ".join(f"{name} {share:.0%}" for name, share in sorted(shares.items())))
    return mix


def wait_for_health(amqp_uri: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the routing service exited; see its log")
        try:
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=2) as cluster:
                cluster.routing.health()
                return
        except Exception:  # noqa: BLE001, S112 - not up yet
            time.sleep(0.3)
    raise RuntimeError("the routing service did not answer health in time")


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"median {statistics.median(samples) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def compare(label: str, measured: list[float], baseline_label: str, baseline: list[float]) -> None:
    print(f"   {label:<28} {summary(measured)}   ({len(measured) / sum(measured):,.0f}/s, one client)")
    print(f"   {baseline_label:<28} {summary(baseline)}   ({len(baseline) / sum(baseline):,.0f}/s)")
    print(f"   ratio of medians: {statistics.median(measured) / statistics.median(baseline):.2f}")


def start(name: str, environ: dict[str, str], run_dir: str) -> subprocess.Popen[bytes]:
    log = Path(run_dir) / f"{name}.log"
    return subprocess.Popen([sys.executable, "-m", "shared.run", name], cwd=REPOSITORY_ROOT, env=environ,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the gateway exited; see its log")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the gateway did not answer in time")


FINDER_FIELDS = ("plz", "ort", "strasse", "hausnummer", "ags")


def bench_rpc_and_http(mix: list[Residence], calls: int) -> None:
    ensure_rabbitmq()
    vhost = f"jc_bench_{secrets.token_hex(4)}"
    amqp_uri = create_rabbit_vhost(vhost)
    port = free_port()
    residences = [{k: v for k, v in vars(residence).items() if v is not None} for residence in mix[:calls]]
    # The finder needs a postcode; Kreis-only inputs are the RPC's alone.
    queries = [{k: v for k, v in r.items() if k in FINDER_FIELDS} for r in residences if r.get("plz")]
    with tempfile.TemporaryDirectory() as run_dir:
        environ = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "RUN_DIR": run_dir,
            "CIPHER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LOG_LEVEL": "WARNING",
            "GATEWAY_PORT": str(port),
            "GATEWAY_SECRET": secrets.token_urlsafe(32),
            "GATEWAY_FINDER_RATE_PER_MINUTE": "100000000",
        }
        processes = [start("routing", environ, run_dir), start("gateway", environ, run_dir)]
        try:
            wait_for_health(amqp_uri, processes[0])
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/healthz", processes[1])
            print(f"3. RPC round trip, {calls:,} calls each, one client, routing in its own process")
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as cluster:
                for residence in residences[:50]:  # warm up both paths
                    cluster.routing.resolve_residence(residence, None)
                    cluster.routing.health()
                health = [timed(cluster.routing.health)[1] for _ in range(calls)]
                resolve = [timed(cluster.routing.resolve_residence, r, None)[1] for r in residences]
            compare("resolve_residence", resolve, "health (baseline)", health)
            print(f"4. The public finder over HTTP, {len(queries):,} requests each, one client, own gateway process")
            with requests.Session() as http:
                finder = f"{base}/api/v1/responsible-jobcenter"
                for query in queries[:50]:
                    http.get(finder, params=query, timeout=10).raise_for_status()
                    http.get(f"{base}/healthz", timeout=10).raise_for_status()
                live = [timed(http.get, f"{base}/healthz")[1] for _ in queries]
                found = []
                for query in queries:
                    answer, seconds = timed(lambda q=query: http.get(finder, params=q, timeout=10))
                    answer.raise_for_status()
                    found.append(seconds)
            compare("GET responsible-jobcenter", found, "GET /healthz (baseline)", live)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
            delete_rabbit_vhost(vhost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=None,
                        help="the published postcode and Berlin address files, to compare their loading")  # fmt: skip
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs of the in-process run")
    parser.add_argument("--calls", type=int, default=1_000, help="RPC calls and HTTP requests of each kind")
    parser.add_argument("--no-rpc", action="store_true", help="skip the RPC and HTTP parts (no broker needed)")
    args = parser.parse_args()
    # A health probe before the service is up leaves a closing channel behind; amqp warns about it.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), Python {platform.python_version()}"
    print(f"routing benchmark on {machine}, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    resolver = bench_loading(args.sources)
    mix = bench_in_process(resolver, args.inputs)
    if not args.no_rpc:
        bench_rpc_and_http(mix, args.calls)


if __name__ == "__main__":
    main()
