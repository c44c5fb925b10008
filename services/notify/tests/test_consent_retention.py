"""Consents of a deleted account (docs/retention.md): deleted at once without a kept case, else withdrawn and
kept as proof of the Postfach delivery of its Bescheide until the account's last case is erased."""

import pytest

from services.notify.tests.doubles import FakeSubmissions
from services.notify.tests.test_alerts import publish, submitted, wait_for
from shared.envelope import IntegrationEvent
from shared.testing.tokens import TEST_ISSUER, FakeIdentity


@pytest.fixture
def notify(start_services, smtp_sink):
    return start_services(FakeSubmissions, FakeIdentity, "notify", **smtp_sink.settings)["notify"]


def test_a_deleted_account_without_a_kept_case_loses_its_consents_at_once(notify, rpc):
    token = TEST_ISSUER.token_for("owner-without-cases")
    with rpc() as cluster:
        cluster.notify.set_consent(token, "email_alerts", True)
        cluster.notify.set_consent(token, "postfach_bescheide", True)
        assert cluster.notify.forget_deleted_account(token) == {"consents_kept": False}
        changes = cluster.notify.list_consent_changes(token)
        consents = cluster.notify.get_consents(token)
    assert changes == []
    assert all(consent == {"granted": False, "changed_at": None} for consent in consents.values())


def test_a_deleted_account_s_consents_are_withdrawn_kept_as_proof_and_go_with_its_last_case(notify, rpc, amqp_uri):
    token = TEST_ISSUER.token_for("owner-1")  # the owner of every case of the submissions double
    with rpc() as cluster:
        cluster.notify.set_consent(token, "postfach_bescheide", True)
        publish(amqp_uri, submitted("case-kept-1"))
        publish(amqp_uri, submitted("case-kept-2"))
        assert wait_for(lambda: len(cluster.notify.list_postfach(token)["messages"]) == 2)
        assert cluster.notify.forget_deleted_account(token) == {"consents_kept": True}
        assert cluster.notify.forget_deleted_account(token) == {"consents_kept": True}  # again: nothing new
        changes = cluster.notify.list_consent_changes(token)
        assert not any(consent["granted"] for consent in cluster.notify.get_consents(token).values())
        publish(amqp_uri, IntegrationEvent("case_erased", "erasure-k1", 1, {"case_id": "case-kept-1"}))
        assert wait_for(lambda: len(cluster.notify.list_postfach(token)["messages"]) == 1)
        still_kept = cluster.notify.list_consent_changes(token)
        publish(amqp_uri, IntegrationEvent("case_erased", "erasure-k2", 1, {"case_id": "case-kept-2"}))
        assert wait_for(lambda: not cluster.notify.list_consent_changes(token))
        assert not any(consent["changed_at"] for consent in cluster.notify.get_consents(token).values())
    assert changes[0] == {**changes[0], "channel": "postfach_bescheide", "granted": True, "changed_by": "owner-1"}
    assert [(c["granted"], c["changed_by"]) for c in changes[1:]] == [(False, "account_deleted")] * 3
    assert still_kept == changes
