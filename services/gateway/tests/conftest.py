"""The whole portal in this process, once for the gateway's tests, with a real identity to log in through.

Identity runs on SQLite with cheap argon2; accounts are made as the operator CLI makes them. The
submissions outbox relay is driven by hand (``portal.relay()``), as in notify's own tests.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import eventlet
import pytest
import requests
from nameko.containers import ServiceContainer

from services.gateway.service import Gateway
from services.identity.operations import Identity, current_totp
from services.submissions.application import Cases
from shared import servers
from shared.config import load_config
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.servers import free_port
from shared.service import SERVICES, service_class
from shared.sql import make_engine
from shared.testing.services import IN_PROCESS_RPC_TIMEOUTS

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"
API = "/api/v1"


class Portal:
    """The running services, their settings and an operator's view of identity."""

    def __init__(self, env: dict[str, str], containers: dict[str, ServiceContainer], operator: Identity) -> None:
        self.env = env
        self.containers = containers
        self.operator = operator
        self.base = f"http://{containers['gateway'].config['WEB_SERVER_ADDRESS']}"
        config = containers["submissions"].config
        self._cases = Cases.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
        self._engine = make_engine(str(config["DATABASE_URL"]))
        self._publisher = EventPublisher(env["AMQP_URI"], "submissions")
        self._relay = OutboxRelay(self._cases, self._publisher, RelayPositions(self._engine, self._cases.name))

    def url(self, path: str) -> str:
        return self.base + path

    def relay(self) -> None:
        """Publish what submissions stored (its outbox relay, one batch)."""
        self._relay.relay_batch()

    def gateway_state(self) -> Any:
        (provider,) = [d for d in self.containers["gateway"].dependencies if isinstance(d, Gateway)]
        return provider.state

    def account(self, customer_number: str | None = None, name: tuple[str, str] | None = None) -> Account:
        """A citizen with password and TOTP; ``name`` (given, family) as registration asks it, else none given."""
        email = f"citizen.{secrets.token_hex(5)}@example.org"
        created = self.operator.create_account(email, "citizen", None, PASSWORD, customer_number, with_totp=True,
                                               name=name)  # fmt: skip
        return Account(email, str(created["account_id"]), str(created["secret"]), list(created["recovery_codes"]))

    def staff_account(self, role: str = "caseworker", institution: str | None = "jc-0394") -> Account:
        """A caseworker, team lead (of ``institution``) or admin with password and TOTP, as demo.py makes them."""
        email = f"{role}.{secrets.token_hex(5)}@jobcenter.example"
        created = self.operator.create_account(email, role, institution, PASSWORD, with_totp=True)
        return Account(email, str(created["account_id"]), str(created["secret"]), list(created["recovery_codes"]))

    def close(self) -> None:
        self._publisher.close()
        self._cases.close()
        self._engine.dispose()


@contextmanager
def limits_lifted(running: Portal) -> Iterator[None]:
    """The gateway's per-address upload and login limits out of the way (every test client is 127.0.0.1)
    while the block runs; the limits as configured, with no hits counted, afterwards."""
    state = running.gateway_state()
    configured = state.settings
    state.settings = dataclasses.replace(configured, upload_per_minute=100_000, login_per_minute=100_000)
    try:
        yield
    finally:
        state.settings = configured
        state.limiter.hits.clear()


@dataclass
class Account:
    email: str
    account_id: str
    totp_secret: str
    recovery_codes: list[str]


class Browser:
    """An HTTP client with a cookie jar that sends the session's CSRF token on state changes."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.http = requests.Session()
        self.csrf = ""

    def request(self, method: str, path: str, csrf: bool = True, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if csrf and self.csrf and method not in {"GET", "HEAD"}:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return self.http.request(method, self.portal.url(path), headers=headers, timeout=60, **kwargs)

    def log_in(self, account: Account) -> dict[str, Any]:
        """Password, then the TOTP code, through the API; keeps the session cookie and CSRF token."""
        first = self.request("POST", f"{API}/session", json={"email": account.email, "password": PASSWORD})
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "second_factor_required"
        second = self.request(
            "POST",
            f"{API}/session/second-factor",
            json={"login_ticket": first.json()["login_ticket"], "code": current_totp(account.totp_secret)},
        )
        assert second.status_code == 200, second.text
        body: dict[str, Any] = second.json()
        self.csrf = body["csrf_token"]
        return body


@pytest.fixture(scope="package")
def portal_amqp_uri(amqp_uri) -> Iterator[str]:
    """A vhost of its own, so the portal running for the whole package never answers another test's RPC."""
    name = f"jc_test_{secrets.token_hex(6)}"
    yield servers.create_rabbit_vhost(name)
    servers.delete_rabbit_vhost(name)


@pytest.fixture(scope="package")
def portal_env(
    portal_amqp_uri, tmp_path_factory, cipher_key, receipt_signing_key, backoffice_signing_key, seaweedfs, clamd,
    smtp_sink,
):  # fmt: skip
    return {
        "AMQP_URI": portal_amqp_uri,  # guest: the tests' own RPC calls and event taps
        **servers.principal_environ(portal_amqp_uri),  # each service its own broker user
        "RUN_DIR": str(tmp_path_factory.mktemp("portal-run")),
        "CIPHER_KEY": cipher_key,
        "RECEIPT_SIGNING_KEY": receipt_signing_key,
        "BACKOFFICE_SIGNING_KEY": backoffice_signing_key,
        "LOG_LEVEL": "INFO",
        "GATEWAY_PORT": str(free_port()),
        "GATEWAY_SECRET": secrets.token_urlsafe(32),
        # Every test logs in and uploads from 127.0.0.1, so the per-address limits would count every test's
        # requests of the last minute, more of them the faster the tests run (a 429 once met a test in the
        # middle of the run); the rate-limit tests lower each limit for themselves.
        "GATEWAY_LOGIN_RATE_PER_MINUTE": "1000",
        "GATEWAY_UPLOAD_RATE_PER_MINUTE": "10000",
        **IN_PROCESS_RPC_TIMEOUTS,
        "IDENTITY_ARGON2_TIME_COST": "1",
        "IDENTITY_ARGON2_MEMORY_KIB": "8192",
        "IDENTITY_ARGON2_PARALLELISM": "1",
        **seaweedfs.settings,
        **clamd.settings,
        **smtp_sink.settings,
    }


@pytest.fixture(scope="package")
def portal(portal_env) -> Iterator[Portal]:
    containers = {}
    for name in SERVICES:
        container = ServiceContainer(service_class(name), load_config(name, portal_env))
        container.start()
        containers[name] = container
    operator = Identity.open(load_config("identity", portal_env))
    running = Portal(portal_env, containers, operator)
    try:
        yield running
    finally:
        running.close()
        operator.close()
        pool = eventlet.GreenPool()
        for container in containers.values():
            pool.spawn(container.stop)
        with eventlet.Timeout(30):
            pool.waitall()


@pytest.fixture
def browser(portal) -> Browser:
    return Browser(portal)


def wait_until(check: Any, timeout: float = 15.0) -> Any:
    """``check()``'s first truthy answer; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise AssertionError("nothing arrived in time")
        time.sleep(0.2)
    return answer
