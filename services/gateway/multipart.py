"""Reading a browser's multipart form upload as a stream: small fields first, then the file's chunks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from services.gateway.errors import Refused
from shared.errors import InvalidInput

READ_BYTES = 64 * 1024


@dataclass
class StreamedForm:
    fields: dict[str, str]
    filename: str
    chunks: Iterator[bytes]


def open_upload_form(stream: IO[bytes], boundary: str | None, field_limit: int) -> StreamedForm:
    """The fields before the first file and an iterator over that file's bytes, read as they arrive.

    The page's form puts its small fields before the file input, so nothing but one chunk of the
    file is ever held. Raises InvalidInput ``FILE_REQUIRED`` when the form carries no file.
    """
    if not boundary:
        raise InvalidInput("BODY_INVALID", "Bitte wählen Sie eine Datei aus.")
    # Field sizes are counted below; the decoder itself only ever holds the chunk being parsed.
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    read = stream.read

    def events() -> Iterator[object]:
        ended = False
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                if ended:  # the body ended before the form did
                    return
                chunk = read(READ_BYTES)
                ended = not chunk
                decoder.receive_data(chunk or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    flow = events()
    fields: dict[str, str] = {}
    name, value, size = "", bytearray(), 0
    for event in flow:
        if isinstance(event, File):
            return StreamedForm(fields, event.filename or "upload", _file_chunks(flow))
        if isinstance(event, Field):
            name, value = event.name, bytearray()
        elif isinstance(event, Data):
            value += event.data
            size += len(event.data)
            if size > field_limit:
                raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
            if not event.more_data:
                fields[name] = value.decode("utf-8", errors="replace")
    raise InvalidInput("FILE_REQUIRED", "Bitte wählen Sie eine Datei aus.", {"field": "datei"})


def _file_chunks(flow: Iterator[object]) -> Iterator[bytes]:
    for event in flow:
        if isinstance(event, Data):
            if event.data:
                yield bytes(event.data)
            if not event.more_data:
                return
