"""The documents service over real RPC, with real SeaweedFS, clamd, RabbitMQ and SQLite."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta

import pytest
import requests
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from services.documents.metadata import outbox
from services.documents.retention import clean_quarantine, prune_published_events
from services.documents.storage import PART_SIZE, quarantine_key
from services.documents.streaming import UploadRefused, stream_upload
from services.documents.tests import samples
from services.documents.tests.support import (
    CASES,
    MAX_FILE_BYTES,
    caseworker,
    chunks,
    citizen,
    events_of,
    upload,
)
from shared.envelope import IntegrationEvent
from shared.errors import InvalidInput, NotFound
from shared.messaging import EventPublisher
from shared.metrics import REGISTRY
from shared.sql import make_engine


def download(cluster, actor, document_id) -> bytes:
    link = cluster.documents.download_url(actor, document_id)
    answer = requests.get(link["url"], timeout=10)
    answer.raise_for_status()
    return answer.content


# -- accepted -------------------------------------------------------------------------------------


def test_a_pdf_is_accepted_with_its_sha256_and_leaves_quarantine(documents, rpc):
    data = samples.pdf(2)
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, data, "Arbeitsvertrag.pdf")
        stored = download(cluster, citizen(), document["document_id"])
    assert document["state"] == "accepted", document
    assert document["sha256"] == document["stored_sha256"] == hashlib.sha256(data).hexdigest()
    assert (document["content_type"], document["page_count"], document["scan_result"]) == (
        "application/pdf",
        2,
        "clean",
    )
    assert stored == data
    assert documents.keys_of(document["document_id"]) == [f"documents/{document['document_id']}"]


def test_a_jpeg_is_accepted_with_the_sha256_of_what_was_uploaded(documents, rpc):
    data = samples.jpeg()
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, data, "lohnabrechnung.jpeg", nachweis="lohnabrechnung")
        stored = download(cluster, citizen(), document["document_id"])
    assert document["state"] == "accepted", document
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    # The photo was re-encoded: what is kept has its own checksum, and the record says which.
    assert document["stored_sha256"] == hashlib.sha256(stored).hexdigest()
    assert document["content_type"] == "image/jpeg"
    assert document["quality_hints"] == []


def test_a_file_larger_than_one_part_goes_up_in_parts_and_is_accepted(documents, rpc):
    data = samples.large_pdf(PART_SIZE + 100_000)
    case_id = documents.new_case()
    with rpc() as cluster:
        # No declared size: the gateway gets part URLs and streams part after part.
        started = cluster.documents.start_upload(citizen(), case_id, "kontoauszug", "auszug.pdf", None)
        sent = stream_upload(chunks(data), started["target"])
        document = cluster.documents.complete_upload(citizen(), started["upload_id"], sent.size, sent.sha256)
        again = cluster.documents.complete_upload(citizen(), started["upload_id"], sent.size, sent.sha256)
        stored = download(cluster, citizen(), document["document_id"])
    assert len(started["target"]["part_urls"]) == 2 and "url" not in started["target"]
    assert (document["state"], document["size"]) == ("accepted", len(data))
    assert document["sha256"] == hashlib.sha256(data).hexdigest() == hashlib.sha256(stored).hexdigest()
    assert again == document


def test_the_events_of_an_accepted_upload_are_published(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
    published = events_of(document["document_id"], count=2)
    assert [kind for kind, _ in published] == ["document_uploaded", "document_accepted"]
    assert published[1][1] == {
        "document_id": document["document_id"],
        "case_id": case_id,
        "nachweis": "arbeitsvertrag",
        "content_type": "application/pdf",
        "quality_hints": [],
    }


# -- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["eicar.com", "rechnung.pdf"])
def test_the_eicar_file_is_refused_and_gone_from_storage(documents, rpc, name):
    case_id = documents.new_case()
    found_before = REGISTRY.get_sample_value("portal_virus_scans_total", {"result": "found"}) or 0
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.eicar(), name)
    assert (document["state"], document["reason_code"]) == ("rejected", "VIRUS_FOUND")
    assert REGISTRY.get_sample_value("portal_virus_scans_total", {"result": "found"}) == found_before + 1
    assert document["scan_result"] == "Eicar-Test-Signature.UNOFFICIAL"
    assert "Schadsoftware" in document["reason"]
    assert documents.keys_of(document["document_id"]) == []
    assert events_of(document["document_id"], count=2)[-1] == (
        "document_rejected",
        {"document_id": document["document_id"], "case_id": case_id, "nachweis": "arbeitsvertrag",
         "reason_code": "VIRUS_FOUND", "from_jobcenter": False, "owner_id": "owner-1"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        (samples.pdf_with_javascript, "vertrag.pdf", "PDF_ACTIVE_CONTENT"),
        (samples.encrypted_pdf, "kontoauszug.pdf", "PDF_ENCRYPTED"),
        (samples.damaged_pdf, "mietbescheinigung.pdf", "PDF_DAMAGED"),
        (samples.executable, "foto.jpg", "TYPE_NOT_ALLOWED"),
    ],
)
def test_a_hostile_or_broken_file_is_refused_with_a_reason(documents, rpc, make, name, reason):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, make(), name)
    assert (document["state"], document["reason_code"]) == ("rejected", reason)
    assert document["reason"]
    assert documents.keys_of(document["document_id"]) == []


def test_a_file_one_byte_over_the_limit_is_refused_while_streaming(documents, rpc):
    data = b"%PDF-1.7\n" + b"0" * (MAX_FILE_BYTES + 1 - 9)
    pulled = []

    def body():
        for chunk in chunks(data):
            pulled.append(len(chunk))
            yield chunk

    case_id = documents.new_case()
    with rpc() as cluster:
        # No declared size, as with a chunked request: the limit is enforced on the bytes themselves.
        started = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "gross.pdf", None)
        with pytest.raises(UploadRefused) as refused:
            stream_upload(body(), started["target"])
        document = cluster.documents.abort_upload(citizen(), started["upload_id"], "FILE_TOO_LARGE")
    assert (refused.value.code, refused.value.size) == ("FILE_TOO_LARGE", MAX_FILE_BYTES + 1)
    assert sum(pulled) == MAX_FILE_BYTES + 1  # nothing read past the first byte too many
    assert (document["state"], document["reason_code"]) == ("rejected", "FILE_TOO_LARGE")
    assert documents.keys_of(started["upload_id"]) == []


def test_a_declared_size_over_the_limit_is_refused_before_any_byte(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster, pytest.raises(InvalidInput) as refused:
        cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "gross.pdf", MAX_FILE_BYTES + 1)
    assert refused.value.code == "FILE_TOO_LARGE"


def test_a_size_or_checksum_other_than_claimed_is_refused(documents, rpc):
    data = samples.pdf()
    case_id = documents.new_case()
    with rpc() as cluster:
        started = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "a.pdf", len(data))
        streamed = stream_upload(chunks(data), started["target"])
        document = cluster.documents.complete_upload(citizen(), started["upload_id"], streamed.size, "0" * 64)
    assert (document["state"], document["reason_code"]) == ("rejected", "CHECKSUM_MISMATCH")


def test_a_filename_with_path_traversal_and_control_characters_is_only_shown_sanitised(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf(), "..\\..\\etc/pass\x00wd\u202e\n.pdf")
    assert document["state"] == "accepted"
    assert document["original_name"] == "pass wd.pdf"
    assert documents.keys_of(document["document_id"]) == [f"documents/{document['document_id']}"]


def test_an_upload_into_someone_elses_case_finds_no_case(documents, rpc):
    case_id = documents.new_case(owner="owner-1")
    with rpc() as cluster, pytest.raises(NotFound) as refused:
        cluster.documents.start_upload(citizen("owner-2"), case_id, "arbeitsvertrag", "a.pdf", 10)
    assert refused.value.code == "CASE_NOT_FOUND"


# -- photos ---------------------------------------------------------------------------------------


def test_exif_gps_is_removed_from_a_photo(documents, rpc):
    data = samples.jpeg(exif=samples.gps_exif())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the upload says where it was taken
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, data, "IMG_0001.JPG")
        stored = download(cluster, citizen(), document["document_id"])
    kept = Image.open(io.BytesIO(stored))
    assert document["state"] == "accepted"
    assert kept.getexif().get_ifd(0x8825) == {}
    assert dict(kept.getexif()) == {}
    assert b"Exif" not in stored and b"PhoneMaker" not in stored


def test_a_heic_photo_from_a_phone_is_kept_as_a_jpeg(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.heic(), "IMG_0042.HEIC")
        stored = download(cluster, citizen(), document["document_id"])
    assert (document["state"], document["content_type"], document["original_name"]) == (
        "accepted",
        "image/jpeg",
        "IMG_0042.jpg",
    )
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def test_a_blurred_photo_is_accepted_with_a_hint_to_take_it_again(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.jpeg(samples.blurred()), "unscharf.jpg")
    assert document["state"] == "accepted"
    assert [hint["code"] for hint in document["quality_hints"]] == ["PHOTO_BLURRED"]
    assert "unscharf" in document["quality_hints"][0]["message"]


def test_three_photos_become_one_pdf_in_their_order(documents, rpc):
    case_id = documents.new_case()
    shapes = [(1600, 1200), (1200, 1600), (1800, 1000)]
    with rpc() as cluster:
        photos = [
            upload(cluster, case_id, samples.jpeg(samples.document_photo(w, h, seed=i)), f"seite{i}.jpg")
            for i, (w, h) in enumerate(shapes, start=1)
        ]
        ids = [photo["document_id"] for photo in photos]
        merged = cluster.documents.merge_photos(citizen(), case_id, "lohnabrechnung", ids)
        pdf = download(cluster, citizen(), merged["document_id"])
        listed = cluster.documents.list_documents(citizen(), case_id)
    pages = PdfReader(io.BytesIO(pdf)).pages
    orientations = ["landscape" if page.mediabox.width > page.mediabox.height else "portrait" for page in pages]
    assert (merged["state"], merged["content_type"], merged["page_count"]) == ("accepted", "application/pdf", 3)
    assert orientations == ["landscape", "portrait", "landscape"]
    assert merged["original_name"] == "seite1.pdf"
    assert [document["document_id"] for document in listed] == [merged["document_id"]]
    assert all(documents.keys_of(photo_id) == [] for photo_id in ids)


# -- access ---------------------------------------------------------------------------------------


def test_a_stranger_and_another_jobcenters_caseworker_are_told_there_is_no_such_document(documents, rpc):
    case_id = documents.new_case()
    outsiders = [citizen("stranger"), caseworker("jc-other"), caseworker(None, account_id="stranger")]
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        with pytest.raises(NotFound) as missing:
            cluster.documents.download_url(citizen(), "00000000-0000-4000-8000-000000000000")
        for outsider in outsiders:
            for method in (cluster.documents.download_url, cluster.documents.get_document):
                with pytest.raises(NotFound) as refused:
                    method(outsider, document["document_id"])
                assert (refused.value.code, refused.value.message) == (missing.value.code, missing.value.message)


def test_a_staff_download_appears_in_the_access_record_and_the_owners_does_not(documents, rpc):
    case_id = documents.new_case()
    staff = caseworker(account_id="cw-download")
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        download(cluster, citizen(), document["document_id"])
        before = time.time()
        stored = download(cluster, staff, document["document_id"])
        record = cluster.documents.get_access_record(citizen(), document["document_id"])
        team_lead_view = cluster.documents.get_access_record(
            caseworker(role="team_lead", account_id="tl-1"), document["document_id"]
        )
        with pytest.raises(NotFound):
            cluster.documents.get_access_record(staff, document["document_id"])
    assert stored == samples.pdf() or hashlib.sha256(stored).hexdigest() == document["sha256"]
    assert [(entry["account_id"], entry["role"], entry["institution_id"], entry["action"]) for entry in record] == [
        ("cw-download", "caseworker", "jc-treptow-koepenick", "download")
    ]
    assert record[0]["at"] >= time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before - 60))
    assert team_lead_view == record


def test_staff_see_only_accepted_documents_of_their_jobcenters_cases_and_each_look_is_recorded(documents, rpc):
    case_id = documents.new_case()
    staff = caseworker(account_id="cw-list")
    with rpc() as cluster:
        accepted = upload(cluster, case_id, samples.pdf())
        upload(cluster, case_id, samples.eicar(), "virus.pdf")
        listed = cluster.documents.list_documents(staff, case_id)
        cluster.documents.get_document(staff, accepted["document_id"])
        record = cluster.documents.get_access_record(citizen(), accepted["document_id"])
        with pytest.raises(NotFound):
            cluster.documents.list_documents(caseworker("jc-other"), case_id)
    assert [document["document_id"] for document in listed] == [accepted["document_id"]]
    assert [entry["action"] for entry in record] == ["list", "metadata"]


def test_the_citizen_sees_the_jobcenters_upload_only_once_the_case_names_it_as_the_decisions_bescheid(documents, rpc):
    case_id = documents.new_case(status="in_progress")
    with rpc() as cluster:
        bescheid = upload(cluster, case_id, samples.pdf(), "Bescheid.pdf", caseworker(), "bescheid")
        before = cluster.documents.list_documents(citizen(), case_id)
        CASES[case_id] = {**CASES[case_id], "status": "decided", "bescheid_document_id": bescheid["document_id"]}
        after = cluster.documents.list_documents(citizen(), case_id)
    assert before == []
    assert [document["document_id"] for document in after] == [bescheid["document_id"]]


def test_a_download_link_lives_at_most_60_seconds(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        link = cluster.documents.download_url(citizen(), document["document_id"])
    assert link["expires_in"] <= 60
    assert "X-Amz-Expires=60" in link["url"]
    assert link["filename"] == "arbeitsvertrag.pdf"


def test_staff_access_is_logged_without_personal_data(documents, rpc, captured_logs):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf(), "Mustermann_Max_Lohn.pdf")
        cluster.documents.download_url(caseworker(), document["document_id"])
    assert captured_logs.named("document_accessed_by_staff")
    assert "Mustermann" not in captured_logs.text()


# -- retention ------------------------------------------------------------------------------------


def test_an_abandoned_quarantine_upload_is_removed_by_the_cleanup(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        # The gateway died after the first part: one part in the store, no complete_upload.
        abandoned = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "gross.pdf", None)
        requests.put(abandoned["target"]["part_urls"][0], data=b"%PDF-" + b"1" * 1000, timeout=10).raise_for_status()
        fresh = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "neu.pdf", None)
    # A quarantine object no row knows, as a crash between S3 and SQL would leave.
    documents.store.put(quarantine_key("orphan"), b"left over", "application/octet-stream")
    assert documents.keys_of(abandoned["upload_id"])

    engine = make_engine(documents.config["DATABASE_URL"])
    try:
        first = clean_quarantine(engine, documents.store, hours=24)  # nothing is old enough yet
        later = clean_quarantine(engine, documents.store, hours=24, now=_hours_from_now(25))
    finally:
        engine.dispose()
    with rpc() as cluster:
        documents_now = {d["document_id"]: d for d in cluster.documents.list_documents(citizen(), case_id)}
    assert (first.uploads, first.objects) == (0, 0)
    assert later.uploads >= 2 and later.objects >= 1
    assert documents.keys_of(abandoned["upload_id"]) == []
    assert documents.keys_of(fresh["upload_id"]) == []
    assert documents.keys_of("orphan") == []
    assert documents_now[abandoned["upload_id"]]["reason_code"] == "UPLOAD_ABANDONED"


def test_published_events_are_pruned_from_the_outbox_after_a_week(documents, rpc):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
    mine = select(outbox).where(outbox.c.aggregate_id == document["document_id"])
    engine = make_engine(documents.config["DATABASE_URL"])
    try:
        deadline = time.monotonic() + 10
        with engine.connect() as connection:  # the relay marks rows just after the broker took them
            while any(row.published_at is None for row in connection.execute(mine)) and time.monotonic() < deadline:
                connection.rollback()
                time.sleep(0.05)
        assert prune_published_events(engine) == 0
        assert prune_published_events(engine, now=_hours_from_now(8 * 24)) >= 2
        with engine.connect() as connection:
            left = connection.execute(mine).all()
    finally:
        engine.dispose()
    assert left == []


def test_the_documents_of_a_discarded_draft_are_deleted_once(documents, rpc, amqp_uri):
    case_id = documents.new_case(jobcenter_id=None, status="draft")
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        discarded = IntegrationEvent("case_draft_discarded", case_id, 7, {})
        with EventPublisher(amqp_uri, "submissions") as publisher:
            publisher.publish(discarded)
            publisher.publish(discarded)  # a redelivery
        deadline = time.monotonic() + 10
        while cluster.documents.list_documents(citizen(), case_id) and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(NotFound):
            cluster.documents.get_document(citizen(), document["document_id"])
    assert documents.keys_of(document["document_id"]) == []
    time.sleep(0.5)
    deleted = [kind for kind, _ in events_of(document["document_id"], count=3)]
    assert deleted.count("document_deleted") == 1


def test_an_erased_case_leaves_no_file_name_hash_or_scan_finding_of_its_documents(documents, rpc, amqp_uri):
    """Retention: what the citizen called a file and what it contained go with the file (#21)."""
    from sqlalchemy import select

    from services.documents.metadata import documents as table

    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        with EventPublisher(amqp_uri, "submissions") as publisher:
            publisher.publish(IntegrationEvent("case_erased", case_id, 11, {}))
        deadline = time.monotonic() + 10
        while cluster.documents.list_documents(citizen(), case_id) and time.monotonic() < deadline:
            time.sleep(0.1)
    engine = make_engine(documents.config["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            row = (
                connection.execute(select(table).where(table.c.document_id == document["document_id"])).mappings().one()
            )
    finally:
        engine.dispose()
    assert row["state"] == "deleted" and row["reason_code"] == "CASE_ERASED"
    assert (row["original_name"], row["sha256"], row["stored_sha256"], row["scan_result"]) == ("", None, None, None)
    assert documents.keys_of(document["document_id"]) == []


def test_a_withdrawn_case_keeps_its_accepted_documents(documents, rpc, amqp_uri):
    case_id = documents.new_case()
    with rpc() as cluster:
        document = upload(cluster, case_id, samples.pdf())
        pending = cluster.documents.start_upload(citizen(), case_id, "arbeitsvertrag", "spaeter.pdf", 100)
        with EventPublisher(amqp_uri, "submissions") as publisher:
            publisher.publish(IntegrationEvent("case_withdrawn", case_id, 9, {}))
        deadline = time.monotonic() + 10
        while len(cluster.documents.list_documents(citizen(), case_id)) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [d["document_id"] for d in cluster.documents.list_documents(citizen(), case_id)]
    assert left == [document["document_id"]]
    assert pending["upload_id"] not in left


def _hours_from_now(hours: int):
    from services.documents.metadata import now

    return now() + timedelta(hours=hours)
