"""notify acts on what an event carries (owner, Jobcenter, kind); only an event stored before events carried
them makes it ask submissions (``get_case_parties``)."""

import pytest

from services.notify.tests.doubles import FakeSubmissions
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher
from shared.testing.tokens import TEST_ISSUER, FakeIdentity
from shared.testing.waiting import wait_until


@pytest.fixture
def notify(start_services, smtp_sink):
    FakeSubmissions.asked.clear()
    return start_services(FakeSubmissions, FakeIdentity, "notify", **smtp_sink.settings)["notify"]


def publish(amqp_uri: str, event: IntegrationEvent) -> None:
    with EventPublisher(amqp_uri, "submissions") as publisher:
        publisher.publish(event)


def postfach_of(cluster, owner_id: str) -> list[dict]:
    return list(cluster.notify.list_postfach(TEST_ISSUER.token_for(owner_id))["messages"])


def test_a_submitted_case_carrying_its_owner_reaches_the_postfach_without_asking_submissions(notify, rpc, amqp_uri):
    event = IntegrationEvent("case_submitted", "case-carried", 2, {"receipt_number": "R-1", "owner_id": "owner-7"})
    with rpc() as cluster:
        publish(amqp_uri, event)
        (message,) = wait_until(lambda: postfach_of(cluster, "owner-7"), timeout=15, what="the receipt")
    assert message["case_id"] == "case-carried"
    assert FakeSubmissions.asked == []


def test_a_submitted_case_stored_before_events_carried_the_owner_is_asked_about(notify, rpc, amqp_uri):
    FakeSubmissions.cases["case-old"] = {"case_id": "case-old", "owner_id": "owner-8", "jobcenter_id": "jc-1"}
    with rpc() as cluster:
        publish(amqp_uri, IntegrationEvent("case_submitted", "case-old", 2, {"receipt_number": "R-2"}))
        (message,) = wait_until(lambda: postfach_of(cluster, "owner-8"), timeout=15, what="the receipt")
    assert message["case_id"] == "case-old"
    assert FakeSubmissions.asked == ["case-old"]


def test_a_citizens_message_alerts_the_jobcenter_the_event_names(notify, rpc, amqp_uri):
    data = {"message_id": "m-1", "author_role": "citizen", "owner_id": "owner-9", "jobcenter_id": "jc-0394"}
    staff = TEST_ISSUER.token_for("cw-1", role="caseworker", institution_id="jc-0394")
    with rpc() as cluster:
        publish(amqp_uri, IntegrationEvent("message_posted", "case-m", 5, data))
        # A question to submissions would have come before the alert.
        (alert,) = wait_until(lambda: cluster.notify.list_staff_alerts(staff), timeout=15, what="the staff alert")
    assert alert["case_id"] == "case-m"
    assert FakeSubmissions.asked == []
