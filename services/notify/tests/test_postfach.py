"""notify consumes case_submitted from submissions (through the outbox relay) into the Postfach."""

import time

import pytest

from services.submissions.application import Cases
from services.submissions.tests.scenarios import submit_over_rpc
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.sql import make_engine
from shared.testing.tokens import TEST_ISSUER, FakeIdentity

from .doubles import FakeRouting

CORRELATION_ID = "test-corr-4711abcd"


@pytest.fixture
def system(start_services):
    # routing's own consumer stays out: these tests are about notify's (the double answers the submit's question)
    return start_services(FakeIdentity, FakeRouting, "submissions", "notify")


@pytest.fixture
def relay(system, amqp_uri):
    database_url = system["submissions"].config["DATABASE_URL"]
    application = Cases.from_settings(database_url, system["submissions"].config["CIPHER_KEY"])
    engine = make_engine(database_url)
    with EventPublisher(amqp_uri, "submissions") as publisher:
        yield OutboxRelay(application, publisher, RelayPositions(engine, application.name))
    application.close()
    engine.dispose()


def wait_for_postfach(cluster, owner_id, count, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        messages = cluster.notify.list_postfach(TEST_ISSUER.token_for(owner_id))["messages"]
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        time.sleep(0.1)


def test_a_submitted_case_arrives_in_the_citizens_postfach(relay, rpc):
    with rpc(CORRELATION_ID) as cluster:
        case = submit_over_rpc(cluster, "owner-42")
        case_id = case["case_id"]
        relay.relay_batch()
        messages = wait_for_postfach(cluster, "owner-42", 1)
    assert [m["case_id"] for m in messages] == [case_id]
    assert case["receipt_number"] in messages[0]["body"]
    assert messages[0]["subject"] == "Bei Ihrem Jobcenter eingegangen"


def test_the_correlation_id_is_in_the_logs_of_both_services(relay, rpc, captured_logs):
    with rpc(CORRELATION_ID) as cluster:
        case_id = submit_over_rpc(cluster, "owner-43")["case_id"]
        relay.relay_batch()
        wait_for_postfach(cluster, "owner-43", 1)

    def lines(message):
        return [line for line in captured_logs.named(message) if line.get("case_id") == case_id]

    # The message is committed a moment before notify logs that it posted it.
    deadline = time.monotonic() + 10
    while not lines("postfach_message_posted") and time.monotonic() < deadline:
        time.sleep(0.05)
    submitted, posted = lines("case_submitted"), lines("postfach_message_posted")
    assert submitted[0]["logger"] == "services.submissions.service"
    assert posted[0]["logger"] == "services.notify.service"
    assert submitted[0]["correlation_id"] == posted[0]["correlation_id"] == CORRELATION_ID


def test_a_redelivered_event_posts_no_second_message(relay, rpc, amqp_uri):
    with rpc() as cluster:
        submit_over_rpc(cluster, "owner-44")
        relay.relay_batch()
        wait_for_postfach(cluster, "owner-44", 1)
        # The relay starts again from the beginning, as after losing its position.
        relay.position = 0
        relay.relay_batch()
        time.sleep(1.0)
        assert len(wait_for_postfach(cluster, "owner-44", 2, timeout=1.0)) == 1


def test_health_reports_database_and_smtp(start_services, smtp_sink, rpc):
    start_services(FakeIdentity, "notify", **smtp_sink.settings)
    with rpc() as cluster:
        report = cluster.notify.health()
    assert report["status"] == "ok"
    assert set(report["dependencies"]) == {"database", "smtp"}


def test_health_reports_smtp_down_when_nothing_listens(start_services, rpc):
    from shared.servers import free_port

    start_services(FakeIdentity, "notify", SMTP_PORT=str(free_port()))
    with rpc() as cluster:
        report = cluster.notify.health()
    assert report["status"] == "failing"
    assert report["dependencies"]["smtp"]["status"] == "failing"
    assert report["dependencies"]["database"]["status"] == "ok"
