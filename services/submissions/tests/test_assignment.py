"""Who of the Jobcenter works on a case, and the inbox read model v3 (categories, assignee, overdue)."""

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.submissions.domainmodel import Actor
from services.submissions.readmodel import UNASSIGNED, inbox
from services.submissions.service import checked_owner_ids
from services.submissions.tests.scenarios import (
    ARBEITSAUFNAHME,
    CASEWORKER,
    CASEWORKER_ELSEWHERE,
    CITIZEN,
    JOBCENTER,
    MOVED_TO,
    ROUTED,
    UMZUG,
    fill,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

COLLEAGUE = Actor("caseworker-2", "caseworker", JOBCENTER)
TEAM_LEAD = Actor("team-lead-1", "team_lead", JOBCENTER)


def assigned_case(cases, answers=ARBEITSAUFNAHME, jobcenter=JOBCENTER):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, answers)
    cases.submit(case_id, CITIZEN, "k", ROUTED, MOVED_TO)
    cases.assign(case_id, jobcenter, "bezirk", "2026-1")
    return case_id


def page(runner, **filters):
    runner.catch_up()
    with Session(runner.engine) as session:
        rows, _ = inbox(session, filters.pop("jobcenter", JOBCENTER), None, None, 50, 0, **filters)
    return [row["case_id"] for row in rows]


def test_whoever_receives_a_case_nobody_works_on_takes_it(cases):
    case_id = assigned_case(cases)
    cases.receive(case_id, CASEWORKER)
    assert cases.get_case(case_id)["assignee_id"] == CASEWORKER.account_id


def test_a_caseworker_takes_a_free_case_but_not_a_colleagues(cases):
    case_id = assigned_case(cases)
    assert cases.assign_caseworker(case_id, COLLEAGUE, COLLEAGUE) is True
    assert cases.assign_caseworker(case_id, COLLEAGUE, COLLEAGUE) is False, "taking it twice changes nothing"
    with pytest.raises(Conflict) as taken:
        cases.assign_caseworker(case_id, CASEWORKER, CASEWORKER)
    assert taken.value.code == "CASE_TAKEN"
    cases.receive(case_id, CASEWORKER)
    assert cases.get_case(case_id)["assignee_id"] == COLLEAGUE.account_id, "receiving does not take it away"


def test_only_a_team_lead_gives_a_case_to_a_colleague(cases):
    case_id = assigned_case(cases)
    with pytest.raises(Forbidden) as refused:
        cases.assign_caseworker(case_id, CASEWORKER, COLLEAGUE)
    assert refused.value.code == "TEAM_LEAD_ONLY"
    cases.assign_caseworker(case_id, TEAM_LEAD, COLLEAGUE)
    cases.assign_caseworker(case_id, TEAM_LEAD, CASEWORKER)
    assert cases.get_case(case_id)["assignee_id"] == CASEWORKER.account_id


def test_a_caseworker_of_another_jobcenter_cannot_be_assigned_nor_assign(cases):
    case_id = assigned_case(cases)
    with pytest.raises(InvalidInput) as refused:
        cases.assign_caseworker(case_id, TEAM_LEAD, CASEWORKER_ELSEWHERE)
    assert refused.value.code == "CASEWORKER_NOT_OF_THIS_JOBCENTER"
    with pytest.raises(InvalidInput):
        cases.assign_caseworker(case_id, TEAM_LEAD, CITIZEN)
    with pytest.raises(NotFound) as stranger:
        cases.assign_caseworker(case_id, CASEWORKER_ELSEWHERE, CASEWORKER_ELSEWHERE)
    assert stranger.value.code == "CASE_NOT_FOUND"
    assert cases.get_case(case_id)["assignee_id"] is None


