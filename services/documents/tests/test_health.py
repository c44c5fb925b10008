"""The documents service with a dependency up or down: health, and no unscanned file taken as clean.

Its own module: the shared service of test_service.py would answer these RPCs too.
"""

import pytest

from services.documents.streaming import stream_upload
from services.documents.tests import samples
from services.documents.tests.support import CASES, FakeSubmissions, chunks, citizen
from shared.errors import Unavailable
from shared.servers import free_port
from shared.testing.tokens import FakeIdentity


def test_health_reports_s3_clamd_and_database(start_services, seaweedfs, clamd, rpc):
    start_services("documents", **seaweedfs.settings, **clamd.settings)
    with rpc() as cluster:
        report = cluster.documents.health()
    assert report["status"] == "ok", report
    assert set(report["dependencies"]) == {"database", "s3", "clamd"}


def test_health_reports_s3_failing_with_wrong_keys(start_services, seaweedfs, clamd, rpc):
    start_services("documents", **{**seaweedfs.settings, "S3_SECRET_KEY": "wrong-secret"}, **clamd.settings)
    with rpc() as cluster:
        report = cluster.documents.health()
    assert report["status"] == "failing"
    assert report["dependencies"]["s3"]["status"] == "failing"
    assert report["dependencies"]["clamd"]["status"] == "ok"


def test_an_upload_stays_in_quarantine_while_clamd_cannot_scan_it(start_services, seaweedfs, amqp_uri, rpc):
    case_id = "case-clamd-down"
    CASES[case_id] = {"case_id": case_id, "owner_id": "owner-1", "jobcenter_id": None, "status": "draft"}
    start_services(
        FakeSubmissions,
        FakeIdentity,
        "documents",
        **seaweedfs.settings,
        CLAMD_HOST="127.0.0.1",
        CLAMD_PORT=str(free_port()),
    )
    data = samples.pdf()
    with rpc() as cluster:
        started = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "a.pdf", len(data))
        sent = stream_upload(chunks(data), started["target"])
        with pytest.raises(Unavailable) as unavailable:
            cluster.documents.complete_upload(citizen(), started["upload_id"], sent.size, sent.sha256)
        document = cluster.documents.get_document(citizen(), started["upload_id"])
    assert unavailable.value.code == "CHECK_UNAVAILABLE"
    assert document["state"] == "awaiting_upload"  # not accepted, and complete_upload may be repeated
