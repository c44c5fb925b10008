"""A case's times are the times of its own events, never those of the event before.

The clock is moved by hand: a draft saved in the morning and submitted in the afternoon must say
the afternoon wherever the submission's time is shown or signed.
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from eventsourcing.domain import CanCreateTimestamp

from services.submissions import receipt
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill

MORNING = datetime(2026, 12, 30, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = MORNING

    def later(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(CanCreateTimestamp, "create_timestamp", classmethod(lambda cls: clock.now))
    return clock


def test_the_submission_time_is_the_submit_not_the_last_save(cases, clock):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    afternoon = clock.later(hours=7)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    clock.later(hours=1)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")

    case = cases.get_case(case_id)
    assert case["submitted_at"] == afternoon.isoformat()
    assert receipt.receipt_claims(case)["submitted_at"] == afternoon.isoformat()
    assert [entry["at"] for entry in cases.timeline(case_id) if entry["event"] == "Submitted"] == [
        afternoon.isoformat()
    ]
    assert cases.export_case(case_id)["submitted_at"] == afternoon.isoformat()


def test_the_receipt_number_carries_the_year_of_the_submission(cases, clock):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)  # on 30 December 2026
    clock.later(days=3)  # submitted on 2 January 2027
    assert cases.submit(case_id, CITIZEN, "key-1", ROUTED).startswith("JC-2027-")


def test_a_message_is_dated_when_it_was_posted(cases, clock):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    first = clock.later(hours=2)
    cases.post_message(case_id, CITIZEN, "Erste Frage")
    second = clock.later(days=1)
    cases.post_message(case_id, CASEWORKER, "Antwort")
    assert [m["at"] for m in cases.messages(case_id, CITIZEN)] == [first.isoformat(), second.isoformat()]


def test_times_read_the_same_from_a_snapshot(cases, clock):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    submitted = clock.later(hours=1)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    for number in range(55):
        clock.later(minutes=1)
        cases.post_message(case_id, CITIZEN, f"Nachricht {number}")
    assert cases.snapshots is not None and list(cases.snapshots.get(UUID(case_id)))
    assert cases.get_case(case_id)["submitted_at"] == submitted.isoformat()
    assert cases.messages(case_id, CITIZEN)[-1]["at"] == clock.now.isoformat()
