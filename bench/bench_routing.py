"""Routing benchmark, run by hand: ``.venv/bin/python bench/bench_routing.py [--data ../shared/data]``.

Prints, each against a baseline measured in the same run:

1. the time to load the register and build the postcode and Berlin address index;
2. in-process resolutions per second for a realistic mix of inputs, against a plain dict lookup of
   the same postcodes;
3. the RPC round trip of ``resolve_residence`` against the ``health`` RPC, on the same broker, with
   the routing service running in its own process (``python -m shared.run routing``) on a fresh vhost.
"""

from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import base64  # noqa: E402
import csv  # noqa: E402
import gzip  # noqa: E402
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

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from services.routing.index import build_resolver  # noqa: E402
from services.routing.places import load_berlin_address_file, load_postcode_file  # noqa: E402
from services.routing.register import Register  # noqa: E402
from services.routing.resolver import Residence, Resolver  # noqa: E402
from shared.config import REPOSITORY_ROOT  # noqa: E402
from shared.servers import create_rabbit_vhost, delete_rabbit_vhost, ensure_rabbitmq  # noqa: E402

ON_DATE = date(2026, 6, 1)
POSTCODE_FILE = "zuordnung_plz_ort_osm_2022.csv"
BERLIN_ADDRESS_FILE = "berlin_adressen_2023.csv.gz"


def timed(function: Any, *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def realistic_mix(data: Path, resolver: Resolver, count: int, seed: int = 4711) -> list[Residence]:
    """Inputs as the forms send them: mostly postcode + place + street, some Berlin, some keys only.

    60 % postcode, place, street and number outside Berlin; 15 % Berlin address; 10 % postcode
    only; 10 % Gemeinde key; 5 % Kreis key.
    """
    chooser = random.Random(seed)
    with (data / POSTCODE_FILE).open(encoding="utf-8", newline="") as handle:
        places = [row for row in csv.DictReader(handle) if not row["ags"].zfill(8).startswith("11")]
    with gzip.open(data / BERLIN_ADDRESS_FILE, "rt", encoding="utf-8", newline="") as handle:
        berlin = list(csv.DictReader(handle))
    kreise = sorted(resolver.register.at(ON_DATE).by_kreis)
    mix = []
    for _ in range(count):
        pick = chooser.random()
        if pick < 0.60:
            row = chooser.choice(places)
            mix.append(Residence(plz=row["plz"].zfill(5), ort=row["ort"], strasse="Hauptstraße", hausnummer="1"))
        elif pick < 0.75:
            row = chooser.choice(berlin)
            mix.append(Residence(plz=row["plz"], ort="Berlin", strasse=row["str_name"], hausnummer=row["hnr"]))
        elif pick < 0.85:
            mix.append(Residence(plz=chooser.choice(places)["plz"].zfill(5)))
        elif pick < 0.95:
            mix.append(Residence(ags=chooser.choice(places)["ags"].zfill(8)))
        else:
            mix.append(Residence(kreis=chooser.choice(kreise)))
    return mix


def per_second(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s"


def bench_loading(data: Path) -> Resolver:
    print("1. Loading")
    register, register_seconds = timed(Register.load)
    postcodes, postcode_seconds = timed(load_postcode_file, data / POSTCODE_FILE)
    berlin, berlin_seconds = timed(load_berlin_address_file, data / BERLIN_ADDRESS_FILE)
    resolver, total_seconds = timed(build_resolver, "", str(data / POSTCODE_FILE), str(data / BERLIN_ADDRESS_FILE))
    rows = [
        (f"register ({len(register.jobcenter_periods)} Jobcenter periods)", register_seconds),
        (f"postcode index ({len(postcodes):,} postcodes)", postcode_seconds),
        (f"Berlin address index ({len(berlin):,} postcode/street pairs)", berlin_seconds),
        ("all three, as the service's setup does", total_seconds),
    ]
    for label, seconds in rows:
        print(f"   {label:<52} {seconds * 1000:8.1f} ms")
    return resolver


def bench_in_process(data: Path, resolver: Resolver, count: int) -> list[Residence]:
    print(f"2. In-process resolution, {count:,} inputs of a realistic mix")
    mix = realistic_mix(data, resolver, count)
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


def bench_rpc(data: Path, mix: list[Residence], calls: int) -> None:
    print(f"3. RPC round trip, {calls:,} calls each, one client, routing in its own process")
    ensure_rabbitmq()
    vhost = f"jc_bench_{secrets.token_hex(4)}"
    amqp_uri = create_rabbit_vhost(vhost)
    with tempfile.TemporaryDirectory() as run_dir:
        environ = {
            **os.environ,
            "AMQP_URI": amqp_uri,
            "RUN_DIR": run_dir,
            "CIPHER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LOG_LEVEL": "WARNING",
            "ROUTING_POSTCODE_FILE": str(data / POSTCODE_FILE),
            "ROUTING_BERLIN_ADDRESS_FILE": str(data / BERLIN_ADDRESS_FILE),
        }
        log = Path(run_dir) / "routing.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "shared.run", "routing"],
            cwd=REPOSITORY_ROOT,
            env=environ,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_health(amqp_uri, process)
            with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as cluster:
                residences = [{k: v for k, v in vars(residence).items() if v is not None} for residence in mix[:calls]]
                for residence in residences[:50]:  # warm up both paths
                    cluster.routing.resolve_residence(residence, None)
                    cluster.routing.health()
                health = [timed(cluster.routing.health)[1] for _ in range(calls)]
                resolve = [timed(cluster.routing.resolve_residence, r, None)[1] for r in residences]
        finally:
            process.terminate()
            process.wait(timeout=30)
            delete_rabbit_vhost(vhost)

    def summary(samples: list[float]) -> str:
        ordered = sorted(samples)
        p95 = ordered[int(len(ordered) * 0.95)]
        return f"median {statistics.median(samples) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"

    print(f"   resolve_residence  {summary(resolve)}")
    print(f"   health (baseline)  {summary(health)}")
    print(f"   ratio of medians: {statistics.median(resolve) / statistics.median(health):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY_ROOT.parent / "shared" / "data")
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs of the in-process run")
    parser.add_argument("--calls", type=int, default=1_000, help="RPC calls of each kind")
    parser.add_argument("--no-rpc", action="store_true", help="skip the RPC part (no broker needed)")
    args = parser.parse_args()
    # A health probe before the service is up leaves a closing channel behind; amqp warns about it.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), Python {platform.python_version()}"
    print(f"routing benchmark on {machine}, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    resolver = bench_loading(args.data)
    mix = bench_in_process(args.data, resolver, args.inputs)
    if not args.no_rpc:
        bench_rpc(args.data, mix, args.calls)


if __name__ == "__main__":
    main()
