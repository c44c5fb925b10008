"""The backoffice's own tables on SQLite and PostgreSQL: tokens, the cases per Jobcenter, callbacks due."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.backoffice import caselist
from services.backoffice.callbacks import CallbackSender, case_available_body, schedule
from services.backoffice.clients import Clients, Settings
from services.backoffice.schema import metadata
from shared.errors import NotFound, Unauthenticated
from shared.sql import ServiceDatabase, make_engine, migrate, migrations_of, processed_events_table


@pytest.fixture
def clients(database_url: str, backoffice_signing_key: str) -> Iterator[Clients]:
    config = {
        "SIGNING_KEY": backoffice_signing_key,
        "TOKEN_SECONDS": 600,
        "PAGE_SIZE": 2,
        "CALLBACKS": {"ALLOW_HTTP": True, "MAX_ATTEMPTS": 2, "BACKOFF_SECONDS": 30, "TIMEOUT_SECONDS": 2},
    }
    engine = make_engine(database_url)
    migrate(engine, migrations_of("backoffice"), "backoffice")
    yield Clients(ServiceDatabase(engine, processed_events_table(metadata, "backoffice")), Settings.from_config(config))
    engine.dispose()


def test_a_token_is_valid_for_its_lifetime_only(clients: Clients) -> None:
    created = clients.create("jc-0394")
    token = clients.issue_token(created["client_id"], created["client_secret"])["access_token"]
    assert clients.verify_token(token).jobcenter_id == "jc-0394"
    later = datetime.now(UTC) + timedelta(seconds=601)
    with pytest.raises(Unauthenticated):
        clients.verify_token(token, now=later)
    with pytest.raises(Unauthenticated):
        clients.issue_token("bo-unknown", created["client_secret"])


def test_new_cases_are_listed_per_jobcenter_oldest_first_and_paged(clients: Clients) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with clients.db.transaction() as session:
        for minute, case_id in enumerate(("c-1", "c-2", "c-3")):
            caselist.record_assignment(session, case_id, "jc-0394", start + timedelta(minutes=minute))
        caselist.record_assignment(session, "c-9", "jc-0001", start)
        caselist.set_state(session, "c-2", "accepted", "jc-0394")
        caselist.record_assignment(session, "c-3", "jc-0001", start)  # re-assigned away
    with clients.db.transaction() as session:
        rows, total = caselist.new_cases(session, "jc-0394", 2, 0)
        assert [row["case_id"] for row in rows] == ["c-1"] and total == 1
        assert caselist.state_for(session, "c-2", "jc-0394") == "accepted"
        with pytest.raises(NotFound):
            caselist.state_for(session, "c-3", "jc-0394")
        rows, total = caselist.new_cases(session, "jc-0001", 1, 0)
        assert total == 2 and len(rows) == 1


def test_a_callback_that_cannot_be_delivered_is_retried_then_given_up(clients: Clients) -> None:
    created = clients.create("jc-0394", "http://127.0.0.1:9/unreachable")  # the discard port: nobody answers
    sender = CallbackSender(clients.db, clients.settings)
    now = datetime.now(UTC)
    with clients.db.transaction() as session:
        schedule(session, [created["client_id"]], case_available_body("c-1", "jc-0394"), now)
    assert sender.send_due(now) == 1
    assert sender.send_due(now + timedelta(seconds=29)) == 0  # backoff 30 s
    assert sender.send_due(now + timedelta(seconds=31)) == 1
    assert sender.send_due(now + timedelta(hours=2)) == 0  # given up after 2 attempts
    with clients.db.transaction() as session:
        state: Any = session.execute(metadata.tables["backoffice_callbacks"].select()).mappings().one()
    assert state["state"] == "failed" and state["attempts"] == 2
