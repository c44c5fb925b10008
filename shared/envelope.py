"""The envelope every integration event travels in, on every exchange.

Integration events carry ids and codes only; a consumer that needs more asks the owner over RPC.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

# Event ids of relayed domain events are derived from (application, aggregate id, version), so a
# redelivered event keeps its id and consumers can drop the copy. The inputs are random ids.
_EVENT_ID_NAMESPACE = uuid.UUID("5d1c7f0e-6a52-4c55-9d55-3f1a1f0c2b7e")


class MalformedEnvelope(ValueError):
    """A message on an event queue is not an integration event envelope."""


@dataclass(frozen=True)
class IntegrationEvent:
    """One integration event: what happened (``type``), to which aggregate, and why (correlation)."""

    type: str
    aggregate_id: str
    aggregate_version: int
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    correlation_id: str | None = None

    def to_message(self) -> dict[str, Any]:
        """The JSON-ready body of the AMQP message."""
        return asdict(self)

    @classmethod
    def from_message(cls, body: Any) -> IntegrationEvent:
        """Parse a message body; raises MalformedEnvelope when a field is missing or mistyped."""
        if not isinstance(body, dict):
            raise MalformedEnvelope("the body is not an object")
        try:
            event = cls(
                type=body["type"],
                aggregate_id=body["aggregate_id"],
                aggregate_version=body["aggregate_version"],
                data=body.get("data") or {},
                event_id=body["event_id"],
                occurred_at=body["occurred_at"],
                correlation_id=body.get("correlation_id"),
            )
        except KeyError as missing:
            raise MalformedEnvelope(f"field {missing} is missing") from None
        if not isinstance(event.type, str) or not isinstance(event.event_id, str):
            raise MalformedEnvelope("type and event_id must be strings")
        if not isinstance(event.aggregate_version, int) or not isinstance(event.data, dict):
            raise MalformedEnvelope("aggregate_version must be an integer and data an object")
        return event


def stable_event_id(application: str, aggregate_id: str, aggregate_version: int) -> str:
    """The id of a relayed domain event, the same each time the relay publishes it."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{application}:{aggregate_id}:{aggregate_version}"))
