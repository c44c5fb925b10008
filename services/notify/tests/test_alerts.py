"""E-mail alerts with a real SMTP server: once per event, retried, no personal data, only with consent."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from services.notify.alerts import AlertQueue
from services.notify.service import alert_table, reminder_table, send_due_reminders
from services.notify.tests.doubles import FakeSubmissions
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher
from shared.metrics import REGISTRY
from shared.servers import free_port, start_smtp_sink
from shared.smtp import SmtpMailer
from shared.sql import make_engine
from shared.testing.tokens import CONTACT_EMAIL, CONTACT_NAME, TEST_ISSUER, FakeIdentity


def citizen() -> str:
    """A fresh token of the case's owner: one made at import expired when the suite ran longer than its lifetime."""
    return TEST_ISSUER.token_for("owner-1")


@pytest.fixture
def notify(start_services, smtp_sink):
    return start_services(FakeSubmissions, FakeIdentity, "notify", **smtp_sink.settings)["notify"]


def publish(amqp_uri, event, times=1):
    with EventPublisher(amqp_uri, "submissions") as publisher:
        for _ in range(times):
            publisher.publish(event)


def wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


def submitted(case_id="case-1", event_id=None):
    event = IntegrationEvent("case_submitted", case_id, 2, {"receipt_number": "JC-2026-AAAA-BBBB"})
    return event if event_id is None else IntegrationEvent(**{**event.to_message(), "event_id": event_id})


def test_one_alert_per_event_even_when_it_is_redelivered(notify, rpc, amqp_uri, mailbox):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "email_alerts", True)
        publish(amqp_uri, submitted(), times=3)
        assert wait_for(lambda: mailbox.messages())
        time.sleep(3)  # two more send rounds: nothing else may go out
        assert len(cluster.notify.list_postfach(citizen())["messages"]) == 1
    assert len(mailbox.messages()) == 1


def test_no_personal_data_in_any_mail(notify, rpc, amqp_uri, mailbox):
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "email_alerts", True)
        publish(amqp_uri, submitted("case-pii"))
        (mail,) = wait_for(lambda: mailbox.messages())
    assert mail["To"] == CONTACT_EMAIL
    text = mail.as_string()
    body = "".join(part.get_content() for part in mail.walk() if part.get_content_type().startswith("text/"))
    for secret in (CONTACT_NAME, "Mustermann", "JC-2026-AAAA-BBBB", "case-pii"):
        assert secret not in text
    assert "/postfach" in body
    assert "Neues in Ihrem Jobcenter-Postfach" == mail["Subject"]


def test_without_consent_no_mail_and_every_change_is_recorded(notify, rpc, amqp_uri, mailbox):
    with rpc() as cluster:
        publish(amqp_uri, submitted("case-a"))
        wait_for(lambda: cluster.notify.list_postfach(citizen())["messages"])
        cluster.notify.set_consent(citizen(), "email_alerts", True)
        publish(amqp_uri, submitted("case-b"))
        assert wait_for(lambda: len(mailbox.messages()) == 1)
        cluster.notify.set_consent(citizen(), "email_alerts", False)
        publish(amqp_uri, submitted("case-c"))
        wait_for(lambda: len(cluster.notify.list_postfach(citizen())["messages"]) == 3)
        time.sleep(2.5)
        changes = cluster.notify.list_consent_changes(citizen())
        consents = cluster.notify.get_consents(citizen())
    assert len(mailbox.messages()) == 1
    assert [(c["channel"], c["granted"]) for c in changes] == [("email_alerts", True), ("email_alerts", False)]
    assert consents["email_alerts"]["granted"] is False
    assert consents["postfach_bescheide"]["granted"] is False


def test_a_bescheid_without_digital_consent_is_marked_for_paper(notify, rpc, amqp_uri):
    decided = IntegrationEvent(
        "case_decided", "case-d", 9, {"outcome": "approved", "bescheid_document_id": "doc-1", "approval_to": None}
    )
    with rpc() as cluster:
        publish(amqp_uri, decided)
        (message,) = wait_for(lambda: cluster.notify.list_postfach(citizen())["messages"])
    assert message["paper_delivery"] is True
    assert message["attachments"] == ["doc-1"]
    assert message["legal_delivery_date"] is None


