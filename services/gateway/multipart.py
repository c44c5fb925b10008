"""Reading a browser's multipart form upload as a stream: small fields first, then the files' chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from services.gateway.errors import Refused
from shared.errors import InvalidInput

READ_BYTES = 64 * 1024


@dataclass
class StreamedFile:
    filename: str
    chunks: Iterator[bytes]
    chosen: bool = True  # False for the empty part a browser sends when no file was chosen


@dataclass
class StreamedForm:
    """The fields before the first file, that file (``filename``, ``chunks``) and ``files``: every chosen file.

    ``files`` yields the files one after the other as they arrive; asking for the next one reads past
    whatever the caller left of the one before. Fields between or after the files land in ``fields``.
    """

    fields: dict[str, str]
    filename: str
    chunks: Iterator[bytes]
    files: Iterator[StreamedFile]


def open_upload_form(stream: IO[bytes], boundary: str | None, field_limit: int) -> StreamedForm:
    """The fields before the first file and iterators over the files' bytes, read as they arrive.

    The page's form puts its small fields before the file input, so nothing but one chunk of a
    file is ever held. Raises InvalidInput ``FILE_REQUIRED`` when the form carries no file part.
    """
    if not boundary:
        raise InvalidInput("BODY_INVALID", "Bitte wählen Sie eine Datei aus.")
    reader = _FormReader(stream, boundary, field_limit)
    first = reader.next_file()
    if first is None:
        raise InvalidInput("FILE_REQUIRED", "Bitte wählen Sie eine Datei aus.", {"field": "datei"})
    return StreamedForm(reader.fields, first.filename, first.chunks, reader.files(first))


class _FormReader:
    """The decoder's events in order; fields are collected (within the limit), files handed out one at a time."""

    def __init__(self, stream: IO[bytes], boundary: str, field_limit: int) -> None:
        # Field sizes are counted here; the decoder itself only ever holds the chunk being parsed.
        self.decoder = MultipartDecoder(boundary.encode("latin-1"))
        self.read = stream.read
        self.field_limit = field_limit
        self.field_bytes = 0
        self.fields: dict[str, str] = {}
        self.flow = self._events()

    def _events(self) -> Iterator[object]:
        ended = False
        while True:
            event = self.decoder.next_event()
            if isinstance(event, NeedData):
                if ended:  # the body ended before the form did
                    return
                chunk = self.read(READ_BYTES)
                ended = not chunk
                self.decoder.receive_data(chunk or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def next_file(self) -> StreamedFile | None:
        """The next file part, after reading the fields before it; None at the end of the form."""
        name, value = "", bytearray()
        for event in self.flow:
            if isinstance(event, File):
                return StreamedFile(event.filename or "upload", self._file_chunks(), chosen=bool(event.filename))
            if isinstance(event, Field):
                name, value = event.name, bytearray()
            elif isinstance(event, Data):
                value += event.data
                self.field_bytes += len(event.data)
                if self.field_bytes > self.field_limit:
                    raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
                if not event.more_data:
                    self.fields[name] = value.decode("utf-8", errors="replace")
        return None

    def files(self, first: StreamedFile) -> Iterator[StreamedFile]:
        current: StreamedFile | None = first
        while current is not None:
            if current.chosen:
                yield current
            for _ in current.chunks:  # whatever the caller left of this file
                pass
            current = self.next_file()

    def _file_chunks(self) -> Iterator[bytes]:
        for event in self.flow:
            if isinstance(event, Data):
                if event.data:
                    yield bytes(event.data)
                if not event.more_data:
                    return
