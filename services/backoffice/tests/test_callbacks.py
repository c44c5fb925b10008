"""Callbacks to a Jobcenter's system: signed, retried with backoff, given up; the receiver's verification."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from services.backoffice import cli
from services.backoffice.callbacks import CALLBACKS_SENT, CallbackSender, case_available_body, schedule
from services.backoffice.cli import open_clients
from services.backoffice.clients import Clients, Settings, check_callback_url
from services.backoffice.schema import callbacks, metadata
from services.backoffice.tests.conftest import Office, wait_until
from services.backoffice.verify import CallbackRefused, callback_signature, verify_callback
from shared.errors import InvalidInput
from shared.servers import free_port
from shared.sql import ServiceDatabase, make_engine, migrate, migrations_of, processed_events_table


class Receiver:
    """A Jobcenter's callback endpoint on 127.0.0.1: answers the statuses it is given, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/portal-callback"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    started: list[Receiver] = []

    def start(statuses: list[int]) -> Receiver:
        receiver = Receiver(statuses)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def test_a_new_case_is_called_back_signed_and_retried_after_a_500(office: Office, receiver_factory: Any) -> None:
    receiver = receiver_factory([500])
    client = office.create_client(callback_url=receiver.url)
    token = office.token(client)
    case_id = office.submitted_case()
    office.available(token, case_id)

    wait_until(lambda: len(receiver.received) >= 2)
    (first_headers, first_body), (headers, body) = receiver.received[:2]
    assert body == first_body  # the same callback, tried again
    assert int(headers["Callback-Timestamp"]) >= int(first_headers["Callback-Timestamp"])
    payload = verify_callback(headers, body, client["callback_secret"])
    assert payload == {"type": "case_available", "case_id": case_id, "jobcenter_id": "jc-0394"}
    with pytest.raises(CallbackRefused):
        verify_callback(headers, body, "ein-anderes-geheimnis")
    time.sleep(0.5)  # the delivered callback is not sent a third time
    assert len(receiver.received) == 2


def test_a_callback_is_given_up_after_the_configured_attempts(office: Office, receiver_factory: Any) -> None:
    receiver = receiver_factory([500, 502, 503, 500, 500])
    client = office.create_client(callback_url=receiver.url)
    token = office.token(client)
    failed_before = CALLBACKS_SENT.labels("failed")._value.get()
    case_id = office.submitted_case()
    office.available(token, case_id)

    with open_clients(office.config) as clients:

        def state() -> str | None:
            with clients.db.transaction() as session:
                return session.execute(
                    select(callbacks.c.state).where(callbacks.c.client_id == client["client_id"])
                ).scalar()

        wait_until(lambda: state() == "failed")
    assert len(receiver.received) == 3  # BACKOFFICE_CALLBACK_MAX_ATTEMPTS in the office fixture
    assert CALLBACKS_SENT.labels("failed")._value.get() == failed_before + 1


def test_a_replayed_old_callback_is_refused_by_the_receivers_helper() -> None:
    body = json.dumps({"type": "case_available", "case_id": "c-1", "jobcenter_id": "jc-0394"}).encode()
    sent = 1_790_000_000
    headers = {
        "Callback-Timestamp": str(sent),
        "Callback-Authentication": callback_signature("geheim", str(sent), body),
    }
    assert verify_callback(headers, body, "geheim", now=sent + 299)["case_id"] == "c-1"
    with pytest.raises(CallbackRefused, match="too old"):
        verify_callback(headers, body, "geheim", now=sent + 301)
    with pytest.raises(CallbackRefused, match="future"):
        verify_callback(headers, body, "geheim", now=sent - 60)
    with pytest.raises(CallbackRefused, match="signature"):
        verify_callback({**headers, "Callback-Timestamp": str(sent + 100)}, body, "geheim", now=sent + 100)
    with pytest.raises(CallbackRefused, match="signature"):
        verify_callback(headers, body.replace(b"c-1", b"c-2"), "geheim", now=sent)


