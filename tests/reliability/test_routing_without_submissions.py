"""routing assigns a submitted case from the published event alone: submissions may be stopped by then."""

from __future__ import annotations

from typing import Any

from services.routing.application import Assignments
from services.submissions.application import Cases
from services.submissions.tests.scenarios import submit_over_rpc
from shared.errors import NotFound
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.servers import principal_uri
from shared.sql import make_engine
from shared.testing.tokens import FakeIdentity
from shared.testing.waiting import wait_until

TREPTOW_KOEPENICK = "jc-0394"  # where the Arbeitsaufnahme's address lies


def relay_submissions_outbox(config: dict[str, Any]) -> int:
    """One batch of submissions' outbox relay, as ``make run`` runs it beside the service: it reads the event
    store, not the service. Returns how many stored events it passed."""
    database_url = str(config["DATABASE_URL"])
    cases = Cases.from_settings(database_url, str(config["CIPHER_KEY"]))
    engine = make_engine(database_url)
    try:
        # The relay's own broker user: the service's may not publish its events.
        with EventPublisher(principal_uri(str(config["AMQP_URI"]), "submissions-outbox"), "submissions") as publisher:
            return OutboxRelay(cases, publisher, RelayPositions(engine, cases.name)).relay_batch()
    finally:
        cases.close()
        engine.dispose()


def test_routing_assigns_a_submitted_case_while_submissions_is_stopped(start_services, rpc):
    started = start_services(FakeIdentity, "submissions", "routing")
    with rpc() as cluster:
        case_id = submit_over_rpc(cluster, "owner-routed-alone")["case_id"]
    # routing stops before the event is published, so that the event waits in its queue for a routing that
    # starts again only once submissions is gone.
    started["routing"].stop()
    assert relay_submissions_outbox(started["submissions"].config) >= 2  # the draft's start ... its submission
    started["submissions"].stop()
    routing = start_services("routing")["routing"]

    with rpc() as cluster:
        assignment = wait_until(
            lambda: _assignment(cluster, case_id), timeout=30, what="routing's assignment without submissions"
        )
    assert (assignment["status"], assignment["jobcenter_id"]) == ("assigned", TREPTOW_KOEPENICK)
    # routing's own outbox holds the decision it will publish for submissions to record when it is back.
    config = routing.config
    assignments = Assignments.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
    try:
        notifications = assignments.recorder.select_notifications(1, 50)
        published = [event for n in notifications if (event := assignments.integration_event_for(n))]
    finally:
        assignments.close()
    assert [(e.type, e.data["case_id"], e.data["jobcenter_id"]) for e in published] == [
        ("case_assigned", case_id, TREPTOW_KOEPENICK)
    ]


def _assignment(cluster: Any, case_id: str) -> dict[str, Any]:
    """routing's assignment of the case; empty while it has none."""
    try:
        return dict(cluster.routing.get_assignment(case_id))
    except NotFound:
        return {}
