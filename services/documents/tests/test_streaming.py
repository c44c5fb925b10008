"""The gateway's side of an upload, and the intake's refusal to take an unscanned file as clean.

Real SeaweedFS, no service: presigned URLs are made here as documents makes them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

import pytest
from minio import Minio

from services.documents.intake import Limits, check_upload
from services.documents.storage import PART_SIZE, DocumentStore, quarantine_key
from services.documents.streaming import UploadFailed, UploadRefused, stream_upload
from services.documents.tests import samples
from services.documents.tests.support import chunks
from shared.clamd import ClamdClient
from shared.servers import free_port

LIFETIME = timedelta(minutes=5)


@pytest.fixture(scope="module")
def store(seaweedfs) -> DocumentStore:
    settings = seaweedfs.settings
    client = Minio(
        settings["S3_ENDPOINT"],
        access_key=settings["S3_ACCESS_KEY"],
        secret_key=settings["S3_SECRET_KEY"],
        secure=False,
        region=settings["S3_REGION"],
    )
    bucket = f"stream-{secrets.token_hex(4)}"
    client.make_bucket(bucket)
    return DocumentStore(client, bucket)


def multipart_target(store: DocumentStore, key: str, max_bytes: int) -> tuple[str, dict]:
    upload_id = store.start_multipart(key)
    parts = -(-max_bytes // PART_SIZE)
    return upload_id, {
        "max_bytes": max_bytes,
        "part_size": PART_SIZE,
        "part_urls": store.presigned_part_urls(key, upload_id, parts, LIFETIME),
        "abort_url": store.presigned_abort_url(key, upload_id, LIFETIME),
    }


def test_a_small_file_goes_up_in_one_put_with_its_sha256(store):
    data = os.urandom(300_000)
    key = quarantine_key(secrets.token_hex(8))
    target = {"max_bytes": 1_000_000, "part_size": PART_SIZE, "url": store.presigned_put(key, LIFETIME)}
    sent = stream_upload(chunks(data, 10_000), target)
    assert (sent.size, sent.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert store.read(key) == data


def test_a_large_file_goes_up_in_parts_that_join_in_order(store):
    data = os.urandom(2 * PART_SIZE + 12_345)
    key = quarantine_key(secrets.token_hex(8))
    upload_id, target = multipart_target(store, key, 3 * PART_SIZE)
    sent = stream_upload(chunks(data, 100_000), target)
    assert store.complete_multipart(key, upload_id) == 3
    assert sent.sha256 == hashlib.sha256(data).hexdigest() == hashlib.sha256(store.read(key)).hexdigest()


def test_an_upload_broken_off_by_the_client_leaves_no_parts_behind(store):
    key = quarantine_key(secrets.token_hex(8))
    _, target = multipart_target(store, key, 3 * PART_SIZE)

    def body():
        yield os.urandom(PART_SIZE + 1)  # one full part goes to the store
        raise ConnectionResetError("the browser went away")

    with pytest.raises(ConnectionResetError):
        stream_upload(body(), target)
    assert key not in [unfinished for unfinished, _, _ in store.unfinished_multipart_uploads()]
    assert store.size_of(key) is None


def test_more_bytes_than_declared_for_a_single_put_are_refused(store):
    key = quarantine_key(secrets.token_hex(8))
    target = {"max_bytes": 3 * PART_SIZE, "part_size": PART_SIZE, "url": store.presigned_put(key, LIFETIME)}
    with pytest.raises(UploadRefused) as refused:
        stream_upload(chunks(os.urandom(PART_SIZE + 1)), target)
    assert refused.value.code == "FILE_LARGER_THAN_DECLARED"
    assert store.size_of(key) is None


def test_an_expired_or_forged_url_fails_the_upload(store):
    key = quarantine_key(secrets.token_hex(8))
    url = store.presigned_put(key, LIFETIME).replace("X-Amz-Signature=", "X-Amz-Signature=00")
    with pytest.raises(UploadFailed):
        stream_upload([b"%PDF-1.7"], {"max_bytes": 100, "part_size": PART_SIZE, "url": url})


def test_a_file_is_not_taken_as_clean_when_clamd_cannot_scan_it(store):
    data = samples.pdf()
    key = quarantine_key(secrets.token_hex(8))
    store.put(key, data, "application/octet-stream")
    unreachable = ClamdClient("127.0.0.1", free_port(), timeout=2)
    limits = Limits(max_file_bytes=10**6, max_case_bytes=10**7, max_pdf_pages=10, max_image_pixels=10**7)
    with pytest.raises(OSError):
        check_upload(store, unreachable, key, "doc-1", len(data), hashlib.sha256(data).hexdigest(), 10**6, limits)
    assert store.read(key) == data  # still in quarantine, for another try