def test_a_case_handed_to_another_jobcenter_has_nobody_working_on_it_there(cases):
    case_id = assigned_case(cases)
    cases.receive(case_id, CASEWORKER)
    cases.reassign(case_id, CASEWORKER_ELSEWHERE.institution_id, "umzug", "2026-12-01")
    assert cases.get_case(case_id)["assignee_id"] is None
    cases.assign_caseworker(case_id, CASEWORKER_ELSEWHERE, CASEWORKER_ELSEWHERE)
    assert cases.get_case(case_id)["assignee_id"] == CASEWORKER_ELSEWHERE.account_id


def test_the_citizens_timeline_says_neutrally_that_someone_took_the_case(cases):
    case_id = assigned_case(cases)
    cases.receive(case_id, CASEWORKER)
    timeline = cases.timeline(case_id)
    (entry,) = [e for e in timeline if e["event"] == "CaseworkerAssigned"]
    assert entry["label"] == "Bearbeitung übernommen"
    assert CASEWORKER.account_id not in str(entry)
    assert {e["event"] for e in timeline if e["draft"]} == {"SectionSaved"}
    assert all(e["label"] != e["event"] for e in timeline), "every event has a German label"


def test_the_inbox_filters_by_a_change_or_its_category(cases, runner):
    work = assigned_case(cases, ARBEITSAUFNAHME)
    move = assigned_case(cases, UMZUG)
    assigned_case(cases, UMZUG, jobcenter="jc-elsewhere")
    assert page(runner, category="arbeitsaufnahme") == [work]
    assert page(runner, category="einkommen") == [work]
    assert page(runner, category="persoenliches") == [move]
    assert page(runner, category="umzug") == [move]
    assert page(runner, category="wohnkosten") == []


def test_a_change_of_mind_in_the_draft_replaces_its_categories(cases, runner):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, UMZUG)
    fill(cases, case_id, ARBEITSAUFNAHME)  # the citizen picked Arbeitsaufnahme instead
    cases.submit(case_id, CITIZEN, "k", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    assert page(runner, category="arbeitsaufnahme") == [case_id]
    assert page(runner, category="umzug") == []


def test_the_inbox_filters_by_assignee_and_follows_a_move_to_another_jobcenter(cases, runner):
    mine = assigned_case(cases)
    free = assigned_case(cases)
    cases.receive(mine, CASEWORKER)
    assert page(runner, assignee=CASEWORKER.account_id) == [mine]
    assert page(runner, assignee=UNASSIGNED) == [free]
    cases.reassign(mine, "jc-elsewhere", "umzug", "2026-12-01")
    assert page(runner, assignee=CASEWORKER.account_id) == []
    assert page(runner, jobcenter="jc-elsewhere", assignee=UNASSIGNED, category="arbeitsaufnahme") == [mine]


def test_a_rebuilt_read_model_has_the_same_categories_and_assignees(cases, runner):
    case_id = assigned_case(cases)
    cases.receive(case_id, CASEWORKER)
    before = (page(runner, category="einkommen"), page(runner, assignee=CASEWORKER.account_id))
    runner.rebuild()
    assert (
        (page(runner, category="einkommen"), page(runner, assignee=CASEWORKER.account_id))
        == before
        == (
            [case_id],
            [case_id],
        )
    )


def plan(runner, sql):
    with runner.engine.connect() as connection:
        if runner.engine.dialect.name == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))  # a handful of rows: ask which index fits
            return "\n".join(row[0] for row in connection.execute(text("EXPLAIN " + sql)))
        return "\n".join(str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql)))


