"""Retention, one test per row of docs/retention.md that submissions keeps: every kind of case data ends.

Drafts nobody sent are erased (their data key destroyed) when discarded or expired; a decided case
nobody closed reaches its ten years like a closed one; the staff access record keeps two years of reads.
(Documents: services/documents/tests; that back-office reads are recorded: services/backoffice/tests.)
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from sqlalchemy import select

from services.submissions.retention import erase_finished_cases, expire_drafts, prune_access_record
from services.submissions.schema import staff_access
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill
from services.submissions.tests.test_cases import bescheid
from services.submissions.tests.test_readmodel import rows
from shared.errors import NotFound


def erased(cases, case_id: str) -> bool:
    """The case's events are unreadable for good, and others were told (case_erased)."""
    with pytest.raises(MapperDeserialisationError):
        cases.repository.get(uuid.UUID(case_id))
    with pytest.raises(NotFound):
        cases.get_case(case_id)
    told = [cases.integration_event_for(n) for n in cases.recorder.select_notifications(None, 1000)]
    return {"case_id": case_id} in [event.data for event in told if event and event.type == "case_erased"]


def test_a_draft_untouched_for_90_days_expires_and_is_erased(cases, runner):
    stale = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, stale, ARBEITSAUFNAHME)
    fresh = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    assert expire_drafts(cases, runner, 90) == []
    later = datetime.now(UTC) + timedelta(days=91)
    assert sorted(expire_drafts(cases, runner, 90, now=later)) == sorted([stale, fresh])
    assert erased(cases, stale) and erased(cases, fresh)
    assert rows(runner) == []


def test_a_draft_discarded_before_erasure_existed_is_erased_by_the_next_run(cases, runner):
    """Drafts discarded by the release before were only marked; the daily job erases them now."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.discard(case_id, CITIZEN)  # what discard_draft did before it erased
    kept = str(cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag"))
    assert expire_drafts(cases, runner, 90) == []
    assert erased(cases, case_id)
    assert [row["case_id"] for row in rows(runner)] == [kept]


def test_a_decided_case_nobody_closed_is_erased_ten_years_after_its_last_change(cases, runner):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.decide(case_id, CASEWORKER, "amended", "doc-bescheid", None, None, bescheid(case_id))
    assert erase_finished_cases(cases, runner, 10, now=datetime.now(UTC) + timedelta(days=365 * 9)) == []
    assert erase_finished_cases(cases, runner, 10, now=datetime.now(UTC) + timedelta(days=3653)) == [case_id]
    assert erased(cases, case_id)


def test_the_staff_access_record_keeps_two_years_of_reads(cases, runner):
    now = datetime.now(UTC)
    case_id = str(uuid.uuid4())

    def access(days_ago: int) -> dict:
        return {"access_id": str(uuid.uuid4()), "case_id": case_id, "account_id": CASEWORKER.account_id,
                "role": "caseworker", "institution_id": JOBCENTER, "action": "view_case",
                "at": now - timedelta(days=days_ago)}  # fmt: skip

    recent, old = access(2 * 365 - 1), access(2 * 365 + 1)
    with runner.engine.begin() as connection:
        connection.execute(staff_access.insert(), [recent, old])
    assert prune_access_record(runner.engine, 2) == 1
    with runner.engine.connect() as connection:
        left = connection.execute(select(staff_access.c.access_id).where(staff_access.c.case_id == case_id)).scalars()
        assert list(left) == [recent["access_id"]]
    assert prune_access_record(runner.engine, 2) == 0
