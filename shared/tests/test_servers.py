"""Each real server the portal needs starts, serves and is reachable with the settings it hands out."""

from __future__ import annotations

import io
import secrets
import smtplib
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from kombu import Connection
from minio import Minio

from shared import servers
from shared.clamd import ClamdClient, ClamdError
from shared.testing.fixtures import Mailbox


def minio_client(settings: dict[str, str]) -> Minio:
    return Minio(
        settings["S3_ENDPOINT"],
        access_key=settings["S3_ACCESS_KEY"],
        secret_key=settings["S3_SECRET_KEY"],
        secure=settings["S3_SECURE"] == "true",
        region=settings["S3_REGION"],
    )


def test_seaweedfs_returns_an_object_put_into_a_new_bucket(s3_settings: dict[str, str]) -> None:
    client = minio_client(s3_settings)
    bucket = f"jc-test-{secrets.token_hex(4)}"
    payload = secrets.token_bytes(4096)
    client.make_bucket(bucket)

    client.put_object(bucket, "nachweis.pdf", io.BytesIO(payload), len(payload))

    response = client.get_object(bucket, "nachweis.pdf")
    try:
        assert response.read() == payload
    finally:
        response.close()
        response.release_conn()


def test_seaweedfs_restarted_on_the_same_workdir_keeps_its_objects_and_keys(tmp_path: Path) -> None:
    first = servers.start_seaweedfs(tmp_path)
    try:
        minio_client(first.settings).make_bucket("kept")
        minio_client(first.settings).put_object("kept", "object", io.BytesIO(b"still here"), 10)
    finally:
        first.stop()

    second = servers.start_seaweedfs(tmp_path)
    try:
        assert second.settings["S3_SECRET_KEY"] == first.settings["S3_SECRET_KEY"]
        response = minio_client(second.settings).get_object("kept", "object")
        assert response.read() == b"still here"
        response.close()
        response.release_conn()
    finally:
        second.stop()


def scanner(clamd: servers.RunningServer) -> ClamdClient:
    return ClamdClient(clamd.settings["CLAMD_HOST"], int(clamd.settings["CLAMD_PORT"]))


def test_clamd_reports_the_eicar_test_file_as_found(clamd: servers.RunningServer) -> None:
    found = scanner(clamd).scan([b"attachment: ", servers.EICAR])

    assert found is not None
    assert found.startswith("Eicar-Test-Signature")


def test_clamd_reports_a_harmless_file_as_clean(clamd: servers.RunningServer) -> None:
    assert scanner(clamd).scan([b"%PDF-1.7 Mietvertrag " * 100_000]) is None


def test_a_stream_over_clamds_size_limit_is_an_error_not_clean(clamd: servers.RunningServer) -> None:
    with pytest.raises(ClamdError, match="size limit"):
        scanner(clamd).scan(b"\0" * (8 << 20) for _ in range(15))


def test_smtp_sink_keeps_a_mail_sent_with_smtplib_as_an_eml_file(
    smtp_sink: servers.RunningServer, mailbox: Mailbox
) -> None:
    mail = EmailMessage()
    mail["From"] = "portal@jobcenter.example"
    mail["To"] = "kundin@example.org"
    mail["Subject"] = "Neue Nachricht in Ihrem Postfach"
    mail.set_content("Sie haben eine neue Nachricht.")

    with smtplib.SMTP(smtp_sink.settings["SMTP_HOST"], int(smtp_sink.settings["SMTP_PORT"]), timeout=10) as smtp:
        smtp.send_message(mail)

    assert [path.suffix for path in mailbox.maildir.iterdir() if not path.name.startswith(".")] == [".eml"]
    [received] = mailbox.messages()
    assert received["Subject"] == "Neue Nachricht in Ihrem Postfach"
    assert received.get_content().strip() == "Sie haben eine neue Nachricht."


def test_a_fresh_vhost_accepts_a_kombu_connection_to_publish_and_consume(amqp_uri: str) -> None:
    with Connection(amqp_uri, connect_timeout=5) as connection:
        queue = connection.SimpleQueue(f"jc_test_{secrets.token_hex(4)}")
        try:
            queue.put({"event_type": "AntragEingereicht"})
            message = queue.get(timeout=5)
            message.ack()
        finally:
            queue.close()

    assert message.payload == {"event_type": "AntragEingereicht"}


@pytest.mark.postgres
def test_a_fresh_postgres_database_accepts_a_connection(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, connect_timeout=5) as connection:
        row = connection.execute("SELECT current_database()").fetchone()

    assert row is not None
    assert postgres_url.endswith(f"/{row[0]}")


def test_seaweedfs_keeps_object_data_encrypted_on_disk(seaweedfs: servers.RunningServer) -> None:
    marker = f"Lohnabrechnung-{secrets.token_hex(8)}".encode()
    # Random bytes around the marker: SeaweedFS compresses what compresses, which would hide it anyway.
    data = b"".join(secrets.token_bytes(1000) + marker for _ in range(50))
    client = minio_client(seaweedfs.settings)
    bucket = f"jc-test-{secrets.token_hex(4)}"
    client.make_bucket(bucket)
    client.put_object(bucket, "payslip", io.BytesIO(data), len(data), content_type="application/pdf")
    assert client.get_object(bucket, "payslip").read() == data  # readable through S3 ...
    workdir = Path(seaweedfs.log_path).parent if seaweedfs.log_path else None
    assert workdir is not None
    stored = [path for path in workdir.rglob("*") if path.is_file() and path.suffix in (".dat", ".idx", ".ecx")]
    assert any(path.suffix == ".dat" for path in stored)
    assert all(marker not in path.read_bytes() for path in stored)  # ... but not on the volume's disk


def test_a_server_whose_start_is_interrupted_is_stopped_not_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or SIGTERM) of ``make run`` while a server starts: the caller never got the server to stop."""
    started: list[servers.RunningServer] = []
    spawn = servers._spawn

    def remembered(*args, **kwargs) -> servers.RunningServer:
        started.append(spawn(*args, **kwargs))
        return started[-1]

    def interrupted(host: str, port: int) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(servers, "_spawn", remembered)
    monkeypatch.setattr(servers, "_smtp_greets", interrupted)
    with pytest.raises(KeyboardInterrupt):
        servers.start_smtp_sink(tmp_path / "mail")
    [server] = started
    assert server.process is not None and server.process.poll() is not None
