"""The integration event envelope."""

import pytest

from shared.envelope import IntegrationEvent, MalformedEnvelope, stable_event_id


def test_an_event_survives_the_round_trip_through_a_message():
    event = IntegrationEvent("case_submitted", "c-1", 2, {"receipt_number": "JC-2026-AAAA-BBBB"}, correlation_id="x")
    assert IntegrationEvent.from_message(event.to_message()) == event


def test_the_envelope_has_the_fields_the_design_names():
    assert set(IntegrationEvent("t", "a", 1).to_message()) == {
        "event_id", "type", "occurred_at", "aggregate_id", "aggregate_version", "correlation_id", "data",
    }  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [None, [], "text", {"type": "x"}, {"type": 1, "aggregate_id": "a", "aggregate_version": 1, "event_id": "e",
     "occurred_at": "t"}, {"type": "x", "aggregate_id": "a", "aggregate_version": "1", "event_id": "e",
     "occurred_at": "t"}],
)  # fmt: skip
def test_a_malformed_message_is_refused(body):
    with pytest.raises(MalformedEnvelope):
        IntegrationEvent.from_message(body)


def test_a_relayed_event_keeps_its_id_and_different_events_get_different_ids():
    assert stable_event_id("submissions", "c-1", 1) == stable_event_id("submissions", "c-1", 1)
    assert stable_event_id("submissions", "c-1", 1) != stable_event_id("submissions", "c-1", 2)
    assert stable_event_id("submissions", "c-1", 1) != stable_event_id("documents", "c-1", 1)
