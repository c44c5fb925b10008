"""Pytest plugin: one session-wide fixture per real server, started only when a test asks for it.

Load it with ``pytest_plugins = ["shared.testing.fixtures"]`` in the root conftest. Each test session gets
its own RabbitMQ vhost and PostgreSQL database on the machine's servers (both named ``jc_test_<hex>``,
removed at the end) and its own SeaweedFS, clamd and SMTP sink processes in temporary directories.
"""

from __future__ import annotations

import email.policy
import os
import secrets
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import cast

import pytest

from shared import servers


def pytest_configure(config: pytest.Config) -> None:
    # psycopg fixes its wait function when first imported, which may happen while collecting any test
    # module; services tested in-process under eventlet need the select-based one (DESIGN.md, Known traps).
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    # Services in the test process talk to the broker as in production: exchanges looked up, never
    # declared; every RPC request names its caller, and each service answers only the callers it may.
    from shared.messaging import identify_rpc_callers, look_up_exchanges_only

    look_up_exchanges_only()
    identify_rpc_callers()


def _test_name() -> str:
    return f"jc_test_{secrets.token_hex(6)}"


def fresh_vhost() -> Iterator[str]:
    """A new vhost on the local RabbitMQ, deleted with its queues afterwards; yields its AMQP URI."""
    servers.ensure_rabbitmq()
    name = _test_name()
    uri = servers.create_rabbit_vhost(name)
    yield uri
    servers.delete_rabbit_vhost(name)


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    """AMQP URI of a fresh vhost on the local RabbitMQ, shared by the session's service tests.

    Tests that start the whole system take a vhost of their own (``tests/e2e``, ``tests/reliability``):
    the durable queues of this one still hold events other tests published, which would reach that
    system's services and keep them busy.
    """
    yield from fresh_vhost()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty database on the local PostgreSQL."""
    servers.ensure_postgres()
    name = _test_name()
    url = servers.create_postgres_database(name)
    yield url
    servers.drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test: an SQLite file (the embedded default), then PostgreSQL.

    Tests of event stores and read models take it to run the same scenario on both.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/store.sqlite"
        return
    request.getfixturevalue("postgres_url")  # the server runs, and the session's database is cleaned up
    name = _test_name()
    yield servers.create_postgres_database(name)
    servers.drop_postgres_database(name)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.RunningServer]:
    """A SeaweedFS with S3 for this session."""
    server = servers.start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_settings(seaweedfs: servers.RunningServer) -> dict[str, str]:
    """The S3_* environment variables that point at the session's SeaweedFS."""
    return dict(seaweedfs.settings)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.RunningServer]:
    """A clamd for this session that knows only the EICAR test signature."""
    server = servers.start_clamd(tmp_path_factory.mktemp("clamd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_maildir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory where the session's SMTP sink keeps received mails."""
    return tmp_path_factory.mktemp("smtp") / "maildir"


@pytest.fixture(scope="session")
def smtp_sink(smtp_maildir: Path) -> Iterator[servers.RunningServer]:
    """An SMTP server for this session that keeps every mail in ``smtp_maildir``."""
    server = servers.start_smtp_sink(smtp_maildir, log_path=smtp_maildir.parent / "smtp-sink.log")
    yield server
    server.stop()


class Mailbox:
    """The mails the SMTP sink received, oldest first."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=email.policy.default)
        return [cast(EmailMessage, parser.parsebytes(path.read_bytes())) for path in self._files()]

    def clear(self) -> None:
        for path in self._files():
            path.unlink(missing_ok=True)

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        """The mails once at least ``count`` arrived; AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self._files()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mail(s) within {timeout} s, got {len(self._files())}")
            time.sleep(0.05)
        return self.messages()

    def _files(self) -> list[Path]:
        # File names start with the arrival time in nanoseconds, so name order is arrival order.
        return sorted(self.maildir.glob("*.eml"))


@pytest.fixture
def mailbox(smtp_sink: servers.RunningServer, smtp_maildir: Path) -> Mailbox:
    """The SMTP sink's mailbox, emptied before the test so it holds only this test's mails."""
    box = Mailbox(smtp_maildir)
    # Emptied before, not after, so the mails of a failed test stay there to be read.
    box.clear()
    return box
