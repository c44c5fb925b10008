"""The system of each test here talks over a vhost of its own.

The session's shared vhost still holds, in durable queues, events that earlier tests published for
cases this system never saw: its consumers would fail on them over and over and answer late (the
cause of an RpcTimeout on CI, and of an empty Postfach after 30 s).
"""

from collections.abc import Iterator

import pytest

from shared.testing.fixtures import fresh_vhost


@pytest.fixture
def amqp_uri() -> Iterator[str]:
    yield from fresh_vhost()
