"""The assignment of cases on each event store (SQLite, PostgreSQL): decided once, moved, overridden."""

import uuid
from datetime import date

import pytest

from services.routing.application import Assignments
from services.routing.resolver import Residence
from shared.errors import Conflict, NotFound

IN_2026 = date(2026, 6, 1)
DAHME_SPREEWALD = Residence(kreis="12061")
TREPTOW_KOEPENICK = Residence(plz="12555", strasse="Alt-Köpenick", hausnummer="21")
MAIN_KINZIG_KREIS = Residence(kreis="06435")
HAMBURG_OR_STORMARN = Residence(plz="22145")


@pytest.fixture
def assignments(database_url, cipher_key):
    application = Assignments.from_settings(database_url, cipher_key)
    yield application
    application.close()


@pytest.fixture
def resolve(resolver):
    return lambda residence: resolver.resolve(residence, IN_2026)


def new_case_id() -> str:
    return str(uuid.uuid4())


def published(assignments, case_id):
    """What the outbox relay publishes about ``case_id`` (the PostgreSQL store is shared by the session)."""
    notifications = assignments.recorder.select_notifications(start=0, limit=10_000, inclusive_of_start=False)
    events = [event for n in notifications if (event := assignments.integration_event_for(n)) is not None]
    return [event for event in events if event.data["case_id"] == case_id]


def test_a_resolved_case_is_assigned_and_published_with_its_reason(assignments, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    (event,) = published(assignments, case_id)
    assert event.type == "case_assigned"
    assert event.data == {
        "case_id": case_id,
        "jobcenter_id": assignments.get_assignment(case_id)["jobcenter_id"],
        "traeger_nummer": "03510",
        "register_version": resolve(DAHME_SPREEWALD).register_version,
        "reason_code": "MATCHED_KREIS",
        "matched_key": "kreis:12061",
    }


def test_a_redelivered_submission_does_not_assign_the_case_twice(assignments, resolve):
    case_id = new_case_id()
    first = assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    again = assignments.assign_case(case_id, resolve(TREPTOW_KOEPENICK), "event-1")
    assert first is not None and again is None
    assert [event.type for event in published(assignments, case_id)] == ["case_assigned"]
    assert assignments.get_assignment(case_id)["traeger_nummer"] == "03510"


def test_an_ambiguous_residence_waits_for_a_person_instead_of_a_guess(assignments, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(HAMBURG_OR_STORMARN), "event-1")
    (event,) = published(assignments, case_id)
    assert (event.type, event.data["reason_code"]) == ("case_assignment_pending", "POSTCODE_SPANS_JOBCENTERS")
    assert len(event.data["candidate_ids"]) == 2
    assert assignments.get_assignment(case_id)["status"] == "pending"


def test_published_events_carry_no_address_and_no_override_reason(assignments, resolve, register):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(TREPTOW_KOEPENICK), "event-1")
    stormarn = register.at(IN_2026).for_kreis("01062")[0]
    assignments.override(case_id, stormarn, register.version, "2026-06-02", "Bürgerin wohnt in Ahrensburg", "admin-1")
    text = repr([event.to_message() for event in published(assignments, case_id)])
    for personal in ("Alt-Köpenick", "12555", "Ahrensburg"):
        assert personal not in text


def test_a_move_into_another_ge_area_reassigns_from_the_move_date(assignments, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    assignments.record_move(case_id, resolve(TREPTOW_KOEPENICK), "2026-07-01", "event-2")
    assignments.record_move(case_id, resolve(TREPTOW_KOEPENICK), "2026-07-01", "event-2")
    events = published(assignments, case_id)
    assert [event.type for event in events] == ["case_assigned", "case_reassigned"]
    assert (events[1].data["traeger_nummer"], events[1].data["effective_from"]) == ("92204", "2026-07-01")
    assert events[1].data["previous_jobcenter_id"] == events[0].data["jobcenter_id"]


def test_a_move_into_a_zkt_area_hands_the_case_over(assignments, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    assignments.record_move(case_id, resolve(MAIN_KINZIG_KREIS), "2026-08-01", "event-2")
    handed_over = published(assignments, case_id)[-1]
    assert (handed_over.type, handed_over.data["traeger_nummer"]) == ("case_handed_over", "43102")
    assert assignments.get_assignment(case_id)["status"] == "handed_over"


def test_an_override_of_a_pending_case_assigns_it_and_records_who_and_why(assignments, resolve, register):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(HAMBURG_OR_STORMARN), "event-1")
    hamburg = register.at(IN_2026).for_kreis("02000")[0]
    assignments.override(case_id, hamburg, register.version, "2026-06-02", "Meldebescheinigung Hamburg", "lead-7")
    assignment = assignments.get_assignment(case_id)
    assert (assignment["status"], assignment["traeger_nummer"]) == ("assigned", "12302")
    assert assignment["history"][-1]["actor_id"] == "lead-7"
    assert assignment["history"][-1]["note"] == "Meldebescheinigung Hamburg"
    event = published(assignments, case_id)[-1]
    assert (event.type, event.data["reason_code"]) == ("case_assigned", "MANUAL_OVERRIDE")


def test_an_override_to_where_the_case_already_lies_is_refused(assignments, resolve, register):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    dahme = register.at(IN_2026).for_kreis("12061")[0]
    with pytest.raises(Conflict) as refused:
        assignments.override(case_id, dahme, register.version, "2026-06-02", "nochmal", "lead-7")
    assert refused.value.code == "ASSIGNMENT_UNCHANGED"


def test_an_unassigned_case_is_not_found(assignments):
    with pytest.raises(NotFound) as missing:
        assignments.get_assignment(new_case_id())
    assert missing.value.code == "ASSIGNMENT_NOT_FOUND"
