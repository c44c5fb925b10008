"""The Ingress and the gateway's Service for the container tests: TLS ends here, connections go to ready pods.

The gateway sets its session cookie ``Secure`` (``GATEWAY_SECURE_COOKIES=true`` in the manifests), so a
client keeps it only over HTTPS, as behind the cluster's Ingress. This stand-in holds a certificate for the
Ingress' host (made for the test run) and hands each accepted connection, decrypted, to the next of the
endpoints it is given (round robin): the Service's endpoints are the ready gateway pods.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import requests
import requests.adapters
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.servers import LOOPBACK


class Ingress:
    """HTTPS on a free loopback port, passed on to ``endpoints`` (host, port) in turn."""

    def __init__(self, host_name: str, folder: Path) -> None:
        self.host_name = host_name
        self.certificate = folder / "ingress-cert.pem"
        key = folder / "ingress-key.pem"
        _self_signed(host_name, self.certificate, key)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, key)
        self._context = context
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self.endpoints: list[tuple[str, int]] = []
        self._turn = itertools.count()
        self._closed = False
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    def client(self) -> requests.Session:
        """An HTTP client that trusts exactly this Ingress' certificate.

        The context is made here and handed to urllib3: urllib3 may have been imported before eventlet patched
        ``ssl`` (a pytest plugin imports requests), and a context urllib3 makes itself then recurses forever.
        """
        session = requests.Session()
        session.mount("https://", _ContextAdapter(ssl.create_default_context(cafile=str(self.certificate))))
        return session

    def close(self) -> None:
        """Stop accepting and end every open connection."""
        self._closed = True
        for open_socket in [self._listener, *self._open]:
            _wake(open_socket)

    # A socket is closed only by the thread that reads it, once it stopped: under eventlet, closing a socket
    # another green thread waits on leaves that thread listening on a number the next file may get.

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                break
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()
        self._listener.close()

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self._context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):
            client.close()
            return
        if not self.endpoints or self._closed:
            secure.close()
            return
        endpoint = self.endpoints[next(self._turn) % len(self.endpoints)]
        try:
            upstream = socket.create_connection(endpoint, timeout=30)
        except OSError:
            secure.close()
            return
        upstream.settimeout(None)
        self._open |= {secure, upstream}
        threading.Thread(target=self._pipe, args=(upstream, secure), daemon=True).start()
        self._pipe(secure, upstream)

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        """Copy until ``source`` ends, then end ``target`` too (its reader closes it) and close ``source``."""
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except (OSError, ValueError):
            pass
        finally:
            _wake(target)
            self._open.discard(source)
            source.close()


class _ContextAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **{**kwargs, "ssl_context": self._context})


def _wake(open_socket: socket.socket) -> None:
    """End both directions of a socket so that whoever reads it sees its end (it stays open until closed)."""
    try:
        open_socket.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def _self_signed(host_name: str, certificate: Path, key_path: Path) -> None:
    """A certificate for ``host_name`` and 127.0.0.1, valid one day; the client trusts exactly this file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    made = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host_name), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
