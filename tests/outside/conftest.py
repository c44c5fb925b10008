"""The outside passes' scripts as tests: the whole portal in this process, reached over HTTP only.

Each module holds what a tester who had read only the README and the OpenAPI document tried against a
running ``make run``, and what they found (named in the test's docstring). The people the tester used
(two citizens, caseworkers of two Jobcenters, a team lead, an admin) are made here as the operator makes
them; ``clients.py`` holds the tester's helpers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.gateway.tests.conftest import (  # noqa: F401 - fixtures, re-used for this package
    Portal,
    limits_lifted,
    portal,
    portal_amqp_uri,
    portal_env,
)
from services.identity.schema import throttles
from tests.outside.clients import JOBCENTER, OTHER_JOBCENTER, Client, Relays


@pytest.fixture(scope="package")
def relays(portal: Portal) -> Iterator[Relays]:  # noqa: F811 - the fixture
    """submissions' and routing's outbox relays, driven by hand while a test waits for an assignment."""
    running = Relays(portal)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def limits_out_of_the_way(portal: Portal) -> Iterator[None]:  # noqa: F811 - the fixture
    """Every client uploads and logs in from 127.0.0.1; the per-address limits are not under test here.

    (The tester spread their clients over loopback source addresses instead.)
    """
    with limits_lifted(portal):
        yield


@pytest.fixture
def login_failures_forgotten(portal: Portal) -> Iterator[None]:  # noqa: F811 - the fixture
    """No failed logins counted against 127.0.0.1 or an account after a test (some fail one on purpose)."""
    yield
    with portal.operator.db.transaction() as session:
        session.execute(throttles.delete())


@pytest.fixture(scope="module")
def citizen(portal: Portal) -> Client:  # noqa: F811 - the fixture
    return Client(portal, portal.account())


@pytest.fixture(scope="module")
def citizen2(portal: Portal) -> Client:  # noqa: F811 - the fixture
    return Client(portal, portal.account())


@pytest.fixture(scope="module")
def caseworker(portal: Portal) -> Client:  # noqa: F811 - the fixture
    """A caseworker of Treptow-Köpenick (jc-0394)."""
    return Client(portal, portal.staff_account("caseworker", JOBCENTER))


@pytest.fixture(scope="module")
def caseworker_other(portal: Portal) -> Client:  # noqa: F811 - the fixture
    """A caseworker of another Jobcenter (München, jc-0375)."""
    return Client(portal, portal.staff_account("caseworker", OTHER_JOBCENTER))


@pytest.fixture(scope="module")
def team_lead(portal: Portal) -> Client:  # noqa: F811 - the fixture
    return Client(portal, portal.staff_account("team_lead", JOBCENTER))


@pytest.fixture(scope="module")
def admin(portal: Portal) -> Client:  # noqa: F811 - the fixture
    return Client(portal, portal.staff_account("admin", None))
