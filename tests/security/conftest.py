"""The whole portal in this process for the security tests, started as the gateway's tests start it.

The fixtures ``portal`` (package scope: one portal for the whole folder), ``portal_env`` and
``browser`` are the gateway's own (``services/gateway/tests/conftest.py``); this module adds the
people of the authorization matrix and a real case of citizen A assigned to Jobcenter Treptow-Köpenick.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from services.documents.tests import samples
from services.gateway.tests.conftest import (  # noqa: F401 - fixtures, re-used for this package
    API,
    PASSWORD,
    Account,
    Browser,
    Portal,
    browser,
    portal,
    portal_amqp_uri,
    portal_env,
    wait_until,
)
from services.identity.schema import throttles
from services.routing.application import Assignments
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.sql import make_engine

ASSIGNED_JOBCENTER = "jc-0394"  # Berlin Treptow-Köpenick, where ARBEITSAUFNAHME's address lies
OTHER_JOBCENTER = "jc-0393"
ACTORS = ("anonymous", "citizen_a", "citizen_b", "caseworker", "caseworker_other", "admin")
ROLES = {
    "citizen_a": ("citizen", None),
    "citizen_b": ("citizen", None),
    "caseworker": ("caseworker", ASSIGNED_JOBCENTER),
    "caseworker_other": ("caseworker", OTHER_JOBCENTER),
    "admin": ("admin", None),
}


def staff_account(running: Portal, role: str, institution_id: str | None) -> Account:
    """An account as the operator CLI makes staff accounts: role, Jobcenter, password and TOTP."""
    email = f"{role}.{secrets.token_hex(5)}@example.org"
    created = running.operator.create_account(email, role, institution_id, PASSWORD, with_totp=True)
    return Account(email, str(created["account_id"]), str(created["secret"]), list(created["recovery_codes"]))


class Person(Browser):
    """A browser and the account it is logged in with (None: anonymous)."""

    account: Account | None = None


def logged_in(running: Portal, actor: str) -> Person:
    """A browser of a new account of ``actor``'s role, logged in; anonymous: no session at all."""
    person = Person(running)
    if actor != "anonymous":
        role, institution_id = ROLES[actor]
        person.account = staff_account(running, role, institution_id)
        person.log_in(person.account)
    return person


def new_case(person: Browser, submitted: bool) -> str:
    """A Veränderungsmitteilung (Arbeitsaufnahme in Treptow-Köpenick), as a complete draft or submitted."""
    answer = person.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"})
    assert answer.status_code == 201, answer.text
    case_id = str(answer.json()["case_id"])
    for section_id, data in ARBEITSAUFNAHME.items():
        saved = person.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data)
        assert saved.status_code == 200, saved.text
    if submitted:
        done = person.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})
        assert done.status_code == 200, done.text
    return case_id


@dataclass
class World:
    """Everyone of the matrix logged in, and citizen A's cases: a draft and one assigned to jc-0394."""

    portal: Portal
    browsers: dict[str, Person]
    draft: str
    assigned: str = ""
    receipt_number: str = ""
    postfach_message: str = ""
    document: str = ""
    relays: list[OutboxRelay] = field(default_factory=list)

    def relay(self) -> None:
        """One batch of every outbox relay: submissions' (the portal's own) and routing's."""
        self.portal.relay()
        for relay in self.relays:
            relay.relay_batch()

    def assigned_case(self, owner: Browser) -> str:
        """A new case of ``owner``, submitted and assigned to jc-0394."""
        case_id = new_case(owner, submitted=True)

        def assigned() -> bool:
            self.relay()
            return assignment_of(owner, case_id) == ASSIGNED_JOBCENTER

        wait_until(assigned)
        return case_id


def assignment_of(owner: Browser, case_id: str) -> str | None:
    cases = owner.request("GET", f"{API}/cases").json()["cases"]
    return next((case["jobcenter_id"] for case in cases if case["case_id"] == case_id), None)


@pytest.fixture(autouse=True)
def address_failures_forgotten(portal: Portal) -> Iterator[None]:  # noqa: F811 - the fixture
    """Each test starts with no failed logins counted against 127.0.0.1, from where every test logs in.

    The fuzzer and the matrix fail logins on purpose; together they neared identity's address lock (50
    failures), and how far the fuzzer gets in its time budget depends on the machine: two CI runs locked
    the address and every later login of the folder answered TOO_MANY_ATTEMPTS.
    """
    yield
    with portal.operator.db.transaction() as session:
        session.execute(throttles.delete())


@pytest.fixture(scope="package")
def routing_relay(portal: Portal) -> Iterator[OutboxRelay]:  # noqa: F811 - the fixture
    """routing's outbox relay (``make run`` starts it as a process), driven by hand like submissions'."""
    config = portal.containers["routing"].config
    database_url = str(config["DATABASE_URL"])
    assignments = Assignments.from_settings(database_url, str(config["CIPHER_KEY"]))
    engine = make_engine(database_url)
    publisher = EventPublisher(portal.env["AMQP_URI"], "routing")
    try:
        yield OutboxRelay(assignments, publisher, RelayPositions(engine, assignments.name))
    finally:
        publisher.close()
        assignments.close()
        engine.dispose()


@pytest.fixture(scope="package")
def world(portal: Portal, routing_relay: OutboxRelay) -> World:  # noqa: F811 - the fixture
    browsers = {actor: logged_in(portal, actor) for actor in ACTORS}
    a = browsers["citizen_a"]
    draft = new_case(a, submitted=False)
    made = World(portal, browsers, draft, relays=[routing_relay])
    made.assigned = made.assigned_case(a)
    made.receipt_number = a.request("GET", f"{API}/cases/{made.assigned}").json()["case"]["receipt_number"]
    (message,) = wait_until(lambda: a.request("GET", f"{API}/postfach").json()["messages"])
    made.postfach_message = str(message["message_id"])
    supplied = a.request(
        "POST", f"{API}/cases/{made.assigned}/documents",
        params={"nachweis": "arbeitsvertrag", "filename": "Arbeitsvertrag.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert supplied.status_code == 201, supplied.text
    made.document = str(supplied.json()["document_id"])
    return made