def test_the_category_and_overdue_filters_are_index_reads(cases, runner):
    assigned_case(cases)
    runner.catch_up()
    by_category = plan(
        runner,
        "SELECT l.case_id FROM submissions_case_list_v3 l JOIN submissions_case_categories_v3 c "
        "ON c.case_id = l.case_id WHERE c.jobcenter_id = 'jc-x' AND c.category = 'umzug' "
        "ORDER BY c.submitted_at LIMIT 50",
    )
    overdue = plan(
        runner,
        "SELECT case_id FROM submissions_case_list_v3 WHERE jobcenter_id = 'jc-x' AND status = 'assigned' "
        "AND overdue_since IS NOT NULL ORDER BY submitted_at LIMIT 50",
    )
    assert "submissions_case_categories_v3_inbox" in by_category
    # With a handful of rows the planner may prefer the (Jobcenter, status) index; never a full scan.
    assert "submissions_case_list_v3_" in overdue and "SCAN submissions_case_list_v3" not in overdue
    assert "Seq Scan" not in overdue + by_category


def test_the_overdue_index_holds_only_overdue_cases(runner):
    with runner.engine.connect() as connection:
        if runner.engine.dialect.name == "postgresql":
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'submissions_case_list_v3_overdue'"
        else:
            query = "SELECT sql FROM sqlite_master WHERE name = 'submissions_case_list_v3_overdue'"
        definition = str(connection.execute(text(query)).scalar_one())
    assert "WHERE" in definition and "overdue_since IS NOT NULL" in definition


def test_the_category_filter_follows_the_status_of_the_case(cases, runner):
    case_id = assigned_case(cases)
    runner.catch_up()
    with Session(runner.engine) as session:
        new, _ = inbox(session, JOBCENTER, "assigned", None, 50, 0, category="einkommen")
    cases.receive(case_id, CASEWORKER)
    runner.catch_up()
    with Session(runner.engine) as session:
        still_new, _ = inbox(session, JOBCENTER, "assigned", None, 50, 0, category="einkommen")
        received, _ = inbox(session, JOBCENTER, "received", None, 50, 0, category="einkommen")
    assert [row["case_id"] for row in new] == [case_id]
    assert still_new == []
    assert [row["case_id"] for row in received] == [case_id]


def test_the_timeline_says_by_which_area_the_case_was_assigned(cases):
    """The submission's area key goes with the assignment to the same Jobcenter, not with a later one."""
    case_id = assigned_case(cases)
    cases.reassign(case_id, "jc-dahme-spreewald", "MOVED", "2027-01-01")
    entries = {entry["event"]: entry for entry in cases.timeline(case_id)}
    assert entries["Submitted"]["jobcenter_id"] == entries["Assigned"]["jobcenter_id"] == JOBCENTER
    assert entries["Assigned"]["matched_key"] == "berlin_bezirk:09"
    assert "matched_key" not in entries["Reassigned"]


def test_the_inbox_keeps_the_cases_of_the_owners_named_by_a_search_and_none_for_an_empty_list(cases, runner):
    other = Actor("citizen-found-by-name", "citizen", None)
    mine = assigned_case(cases)
    theirs = str(cases.start_draft(other.account_id, "veraenderungsmitteilung"))
    fill(cases, theirs, ARBEITSAUFNAHME, other)
    cases.submit(theirs, other, "k", ROUTED, MOVED_TO)
    cases.assign(theirs, JOBCENTER, "bezirk", "2026-1")
    assert {mine, theirs} <= set(page(runner, owner_ids=[CITIZEN.account_id, other.account_id]))
    assert theirs in page(runner, owner_ids=[other.account_id])
    assert mine not in page(runner, owner_ids=[other.account_id])
    assert page(runner, owner_ids=[]) == []


def test_the_owner_filter_takes_a_list_of_up_to_200_ids_and_the_older_single_id_for_one_release():
    assert checked_owner_ids(None) is None
    assert checked_owner_ids(None, "owner-1") == ["owner-1"]  # the previous release's gateway
    assert checked_owner_ids(["b", "a", "b"]) == ["a", "b"]
    assert checked_owner_ids([]) == []
    for wrong in (["x"] * 201, "owner-1", [1], [""]):
        with pytest.raises(InvalidInput) as refused:
            checked_owner_ids(wrong)
        assert refused.value.code == "SEARCH_INVALID"
