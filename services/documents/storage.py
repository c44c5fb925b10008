"""The documents' objects in S3: quarantine and accepted keys, presigned URLs, multipart uploads.

Keys are random ids, never anything a citizen typed: ``quarantine/<upload id>`` while a file is
unchecked, ``documents/<document id>`` once it is accepted. Only this service holds S3 credentials;
the gateway gets presigned URLs that are valid for one object and a few minutes.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from minio import Minio
from minio.commonconfig import CopySource
from minio.datatypes import Part
from minio.error import S3Error

from shared.s3 import ObjectStore

QUARANTINE_PREFIX = "quarantine/"
ACCEPTED_PREFIX = "documents/"
# S3 wants at least 5 MiB in every part but the last; 8 MiB keeps the streamer's buffer small.
PART_SIZE = 8 * 1024 * 1024
READ_CHUNK = 256 * 1024
_MISSING = ("NoSuchKey", "NoSuchUpload", "NoSuchObject")


def quarantine_key(upload_id: str) -> str:
    return f"{QUARANTINE_PREFIX}{upload_id}"


def accepted_key(document_id: str) -> str:
    return f"{ACCEPTED_PREFIX}{document_id}"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime | None


class DocumentStore:
    """What the documents service does with its bucket, in its own words."""

    def __init__(self, client: Minio, bucket: str, ensure_bucket: Any = None) -> None:
        self.client = client
        self.bucket = bucket
        self._ensure_bucket = ensure_bucket

    def ready(self) -> None:
        if self._ensure_bucket is not None:
            self._ensure_bucket()

    # -- uploads ----------------------------------------------------------------------------------

    def presigned_put(self, key: str, valid_for: timedelta) -> str:
        self.ready()
        return self.client.presigned_put_object(self.bucket, key, expires=valid_for)

    def start_multipart(self, key: str) -> str:
        """Begin a multipart upload; returns its S3 upload id."""
        self.ready()
        return self.client._create_multipart_upload(self.bucket, key, {"Content-Type": "application/octet-stream"})

    def presigned_part_urls(self, key: str, multipart_id: str, parts: int, valid_for: timedelta) -> list[str]:
        return [
            self.client.get_presigned_url(
                "PUT",
                self.bucket,
                key,
                expires=valid_for,
                extra_query_params={"partNumber": str(number), "uploadId": multipart_id},
            )
            for number in range(1, parts + 1)
        ]

    def presigned_abort_url(self, key: str, multipart_id: str, valid_for: timedelta) -> str:
        return self.client.get_presigned_url(
            "DELETE", self.bucket, key, expires=valid_for, extra_query_params={"uploadId": multipart_id}
        )

    def complete_multipart(self, key: str, multipart_id: str) -> int:
        """Join the parts the streamer uploaded, in part-number order; returns how many there were."""
        parts: list[Part] = []
        marker: str | None = None
        while True:
            listing = self.client._list_parts(self.bucket, key, multipart_id, part_number_marker=marker)
            parts.extend(listing.parts)
            if not listing.is_truncated:
                break
            marker = str(listing.next_part_number_marker)
        if not parts:
            return 0
        parts.sort(key=lambda part: part.part_number)
        self.client._complete_multipart_upload(
            self.bucket, key, multipart_id, [Part(part.part_number, part.etag) for part in parts]
        )
        return len(parts)

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        """Drop an unfinished multipart upload and its parts; nothing happens when it is gone already."""
        try:
            self.client._abort_multipart_upload(self.bucket, key, multipart_id)
        except S3Error as error:
            if error.code not in _MISSING:
                raise

    def unfinished_multipart_uploads(self, prefix: str = QUARANTINE_PREFIX) -> list[tuple[str, str, datetime | None]]:
        """``(key, upload id, initiated)`` of every multipart upload under ``prefix`` not yet completed."""
        found: list[tuple[str, str, datetime | None]] = []
        key_marker: str | None = None
        upload_marker: str | None = None
        while True:
            listing = self.client._list_multipart_uploads(
                self.bucket, prefix=prefix, key_marker=key_marker, upload_id_marker=upload_marker
            )
            found.extend(
                (str(upload.object_name), str(upload.upload_id), upload.initiated_time) for upload in listing.uploads
            )
            if not listing.is_truncated:
                return found
            key_marker, upload_marker = listing.next_key_marker, listing.next_upload_id_marker

    # -- objects ----------------------------------------------------------------------------------

    def size_of(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        try:
            stat = self.client.stat_object(self.bucket, key)
        except S3Error as error:
            if error.code in _MISSING:
                return None
            raise
        return int(stat.size or 0)

    def chunks(self, key: str, chunk_size: int = READ_CHUNK) -> Iterator[bytes]:
        """The object's bytes in order, never more than one chunk in memory."""
        response = self.client.get_object(self.bucket, key)
        try:
            yield from response.stream(chunk_size)
        finally:
            response.close()
            response.release_conn()

    def read(self, key: str) -> bytes:
        """The whole object; only for objects the service made small (re-encoded photos)."""
        return b"".join(self.chunks(key))

    def open(self, key: str, size: int) -> io.BufferedReader:
        """A seekable file over the object that fetches only the ranges a parser asks for."""
        return io.BufferedReader(RangeReader(self, key, size), buffer_size=64 * 1024)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.ready()
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def move(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target`` inside the bucket, then remove ``source``."""
        self.client.copy_object(self.bucket, target, CopySource(self.bucket, source))
        self.remove(source)

    def remove(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, key)
        except S3Error as error:
            if error.code not in _MISSING:
                raise

    def objects(self, prefix: str) -> list[StoredObject]:
        self.ready()
        return [
            StoredObject(str(item.object_name), int(item.size or 0), item.last_modified)
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        ]

    def presigned_get(self, key: str, valid_for: timedelta, filename: str, content_type: str) -> str:
        headers: dict[str, str | list[str] | tuple[str]] = {
            "response-content-disposition": content_disposition(filename),
            "response-content-type": content_type,
        }
        return self.client.presigned_get_object(self.bucket, key, expires=valid_for, response_headers=headers)


def content_disposition(filename: str) -> str:
    """An attachment header for a display name: ASCII fallback plus the UTF-8 name (RFC 6266)."""
    from urllib.parse import quote

    fallback = filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


class RangeReader(io.RawIOBase):
    """A read-only, seekable view of one S3 object through ranged GETs (for pypdf and Pillow).

    Parsers jump around (a PDF is read from its end, then object by object), so whole blocks are
    fetched and the last few kept: memory stays at ``BLOCK_SIZE * CACHED_BLOCKS`` whatever the size.
    """

    BLOCK_SIZE = 1024 * 1024
    CACHED_BLOCKS = 8

    def __init__(self, store: DocumentStore, key: str, size: int) -> None:
        self.store = store
        self.key = key
        self.size = size
        self.position = 0
        self.blocks: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.size - self.position)
        if wanted <= 0:
            return 0
        index, start = divmod(self.position, self.BLOCK_SIZE)
        block = self._block(index)
        data = block[start : start + wanted]
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def _block(self, index: int) -> bytes:
        block = self.blocks.get(index)
        if block is not None:
            self.blocks.move_to_end(index)
            return block
        offset = index * self.BLOCK_SIZE
        response = self.store.client.get_object(
            self.store.bucket, self.key, offset=offset, length=min(self.BLOCK_SIZE, self.size - offset)
        )
        try:
            block = response.read()
        finally:
            response.close()
            response.release_conn()
        self.blocks[index] = block
        if len(self.blocks) > self.CACHED_BLOCKS:
            self.blocks.popitem(last=False)
        return block


class DocumentObjects(ObjectStore):
    """The service's bucket as a :class:`DocumentStore`."""

    def setup(self) -> None:
        super().setup()
        self.store = DocumentStore(self.client, self.bucket, self.ensure_bucket)

    def get_dependency(self, worker_ctx: Any) -> DocumentStore:  # type: ignore[override]
        return self.store