def test_production_accepts_only_https_callback_urls(tmp_path: Any, backoffice_signing_key: str) -> None:
    assert check_callback_url("https://efile.jc-0394.example/callback", allow_http=False)
    for url in (
        "http://efile.example/callback",
        "ftp://efile.example/",
        "https://user:pw@efile.example/",
        "https:///x",
    ):
        with pytest.raises(InvalidInput):
            check_callback_url(url, allow_http=False)
    config = {
        "SIGNING_KEY": backoffice_signing_key,
        "TOKEN_SECONDS": 600,
        "PAGE_SIZE": 50,
        "CALLBACKS": {"ALLOW_HTTP": False, "MAX_ATTEMPTS": 3, "BACKOFF_SECONDS": 30, "TIMEOUT_SECONDS": 5},
    }
    engine = make_engine(f"sqlite:///{tmp_path}/backoffice.sqlite")
    migrate(engine, migrations_of("backoffice"), "backoffice")
    clients = Clients(
        ServiceDatabase(engine, processed_events_table(metadata, "backoffice")), Settings.from_config(config)
    )
    with pytest.raises(InvalidInput):
        clients.create("jc-0394", "http://efile.example/callback")
    with pytest.raises(InvalidInput):
        clients.create("Jobcenter Treptow", None)
    engine.dispose()


def test_the_operator_cli_prints_the_secrets_once(
    tmp_path: Any, backoffice_signing_key: str, monkeypatch: Any, capsys: Any
) -> None:
    monkeypatch.setenv("BACKOFFICE_DATABASE_URL", f"sqlite:///{tmp_path}/backoffice.sqlite")
    monkeypatch.setenv("BACKOFFICE_SIGNING_KEY", backoffice_signing_key)
    assert cli.main(["create-client", "jc-0394", "--callback-url", "https://efile.example/cb"]) == 0
    printed = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()[:4])
    client_id, secret = printed["client_id"].split()[0], printed["client_secret"].strip()
    assert cli.main(["rotate-secret", client_id]) == 0
    assert secret not in capsys.readouterr().out
    assert cli.main(["disable", client_id]) == 0
    assert cli.main(["disable", "bo-unknown"]) == 1
    engine = make_engine(f"sqlite:///{tmp_path}/backoffice.sqlite")
    stored = engine.connect().exec_driver_sql("SELECT secret_hash FROM backoffice_clients").scalar()
    assert stored is not None and stored.startswith("$argon2id$") and secret not in stored
    engine.dispose()


def test_a_pending_callback_is_sent_by_a_sender_started_later(
    tmp_path: Any, backoffice_signing_key: str, receiver_factory: Any
) -> None:
    # What a restart looks like: the retry is a row with a due time, and a new sender (a new process) finds it.
    receiver = receiver_factory([])
    config = {
        "SIGNING_KEY": backoffice_signing_key,
        "TOKEN_SECONDS": 600,
        "PAGE_SIZE": 50,
        "CALLBACKS": {"ALLOW_HTTP": True, "MAX_ATTEMPTS": 3, "BACKOFF_SECONDS": 30, "TIMEOUT_SECONDS": 5},
    }
    settings = Settings.from_config(config)
    engine = make_engine(f"sqlite:///{tmp_path}/backoffice.sqlite")
    migrate(engine, migrations_of("backoffice"), "backoffice")
    db = ServiceDatabase(engine, processed_events_table(metadata, "backoffice"))
    client = Clients(db, settings).create("jc-0394", receiver.url)
    later = datetime.now(UTC) + timedelta(minutes=5)
    with db.transaction() as session:
        schedule(session, [client["client_id"]], case_available_body("c-1", "jc-0394"), later)
    assert CallbackSender(db, settings).send_due() == 0  # not due yet
    assert CallbackSender(db, settings).send_due(now=later) == 1
    (headers, body), *_ = receiver.received
    assert verify_callback(headers, body, client["callback_secret"])["case_id"] == "c-1"
    engine.dispose()
