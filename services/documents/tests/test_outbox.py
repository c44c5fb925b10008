"""The SQL outbox: events written with the change are published once marked, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.documents import metadata
from services.documents.outbox import relay_batch
from shared.envelope import IntegrationEvent
from shared.sql import make_engine, migrate, migrations_of


class RecordingPublisher:
    """Stands in for the broker: keeps what was published, or fails when told to."""

    def __init__(self, fail: bool = False) -> None:
        self.published: list[IntegrationEvent] = []
        self.fail = fail

    def publish(self, event: IntegrationEvent) -> None:
        if self.fail:
            raise ConnectionError("the broker is down")
        self.published.append(event)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path}/documents.sqlite"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    engine = make_engine(url)
    migrate(engine, migrations_of("documents"), "documents")
    yield engine
    engine.dispose()


def a_document_with_two_events(engine) -> str:
    document_id = f"doc-{secrets.token_hex(6)}"
    with Session(engine) as session, session.begin():
        metadata.add(
            session,
            document_id=document_id,
            case_id="case-1",
            owner_id="owner-1",
            uploaded_by="owner-1",
            nachweis="arbeitsvertrag",
            original_name="a.pdf",
            state="checking",
            max_bytes=100,
            quality_hints=[],
        )
        metadata.record_event(session, "document_uploaded", document_id, {"case_id": "case-1"})
        metadata.record_event(session, "document_accepted", document_id, {"case_id": "case-1"})
    return document_id


def test_events_are_published_in_order_with_versions_and_then_marked(engine):
    document_id = a_document_with_two_events(engine)
    publisher = RecordingPublisher()
    relay_batch(engine, publisher)  # type: ignore[arg-type]
    relay_batch(engine, publisher)  # type: ignore[arg-type]
    mine = [event for event in publisher.published if event.aggregate_id == document_id]
    assert [(event.type, event.aggregate_version) for event in mine] == [
        ("document_uploaded", 1),
        ("document_accepted", 2),
    ]
    assert mine[1].data == {"document_id": document_id, "case_id": "case-1"}


def test_events_stay_in_the_outbox_while_the_broker_is_down(engine):
    document_id = a_document_with_two_events(engine)
    with pytest.raises(ConnectionError):
        relay_batch(engine, RecordingPublisher(fail=True))  # type: ignore[arg-type]
    with engine.connect() as connection:
        waiting = connection.execute(
            select(metadata.outbox.c.type).where(
                metadata.outbox.c.aggregate_id == document_id, metadata.outbox.c.published_at.is_(None)
            )
        ).all()
    assert len(waiting) == 2
