"""Rebuild of the case list from the event store (issue #22), on PostgreSQL.

Run by hand: ``.venv/bin/python bench/bench_rebuild.py [--cases 2000]``. It makes a fresh database
on the local PostgreSQL, files ``--cases`` cases through the ``Cases`` application (per-case keys,
compression, encryption; VÄM with their categories, assigned, most of them worked on, some
decided and closed, 1 in 100 erased), their events interleaved in the log as many citizens make
them, then measures in the same run, each with a fresh application (no data key cached):

1. raw notification reads (``select_notifications``, 500 at a time): the baseline;
2. the same reads decrypted into domain events, key by key as before and with the batch's keys
   read at once (what a rebuild cannot avoid);
3. the per-event rebuild as it was before (each event decoded and applied with its own statements,
   500 notifications per transaction);
4. the batched build of a new version beside the live one (``VersionedReadModel.prepare``: 5,000
   notifications per batch, keys read per batch, each touched case written once);

and prints events/s, the ratios, and whether both rebuilds left the same rows.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.submissions.application import Cases  # noqa: E402
from services.submissions.domainmodel import Actor  # noqa: E402
from services.submissions.readmodel import CaseList, CaseListTables, case_list_tables  # noqa: E402
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, ROUTED, UMZUG  # noqa: E402
from shared.dates import german_today  # noqa: E402
from shared.projection import ProjectionRunner  # noqa: E402
from shared.read_model_versions import VersionedReadModel  # noqa: E402
from shared.servers import create_postgres_database, drop_postgres_database, ensure_postgres  # noqa: E402
from shared.sql import make_engine  # noqa: E402

JOBCENTERS = [f"jc-{n:04d}" for n in range(1, 41)]
NEW_TABLES = case_list_tables(99)


class NewVersion(CaseList):
    """The case list under a new version's table names: what a release with a changed read model builds."""

    version = 99
    metadata = NEW_TABLES.metadata
    tables: ClassVar[CaseListTables] = NEW_TABLES


def lifecycle(cases: Cases, rng: random.Random, citizen: Actor) -> list[Callable[[str], Any]]:
    """The commands one case goes through after its start, drawn like the mix of a Jobcenter's year."""
    jobcenter = rng.choice(JOBCENTERS)
    staff = Actor(f"caseworker-{rng.randrange(20)}", "caseworker", jobcenter)
    answers = ARBEITSAUFNAHME if rng.random() < 0.7 else UMZUG
    steps: list[Callable[[str], Any]] = [
        lambda case_id, section=section, data=data: cases.save_section(case_id, citizen, section, data)
        for section, data in answers.items()
    ]
    if rng.random() < 0.1:
        return steps  # a draft left unfinished
    steps += [
        lambda case_id: cases.submit(case_id, citizen, f"key-{case_id}", ROUTED),
        lambda case_id: cases.assign(case_id, jobcenter, "bezirk", "2026-1"),
    ]
    roll = rng.random()
    if roll < 0.1:
        steps.append(lambda case_id: cases.mark_overdue(case_id, german_today() + timedelta(days=8)))
    if roll < 0.2:
        return steps
    steps += [lambda case_id: cases.receive(case_id, staff), lambda case_id: cases.start_processing(case_id, staff)]
    if rng.random() < 0.3:
        due = (german_today() + timedelta(days=14)).isoformat()
        steps.append(lambda case_id: cases.request_documents(case_id, staff, ["lohnabrechnung_erste"], "", due))
    if rng.random() < 0.6:
        bescheid = {"document_id": "doc-bescheid", "nachweis": "bescheid", "state": "accepted", "from_jobcenter": True}
        steps.append(
            lambda case_id: cases.decide(
                case_id, staff, "amended", "doc-bescheid", None, None, {**bescheid, "case_id": case_id}
            )
        )
        if rng.random() < 0.5:
            steps.append(lambda case_id: cases.close_case(case_id, staff))
    if rng.random() < 0.01:
        steps.append(lambda case_id: cases.erase(case_id))
    return steps


