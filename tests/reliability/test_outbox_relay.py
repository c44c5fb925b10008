"""The outbox relay, SIGKILLed while it publishes, loses no event; the consumer applies each once."""

import os
import signal
import subprocess
import sys

import pytest
from nameko.containers import ServiceContainer
from sqlalchemy import Column, Engine, MetaData, String, Table, func, select

from services.submissions.application import Cases
from shared.config import REPOSITORY_ROOT
from shared.envelope import IntegrationEvent
from shared.messaging import integration_event_handler
from shared.servers import principal_uri
from shared.sql import Database, make_engine
from shared.testing.waiting import wait_for_process

EVENTS = 1000

ledger_metadata = MetaData()
applied = Table("ledger_applied", ledger_metadata, Column("aggregate_id", String(36), primary_key=True))
deliveries: list[str] = []


class LedgerDatabase(Database):
    """The test consumer has no migration history: its two tables are made as they are declared."""

    def prepare_schema(self, engine: Engine, service: str) -> None:
        ledger_metadata.create_all(engine)


class LedgerService:
    """A consumer that records each case_draft_started it applies."""

    name = "ledger"
    db = LedgerDatabase(ledger_metadata)

    @integration_event_handler("submissions", "case_draft_started")
    def record(self, event: IntegrationEvent) -> None:
        deliveries.append(event.event_id)
        self.db.apply_once(
            event, lambda session: session.execute(applied.insert().values(aggregate_id=event.aggregate_id))
        )


@pytest.fixture
def ledger(amqp_uri, tmp_path):
    deliveries.clear()
    config = {"AMQP_URI": amqp_uri, "DATABASE_URL": f"sqlite:///{tmp_path}/ledger.sqlite"}
    container = ServiceContainer(LedgerService, config)
    container.start()
    yield make_engine(config["DATABASE_URL"])
    container.stop()


def start_relay(database_url, cipher_key, amqp_uri, log_path):
    environ = {
        **os.environ,
        "SUBMISSIONS_DATABASE_URL": database_url,
        "CIPHER_KEY": cipher_key,
        # The relay reads the service's whole config, whose required settings include this one.
        "RECEIPT_SIGNING_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        # The relay's own broker user, as make run and deploy/k8s give it (it may only publish these events).
        "SUBMISSIONS_AMQP_URI": principal_uri(amqp_uri, "submissions-outbox"),
        "OUTBOX_BATCH_SIZE": "20",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "shared.outbox", "submissions", "services.submissions.application:Cases"],
        cwd=REPOSITORY_ROOT,
        env=environ,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )


def relay_position(engine):
    with engine.connect() as connection:
        try:
            return connection.exec_driver_sql("SELECT position FROM submissions_outbox_position").scalar() or 0
        except Exception:
            return 0


def applied_count(ledger):
    with ledger.connect() as connection:
        return connection.execute(select(func.count()).select_from(applied)).scalar_one()


def test_a_relay_killed_while_publishing_delivers_every_event_once(
    database_url, cipher_key, amqp_uri, ledger, tmp_path
):
    cases = Cases.from_settings(database_url, cipher_key)
    case_ids = {str(cases.start_draft(f"owner-{n}", "veraenderungsmitteilung")) for n in range(EVENTS)}
    store = make_engine(database_url)

    log_path = tmp_path / "relay.log"
    relay = start_relay(database_url, cipher_key, amqp_uri, log_path)
    # Bounded by the relay's own CPU time: starting costs it ~5 s of CPU, a minute and more on a loaded machine.
    wait_for_process(relay, lambda: relay_position(store) > 0, 60, "the relay's first batch", log_path, interval=0.005)
    relay.send_signal(signal.SIGKILL)
    relay.wait()
    position_at_kill = relay_position(store)
    assert position_at_kill < EVENTS, "the relay finished before it was killed; the test proved nothing"

    restarted = start_relay(database_url, cipher_key, amqp_uri, log_path)
    try:
        wait_for_process(restarted, lambda: applied_count(ledger) >= EVENTS, 120, "every event to be applied", log_path)
        wait_for_process(restarted, lambda: relay_position(store) >= EVENTS, 120, "the relay's position", log_path)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)

    with ledger.connect() as connection:
        applied_ids = [row[0] for row in connection.execute(select(applied.c.aggregate_id))]
    assert sorted(applied_ids) == sorted(case_ids)
    assert len(set(deliveries)) == EVENTS
    assert restarted.returncode == 0
    cases.close()
    store.dispose()
