"""§ 37 (2a) SGB X in the running notify: the day a Bescheid in the Postfach counts as made known.

With an e-mail notice the fourth day after it counts; without one, or once the Jobcenter records that
its receipt is denied, the day the citizen downloads the Bescheid; a Bescheid neither notified nor
retrieved is shown to the case's Jobcenter for another way of Bekanntgabe. The rules themselves are
tested in test_delivery.py; here: that the service records the facts and answers with the result.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.notify.delivery import RETRIEVAL_EXPECTED_WITHIN, notice_fiction
from services.notify.postfach import messages
from services.notify.tests.doubles import FakeSubmissions
from shared.dates import german_today
from shared.envelope import IntegrationEvent
from shared.errors import Forbidden, NotFound
from shared.messaging import EventPublisher
from shared.sql import make_engine
from shared.testing.tokens import TEST_ISSUER, FakeIdentity
from shared.testing.waiting import wait_until

OWNER = "owner-1"  # FakeSubmissions: every case is owner-1's, assigned to jc-1


def citizen() -> str:
    return TEST_ISSUER.token_for(OWNER)


def caseworker(institution: str = "jc-1") -> str:
    return TEST_ISSUER.token_for("staff-7", role="caseworker", institution_id=institution)


@pytest.fixture
def notify(start_services, smtp_sink):
    return start_services(FakeSubmissions, FakeIdentity, "notify", **smtp_sink.settings)["notify"]


def decide(amqp_uri, case_id: str, document_id: str) -> None:
    event = IntegrationEvent(
        "case_decided", case_id, 9,
        {"outcome": "approved", "bescheid_document_id": document_id, "approval_to": None, "owner_id": OWNER,
         "kind": "veraenderungsmitteilung", "jobcenter_id": "jc-1"},
    )  # fmt: skip
    with EventPublisher(amqp_uri, "submissions") as publisher:
        publisher.publish(event)


def bescheid_of(cluster, case_id: str, ready=lambda m: True):
    def found():
        return [m for m in cluster.notify.list_postfach(citizen(), case_id)["messages"] if ready(m)]

    (message,) = wait_until(found, timeout=20, what=f"the Bescheid of {case_id} in the Postfach")
    return message


def test_with_an_e_mail_notice_the_fourth_day_after_it_counts(notify, rpc, amqp_uri, mailbox):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "postfach_bescheide", True)
        cluster.notify.set_consent(citizen(), "email_alerts", True)
        decide(amqp_uri, "case-notice", "doc-notice")
        message = bescheid_of(cluster, "case-notice", ready=lambda m: m["alert_sent_at"])
        # An earlier download does not move the fourth day (sentence 4 is a fiction).
        cluster.notify.retrieve_attachment(citizen(), message["message_id"], "doc-notice")
        after = bescheid_of(cluster, "case-notice")
    fourth_day = notice_fiction(german_today()).isoformat()
    assert mailbox.messages(), "the notice went out as an e-mail"
    assert after["bekanntgabe"]["basis"] == "notice"
    assert after["bekanntgabe"]["made_known_on"] == after["legal_delivery_date"] == fourth_day
    assert after["bekanntgabe"]["appeal_until"] > fourth_day
    assert after["retrieved_at"] is not None and after["read"] is True


def test_without_an_e_mail_notice_the_day_of_retrieval_counts(notify, rpc, amqp_uri):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "postfach_bescheide", True)  # Postfach yes, e-mail no
        decide(amqp_uri, "case-quiet", "doc-quiet")
        before = bescheid_of(cluster, "case-quiet")
        assert before["bekanntgabe"] == {
            "basis": "pending", "made_known_on": None, "appeal_until": None, "needs_other_delivery": False,
        }  # fmt: skip
        assert before["legal_delivery_date"] is None and before["alert_sent_at"] is None
        cluster.notify.retrieve_attachment(citizen(), before["message_id"], "doc-quiet")
        cluster.notify.retrieve_attachment(citizen(), before["message_id"], "doc-quiet")  # the first one counts
        after = bescheid_of(cluster, "case-quiet")
        staff_view = cluster.notify.list_case_messages(caseworker(), "case-quiet")
    assert after["bekanntgabe"]["basis"] == "retrieval"
    assert after["legal_delivery_date"] == after["bekanntgabe"]["made_known_on"] == german_today().isoformat()
    assert [m["bekanntgabe"] for m in staff_view] == [after["bekanntgabe"]]


def test_only_the_owner_may_retrieve_and_only_what_the_message_carries(notify, rpc, amqp_uri):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "postfach_bescheide", True)
        decide(amqp_uri, "case-own", "doc-own")
        message = bescheid_of(cluster, "case-own")
        for token, document_id in ((TEST_ISSUER.token_for("owner-2"), "doc-own"), (citizen(), "doc-other")):
            with pytest.raises(NotFound):
                cluster.notify.retrieve_attachment(token, message["message_id"], document_id)
        assert bescheid_of(cluster, "case-own")["retrieved_at"] is None


def test_a_denied_notice_leaves_the_day_of_retrieval_and_only_the_cases_jobcenter_records_it(
    notify, rpc, amqp_uri, mailbox
):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "postfach_bescheide", True)
        cluster.notify.set_consent(citizen(), "email_alerts", True)
        decide(amqp_uri, "case-denied", "doc-denied")
        message = bescheid_of(cluster, "case-denied", ready=lambda m: m["alert_sent_at"])
        with pytest.raises(NotFound):
            cluster.notify.record_notice_denied(caseworker("jc-2"), "case-denied", message["message_id"])
        with pytest.raises(Forbidden):
            cluster.notify.record_notice_denied(citizen(), "case-denied", message["message_id"])
        denied = cluster.notify.record_notice_denied(caseworker(), "case-denied", message["message_id"])
        assert denied["bekanntgabe"]["basis"] == "pending" and denied["notice_denied_at"]
        cluster.notify.retrieve_attachment(citizen(), message["message_id"], "doc-denied")
        after = bescheid_of(cluster, "case-denied")
    assert after["bekanntgabe"]["basis"] == "retrieval"
    assert after["legal_delivery_date"] == german_today().isoformat()


def test_a_bescheid_neither_notified_nor_retrieved_for_a_week_is_shown_to_the_jobcenter(notify, rpc, amqp_uri):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "postfach_bescheide", True)
        decide(amqp_uri, "case-waiting", "doc-waiting")
        message = bescheid_of(cluster, "case-waiting")
        engine = make_engine(str(notify.config["DATABASE_URL"]))
        with engine.begin() as connection:  # the week passes
            connection.execute(
                update(messages)
                .where(messages.c.message_id == message["message_id"])
                .values(created_at=datetime.now(UTC) - RETRIEVAL_EXPECTED_WITHIN - timedelta(hours=1))
            )
        engine.dispose()
        listed = cluster.notify.list_case_messages(caseworker(), "case-waiting")
    (seen,) = [m for m in listed if m["kind"] == "bescheid"]
    assert seen["bekanntgabe"]["needs_other_delivery"] is True
    assert seen["read"] is False
