"""A new version of the case list is built beside the live one, switched to, and the old one dropped.

v4 here is the case list under other table names (a test subclass): what a release with a changed
read model brings. The v3 reader stands for the instances of the old code, which keep serving
while v4 is built; the clock is the test's, so that the grace period passes without waiting.
"""

import random
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from services.submissions.readmodel import CaseList, CaseListTables, case_list_tables, inbox
from services.submissions.tests.histories import random_history
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CITIZEN, JOBCENTER, ROUTED, fill
from shared.projection import ProjectionRunner
from shared.read_model_versions import (
    BUILDING,
    DROPPED,
    LIVE,
    READ_RECORD_SECONDS,
    RETIRED,
    ReadModelBuilding,
    VersionedReadModel,
)
from shared.sql import make_engine

V4_TABLES = case_list_tables(4)
GRACE = 600.0
# The tables of v2 as commit 3a54ecf made them (names only matter: they are dropped, never read).
V2_TABLES = ("submissions_case_list_v2", "submissions_inbox_counts_v2", "submissions_case_list_v2_position")


class CaseListV4(CaseList):
    version = 4
    metadata = V4_TABLES.metadata
    tables: ClassVar[CaseListTables] = V4_TABLES


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def versioned(cases, projection, engine, clock, **kwargs):
    return VersionedReadModel(cases, projection, engine, grace_seconds=GRACE, clock=clock, **kwargs)


def file_assigned_case(cases) -> str:
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, f"key-{case_id}", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    return case_id


def inbox_of(read_model) -> list[str]:
    """The Jobcenter's whole inbox as a v3 reader serves it (the query functions read this code's v3)."""
    read_model.catch_up_for_read()
    with Session(read_model.runner.engine) as session:
        rows, _ = inbox(session, JOBCENTER, None, None, 10_000, 0)
    return sorted(row["case_id"] for row in rows)


def rows_of(engine, tables: CaseListTables) -> list[dict]:
    with Session(engine) as session:
        query = tables.case_list.select().order_by(tables.case_list.c.case_id)
        return [dict(row) for row in session.execute(query).mappings()]


def tables_in(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def states(read_model) -> dict[int, str]:
    return {row["version"]: row["state"] for row in read_model.registry.versions(read_model.projection.family)}


def test_v4_is_built_beside_v3_which_serves_every_case_until_the_switch_and_is_dropped_after_the_grace(
    cases, engine, clock
):
    with engine.begin() as connection:  # what the release before v3 left behind
        for name in V2_TABLES:
            connection.execute(text(f"CREATE TABLE {name} (id INTEGER)"))
    filed = [file_assigned_case(cases) for _ in range(12)]
    v3 = versioned(cases, CaseList(), engine, clock)
    v3.prepare()
    assert states(v3) == {2: RETIRED, 3: LIVE}
    assert inbox_of(v3) == sorted(filed)

    v4 = versioned(cases, CaseListV4(), engine, clock, build_batch=10)
    assert not v4.serving and states(v4)[4] == BUILDING
    with pytest.raises(ReadModelBuilding):
        v4.catch_up_for_read()
    while not v4.serving:
        v4.build(max_batches=1)
        filed.append(file_assigned_case(cases))  # events keep coming during the build
        assert inbox_of(v3) == sorted(filed), "the old version serves every case meanwhile"
    assert states(v4) == {2: RETIRED, 3: RETIRED, 4: LIVE}
    v4.catch_up_for_read()
    assert rows_of(engine, V4_TABLES) == rows_of(engine, CaseList.tables), "new events reached both versions"

    clock.advance(GRACE + READ_RECORD_SECONDS)
    assert inbox_of(v3) == sorted(filed), "an old instance still reads v3 after the switch"
    assert not set(V2_TABLES) & tables_in(engine), "v2, retired longer than the grace and unread, went at that read"
    assert v4.drop_retired() == [], "v3 was read within the grace period"
    assert CaseList.tables.case_list.name in tables_in(engine)

    clock.advance(GRACE + 1)  # the old instances are gone: nobody read v3 for longer than the grace
    assert v4.drop_retired() == [3]
    left = tables_in(engine)
    assert not {table.name for table in CaseList.tables.metadata.sorted_tables} & left
    assert "submissions_case_list_v3_position" not in left
    assert states(v4) == {2: DROPPED, 3: DROPPED, 4: LIVE}
    assert len(rows_of(engine, V4_TABLES)) == len(filed)


def test_the_version_a_reader_serves_is_never_dropped_by_itself(cases, engine, clock):
    file_assigned_case(cases)
    v3 = versioned(cases, CaseList(), engine, clock)
    v3.prepare()
    versioned(cases, CaseListV4(), engine, clock).prepare()
    clock.advance(10 * GRACE)
    assert v3.drop_retired() == []
    assert CaseList.tables.case_list.name in tables_in(engine)


def test_a_v3_built_by_the_release_before_the_registry_is_adopted_as_live_not_rebuilt(cases, engine, clock):
    filed = [file_assigned_case(cases) for _ in range(3)]
    before_registry = ProjectionRunner(cases, CaseList(), engine)  # what commit b229732 ran
    before_registry.catch_up()
    position = before_registry.position()

    v3 = versioned(cases, CaseList(), engine, clock)
    assert v3.serving and states(v3) == {3: LIVE}
    assert v3.prepare() == 0, "nothing was applied again"
    assert v3.runner.position() == position
    assert inbox_of(v3) == sorted(filed)


def test_a_build_stopped_halfway_resumes_where_it_stood_and_finishes(cases, engine, clock, database_url):
    random_history(cases, random.Random(4), case_count=25, steps=200)
    versioned(cases, CaseList(), engine, clock).prepare()
    interrupted = versioned(cases, CaseListV4(), engine, clock, build_batch=20)
    interrupted.build(max_batches=2)
    assert not interrupted.serving and interrupted.runner.position() > 0

    restarted_engine = make_engine(database_url)  # a new process: nothing kept in memory
    restarted = versioned(cases, CaseListV4(), restarted_engine, clock, build_batch=20)
    assert not restarted.serving
    restarted.prepare()
    assert restarted.serving
    restarted_engine.dispose()
    assert rows_of(engine, V4_TABLES) == rows_of(engine, CaseList.tables)