def fill(cases: Cases, count: int, rng: random.Random) -> None:
    """File ``count`` cases, a step of a random open case at a time, so their events interleave in the log."""
    open_cases: list[tuple[str, list[Callable[[str], Any]]]] = []
    started = 0
    while started < count or open_cases:
        if started < count and (len(open_cases) < 200 or not open_cases):
            citizen = Actor(f"citizen-{rng.randrange(10**6)}", "citizen")
            case_id = str(cases.start_draft(citizen.account_id, "veraenderungsmitteilung"))
            open_cases.append((case_id, lifecycle(cases, rng, citizen)))
            started += 1
            continue
        index = rng.randrange(len(open_cases))
        case_id, steps = open_cases[index]
        steps.pop(0)(case_id)
        if not steps:
            open_cases.pop(index)


def fresh(database_url: str, key: str) -> Cases:
    """A new application: no data key in its cache, as after a restart."""
    return Cases.from_settings(database_url, key)


def rows(engine: Any, tables: CaseListTables) -> list[list[Any]]:
    with Session(engine) as session:
        result = []
        for table in (tables.case_list, tables.case_categories):
            result.append([tuple(row) for row in session.execute(select(table).order_by(*table.primary_key))])
        counts = tables.inbox_counts
        query = select(counts).where(counts.c.count != 0).order_by(*counts.primary_key)
        result.append([tuple(row) for row in session.execute(query)])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    ensure_postgres()
    name = f"jc_bench_{uuid.uuid4().hex[:8]}"
    database_url = create_postgres_database(name)
    key = base64.b64encode(os.urandom(32)).decode()
    try:
        writer = fresh(database_url, key)
        started = time.perf_counter()
        fill(writer, args.cases, random.Random(args.seed))
        events = writer.check_store()
        elapsed = time.perf_counter() - started
        writer.close()
        print(f"Rebuild of the case list, PostgreSQL, {args.cases:,} cases, {events:,} events")
        print(f"  machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        print(f"  filled in {elapsed:.1f} s ({events / elapsed:,.0f} events/s)")

        def measure(label: str, run: Callable[[Cases], int]) -> float:
            application = fresh(database_url, key)
            started = time.perf_counter()
            count = run(application)
            seconds = time.perf_counter() - started
            application.close()
            rate = count / seconds
            print(f"  {label:<52} {rate:10,.0f} events/s   {seconds:7.2f} s")
            return rate

        def read_raw(application: Cases, decode: Callable[[Any], Any] | None = None) -> int:
            position, count = 0, 0
            while batch := application.recorder.select_notifications(position, 500, inclusive_of_start=False):
                if decode is not None:
                    decode(batch)
                count += len(batch)
                position = batch[-1].id
            return count

        raw = measure("raw notification reads (baseline)", read_raw)
        decrypted = measure(
            "reads + decrypt, key by key", lambda app: read_raw(app, lambda b: [app.readable_event(n) for n in b])
        )
        prefetched = measure(
            "reads + decrypt, the batch's keys at once", lambda app: read_raw(app, app.readable_events)
        )
        engine = make_engine(database_url)
        old = measure(
            "per-event rebuild (as before)",
            lambda app: ProjectionRunner(app, CaseList(), engine, batched=False).rebuild(),
        )
        new = measure(
            "batched build beside the live version",
            lambda app: VersionedReadModel(app, NewVersion(), engine).prepare(),
        )
        same = rows(engine, CaseList.tables) == rows(engine, NEW_TABLES)
        engine.dispose()
        print(f"  ratio per-event rebuild / raw reads       {old / raw:8.3f}")
        print(f"  ratio batched build / raw reads           {new / raw:8.3f}")
        print(f"  ratio decrypt with batch keys / key by key {prefetched / decrypted:7.2f}")
        print(f"  ratio batched build / per-event rebuild   {new / old:8.2f}   (aim >= 10)")
        print(f"  both rebuilds left the same rows: {'yes' if same else 'NO'}")
    finally:
        drop_postgres_database(name)


if __name__ == "__main__":
    main()
