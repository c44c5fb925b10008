"""Each whole system here talks over a vhost of its own, as in tests/e2e (which says why)."""

from tests.e2e.conftest import amqp_uri

__all__ = ["amqp_uri"]
