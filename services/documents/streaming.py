"""Streaming an upload into the presigned target that ``documents.start_upload`` handed out.

The gateway calls :func:`stream_upload` with the request body as an iterator of chunks. It holds
at most the parts in flight and the one being read (3 × 8 MiB), computes SHA-256 on the way, and
stops at the first byte over the limit: nothing of an oversized file stays in the store. It needs
no S3 credentials, only the URLs of the target.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

TIMEOUT_SECONDS = (5, 120)
# Parts in flight at once: one sending while the next is read is enough to keep the link busy.
PARALLEL_PARTS = 2


class UploadRefused(Exception):
    """The upload was stopped and what had been sent was removed; ``code`` says why."""

    def __init__(self, code: str, size: int) -> None:
        super().__init__(code)
        self.code = code
        self.size = size


class UploadFailed(Exception):
    """The object store did not take a part; the caller may start a new upload."""


@dataclass(frozen=True)
class StreamedUpload:
    size: int
    sha256: str


def stream_upload(
    chunks: Iterable[bytes],
    target: dict[str, Any],
    limit: int | None = None,
    session: requests.Session | None = None,
    parallel_parts: int = PARALLEL_PARTS,
) -> StreamedUpload:
    """Send ``chunks`` to ``target``; returns the size and SHA-256 of what was sent.

    ``target`` is what ``start_upload`` returned under ``target``: either ``{"url"}`` for one PUT or
    ``{"part_urls", "part_size", "abort_url"}`` for a multipart upload, whose parts go up while the
    next is read (at most ``parallel_parts`` at a time). Raises UploadRefused with ``FILE_TOO_LARGE``
    at ``limit + 1`` bytes (default: the target's ``max_bytes``) after removing the parts already
    sent, and UploadFailed when the store refuses a part; any other failure of ``chunks`` (the
    client went away) also removes the parts before it is raised again.
    """
    maximum = int(target["max_bytes"] if limit is None else limit)
    part_urls: list[str] = list(target.get("part_urls") or [])
    part_size = int(target.get("part_size") or 0)
    # S3 needs each PUT's length before it starts, so one part at a time is buffered; start_upload
    # hands out a single URL only for files declared no larger than one part.
    buffer_limit = min(part_size, maximum) if part_size else maximum
    http = session or requests.Session()
    sender = _PartSender(http, max(1, parallel_parts))
    digest = hashlib.sha256()
    pending: list[bytes] = []
    buffered = 0
    size = 0
    try:
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > maximum:
                raise UploadRefused("FILE_TOO_LARGE", size)
            digest.update(chunk)
            if not part_urls:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered > buffer_limit:
                    raise UploadRefused("FILE_LARGER_THAN_DECLARED", size)
                continue
            # A chunk that crosses a part boundary is split there, so each part is joined once.
            while chunk:
                room = buffer_limit - buffered
                pending.append(chunk[:room])
                buffered += min(room, len(chunk))
                chunk = chunk[room:]
                if buffered == buffer_limit:
                    if sender.sent >= len(part_urls):
                        raise UploadRefused("FILE_TOO_LARGE", size)
                    sender.put(part_urls[sender.sent], b"".join(pending))
                    pending, buffered = [], 0
        if part_urls:
            if pending or sender.sent == 0:
                if sender.sent >= len(part_urls):
                    raise UploadRefused("FILE_TOO_LARGE", size)
                sender.put(part_urls[sender.sent], b"".join(pending))
        else:
            sender.put(str(target["url"]), b"".join(pending))
        pending = []
        sender.finish()
    except (requests.RequestException, UploadFailed) as problem:
        sender.cancel()
        _abort(http, target)
        raise UploadFailed(str(problem)) from problem
    except BaseException:
        # Refused, or the source broke off (the client went away): leave no parts behind.
        sender.cancel()
        _abort(http, target)
        raise
    finally:
        if session is None:
            http.close()
    return StreamedUpload(size=size, sha256=digest.hexdigest())


class _PartSender:
    """PUTs parts in the background, at most ``parallel`` at once, so reading goes on meanwhile."""

    def __init__(self, http: requests.Session, parallel: int) -> None:
        self.http = http
        self.parallel = parallel
        self.pool = ThreadPoolExecutor(max_workers=parallel)
        self.in_flight: deque[Future[None]] = deque()
        self.sent = 0

    def put(self, url: str, body: bytes) -> None:
        while len(self.in_flight) >= self.parallel:
            self.in_flight.popleft().result()
        self.in_flight.append(self.pool.submit(_put, self.http, url, body))
        self.sent += 1

    def finish(self) -> None:
        while self.in_flight:
            self.in_flight.popleft().result()
        self.pool.shutdown()

    def cancel(self) -> None:
        for future in self.in_flight:
            future.cancel()
        # Parts still being sent finish before the abort, or they could outlive it.
        for future in self.in_flight:
            if not future.cancelled():
                future.exception()
        self.in_flight.clear()
        self.pool.shutdown()


def _put(http: requests.Session, url: str, body: bytes) -> None:
    answer = http.put(url, data=body, headers={"Content-Length": str(len(body))}, timeout=TIMEOUT_SECONDS)
    if answer.status_code >= 300:
        raise UploadFailed(f"the store answered {answer.status_code}")


def _abort(http: requests.Session, target: dict[str, Any]) -> None:
    """Best effort: the service's abort_upload and the quarantine cleanup remove leftovers too."""
    url = target.get("abort_url")
    if not url:
        return
    try:
        http.delete(str(url), timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        pass
