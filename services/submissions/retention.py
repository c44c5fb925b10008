"""Retention: ``python -m services.submissions.retention expire-drafts [--days 90]``.

Drafts untouched for the given number of days expire (an event each), so unfinished applications
do not linger. Run daily (a Kubernetes CronJob in production).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from services.submissions.application import Cases
from services.submissions.readmodel import CaseList, drafts_untouched_since
from shared.config import load_config
from shared.projection import ProjectionRunner
from shared.sql import make_engine

DRAFT_LIFETIME_DAYS = 90


def expire_drafts(application: Cases, runner: ProjectionRunner, days: int, now: datetime | None = None) -> list[str]:
    """Expire every draft untouched for ``days``; returns their ids."""
    runner.catch_up()
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with Session(runner.engine) as session:
        stale = drafts_untouched_since(session, cutoff)
    for case_id in stale:
        application.expire_draft(case_id)
    runner.catch_up()
    return stale


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Retention of the submissions service.")
    parser.add_argument("command", choices=("expire-drafts",))
    parser.add_argument("--days", type=int, default=DRAFT_LIFETIME_DAYS)
    args = parser.parse_args(argv)
    config = load_config("submissions")
    application = Cases.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
    runner = ProjectionRunner(application, CaseList(), make_engine(str(config["DATABASE_URL"])))
    expired = expire_drafts(application, runner, args.days)
    print(f"expired {len(expired)} drafts untouched for {args.days} days")


if __name__ == "__main__":
    main()
