"""From quarantine to accepted or rejected: the checks a file passes before anyone may read it.

Order matters: size first (cheap), then one pass over the object that hashes it and feeds clamd,
then the type by its bytes, then the checks of that type. A refused file is deleted at once.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.documents import checks
from services.documents.domainmodel import Refused, Rejection
from services.documents.storage import DocumentStore, accepted_key
from shared.clamd import ClamdClient
from shared.metrics import SCANS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_case_bytes: int
    max_pdf_pages: int
    max_image_pixels: int


@dataclass
class Verdict:
    """What the checks found; ``reason`` is None for an accepted file."""

    reason: Rejection | None = None
    size: int | None = None
    sha256: str | None = None
    scan_result: str | None = None
    content_type: str | None = None
    stored_key: str | None = None
    stored_size: int | None = None
    stored_sha256: str | None = None
    page_count: int | None = None
    width: int | None = None
    height: int | None = None
    hints: list[str] = field(default_factory=list)


# A file up to this size is kept in memory while it streams to clamd, so that its parser reads it
# from there instead of through ranged GETs (a scanned payslip is 100-500 KB; most uploads are small).
KEEP_IN_MEMORY_BYTES = 2 * 1024 * 1024


class _Tee:
    """Passes an object's chunks on to clamd while hashing them and keeping the first bytes.

    A file of up to ``keep`` bytes is kept whole (``content``), one larger only its head.
    """

    def __init__(self, chunks: Iterator[bytes], keep: int) -> None:
        self.chunks = chunks
        self.keep = keep
        self.digest = hashlib.sha256()
        self.head = b""
        self.kept: list[bytes] | None = []
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.digest.update(chunk)
            self.size += len(chunk)
            if len(self.head) < checks.SNIFF_BYTES:
                self.head += chunk[: checks.SNIFF_BYTES - len(self.head)]
            if self.kept is not None and self.size <= self.keep:
                self.kept.append(chunk)
            else:
                self.kept = None
            yield chunk

    @property
    def content(self) -> bytes | None:
        """The whole file, when it was small enough to keep."""
        return b"".join(self.kept) if self.kept is not None else None


def check_upload(
    store: DocumentStore,
    scanner: ClamdClient,
    key: str,
    document_id: str,
    claimed_size: int,
    claimed_sha256: str,
    max_bytes: int,
    limits: Limits,
) -> Verdict:
    """Check the quarantined object ``key``; accepted files end under their document key.

    Raises ClamdError (and S3 errors) when a check could not be made: the object then stays in
    quarantine for another try, and is never taken as clean.
    """
    verdict = Verdict()
    try:
        _check(store, scanner, key, document_id, claimed_size, claimed_sha256, max_bytes, limits, verdict)
    except Refused as refused:
        store.remove(key)
        verdict.reason = refused.reason
        verdict.scan_result = refused.scan_result or verdict.scan_result
        log.info("document_rejected", extra={"document_id": document_id, "code": refused.reason.value})
    return verdict


def _check(
    store: DocumentStore,
    scanner: ClamdClient,
    key: str,
    document_id: str,
    claimed_size: int,
    claimed_sha256: str,
    max_bytes: int,
    limits: Limits,
    verdict: Verdict,
) -> None:
    size = store.size_of(key)
    if size is None:
        raise Refused(Rejection.SIZE_MISMATCH)
    verdict.size = size
    if size > max_bytes:
        raise Refused(Rejection.FILE_TOO_LARGE)
    if size != claimed_size:
        raise Refused(Rejection.SIZE_MISMATCH)
    if size == 0:
        raise Refused(Rejection.EMPTY_FILE)

    tee = _Tee(store.chunks(key), keep=KEEP_IN_MEMORY_BYTES if size <= KEEP_IN_MEMORY_BYTES else 0)
    try:
        signature = scanner.scan(tee)
    except Exception:
        SCANS.labels("failed").inc()
        raise
    SCANS.labels("clean" if signature is None else "found").inc()
    if signature is not None:
        raise Refused(Rejection.VIRUS_FOUND, scan_result=signature)
    verdict.scan_result = "clean"
    verdict.sha256 = tee.digest.hexdigest()
    if tee.size != size or verdict.sha256 != str(claimed_sha256).lower():
        raise Refused(Rejection.CHECKSUM_MISMATCH)

    content_type = checks.sniff(tee.head)
    if content_type is None:
        raise Refused(Rejection.TYPE_NOT_ALLOWED)
    target = accepted_key(document_id)
    kept = tee.content
    if content_type == checks.PDF:
        with io.BytesIO(kept) if kept is not None else store.open(key, size) as file:
            verdict.page_count = checks.check_pdf(file, limits.max_pdf_pages)
        store.move(key, target)
        verdict.content_type, verdict.stored_size, verdict.stored_sha256 = checks.PDF, size, verdict.sha256
    else:
        with io.BytesIO(kept) if kept is not None else store.open(key, size) as file:
            image = checks.clean_image(file, content_type, limits.max_image_pixels)
        store.put(target, image.data, image.content_type)
        store.remove(key)
        verdict.content_type = image.content_type
        verdict.stored_size = len(image.data)
        verdict.stored_sha256 = hashlib.sha256(image.data).hexdigest()
        verdict.width, verdict.height, verdict.hints = image.width, image.height, image.hints
    verdict.stored_key = target
