"""Support of the documents tests: the service once per module, with doubles for what lies outside it.

``submissions`` is a small fake that answers ``get_case_parties`` from :data:`CASES`; a recorder service
collects the events documents publishes. SeaweedFS, clamd, RabbitMQ and SQLite are real.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from minio import Minio
from nameko.containers import ServiceContainer
from nameko.rpc import rpc

from services.documents.storage import DocumentStore
from services.documents.streaming import stream_upload
from shared.config import load_config
from shared.envelope import IntegrationEvent
from shared.errors import NotFound
from shared.messaging import integration_event_handler
from shared.servers import principal_environ
from shared.service import service_class
from shared.testing.tokens import TEST_ISSUER, FakeIdentity

CASES: dict[str, dict[str, Any]] = {}
EVENTS: list[IntegrationEvent] = []
_EVENTS_LOCK = threading.Lock()

JOBCENTER = "jc-treptow-koepenick"
MAX_FILE_BYTES = 9 * 1024 * 1024
MAX_CASE_BYTES = 40 * 1024 * 1024


class FakeSubmissions:
    """The one RPC of submissions that documents uses."""

    name = "submissions"

    @rpc
    def get_case_parties(self, case_id: str) -> dict[str, Any]:
        if case_id not in CASES:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")
        return CASES[case_id]


class DocumentEventRecorder:
    name = "documents_event_recorder"

    @integration_event_handler("documents", "document_uploaded")
    def uploaded(self, event: IntegrationEvent) -> None:
        _record(event)

    @integration_event_handler("documents", "document_accepted")
    def accepted(self, event: IntegrationEvent) -> None:
        _record(event)

    @integration_event_handler("documents", "document_rejected")
    def rejected(self, event: IntegrationEvent) -> None:
        _record(event)

    @integration_event_handler("documents", "document_deleted")
    def deleted(self, event: IntegrationEvent) -> None:
        _record(event)


def _record(event: IntegrationEvent) -> None:
    with _EVENTS_LOCK:
        EVENTS.append(event)


def events_of(document_id: str, timeout: float = 10, count: int = 1) -> list[tuple[str, dict[str, Any]]]:
    """The events published about a document, once at least ``count`` arrived."""
    deadline = time.monotonic() + timeout
    while True:
        with _EVENTS_LOCK:
            found = [(event.type, event.data) for event in EVENTS if event.aggregate_id == document_id]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@dataclass
class Documents:
    """The running service, its bucket, and helpers to act as a citizen or as staff."""

    config: dict[str, Any]
    store: DocumentStore
    case_ids: list[str] = field(default_factory=list)

    def new_case(self, owner: str = "owner-1", jobcenter_id: str | None = JOBCENTER, status: str = "assigned") -> str:
        case_id = f"case-{secrets.token_hex(6)}"
        CASES[case_id] = {"case_id": case_id, "owner_id": owner, "jobcenter_id": jobcenter_id, "status": status}
        return case_id

    def keys_of(self, document_id: str) -> list[str]:
        """Every object and unfinished multipart upload the store holds for a document."""
        keys = [item.key for item in self.store.objects("") if item.key.endswith(document_id)]
        keys += [key for key, _, _ in self.store.unfinished_multipart_uploads("") if key.endswith(document_id)]
        return keys


def citizen(account_id: str = "owner-1") -> str:
    """The access token of a citizen, signed by the test issuer that FakeIdentity publishes."""
    return TEST_ISSUER.token_for(account_id)


def caseworker(institution_id: str | None = JOBCENTER, account_id: str = "cw-1", role: str = "caseworker") -> str:
    return TEST_ISSUER.token_for(account_id, role, institution_id)


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def upload(
    cluster: Any,
    case_id: str,
    data: bytes,
    name: str = "arbeitsvertrag.pdf",
    actor: str | None = None,
    nachweis: str = "arbeitsvertrag",
) -> dict[str, Any]:
    """The gateway's part: start, stream, complete; returns the document's metadata."""
    who = actor or citizen(_owner_of(case_id))
    started = cluster.documents.start_upload(who, case_id, nachweis, name, len(data))
    streamed = stream_upload(chunks(data), started["target"])
    return dict(cluster.documents.complete_upload(who, started["upload_id"], streamed.size, streamed.sha256))


def _owner_of(case_id: str) -> str:
    return str(CASES[case_id]["owner_id"])


@pytest.fixture(scope="module")
def documents(amqp_uri, seaweedfs, clamd, tmp_path_factory) -> Iterator[Documents]:
    bucket = f"docs-{secrets.token_hex(4)}"
    environ = {
        "AMQP_URI": amqp_uri,
        **principal_environ(amqp_uri),
        "RUN_DIR": str(tmp_path_factory.mktemp("documents")),
        "LOG_LEVEL": "INFO",
        "S3_BUCKET": bucket,
        "DOCUMENTS_MAX_FILE_BYTES": str(MAX_FILE_BYTES),
        "DOCUMENTS_MAX_CASE_BYTES": str(MAX_CASE_BYTES),
        "OUTBOX_POLL_INTERVAL": "0.1",
        **seaweedfs.settings,
        **clamd.settings,
    }
    config = load_config("documents", environ)
    containers = [
        ServiceContainer(FakeSubmissions, {"AMQP_URI": amqp_uri}),
        ServiceContainer(FakeIdentity, {"AMQP_URI": amqp_uri}),
        ServiceContainer(DocumentEventRecorder, {"AMQP_URI": amqp_uri}),
        ServiceContainer(service_class("documents"), config),
    ]
    for container in containers:
        container.start()
    s3 = config["S3"]
    client = Minio(
        s3["ENDPOINT"], access_key=s3["ACCESS_KEY"], secret_key=s3["SECRET_KEY"], secure=False, region=s3["REGION"]
    )
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    yield Documents(config=config, store=DocumentStore(client, bucket))
    for container in reversed(containers):
        container.stop()
