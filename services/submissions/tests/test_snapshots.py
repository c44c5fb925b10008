"""Cases of any length read alike, whether restored from a snapshot or replayed from their events.

A snapshot is taken every 50 events. Its state goes through JSON, where a StrEnum is written as a plain
string: a case restored from it once had ``kind`` as ``str`` and every read of it failed. Snapshots stored
that way before the fix must read as well.
"""

from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot

from services.submissions.application import Cases
from services.submissions.domainmodel import Case, CaseKind, CaseStatus
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill
from shared.dates import german_today

TOMORROW = (german_today() + timedelta(days=1)).isoformat()


def replayed(cases: Cases, case_id: str) -> Case:
    """The case from its events alone, never from a snapshot."""
    aggregate: Any = None
    for stored in cases.events.get(UUID(case_id)):
        aggregate = stored.mutate(aggregate)  # type: ignore[attr-defined]
    assert isinstance(aggregate, Case)
    return aggregate


def state(case: Case) -> dict[str, Any]:
    return {name: value for name, value in vars(case).items() if name != "_pending_events"}


def long_case(cases: Cases, saves: int, messages: int) -> str:
    """A VÄM saved ``saves`` times over, submitted, assigned, worked on and ``messages`` messages long."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    for _ in range(saves):
        fill(cases, case_id, {"wohnsitz": ARBEITSAUFNAHME["wohnsitz"]})
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.attach_document(case_id, CITIZEN, "doc-contract", "arbeitsvertrag")
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.request_documents(case_id, CASEWORKER, ["lohnabrechnung_erste"], "", TOMORROW)
    for number in range(messages):
        author = CITIZEN if number % 2 else CASEWORKER
        cases.post_message(case_id, author, f"Nachricht {number}")
    return case_id


def every_read(cases: Cases, case_id: str) -> None:
    """What the citizen, the staff view, the receipt and the back office read of a case."""
    cases.get_case(case_id)
    cases.get_answers(case_id)
    cases.timeline(case_id)
    cases.messages(case_id, CITIZEN)
    cases.submitted_form_and_content(case_id)
    cases.export_case(case_id)
    cases.export_events(case_id)


def test_a_case_saved_fifty_times_reads_in_every_view(cases):
    case_id = long_case(cases, saves=60, messages=0)
    assert cases.snapshots is not None and list(cases.snapshots.get(UUID(case_id)))
    every_read(cases, case_id)
    assert cases.get_case(case_id)["kind"] == "veraenderungsmitteilung"


def test_a_case_with_45_messages_reads_in_every_view(cases):
    case_id = long_case(cases, saves=0, messages=45)
    every_read(cases, case_id)
    assert len(cases.messages(case_id, CITIZEN)) == 45


def test_a_case_from_its_snapshot_equals_the_case_replayed_from_its_events(cases):
    case_id = long_case(cases, saves=55, messages=55)  # past two snapshots
    from_snapshot = cases.repository.get(UUID(case_id))
    from_events = replayed(cases, case_id)
    assert from_snapshot.version == from_events.version > 100
    assert state(from_snapshot) == state(from_events)
    assert {type(value) for value in (from_snapshot.kind, from_events.kind)} == {CaseKind}
    assert {type(value) for value in (from_snapshot.status, from_events.status)} == {CaseStatus}


def test_a_snapshot_stored_before_the_fix_reads_again(cases):
    """The old code stored ``kind`` and ``status`` as plain strings; such a snapshot is put back as it was."""
    case_id = long_case(cases, saves=0, messages=3)
    case = cases.repository.get(UUID(case_id))
    old = Snapshot.take(case)
    old.state.update(kind=str(case.kind.value), status=str(case.status.value))
    assert cases.snapshots is not None
    cases.snapshots.put([old])
    every_read(cases, case_id)
    restored = cases.repository.get(UUID(case_id))
    assert (type(restored.kind), type(restored.status)) == (CaseKind, CaseStatus)
    cases.post_message(case_id, CITIZEN, "Noch eine Frage")
    assert len(cases.messages(case_id, CITIZEN)) == 4
