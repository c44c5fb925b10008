"""Barriers reported with the accessibility statement's form: kept for the operators, shown only to admins."""

import secrets

import pytest

from shared.errors import Forbidden, InvalidInput
from shared.testing.tokens import TEST_ISSUER, FakeIdentity


@pytest.fixture
def system(start_services):
    return start_services(FakeIdentity, "notify")


def test_a_reported_barrier_is_listed_for_admins_only_and_never_logged(system, rpc, captured_logs):
    marker = secrets.token_hex(6)
    with rpc() as cluster:
        with pytest.raises(InvalidInput):
            cluster.notify.record_accessibility_feedback("   ")
        for barrier, page in (("Knopf\x1b[2J", ""), ("Knopf", "/antraege\u202e"), ("Zeile\u2028Zeile", "")):
            with pytest.raises(InvalidInput, match="HIDDEN_CHARACTERS"):
                cluster.notify.record_accessibility_feedback(barrier, page)
        cluster.notify.record_accessibility_feedback("Zwei Zeilen:\nder Knopf\tund das Bild")  # breaks are text
        feedback_id = cluster.notify.record_accessibility_feedback(
            f"Das Formular springt beim Zoomen {marker}", "/antraege", f"kontakt.{marker}@example.org"
        )
        with pytest.raises(Forbidden):
            cluster.notify.list_accessibility_feedback(TEST_ISSUER.token_for("citizen-1"))
        listed = cluster.notify.list_accessibility_feedback(TEST_ISSUER.token_for("admin-1", role="admin"))
    (mine,) = [item for item in listed if item["feedback_id"] == feedback_id]
    assert mine["page"] == "/antraege" and mine["contact"] == f"kontakt.{marker}@example.org"
    assert marker not in captured_logs.text()
