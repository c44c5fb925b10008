"""The staff access record's day filter counts German days, on SQLite as on PostgreSQL."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.submissions.accesslog import StaffAccessLog
from services.submissions.schema import metadata, staff_access
from shared.sql import make_engine

GERMANY = ZoneInfo("Europe/Berlin")


def test_an_opening_half_an_hour_after_german_midnight_belongs_to_the_new_day(database_url):
    log = StaffAccessLog()
    log.engine = make_engine(database_url)
    metadata.create_all(log.engine, tables=[staff_access])
    opened = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 00:30 on 5 December in Germany
    with log.engine.begin() as connection:
        connection.execute(staff_access.insert().values(
            access_id="a-1", case_id="c-1", account_id="s-1", role="caseworker", institution_id="jc-0394",
            action="case_opened", at=opened,
        ))  # fmt: skip
    fifth = datetime(2026, 12, 5, tzinfo=GERMANY)
    try:
        assert [row["case_id"] for row in log.list(since=fifth, until=fifth + timedelta(days=1))] == ["c-1"]
        assert log.list(since=fifth - timedelta(days=1), until=fifth) == []
    finally:
        log.engine.dispose()
