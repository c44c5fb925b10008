"""The case list built in batches has exactly the rows it has when built event by event.

The reference is ``CaseList.apply`` (one event, its own statements), caught up after every command
as a live service does, with erased cases deleted at once as retention does. The batched path is
``CaseList.apply_batch`` into the tables of another version in the same database: built from zero
in large batches after the history, and caught up in small batches while the history happens.
Counts of zero are left out of the comparison: the reference leaves a zero row where a case passed
through a status, a batch that folds the case past it does not, and the inbox shows neither.
"""

import random
import tempfile
from typing import ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.submissions.application import Cases
from services.submissions.readmodel import CaseList, CaseListTables, case_list_tables
from services.submissions.tests.histories import WEIGHTS, erase_everywhere, play, random_history
from services.submissions.tests.scenarios import CITIZEN
from shared.projection import ProjectionRunner
from shared.sql import make_engine

WEIGHTED_STEPS = [name for name, weight in WEIGHTS.items() for _ in range(weight)]


def batched_version(version: int) -> CaseList:
    """The case list as another version (its own tables beside v3), built by the batched path."""
    own = case_list_tables(version)

    class Batched(CaseList):
        metadata = own.metadata
        tables: ClassVar[CaseListTables] = own

    Batched.version = version
    return Batched()


def contents(engine, tables: CaseListTables) -> dict[str, list[dict]]:
    """Every row of one version, in a stable order, ids and codes only."""
    with Session(engine) as session:
        return {
            "cases": [dict(row) for row in session.execute(select(tables.case_list).order_by("case_id")).mappings()],
            "categories": [
                dict(row)
                for row in session.execute(select(tables.case_categories).order_by("case_id", "category")).mappings()
            ],
            "counts": [
                dict(row)
                for row in session.execute(
                    select(tables.inbox_counts)
                    .where(tables.inbox_counts.c.count != 0)
                    .order_by("jobcenter_id", "status")
                ).mappings()
            ],
        }


class ThreeWays:
    """The reference (live, event by event), a batched runner that follows along, and a batched build at the end."""

    def __init__(self, cases: Cases, database_url: str, follow_batch: int, build_batch: int) -> None:
        self.cases = cases
        self.engine = make_engine(database_url)
        self.reference = ProjectionRunner(cases, CaseList(), self.engine, batch_size=7, batched=False)
        self.following_version = batched_version(90)
        self.following = ProjectionRunner(cases, self.following_version, self.engine, batch_size=follow_batch)
        self.build_batch = build_batch
        self.forget = erase_everywhere(cases, self.engine)

    def step(self, case_id: str, step: str) -> None:
        play(self.cases, case_id, step, on_erase=self.forget)
        self.reference.catch_up()
        self.following.catch_up()

    def assert_all_equal(self) -> None:
        built_version = batched_version(91)
        ProjectionRunner(self.cases, built_version, self.engine, batch_size=self.build_batch).catch_up()
        self.reference.catch_up()
        self.following.catch_up()
        expected = contents(self.engine, CaseList.tables)
        assert contents(self.engine, self.following_version.tables) == expected
        assert contents(self.engine, built_version.tables) == expected
        self.engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case_count=st.integers(1, 4),
    # Steps drawn by their weight, so that histories reach the later statuses of a case.
    history=st.lists(st.tuples(st.sampled_from(sorted(WEIGHTED_STEPS)), st.integers(0, 3)), min_size=20, max_size=80),
    follow_batch=st.integers(1, 9),
    build_batch=st.integers(1, 50),
)
def test_random_histories_give_the_same_rows_in_batches_as_event_by_event(
    cipher_key, case_count, history, follow_batch, build_batch
):
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/store.sqlite"
        cases = Cases.from_settings(database_url, cipher_key)
        ways = ThreeWays(cases, database_url, follow_batch, build_batch)
        case_ids = [str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung")) for _ in range(case_count)]
        for step, index in history:
            ways.step(case_ids[index % case_count], step)
        ways.assert_all_equal()
        cases.close()


def test_a_long_realistic_history_gives_the_same_rows_in_batches_as_event_by_event(cases, database_url):
    ways = ThreeWays(cases, database_url, follow_batch=13, build_batch=200)
    rng = random.Random(22)
    case_ids = random_history(cases, rng, case_count=40, steps=0)
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    for _ in range(500):
        ways.step(rng.choice(case_ids), rng.choices(names, weights)[0])
    with Session(ways.engine) as session:
        statuses = {row.status for row in session.execute(select(CaseList.tables.case_list.c.status))}
        categories = session.execute(select(CaseList.tables.case_categories)).all()
    assert len(statuses) >= 8 and categories, f"the history reaches many statuses and VÄM categories: {statuses}"
    ways.assert_all_equal()
