"""The outside passes' scripts as tests: the whole portal in this process, reached over HTTP only.

Each module holds what a tester who had read only the README and the OpenAPI document tried against a
running ``make run``, and what they found (named in the test's docstring).
"""

from services.gateway.tests.conftest import (  # noqa: F401 - fixtures, re-used for this package
    portal,
    portal_amqp_uri,
    portal_env,
)
