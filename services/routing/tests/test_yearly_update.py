"""The yearly update as the routing README tells an operator to do it: import next year's list into a
register directory with its first day, restart routing alone on it (``ROUTING_REGISTER_DIR``), and the
register switches on that day by itself; cases assigned before keep their Jobcenter."""

import time
import uuid

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from services.routing import register_import
from shared.config import load_config
from shared.envelope import IntegrationEvent
from shared.errors import NotFound
from shared.messaging import EventPublisher
from shared.servers import principal_environ
from shared.service import service_class
from shared.testing.tokens import FakeIdentity

from .test_register_import import next_year_files  # noqa: F401 - the fixture

DAHME_SPREEWALD = "12061"  # renumbered from 03510 to 03599 in the made-up list of next year


def running_routing(environ):
    container = ServiceContainer(service_class("routing"), load_config("routing", environ))
    container.start()
    return container


def stop(*containers):
    pool = eventlet.GreenPool()
    for container in containers:
        pool.spawn(container.stop)
    pool.waitall()


def assignment_of(amqp_uri, case_id, timeout=15.0):
    deadline = time.monotonic() + timeout
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as cluster:
        while True:
            try:
                return cluster.routing.get_assignment(case_id)
            except NotFound:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def resolve(amqp_uri, day):
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as cluster:
        return cluster.routing.resolve_residence({"kreis": DAHME_SPREEWALD}, day)


@pytest.mark.usefixtures("sources")
def test_routing_restarted_alone_on_next_years_register_switches_on_its_first_day(
    amqp_uri,
    cipher_key,
    tmp_path,
    next_year_files,  # noqa: F811 - the fixture
):
    environ = {
        "AMQP_URI": amqp_uri,
        **principal_environ(amqp_uri),
        "CIPHER_KEY": cipher_key,
        "RUN_DIR": str(tmp_path / "run"),
    }
    identity = ServiceContainer(FakeIdentity, {"AMQP_URI": amqp_uri})
    identity.start()
    routing = running_routing(environ)
    try:
        before = resolve(amqp_uri, "2026-12-31")
        case_id = str(uuid.uuid4())
        carried = {"case_id": case_id, "jobcenter_id": before["jobcenter"]["jobcenter_id"],
                   "matched_key": before["matched_key"], "reason_code": before["code"],
                   "register_version": before["register_version"]}  # fmt: skip
        with EventPublisher(amqp_uri, "submissions") as publisher:
            publisher.publish(IntegrationEvent("case_submitted", case_id, 2, carried))
        assigned = assignment_of(amqp_uri, case_id)
        stop(routing)

        # The operator's step: the new list into a register directory of its own, valid from 1 January.
        register_dir = tmp_path / "register-2027"
        command = ["--apply", *map(str, next_year_files), "--valid-from", "2027-01-01", "--output", str(register_dir)]
        assert register_import.main(command) == 0
        routing = running_routing({**environ, "ROUTING_REGISTER_DIR": str(register_dir)})

        december, january = resolve(amqp_uri, "2026-12-31"), resolve(amqp_uri, "2027-01-01")
        assert (december["jobcenter"]["traeger_nummer"], january["jobcenter"]["traeger_nummer"]) == ("03510", "03599")
        assert december["jobcenter"]["jobcenter_id"] == january["jobcenter"]["jobcenter_id"]  # the same Jobcenter
        assert december["register_version"] == january["register_version"] != before["register_version"]
        kept = assignment_of(amqp_uri, case_id)
        assert (kept["jobcenter_id"], kept["traeger_nummer"], kept["history"]) == (
            assigned["jobcenter_id"], assigned["traeger_nummer"], assigned["history"]
        )  # fmt: skip
    finally:
        stop(routing, identity)
