"""The Cases application on each event store: SQLite (embedded default) and PostgreSQL."""

import sqlite3

import psycopg
import pytest

from services.submissions.application import Cases
from shared.correlation import correlated
from shared.errors import Conflict, InvalidInput, NotFound

MARKER = "Zeichenkette-7f3a9c"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/submissions.sqlite"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def cases(database_url, cipher_key):
    application = Cases.from_settings(database_url, cipher_key)
    yield application
    application.close()


def stored_states(database_url):
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return [row[0] for row in connection.execute("SELECT state FROM stored_events")]
    with psycopg.connect(database_url) as connection:
        return [bytes(row[0]) for row in connection.execute("SELECT state FROM submissions_events")]


def test_a_submitted_draft_gets_a_receipt_number(cases):
    case_id = cases.start_draft("owner-1", "veraenderungsmitteilung")
    receipt_number = cases.submit(str(case_id))
    case = cases.get_case(str(case_id))
    assert case["status"] == "submitted"
    assert case["receipt_number"] == receipt_number
    assert receipt_number.startswith("JC-")


def test_second_submit_of_the_same_draft_is_rejected(cases):
    case_id = str(cases.start_draft("owner-1", "weiterbewilligungsantrag"))
    cases.submit(case_id)
    with pytest.raises(Conflict) as refused:
        cases.submit(case_id)
    assert refused.value.code == "CASE_ALREADY_SUBMITTED"
    assert cases.get_case(case_id)["version"] == 2


def test_an_unknown_kind_of_case_is_refused(cases):
    with pytest.raises(InvalidInput) as refused:
        cases.start_draft("owner-1", "antrag-auf-alles")
    assert refused.value.code == "CASE_KIND_UNKNOWN"


def test_an_unknown_case_is_not_found(cases):
    with pytest.raises(NotFound):
        cases.get_case("7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11")
    with pytest.raises(InvalidInput):
        cases.get_case("../etc/passwd")


def test_stored_event_state_holds_no_plaintext(cases, database_url):
    cases.start_draft(MARKER, "veraenderungsmitteilung")
    states = stored_states(database_url)
    assert states
    assert all(MARKER.encode() not in state for state in states)
    # Read back through the cipher, the marker is there: the check above is not vacuous.
    readable = [vars(cases.mapper.to_domain_event(n)) for n in cases.recorder.select_notifications(None, 1000)]
    assert any(event.get("owner_id") == MARKER for event in readable)


def test_a_store_opened_with_another_key_cannot_read_the_events(cases, database_url):
    case_id = cases.start_draft("owner-1", "veraenderungsmitteilung")
    other = Cases.from_settings(database_url, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    with pytest.raises(Exception, match="Failed to deserialise"):
        other.repository.get(case_id)
    other.close()


def test_stored_events_become_integration_events_with_their_correlation_id(cases):
    before = cases.check_store()
    with correlated("corr-0123456789"):
        case_id = cases.start_draft("owner-1", "veraenderungsmitteilung")
        cases.submit(str(case_id))
    notifications = cases.recorder.select_notifications(before, 10, inclusive_of_start=False)
    events = [cases.integration_event_for(n) for n in notifications]
    assert [(e.type, e.aggregate_version, e.correlation_id) for e in events] == [
        ("case_draft_started", 1, "corr-0123456789"),
        ("case_submitted", 2, "corr-0123456789"),
    ]
    assert set(events[1].data) == {"receipt_number"}
    # Relaying the same stored event twice yields the same event id, so consumers can drop copies.
    again = cases.integration_event_for(notifications[0])
    assert again.event_id == events[0].event_id
