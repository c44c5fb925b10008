"""Retention of cases, run daily (a Kubernetes CronJob in production); docs/retention.md has every kind of data.

- ``expire-drafts [--days 90]``: drafts untouched that long expire (an event each) and are erased at
  once, like every discarded or expired draft not erased yet: nobody has to keep a draft.
- ``erase-closed [--years 10]``: cases finished that long ago (closed, withdrawn, handed over, or
  decided and never closed, counted from their last change) are erased by destroying their data
  key (crypto-shredding): their events, snapshots and copies become unreadable, their read-model
  rows are deleted (at once in this code's version; every other version of the read model deletes
  them when it applies the erasure's event). SGB II case files are kept 10 years after closure.
- ``prune-access-record [--years 2]``: entries of the staff access record (who of the staff opened which
  case, when) older than that are deleted, whether the case still exists or not: the record serves the
  control of reads (the data protection officer's, a citizen's question who read their case), which
  looks back over the last two years; kept longer, it would only be a profile of the staff's work.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from services.submissions.application import Cases
from services.submissions.readmodel import (
    close,
    drafts_gone,
    drafts_untouched_since,
    finished_before,
    forget_case,
    open_read_model,
)
from services.submissions.schema import staff_access
from shared.config import load_config
from shared.projection import ProjectionRunner
from shared.sql import make_engine, migrate, migrations_of

DRAFT_LIFETIME_DAYS = 90
CASE_RETENTION_YEARS = 10
ACCESS_RECORD_YEARS = 2


def expire_drafts(application: Cases, runner: ProjectionRunner, days: int, now: datetime | None = None) -> list[str]:
    """Expire every draft untouched for ``days``; returns their ids."""
    runner.catch_up()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with Session(runner.engine) as session:
        stale = drafts_untouched_since(session, cutoff)
    for case_id in stale:
        application.expire_draft(case_id)
    runner.catch_up()
    with Session(runner.engine) as session:
        gone = drafts_gone(session)  # the ones just expired, and any discarded or expired before
    for case_id in gone:
        erase_case(application, runner, case_id)
    return stale


def erase_case(application: Cases, runner: ProjectionRunner, case_id: str) -> None:
    """Erase one case for good: destroy its data key and delete its read-model row."""
    application.erase(case_id)
    with runner.engine.begin() as connection:
        forget_case(connection, case_id)


def erase_finished_cases(
    application: Cases, runner: ProjectionRunner, years: int, now: datetime | None = None
) -> list[str]:
    """Erase every case finished (closed, withdrawn, handed over, or decided and never closed) more than
    ``years`` ago, counted from its last change."""
    runner.catch_up()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=365 * years + years // 4)
    with Session(runner.engine) as session:
        finished = finished_before(session, cutoff)
    for case_id in finished:
        erase_case(application, runner, case_id)
    return finished


def prune_access_record(engine: Engine, years: int = ACCESS_RECORD_YEARS, now: datetime | None = None) -> int:
    """Delete the staff access record's entries older than ``years``; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=365 * years + years // 4)
    with engine.begin() as connection:
        return int(connection.execute(delete(staff_access).where(staff_access.c.at < cutoff)).rowcount)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Retention of the submissions service.")
    parser.add_argument("command", choices=("expire-drafts", "erase-closed", "prune-access-record"))
    parser.add_argument("--days", type=int, default=DRAFT_LIFETIME_DAYS)
    parser.add_argument("--years", type=int, help=f"default: {CASE_RETENTION_YEARS} (erase-closed), "
                        f"{ACCESS_RECORD_YEARS} (prune-access-record)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.command == "prune-access-record":
        engine = make_engine(str(load_config("submissions")["DATABASE_URL"]))
        try:
            migrate(engine, migrations_of("submissions"), "submissions")
            pruned = prune_access_record(engine, args.years or ACCESS_RECORD_YEARS)
        finally:
            engine.dispose()
        print(
            f"deleted {pruned} entries of the staff access record older than {args.years or ACCESS_RECORD_YEARS} years"
        )
        return
    years = args.years or CASE_RETENTION_YEARS
    read_model = open_read_model(load_config("submissions"))
    # Both commands select from the case list: a version still being built would miss cases.
    read_model.prepare()
    application, runner = read_model.runner.application, read_model.runner
    assert isinstance(application, Cases)
    try:
        if args.command == "expire-drafts":
            expired = expire_drafts(application, runner, args.days)
            print(f"expired {len(expired)} drafts untouched for {args.days} days")
        else:
            erased = erase_finished_cases(application, runner, years)
            print(f"erased {len(erased)} cases finished more than {years} years ago")
    finally:
        close(read_model)


if __name__ == "__main__":
    main()
