"""The case list read model: exactly once, rebuildable from zero, on SQLite and PostgreSQL."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.submissions.readmodel import CaseList, case_list, cases_of_owner
from services.submissions.retention import erase_case, erase_finished_cases, expire_drafts
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill
from shared.dates import german_today
from shared.errors import NotFound
from shared.projection import ProjectionRunner
from shared.sql import make_engine


def rows(runner):
    with Session(runner.engine) as session:
        return [dict(row) for row in session.execute(select(case_list).order_by(case_list.c.case_id)).mappings()]


def walk_some_cases(cases):
    for n in range(4):
        case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
        if n == 3:
            continue
        fill(cases, case_id, ARBEITSAUFNAHME)
        cases.submit(case_id, CITIZEN, "k", ROUTED)
        if n >= 1:
            cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
        if n == 2:
            cases.receive(case_id, CASEWORKER)


def test_the_case_list_follows_the_cases(cases, runner):
    walk_some_cases(cases)
    runner.catch_up()
    statuses = sorted(row["status"] for row in rows(runner))
    assert statuses == ["assigned", "draft", "received", "submitted"]
    with Session(runner.engine) as session:
        assert len(cases_of_owner(session, CITIZEN.account_id)) == 4


def test_a_projection_rebuilt_from_zero_equals_the_live_one(cases, runner):
    walk_some_cases(cases)
    runner.catch_up()
    live = rows(runner)
    assert runner.rebuild() == cases.check_store()
    assert rows(runner) == live


def test_two_runners_apply_each_event_exactly_once(cases, runner, database_url):
    walk_some_cases(cases)
    other = ProjectionRunner(cases, CaseList(), make_engine(database_url), batch_size=3)
    applied = other.catch_up() + runner.catch_up()
    assert applied == cases.check_store()
    assert runner.catch_up() == other.catch_up() == 0
    assert len(rows(runner)) == 4


def test_a_draft_untouched_for_90_days_expires(cases, runner):
    old = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    expired = expire_drafts(cases, runner, 90, now=datetime.now(UTC) + timedelta(days=91))
    assert expired == [old]
    with pytest.raises(NotFound):  # expired, then erased (services/submissions/tests/test_retention.py)
        cases.get_case(old)
    assert expire_drafts(cases, runner, 90) == []


def test_a_case_erased_by_destroying_its_key_is_unreadable_everywhere(cases, runner):
    kept = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    erased = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, erased, ARBEITSAUFNAHME)
    cases.take_snapshot(uuid.UUID(erased))
    runner.catch_up()

    erase_case(cases, runner, erased)

    with pytest.raises(MapperDeserialisationError):
        cases.repository.get(uuid.UUID(erased))
    assert cases.snapshots is not None
    with pytest.raises(MapperDeserialisationError):
        list(cases.snapshots.get(uuid.UUID(erased)))
    assert [row["case_id"] for row in rows(runner)] == [kept]
    runner.rebuild()
    assert [row["case_id"] for row in rows(runner)] == [kept]
    relayed = [cases.integration_event_for(n) for n in cases.recorder.select_notifications(None, 100)]
    assert {event.aggregate_id for event in relayed if event and event.type != "case_erased"} == {kept}
    # Others learn of the erasure (documents deletes its files) by the one event left readable.
    assert [event.data for event in relayed if event and event.type == "case_erased"] == [{"case_id": erased}]
    erase_case(cases, runner, erased)  # again: nothing new
    assert len([n for n in cases.recorder.select_notifications(None, 100) if "CaseErasure" in n.topic]) == 1
    assert cases.get_case(kept)["status"] == "draft"


def test_finished_cases_are_erased_after_ten_years(cases, runner):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "k", ROUTED)
    cases.withdraw(case_id, CITIZEN)
    assert erase_finished_cases(cases, runner, 10) == []
    later = datetime.now(UTC) + timedelta(days=3653)
    assert erase_finished_cases(cases, runner, 10, now=later) == [case_id]
    with pytest.raises(MapperDeserialisationError):
        cases.repository.get(uuid.UUID(case_id))
    with pytest.raises(NotFound):  # what a reader is told of an erased case
        cases.get_case(case_id)


def test_a_case_not_received_within_three_working_days_is_flagged_overdue_once(cases, runner):

    from services.submissions.service import flag_overdue

    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "k", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    submitted = german_today()
    assert flag_overdue(cases, runner, submitted + timedelta(days=2)) == []
    assert flag_overdue(cases, runner, submitted + timedelta(days=8)) == [case_id]
    assert flag_overdue(cases, runner, submitted + timedelta(days=9)) == []
    assert [row["overdue_since"] for row in rows(runner)] == [submitted + timedelta(days=8)]
    cases.receive(case_id, CASEWORKER)
    runner.catch_up()
    assert [row["overdue_since"] for row in rows(runner)] == [None]


def test_the_inbox_counts_kept_by_the_projection_match_the_cases(cases, runner):
    from sqlalchemy import func

    from services.submissions.readmodel import inbox

    walk_some_cases(cases)
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "k", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.reassign(case_id, "jc-elsewhere", "umzug", "2026-12-01")
    runner.catch_up()

    def counted(session, jobcenter):
        query = (
            select(case_list.c.status, func.count())
            .where(case_list.c.jobcenter_id == jobcenter)
            .group_by(case_list.c.status)
        )
        return {status: count for status, count in session.execute(query).all()}

    with Session(runner.engine) as session:
        assert (
            inbox(session, JOBCENTER, None, None, 50, 0)[1]
            == counted(session, JOBCENTER)
            == {"assigned": 1, "received": 1}
        )
        assert inbox(session, "jc-elsewhere", None, None, 50, 0)[1] == {"assigned": 1}
    runner.rebuild()
    with Session(runner.engine) as session:
        assert inbox(session, JOBCENTER, None, None, 50, 0)[1] == {"assigned": 1, "received": 1}


def assigned_cases(cases, count):
    filed = []
    for _ in range(count):
        case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
        fill(cases, case_id, ARBEITSAUFNAHME)
        cases.submit(case_id, CITIZEN, "k", ROUTED)
        cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
        filed.append(case_id)
    return filed


def test_the_inbox_sorted_by_frist_puts_the_soonest_first_and_cases_without_one_last(cases, runner):
    from sqlalchemy import update

    from services.submissions.domainmodel import receive_deadline
    from services.submissions.readmodel import due, inbox

    filed = assigned_cases(cases, 10)
    # Seven cases submitted on each day of one week (late in the UTC evening), to be received in three
    # working days; two wait for documents; one is being processed and has no Frist.
    monday = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
    for offset, case_id in enumerate(filed[:7]):
        with Session(runner.engine) as session, session.begin():
            runner.catch_up()
            session.execute(update(case_list).where(case_list.c.case_id == case_id)
                            .values(submitted_at=monday + timedelta(days=offset)))  # fmt: skip
    for case_id, days in ((filed[7], 3), (filed[8], 20)):
        cases.receive(case_id, CASEWORKER)
        cases.request_documents(case_id, CASEWORKER, ["lohnabrechnung_erste"], "", german_today() + timedelta(days))
    cases.receive(filed[9], CASEWORKER)
    cases.start_processing(filed[9], CASEWORKER)
    runner.catch_up()
    with Session(runner.engine) as session:
        rows_by_due = inbox(session, JOBCENTER, None, None, 50, 0, sort="due")[0]
        wanted = sorted(rows_by_due, key=lambda row: (due(row)[0] is None, due(row)[0] or monday.date()))
        assert [row["case_id"] for row in rows_by_due] == [row["case_id"] for row in wanted]
        assert rows_by_due[-1]["case_id"] == filed[9]
        # Monday's case by Thursday, Tuesday's by Friday: the soonest; the three of Friday to Sunday share
        # the following Wednesday, in the order they came.
        assert [row["case_id"] for row in rows_by_due[:2]] == filed[:2]
        thursday, friday = (receive_deadline(monday.date() + timedelta(days=n)) for n in (0, 1))
        assert [due(row)[0] for row in rows_by_due[:2]] == [thursday, friday]
        next_wednesday = thursday + timedelta(days=6)
        assert [row["case_id"] for row in rows_by_due if due(row)[0] == next_wednesday] == filed[4:7]
        first_page = inbox(session, JOBCENTER, None, None, 4, 0, sort="due")[0]
        second_page = inbox(session, JOBCENTER, None, None, 50, 4, sort="due")[0]
        assert [row["case_id"] for row in first_page + second_page] == [row["case_id"] for row in rows_by_due]


def test_the_receive_deadline_is_the_third_working_day_after_the_submission():
    from services.submissions.domainmodel import receive_deadline

    week = [datetime(2026, 11, 30).date() + timedelta(days=n) for n in range(7)]  # Monday to Sunday
    assert [receive_deadline(day).isoformat() for day in week] == [
        "2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08", "2026-12-09", "2026-12-09", "2026-12-09",
    ]  # fmt: skip


def test_the_inbox_sorted_by_status_follows_the_way_of_a_case(cases, runner):
    from services.submissions.readmodel import inbox

    first, second, third = assigned_cases(cases, 3)
    cases.receive(first, CASEWORKER)
    cases.start_processing(first, CASEWORKER)
    cases.receive(third, CASEWORKER)
    runner.catch_up()
    with Session(runner.engine) as session:
        rows_by_status = inbox(session, JOBCENTER, None, None, 50, 0, sort="status")[0]
    assert [(row["case_id"], row["status"]) for row in rows_by_status] == [
        (second, "assigned"),
        (third, "received"),
        (first, "in_progress"),
    ]


def test_a_part_of_a_receipt_number_finds_the_cases_whose_number_contains_it(cases, runner):
    from services.submissions.readmodel import inbox

    filed = assigned_cases(cases, 3)
    runner.catch_up()
    numbers = {cases.get_case(case_id)["receipt_number"]: case_id for case_id in filed}
    number, case_id = next(iter(numbers.items()))
    with Session(runner.engine) as session:
        for part in (number[-4:], number[8:12], number[3:]):
            found = inbox(session, JOBCENTER, None, None, 50, 0, receipt_part=part)[0]
            assert case_id in [row["case_id"] for row in found]
            assert all(part in row["receipt_number"] for row in found)
        assert inbox(session, "jc-elsewhere", None, None, 50, 0, receipt_part=number[-4:])[0] == []
        with pytest.raises(ValueError):
            inbox(session, JOBCENTER, None, None, 50, 0, receipt_part="%")


def test_the_inbox_pages_through_more_than_200_cases_in_every_order_without_gaps_or_doubles(cases, runner):
    from sqlalchemy import insert

    from services.submissions.readmodel import SORTS, inbox

    runner.catch_up()  # the tables exist
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    statuses = ["assigned", "received", "waiting_for_documents", "in_progress", "decided"]
    rows_ = [
        {
            "case_id": str(uuid.uuid4()), "owner_id": "citizen-x", "kind": "veraenderungsmitteilung",
            "form_version": "2026-1", "status": statuses[n % 5], "receipt_number": f"JC-2026-PAGE-{n:04d}",
            "jobcenter_id": "jc-paging", "assignee_id": None, "started_at": start,
            "submitted_at": start + timedelta(hours=7 * n), "updated_at": start,
            "documents_due": (start + timedelta(days=n % 17)).date() if n % 5 == 2 else None, "overdue_since": None,
        }
        for n in range(230)
    ]  # fmt: skip
    with Session(runner.engine) as session, session.begin():
        session.execute(insert(case_list), rows_)
    with Session(runner.engine) as session:
        for sort in SORTS:
            paged = []
            for page in range(5):
                paged += [
                    row["case_id"] for row in inbox(session, "jc-paging", None, None, 50, 50 * page, sort=sort)[0]
                ]
            assert sorted(paged) == sorted(str(row["case_id"]) for row in rows_), sort
        assert len(inbox(session, "jc-paging", None, None, 50, 0, receipt_part="PAGE-01")[0]) == 50
        assert len(inbox(session, "jc-paging", None, None, 50, 50, receipt_part="PAGE-01")[0]) == 50
