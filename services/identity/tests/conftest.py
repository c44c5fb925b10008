"""identity against the session's PostgreSQL and RabbitMQ, one service container per test module.

Argon2 runs with low cost here (the parameters come from config), locks last seconds instead of
minutes, and every test uses random e-mail and client addresses because the database is shared by
the whole test session.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import eventlet
import pytest
from nameko.containers import ServiceContainer

from services.identity.operations import Identity
from services.identity.tests.support import PUBLIC_URL, RP_ID, Person
from shared.config import load_config
from shared.servers import principal_environ
from shared.service import service_class


@pytest.fixture(scope="session")
def identity_secrets_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(scope="module")
def identity_env(
    amqp_uri: str,
    postgres_url: str,
    smtp_sink: Any,
    identity_secrets_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    return {
        "AMQP_URI": amqp_uri,
        **principal_environ(amqp_uri),
        "RUN_DIR": str(tmp_path_factory.mktemp("identity-run")),
        "IDENTITY_DATABASE_URL": postgres_url,
        "IDENTITY_SECRETS_KEY": identity_secrets_key,
        "IDENTITY_ARGON2_TIME_COST": "1",
        "IDENTITY_ARGON2_MEMORY_KIB": "8192",
        "IDENTITY_ARGON2_PARALLELISM": "1",
        "IDENTITY_LOCK_BASE_SECONDS": "2",
        "IDENTITY_LOCK_MAX_SECONDS": "4",
        "PORTAL_URL": PUBLIC_URL,
        "IDENTITY_WEBAUTHN_ORIGIN": PUBLIC_URL,
        "IDENTITY_WEBAUTHN_RP_ID": RP_ID,
        "LOG_LEVEL": "INFO",
        **smtp_sink.settings,
    }


@pytest.fixture(scope="module")
def identity(identity_env: dict[str, str]) -> Iterator[ServiceContainer]:
    container = ServiceContainer(service_class("identity"), load_config("identity", identity_env))
    container.start()
    yield container
    with eventlet.Timeout(30):
        container.stop()


@pytest.fixture(scope="module")
def operator(identity: ServiceContainer, identity_env: dict[str, str]) -> Iterator[Identity]:
    """identity's database as the operator CLI sees it (creates accounts, codes, keys)."""
    opened = Identity.open(load_config("identity", identity_env))
    yield opened
    opened.close()


@pytest.fixture
def person(operator: Identity):
    """``person("caseworker", "92204")``: a new account of that role."""

    def make(role: str = "citizen", institution_id: str | None = None, totp: bool = True) -> Person:
        return Person(operator, role, institution_id, totp)

    return make


@pytest.fixture(scope="module")
def admin_token(operator: Identity, rpc: Any) -> str:
    admin = Person(operator, "admin")
    with rpc() as cluster:
        return str(admin.log_in(cluster)["access_token"])


@pytest.fixture(scope="module")
def rpc(amqp_uri: str) -> Any:
    """Module-wide twin of the shared ``rpc`` fixture (module fixtures cannot use function ones)."""
    from contextlib import contextmanager

    from nameko.standalone.rpc import ClusterRpcProxy

    @contextmanager
    def cluster(timeout: float = 15) -> Iterator[Any]:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=timeout) as proxy:
            yield proxy

    return cluster
