"""Growth: the read models and the event store with 1,000,000 cases (issue #11), on PostgreSQL.

Run by hand: ``.venv/bin/python bench/bench_growth.py [--cases 1000000] [--events-cases 2000]``.
It makes a fresh database on the local PostgreSQL, drops it afterwards, and prints:

1. the citizen's case list and a Jobcenter inbox page (p50/p95 over random owners and
   Jobcenters, one Jobcenter holding 100,000 cases) against a primary-key lookup measured in
   the same run, through the same SQLAlchemy code the service uses;
2. the projection rebuild rate (events/s) against reading the same notifications raw;
3. the storage per case of the event store (events with per-case keys, compressed, encrypted).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.submissions import readmodel  # noqa: E402
from services.submissions.application import Cases  # noqa: E402
from services.submissions.domainmodel import Actor  # noqa: E402
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, ROUTED  # noqa: E402
from shared.projection import ProjectionRunner  # noqa: E402
from shared.servers import create_postgres_database, drop_postgres_database, ensure_postgres  # noqa: E402
from shared.sql import make_engine  # noqa: E402

BIG_JOBCENTER = "jc-0394"
JOBCENTERS = [f"jc-{n:04d}" for n in range(1, 301)]
STATUSES = ["submitted", "assigned", "received", "in_progress", "waiting_for_documents", "decided", "closed"]
# A VÄM reports one or two changes; each row gets the change and its category (as the projection writes them).
CHANGES = ["arbeitsaufnahme", "umzug", "einkommensaenderung", "bankverbindung", "mieterhoehung", "geburt", "kindergeld"]
GROUPS = ["einkommen", "persoenliches", "einkommen", "persoenliches", "wohnkosten", "haushalt", "einkommen"]
CASEWORKERS_OF_BIG = 40


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def timed(call: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def fill_case_list(engine, cases: int) -> None:
    """1,000,000 rows the way the projection writes them: 100,000 in one Jobcenter, the rest spread."""
    with engine.begin() as connection:
        connection.execute(
            text(
                """
                INSERT INTO submissions_case_list_v3
                  (case_id, owner_id, kind, form_version, status, receipt_number, jobcenter_id, assignee_id,
                   started_at, submitted_at, updated_at, documents_due, overdue_since)
                SELECT md5(n::text || 'c')::uuid::text,
                       'owner-' || (n % (:cases / 3))::text,
                       CASE WHEN n % 4 = 0 THEN 'weiterbewilligungsantrag' ELSE 'veraenderungsmitteilung' END,
                       '2026-1',
                       (CAST(:statuses AS text[]))[1 + n % 7],
                       'JC-2026-' || upper(substr(md5(n::text), 1, 12)),
                       CASE WHEN n % 10 = 0 THEN :big ELSE 'jc-' || lpad((1 + n % 300)::text, 4, '0') END,
                       CASE WHEN n % 7 IN (0, 1) THEN NULL ELSE 'caseworker-' || (n % :caseworkers)::text END,
                       now() - (n % 400) * interval '1 day',
                       now() - (n % 400) * interval '1 day' + interval '1 hour',
                       now() - (n % 300) * interval '1 day',
                       NULL,
                       CASE WHEN n % 70 = 1 THEN current_date - 2 END
                FROM generate_series(1, :cases) AS n
                """
            ).bindparams(cases=cases, big=BIG_JOBCENTER, statuses=STATUSES, caseworkers=CASEWORKERS_OF_BIG)
        )
        # Each VÄM: its change and that change's category; every third one a second change.
        connection.execute(
            text(
                """
                INSERT INTO submissions_case_categories_v3 (case_id, category, jobcenter_id, status, submitted_at)
                SELECT DISTINCT l.case_id, c.code, l.jobcenter_id, l.status, l.submitted_at
                FROM (SELECT n, md5(n::text || 'c')::uuid::text AS case_id FROM generate_series(1, :cases) AS n
                      WHERE n % 4 <> 0) AS v
                JOIN submissions_case_list_v3 l ON l.case_id = v.case_id
                CROSS JOIN LATERAL (VALUES
                    ((CAST(:changes AS text[]))[1 + v.n % 7]), ((CAST(:groups AS text[]))[1 + v.n % 7]),
                    (CASE WHEN v.n % 3 = 0 THEN (CAST(:changes AS text[]))[1 + (v.n / 7) % 7] END),
                    (CASE WHEN v.n % 3 = 0 THEN (CAST(:groups AS text[]))[1 + (v.n / 7) % 7] END)
                ) AS c(code)
                WHERE c.code IS NOT NULL
                """
            ).bindparams(cases=cases, changes=CHANGES, groups=GROUPS)
        )
        connection.execute(
            text(
                "INSERT INTO submissions_inbox_counts_v3 (jobcenter_id, status, count) "
                "SELECT jobcenter_id, status, count(*) FROM submissions_case_list_v3 GROUP BY jobcenter_id, status"
            )
        )
        connection.execute(text("ANALYZE submissions_case_list_v3"))
        connection.execute(text("ANALYZE submissions_case_categories_v3"))


def bench_read_models(engine, cases: int, samples: int) -> None:
    started = time.perf_counter()
    fill_case_list(engine, cases)
    print(f"   filled {cases:,} rows in {time.perf_counter() - started:.1f} s")
    owners = [f"owner-{random.randrange(cases // 3)}" for _ in range(samples * 2)]
    jobcenters = [BIG_JOBCENTER if i % 2 == 0 else random.choice(JOBCENTERS) for i in range(samples)]
    with engine.connect() as connection:
        some_ids = [
            row[0] for row in connection.execute(text("SELECT case_id FROM submissions_case_list_v3 LIMIT 5000"))
        ]
    with Session(engine) as session:
        iterator_owner = iter(owners)
        iterator_jobcenter = iter(jobcenters)
        iterator_ids = iter(some_ids * (samples // len(some_ids) + 1))
        case_list = timed(lambda: readmodel.cases_of_owner(session, next(iterator_owner)), samples)
        inbox = timed(lambda: readmodel.inbox(session, next(iterator_jobcenter), None, None, 50, 0), samples)
        big_inbox = timed(lambda: readmodel.inbox(session, BIG_JOBCENTER, "assigned", None, 50, 0), samples // 2)
        # The caseworker's filters (issue #9) on the 100,000-case Jobcenter.
        big_kind = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, "received", "weiterbewilligungsantrag", 50, 0),
            samples // 2,
        )
        big_overdue = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, None, None, 50, 0, overdue=True), samples // 2
        )
        big_owner = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, None, None, 50, 0, owner_id=next(iterator_owner)),
            samples // 2,
        )
        big_category = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, None, None, 50, 0, category="arbeitsaufnahme"),
            samples // 2,
        )
        big_rare_category = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, "assigned", None, 50, 0, category="wohnkosten"),
            samples // 2,
        )
        big_mine = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, None, None, 50, 0, assignee="caseworker-3"), samples // 2
        )
        big_nobody = timed(
            lambda: readmodel.inbox(session, BIG_JOBCENTER, "assigned", None, 50, 0, assignee=readmodel.UNASSIGNED),
            samples // 2,
        )
        big_page_20 = timed(lambda: readmodel.inbox(session, BIG_JOBCENTER, None, None, 50, 950), samples // 2)
        baseline = timed(
            lambda: session.execute(
                select(readmodel.case_list).where(readmodel.case_list.c.case_id == next(iterator_ids))
            ).first(),
            samples,
        )
    base50, base95 = percentiles(baseline)
    print(f"   primary-key lookup (baseline)           p50 {base50:6.2f} ms   p95 {base95:6.2f} ms")
    for label, measured in (
        ("citizen's case list", case_list),
        ("inbox page (mixed Jobcenters)", inbox),
        ("inbox page, 100,000-case Jobcenter", big_inbox),
        ("  filtered by status and kind", big_kind),
        ("  only overdue", big_overdue),
        ("  one customer (Kundennummer)", big_owner),
        ("  one VÄM change (Arbeitsaufnahme)", big_category),
        ("  new, category Wohnkosten", big_rare_category),
        ("  assigned to one caseworker", big_mine),
        ("  new, nobody assigned", big_nobody),
        ("  page 20", big_page_20),
    ):
        p50, p95 = percentiles(measured)
        print(f"   {label:<40} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   p95 ratio {p95 / base95:5.1f}")


def bench_event_store(database_url: str, cases: int) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    application = Cases.from_settings(database_url, key)
    citizen = Actor("owner-bench", "citizen")
    started = time.perf_counter()
    for _ in range(cases):
        case_id = str(application.start_draft(citizen.account_id, "veraenderungsmitteilung"))
        for section_id, data in ARBEITSAUFNAHME.items():
            application.save_section(case_id, citizen, section_id, data)
        application.submit(case_id, citizen, str(uuid.uuid4()), ROUTED)
    elapsed = time.perf_counter() - started
    events = application.check_store()
    print(f"   wrote {cases:,} cases, {events:,} events in {elapsed:.1f} s ({events / elapsed:,.0f} events/s)")

    engine = make_engine(database_url)
    runner = ProjectionRunner(application, readmodel.CaseList(), engine)
    started = time.perf_counter()
    notifications = 0
    position = 0
    while batch := application.recorder.select_notifications(position, 500, inclusive_of_start=False):
        notifications += len(batch)
        position = batch[-1].id
    raw = time.perf_counter() - started
    started = time.perf_counter()
    applied = runner.rebuild()
    rebuilt = time.perf_counter() - started
    print(f"   raw notification reads (baseline)       {notifications / raw:12,.0f} events/s")
    rate = applied / rebuilt
    print(f"   projection rebuild (decrypt + apply)    {rate:12,.0f} events/s   ratio to raw {raw / rebuilt:6.3f}")
    with engine.connect() as connection:
        size = connection.execute(
            text(
                "SELECT pg_total_relation_size('submissions_events') + pg_total_relation_size('submissions_data_keys')"
            )
        ).scalar_one()
    print(
        f"   storage per case (events + data keys)   {size / cases:12,.0f} bytes ({events / cases:.1f} events per case)"
    )
    application.close()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--events-cases", type=int, default=2_000)
    args = parser.parse_args()
    ensure_postgres()
    name = f"jc_bench_{uuid.uuid4().hex[:8]}"
    database_url = create_postgres_database(name)
    try:
        engine = make_engine(database_url)
        readmodel.metadata.create_all(engine)
        print(f"1. Read models with {args.cases:,} cases (PostgreSQL, {args.samples} queries each)")
        bench_read_models(engine, args.cases, args.samples)
        engine.dispose()
        print(f"2. Event store: {args.events_cases:,} VÄM Arbeitsaufnahme filed and submitted")
        bench_event_store(database_url, args.events_cases)
    finally:
        drop_postgres_database(name)


if __name__ == "__main__":
    main()