def test_smtp_down_means_retries_then_exactly_one_mail(notify, rpc, amqp_uri, tmp_path):
    # A queue on the service's own database, sending to a relay that is not there yet.
    engine = notify.dependencies and next(d for d in notify.dependencies if d.attr_name == "db").database.engine
    with rpc() as cluster:
        cluster.notify.set_consent(citizen(), "email_alerts", True)
    port = free_port()
    down = SmtpMailer("127.0.0.1", port, "postfach@jobcenter-portal.invalid")
    queue = AlertQueue(alert_table, max_attempts=5, portal_url="http://portal.invalid")
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        queue.queue(session, "event-smtp-down", "owner-1", None)
    contact = FakeIdentity().get_contact
    start = datetime.now(UTC) + timedelta(hours=1)  # after any send round of the running service
    assert queue.send_due(engine, down, contact, now=start) == 0
    assert queue.send_due(engine, down, contact, now=start + timedelta(seconds=31)) == 0
    assert queue.counts(engine).get("pending", 0) >= 1
    assert (REGISTRY.get_sample_value("portal_mails_total", {"outcome": "retry"}) or 0) >= 2
    sent_before = REGISTRY.get_sample_value("portal_mails_total", {"outcome": "sent"}) or 0
    sink = start_smtp_sink(tmp_path / "late-mail", port=port)
    try:
        assert queue.send_due(engine, down, contact, now=start + timedelta(seconds=40)) == 0  # still pausing
        assert queue.send_due(engine, down, contact, now=start + timedelta(minutes=2)) == 1
        assert queue.send_due(engine, down, contact, now=start + timedelta(hours=2)) == 0
        assert len(list((tmp_path / "late-mail").glob("*.eml"))) == 1
        assert REGISTRY.get_sample_value("portal_mails_total", {"outcome": "sent"}) == sent_before + 1
    finally:
        sink.stop()


def test_the_wba_reminder_is_posted_once_eight_weeks_before_the_period_ends(notify, rpc, amqp_uri):
    FakeSubmissions.cases["case-wba"] = {
        "case_id": "case-wba", "owner_id": "owner-1", "kind": "weiterbewilligungsantrag", "jobcenter_id": "jc-1",
    }  # fmt: skip
    decided = IntegrationEvent(
        "case_decided", "case-wba", 9, {"outcome": "approved", "bescheid_document_id": "d", "approval_to": "2027-06-30"}
    )
    db = next(d for d in notify.dependencies if d.attr_name == "db").database
    with rpc() as cluster:
        publish(amqp_uri, decided)
        wait_for(lambda: cluster.notify.list_postfach(citizen())["messages"])
        queue = AlertQueue(alert_table, 5, "http://portal.invalid")
        assert send_due_reminders(db, queue, date(2027, 5, 4)) == 0
        assert send_due_reminders(db, queue, date(2027, 5, 5)) == 1
        assert send_due_reminders(db, queue, date(2027, 5, 6)) == 0
        kinds = [m["kind"] for m in cluster.notify.list_postfach(citizen())["messages"]]
    assert kinds.count("wba_reminder") == 1


def test_a_document_refused_after_upload_is_told_in_the_postfach_but_not_an_aborted_one(notify, rpc, amqp_uri):
    FakeSubmissions.cases["case-doc"] = {
        "case_id": "case-doc",
        "owner_id": "owner-doc",
        "kind": "x",
        "jobcenter_id": None,
    }
    citizen = TEST_ISSUER.token_for("owner-doc")
    with EventPublisher(amqp_uri, "documents") as publisher:
        for reason in ("UPLOAD_ABORTED", "VIRUS_FOUND"):
            data = {"case_id": "case-doc", "nachweis": "arbeitsvertrag", "reason_code": reason}
            publisher.publish(IntegrationEvent("document_rejected", f"doc-{reason}", 2, data))
    with rpc() as cluster:
        messages = wait_for(lambda: cluster.notify.list_postfach(citizen)["messages"])
        time.sleep(1)
        messages = cluster.notify.list_postfach(citizen)["messages"]
    assert [(m["kind"], m["case_id"]) for m in messages] == [("document_rejected", "case-doc")]
    assert "VIRUS" not in messages[0]["body"]


