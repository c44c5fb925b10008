"""notify tells the citizen what a reported move means (docs/moves.md), naming the Jobcenters routing's
register names (a double: routing lies outside notify); the events carry ids, codes and dates only."""

import pytest

from services.notify.tests.doubles import FakeRouting, FakeSubmissions
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher
from shared.testing.tokens import TEST_ISSUER, FakeIdentity
from shared.testing.waiting import wait_until

TREPTOW_KOEPENICK, DAHME_SPREEWALD, MAIN_KINZIG_ZKT = "jc-0394", "jc-0012", "jc-0202"


@pytest.fixture
def notify(start_services, smtp_sink):
    return start_services(FakeSubmissions, FakeIdentity, FakeRouting, "notify", **smtp_sink.settings)["notify"]


def publish(amqp_uri, *events):
    with EventPublisher(amqp_uri, "submissions") as publisher:
        for event in events:
            publisher.publish(event)


def postfach_of(cluster, owner_id):
    return list(cluster.notify.list_postfach(TEST_ISSUER.token_for(owner_id))["messages"])


def reported(owner_id, new_jobcenter, served=True):
    return IntegrationEvent("case_move_reported", f"vaem-{owner_id}", 3, {
        "move_date": "2026-12-15", "jobcenter_id": new_jobcenter, "matched_key": "kreis:12061",
        "reason_code": "MATCHED_GEMEINDE", "register_version": "test", "previous_jobcenter_id": TREPTOW_KOEPENICK,
        "served": served, "owner_id": owner_id,
    })  # fmt: skip


def test_a_move_into_another_jobcenter_area_tells_who_decides_what_from_when(notify, rpc, amqp_uri):
    event = reported("owner-move-1", DAHME_SPREEWALD)
    with rpc() as cluster:
        publish(amqp_uri, event)
        (message,) = wait_until(lambda: postfach_of(cluster, "owner-move-1"), timeout=15, what="the message")
    assert (message["case_id"], message["subject"]) == ("vaem-owner-move-1", "Ihr Umzug: Das ist jetzt zu tun")
    assert "Diese Mitteilung bearbeitet das Jobcenter Berlin Treptow-Köpenick." in message["body"]
    assert "Ab dem 15.12.2026 ist das Jobcenter Dahme-Spreewald für Sie zuständig." in message["body"]
    assert "Weiterbewilligungsantrag" in message["body"]


def test_a_move_into_a_zkt_area_says_the_new_jobcenter_does_not_use_the_portal(notify, rpc, amqp_uri):
    with rpc() as cluster:
        publish(amqp_uri, reported("owner-move-2", MAIN_KINZIG_ZKT, served=False))
        (message,) = wait_until(lambda: postfach_of(cluster, "owner-move-2"), timeout=15, what="the message")
    assert "Ab dem 15.12.2026 ist das Jobcenter Main-Kinzig-Kreis für Sie zuständig." in message["body"]
    assert "nutzt dieses Portal nicht" in message["body"]


def test_each_case_handed_over_is_told_in_its_own_thread(notify, rpc, amqp_uri):
    event = IntegrationEvent("case_move_took_effect", "vaem-owner-move-3", 4, {
        "move_date": "2026-12-15", "jobcenter_id": DAHME_SPREEWALD, "matched_key": "kreis:12061",
        "reason_code": "MATCHED_GEMEINDE", "register_version": "test", "served": True,
        "case_ids": ["wba-1", "wba-2"], "owner_id": "owner-move-3",
    })  # fmt: skip
    with rpc() as cluster:
        publish(amqp_uri, event)
        wait_until(lambda: len(postfach_of(cluster, "owner-move-3")) == 2, timeout=15, what="two messages")
        messages = postfach_of(cluster, "owner-move-3")
    assert sorted(message["case_id"] for message in messages) == ["wba-1", "wba-2"]
    assert all("am 15.12.2026 an das Jobcenter Dahme-Spreewald abgegeben" in m["body"] for m in messages)
