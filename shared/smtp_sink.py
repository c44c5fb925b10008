"""An SMTP server for development and tests that delivers nothing: every mail becomes one .eml file.

Run it as ``python -m shared.smtp_sink --host 127.0.0.1 --port 2525 --maildir run/mail``. File names sort
in arrival order. It logs one JSON line per mail with only its size and file name, because mails carry
addresses and may carry more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

# Large enough for mails with attachments; aiosmtpd's default is 32 MiB as well, but made explicit here.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024


class MaildirHandler:
    """aiosmtpd handler that writes each accepted message to its own file."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        name = store_message(self.maildir, content)
        log_event("mail_stored", size=len(content), file=name)
        return "250 Message accepted for delivery"


def store_message(maildir: Path, content: bytes) -> str:
    """Write ``content`` as a new .eml file in ``maildir``; returns the file name."""
    name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.eml"
    # Readers glob "*.eml": the rename makes a mail appear complete or not at all.
    partial = maildir / f".{name}.partial"
    partial.write_bytes(content)
    os.replace(partial, maildir / name)
    return name


def log_event(event: str, **fields: Any) -> None:
    """Print one JSON log line to stdout."""
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = {"timestamp": timestamp, "level": "INFO", "service": "smtp-sink", "message": event, **fields}
    print(json.dumps(line), flush=True)


async def serve(host: str, port: int, maildir: Path) -> None:
    """Accept mail on host:port until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
    # A fixed hostname: aiosmtpd's default asks DNS for the FQDN, which can stall startup for seconds.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp-sink.localhost", data_size_limit=MAX_MESSAGE_BYTES, enable_SMTPUTF8=True),
        host=host,
        port=port,
    )
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    log_event("smtp_sink_started", port=port)
    await stopping.wait()
    server.close()
    await server.wait_closed()
    log_event("smtp_sink_stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.smtp_sink", description="Keep every mail as an .eml file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--maildir", type=Path, required=True)
    arguments = parser.parse_args(argv)
    arguments.maildir.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(arguments.host, arguments.port, arguments.maildir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