def test_a_withdrawal_is_told_in_the_postfach_and_to_the_jobcenter(notify, rpc, amqp_uri, captured_logs):
    event = IntegrationEvent("case_withdrawn", "case-w", 7, {})
    with rpc() as cluster:
        publish(amqp_uri, event, times=2)  # redelivered: told once
        assert wait_for(lambda: [line for line in captured_logs.named("event_already_processed")
                                 if line.get("event_id") == event.event_id])  # fmt: skip
        messages = cluster.notify.list_postfach(citizen(), "case-w")["messages"]
        alerts = cluster.notify.list_staff_alerts(
            TEST_ISSUER.token_for("s-1", role="caseworker", institution_id="jc-1")
        )
    (message,) = messages
    assert message["kind"] == "withdrawn" and "zurückgenommen" in message["body"]
    assert [(a["case_id"], a["kind"]) for a in alerts] == [("case-w", "case_withdrawn")]


def test_a_case_handed_over_is_an_alert_for_the_new_jobcenter_only(notify, rpc, amqp_uri, captured_logs):
    """A move or a team lead hands a case to another gE: its staff are told, as of a new case (outside pass)."""
    event = IntegrationEvent("case_reassigned", "case-r", 9, {"jobcenter_id": "jc-new", "reason_code": "MOVE",
                                                             "effective_from": "2026-12-01"})  # fmt: skip
    with rpc() as cluster:
        publish(amqp_uri, event, times=2)  # redelivered: one alert
        assert wait_for(lambda: [line for line in captured_logs.named("event_already_processed")
                                 if line.get("event_id") == event.event_id])  # fmt: skip
        new = cluster.notify.list_staff_alerts(TEST_ISSUER.token_for("s-3", role="caseworker", institution_id="jc-new"))
        old = cluster.notify.list_staff_alerts(TEST_ISSUER.token_for("s-4", role="caseworker", institution_id="jc-old"))
    assert [(a["case_id"], a["kind"], a["text"]) for a in new] == [
        ("case-r", "case_handed_in", "Vorgang von einem anderen Jobcenter übernommen")
    ]
    assert old == []


def test_an_erased_case_leaves_no_postfach_message_reminder_or_staff_alert(notify, rpc, amqp_uri):
    """Retention (docs/retention.md): what notify holds about a case goes with it."""
    staff_token = TEST_ISSUER.token_for("s-2", role="caseworker", institution_id="jc-1")
    requested = IntegrationEvent("documents_requested", "case-e", 5, {"items": [], "due_date": "2027-03-01",
                                                                     "owner_id": "owner-1"})  # fmt: skip
    other = IntegrationEvent("case_withdrawn", "case-other", 3, {})
    with rpc() as cluster:
        publish(amqp_uri, requested)
        publish(amqp_uri, IntegrationEvent("case_withdrawn", "case-e", 6, {}))
        publish(amqp_uri, other)
        wait_for(lambda: len(cluster.notify.list_postfach(citizen())["messages"]) == 3)
        publish(amqp_uri, IntegrationEvent("case_erased", "erasure-1", 1, {"case_id": "case-e"}))
        assert wait_for(lambda: not cluster.notify.list_postfach(citizen(), "case-e")["messages"])
        left = [m["case_id"] for m in cluster.notify.list_postfach(citizen())["messages"]]
        alerts = cluster.notify.list_staff_alerts(staff_token)
    assert left == ["case-other"]
    assert [a["case_id"] for a in alerts] == ["case-other"]
    engine = make_engine(str(notify.config["DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            reminders = connection.execute(select(reminder_table.c.case_id)).scalars().all()
    finally:
        engine.dispose()
    assert "case-e" not in reminders
