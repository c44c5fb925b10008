"""A PostgreSQL database and a vhost of one upgrade test, kept while old and new code take turns on them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared import servers


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database all services share (table prefixes), as in production."""
    name = f"jc_test_upgrade_{uuid.uuid4().hex[:10]}"
    url = servers.create_postgres_database(name)
    yield url
    servers.drop_postgres_database(name)


@pytest.fixture
def vhost() -> Iterator[str]:
    """A vhost of its own with every service's and relay's own broker user (older releases use guest)."""
    servers.ensure_rabbitmq()
    name = f"jc_test_upgrade_{uuid.uuid4().hex[:10]}"
    yield servers.create_rabbit_vhost(name)
    servers.delete_rabbit_vhost(name)
