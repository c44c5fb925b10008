"""A small clamd client (PING and INSTREAM over TCP) and the dependency that gives it to a service."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

from nameko.extensions import DependencyProvider

CHUNK_SIZE = 64 * 1024


class ClamdError(Exception):
    """clamd did not answer as the protocol says."""


class ClamdClient:
    """Talks to one clamd over TCP; each call opens its own connection."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def ping(self) -> None:
        """Raises unless clamd answers PONG."""
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as connection:
            connection.sendall(b"zPING\0")
            reply = _read_reply(connection)
        if reply != "PONG":
            raise ClamdError(f"unexpected reply to PING: {reply!r}")

    def scan(self, chunks: Iterable[bytes]) -> str | None:
        """Stream ``chunks`` to clamd; returns the signature name found, or None when clean.

        Raises ClamdError when clamd could not scan (e.g. the stream exceeds its size limit), so a
        file is never taken as clean because the scan failed.
        """
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as connection:
            try:
                connection.sendall(b"zINSTREAM\0")
                for chunk in chunks:
                    for start in range(0, len(chunk), CHUNK_SIZE):
                        piece = chunk[start : start + CHUNK_SIZE]
                        connection.sendall(struct.pack("!L", len(piece)) + piece)
                connection.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd hangs up mid-stream when a limit is hit, after writing why
            reply = _read_reply(connection)
        if reply.endswith(" FOUND"):
            return reply.removeprefix("stream: ").removesuffix(" FOUND")
        if reply == "stream: OK":
            return None
        raise ClamdError(f"scan failed: {reply!r}")


def _read_reply(connection: socket.socket) -> str:
    data = bytearray()
    while not data.endswith(b"\0"):
        try:
            chunk = connection.recv(4096)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data.extend(chunk)
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


class Clamd(DependencyProvider):
    """clamd from the ``CLAMD`` section of the config."""

    health_name = "clamd"

    def setup(self) -> None:
        settings = self.container.config["CLAMD"]
        self.client = ClamdClient(str(settings["HOST"]), int(settings["PORT"]))

    def get_dependency(self, worker_ctx: Any) -> ClamdClient:
        return self.client

    def check_health(self) -> None:
        self.client.ping()
