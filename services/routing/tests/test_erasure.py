"""An erased case's assignment on each event store (SQLite, PostgreSQL): unreadable for good, whichever
way it was stored, while live cases' assignments are read as before (docs/retention.md)."""

import base64
import uuid
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from services.routing import rekey
from services.routing.application import Assignments
from services.routing.domainmodel import assignment_id
from services.routing.resolver import Residence
from services.routing.schema import data_keys
from shared.errors import NotFound
from shared.migrate import migrate_service
from shared.sql import make_engine

IN_2026 = date(2026, 6, 1)
DAHME_SPREEWALD = Residence(kreis="12061")
TREPTOW_KOEPENICK = Residence(plz="12555", strasse="Alt-Köpenick", hausnummer="21")


class AssignmentsOfTheOldRelease(Assignments):
    """Routing as releases before per-case keys stored assignments: every event under the one cipher key."""

    name = "routing"  # eventsourcing names a subclass after itself otherwise (other tables on PostgreSQL)
    per_aggregate_keys = False
    stored_under_shared_key = False


@pytest.fixture
def assignments(database_url, cipher_key):
    application = Assignments.from_settings(database_url, cipher_key)
    yield application
    application.close()


@pytest.fixture
def old_release(database_url, cipher_key):
    application = AssignmentsOfTheOldRelease.from_settings(database_url, cipher_key)
    yield application
    application.close()


@pytest.fixture
def resolve(resolver):
    return lambda residence: resolver.resolve(residence, IN_2026)


def new_case_id() -> str:
    return str(uuid.uuid4())


def stored_states(application, case_id) -> list[bytes]:
    return [event.state for event in application.recorder.select_events(assignment_id(case_id))]


def opens_with_the_shared_key(state: bytes, cipher_key: str) -> bool:
    """Whether a stored event opens with routing's one cipher key (eventsourcing's AESCipher layout)."""
    try:
        AESGCM(base64.b64decode(cipher_key)).decrypt(state[:12], state[28:] + state[12:28], None)
    except InvalidTag:
        return False
    return True


def has_data_key(database_url, case_id) -> bool:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            wanted = data_keys.c.aggregate_id == str(assignment_id(case_id))
            return connection.execute(select(data_keys.c.aggregate_id).where(wanted)).first() is not None
    finally:
        engine.dispose()


def assert_nothing_readable(application, database_url, cipher_key, case_id):
    """Neither routing nor anyone holding its cipher key and a copy of the store reads the assignment."""
    with pytest.raises(NotFound) as gone:
        application.get_assignment(case_id)
    assert gone.value.code == "ASSIGNMENT_NOT_FOUND"
    states = stored_states(application, case_id)
    assert states, "the events stay in the store (ids and versions), only unreadable"
    assert not any(opens_with_the_shared_key(state, cipher_key) for state in states)
    assert not has_data_key(database_url, case_id)
    notifications = application.recorder.select_notifications(start=0, limit=10_000, inclusive_of_start=False)
    ours = [n for n in notifications if n.originator_id == assignment_id(case_id)]
    assert ours and all(application.integration_event_for(n) is None for n in ours)


def test_each_case_s_assignment_is_sealed_with_its_own_key(assignments, database_url, cipher_key, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    assert has_data_key(database_url, case_id)
    states = stored_states(assignments, case_id)
    assert states and not any(opens_with_the_shared_key(state, cipher_key) for state in states)
    assert assignments.get_assignment(case_id)["traeger_nummer"] == "03510"


def test_an_erased_case_s_assignment_cannot_be_read_any_more(assignments, database_url, cipher_key, resolve):
    erased, kept = new_case_id(), new_case_id()
    for case_id in (erased, kept):
        assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
        assignments.record_move(case_id, resolve(TREPTOW_KOEPENICK), "2026-07-01", "event-2")
    assert assignments.erase(erased) is True
    assert_nothing_readable(assignments, database_url, cipher_key, erased)
    assert [entry["what"] for entry in assignments.get_assignment(kept)["history"]] == ["assigned", "reassigned"]


def test_an_assignment_stored_the_old_way_is_read_and_erased_with_its_case(
    old_release, assignments, database_url, cipher_key, resolve
):
    case_id = new_case_id()
    old_release.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    states = stored_states(assignments, case_id)
    assert states and all(opens_with_the_shared_key(state, cipher_key) for state in states)
    assert assignments.get_assignment(case_id)["traeger_nummer"] == "03510"
    # A move after the upgrade: the case now has old and new events.
    assignments.record_move(case_id, resolve(TREPTOW_KOEPENICK), "2026-07-01", "event-2")
    assert assignments.get_assignment(case_id)["traeger_nummer"] == "92204"
    assert assignments.erase(case_id) is True
    assert_nothing_readable(assignments, database_url, cipher_key, case_id)


def test_the_migrate_step_seals_old_assignments_with_their_case_s_key(old_release, database_url, cipher_key, resolve):
    case_ids = [new_case_id(), new_case_id()]
    for case_id in case_ids:
        old_release.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
        assert opens_with_the_shared_key(stored_states(old_release, case_id)[0], cipher_key)
    config = {"DATABASE_URL": database_url, "CIPHER_KEY": cipher_key}
    migrate_service("routing", config)
    application = Assignments.from_settings(database_url, cipher_key)
    try:
        for case_id in case_ids:
            states = stored_states(application, case_id)
            assert states and not any(opens_with_the_shared_key(state, cipher_key) for state in states)
            assert has_data_key(database_url, case_id)
            assert application.get_assignment(case_id)["history"][0]["traeger_nummer"] == "03510"
        assert rekey.prepare(config) == 0
        application.erase(case_ids[0])
        assert_nothing_readable(application, database_url, cipher_key, case_ids[0])
        assert application.get_assignment(case_ids[1])["status"] == "assigned"
    finally:
        application.close()


def test_events_of_an_erased_case_arriving_late_store_nothing(assignments, database_url, resolve):
    case_id = new_case_id()
    assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1")
    assignments.erase(case_id)
    stored = stored_states(assignments, case_id)
    assert assignments.assign_case(case_id, resolve(DAHME_SPREEWALD), "event-1") is None
    assert assignments.record_move(case_id, resolve(TREPTOW_KOEPENICK), "2026-07-01", "event-2") is None
    assert stored_states(assignments, case_id) == stored
    assert not has_data_key(database_url, case_id)
    assert assignments.erase(case_id) is False
