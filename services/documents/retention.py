"""Retention of uploads, run hourly (a Kubernetes CronJob in production).

``python -m services.documents.retention [--hours 24]`` removes uploads that were started or left
in checking longer ago than that: their objects, unfinished multipart uploads and quarantine
objects without a row (a crash between S3 and SQL). It also prunes events published more than a
week ago from the outbox. Documents of discarded drafts and erased cases
are deleted when submissions says so (see service.py).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timedelta

from minio import Minio
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from services.documents import metadata
from services.documents.domainmodel import Rejection, State
from services.documents.storage import QUARANTINE_PREFIX, DocumentStore, accepted_key, quarantine_key
from shared.config import load_config
from shared.sql import make_engine, migrate, migrations_of

QUARANTINE_HOURS = 24
# Published events are kept a while for inspection, then pruned from the outbox.
PUBLISHED_EVENTS_DAYS = 7


@dataclass(frozen=True)
class CleanupReport:
    uploads: int  # rows given up
    objects: int  # quarantine objects without a row
    multipart_uploads: int  # unfinished multipart uploads without a row


def clean_quarantine(
    engine: Engine, store: DocumentStore, hours: int = QUARANTINE_HOURS, now: datetime | None = None
) -> CleanupReport:
    """Give up every upload older than ``hours`` that was never accepted or rejected, and its objects."""
    cutoff = (now or metadata.now()) - timedelta(hours=hours)
    with Session(engine) as session:
        stale = metadata.stale_uploads(session, cutoff)
    for row in stale:
        key = quarantine_key(row["document_id"])
        if row["multipart_id"]:
            store.abort_multipart(key, row["multipart_id"])
        store.remove(key)
        store.remove(accepted_key(row["document_id"]))
        with Session(engine) as session, session.begin():
            if (
                metadata.change(
                    session,
                    row["document_id"],
                    (row["state"],),
                    state=State.REJECTED,
                    reason_code=Rejection.UPLOAD_ABANDONED.value,
                    object_key=None,
                    multipart_id=None,
                )
                and row["version"] > 0
            ):
                # Consumers heard of it as uploaded; they hear how it ended too.
                metadata.record_event(
                    session,
                    "document_rejected",
                    row["document_id"],
                    {"case_id": row["case_id"], "nachweis": row["nachweis"], "reason_code": "UPLOAD_ABANDONED"},
                )

    # Leftovers that no row points to any more: only old ones, so that an upload being started now
    # (object made, row not yet committed) is never touched.
    orphans = 0
    with Session(engine) as session:

        def open_upload(document_id: str) -> bool:
            row = metadata.get(session, document_id)
            return row is not None and row["state"] in (State.AWAITING_UPLOAD, State.CHECKING)

        for stored in store.objects(QUARANTINE_PREFIX):
            document_id = stored.key.removeprefix(QUARANTINE_PREFIX)
            if stored.last_modified and stored.last_modified < cutoff and not open_upload(document_id):
                store.remove(stored.key)
                orphans += 1
        unfinished = 0
        for key, upload_id, initiated in store.unfinished_multipart_uploads(QUARANTINE_PREFIX):
            document_id = key.removeprefix(QUARANTINE_PREFIX)
            if initiated and initiated < cutoff and not open_upload(document_id):
                store.abort_multipart(key, upload_id)
                unfinished += 1
    return CleanupReport(uploads=len(stale), objects=orphans, multipart_uploads=unfinished)


def prune_published_events(engine: Engine, days: int = PUBLISHED_EVENTS_DAYS, now: datetime | None = None) -> int:
    """Delete outbox rows published more than ``days`` ago; returns how many."""
    cutoff = (now or metadata.now()) - timedelta(days=days)
    with engine.begin() as connection:
        result = connection.execute(delete(metadata.outbox).where(metadata.outbox.c.published_at < cutoff))
    return int(result.rowcount)


def store_from_config(config: dict[str, object]) -> DocumentStore:
    settings = config["S3"]
    assert isinstance(settings, dict)
    client = Minio(
        str(settings["ENDPOINT"]),
        access_key=str(settings["ACCESS_KEY"]),
        secret_key=str(settings["SECRET_KEY"]),
        secure=bool(settings["SECURE"]),
        region=str(settings["REGION"]),
    )
    bucket = str(settings["BUCKET"])

    def ensure_bucket() -> None:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)

    return DocumentStore(client, bucket, ensure_bucket)


def main(argv: list[str] | None = None) -> None:
    config = load_config("documents")
    default_hours = int(config.get("DOCUMENTS", {}).get("QUARANTINE_HOURS", QUARANTINE_HOURS))
    parser = argparse.ArgumentParser(description="Remove abandoned uploads of the documents service.")
    parser.add_argument("--hours", type=int, default=default_hours, help="age after which an open upload is given up")
    args = parser.parse_args(argv)
    engine = make_engine(str(config["DATABASE_URL"]))
    migrate(engine, migrations_of("documents"), "documents")  # a no-op after the migrate step
    try:
        report = clean_quarantine(engine, store_from_config(config), args.hours)
        pruned = prune_published_events(engine)
    finally:
        engine.dispose()
    print(
        f"gave up {report.uploads} uploads older than {args.hours} h; removed {report.objects} orphaned objects "
        f"and {report.multipart_uploads} unfinished multipart uploads; pruned {pruned} published events"
    )


if __name__ == "__main__":
    main()
