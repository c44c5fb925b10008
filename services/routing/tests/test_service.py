"""The routing service over the real broker: RPC, the assignment of submitted cases and its events.

Submissions lies outside routing's boundary; a small double of it answers ``get_case``, which routing asks
only for events stored before they carried the residence's area.
"""

import time
import uuid

import eventlet
import pytest
from nameko.containers import ServiceContainer
from nameko.rpc import rpc as rpc_entrypoint
from sqlalchemy import text

from services.routing.application import Assignments
from services.routing.domainmodel import assignment_id
from shared.config import load_config
from shared.envelope import IntegrationEvent
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from shared.messaging import EventPublisher, integration_event_handler
from shared.outbox import OutboxRelay, RelayPositions
from shared.servers import principal_environ
from shared.service import service_class
from shared.sql import make_engine
from shared.testing.tokens import TEST_ISSUER, FakeIdentity
from shared.testing.waiting import wait_until

CORRELATION_ID = "routing-test-corr-0042"
TREPTOW_KOEPENICK = {"plz": "12555", "ort": "Berlin", "strasse": "Alt-Köpenick", "hausnummer": "21",
                     "berlin_bezirk": "09", "ags": None, "kreis": None}  # fmt: skip
GELNHAUSEN = {"plz": "63571", "ort": "Gelnhausen", "strasse": "Obermarkt", "hausnummer": "7"}
cases: dict[str, dict] = {}
heard: list[IntegrationEvent] = []


class SubmissionsDouble:
    """Answers get_case with the residence a test put into ``cases``, and hears what routing publishes."""

    name = "submissions"

    @rpc_entrypoint
    def get_case(self, case_id):
        if case_id not in cases:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")
        return cases[case_id]

    @integration_event_handler("routing", "case_assigned")
    def on_case_assigned(self, event):
        heard.append(event)


@pytest.fixture(scope="module")
def routing(amqp_uri, cipher_key, tmp_path_factory):
    """One routing service (with the shipped places) and the double, for the whole module: they stop slowly."""
    environ = {
        "AMQP_URI": amqp_uri,
        **principal_environ(amqp_uri),
        "CIPHER_KEY": cipher_key,
        "RUN_DIR": str(tmp_path_factory.mktemp("routing-run")),
    }
    containers = [
        ServiceContainer(service_class("routing"), load_config("routing", environ)),
        ServiceContainer(SubmissionsDouble, {"AMQP_URI": amqp_uri}),
        ServiceContainer(FakeIdentity, {"AMQP_URI": amqp_uri}),
    ]
    for container in containers:
        container.start()
    yield containers[0]
    pool = eventlet.GreenPool()
    for container in containers:
        pool.spawn(container.stop)
    pool.waitall()


@pytest.fixture(scope="module")
def relay(routing, amqp_uri):
    config = routing.config
    application = Assignments.from_settings(config["DATABASE_URL"], config["CIPHER_KEY"])
    engine = make_engine(config["DATABASE_URL"])
    with EventPublisher(amqp_uri, "routing") as publisher:
        yield OutboxRelay(application, publisher, RelayPositions(engine, application.name))
    application.close()
    engine.dispose()


def new_case(residence) -> str:
    case_id = str(uuid.uuid4())
    cases[case_id] = {"case_id": case_id, "kind": "veraenderungsmitteilung", "residence": residence}
    return case_id


def publish_from_submissions(amqp_uri, event_type, case_id, data):
    with EventPublisher(amqp_uri, "submissions") as publisher:
        publisher.publish(IntegrationEvent(event_type, case_id, 2, data, correlation_id=CORRELATION_ID))


def wait_for_assignment(cluster, case_id, until=lambda assignment: True, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            assignment = cluster.routing.get_assignment(case_id)
            if until(assignment):
                return assignment
        except NotFound:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no assignment of {case_id} within {timeout} s")
        time.sleep(0.05)


def test_health_reports_the_event_store_and_the_register(routing, rpc):
    with rpc() as cluster:
        report = cluster.routing.health()
    assert report["status"] == "ok"
    assert set(report["dependencies"]) == {"event_store", "register"}


def test_the_register_and_the_resolution_answer_over_rpc(routing, rpc):
    with rpc() as cluster:
        answer = cluster.routing.resolve_residence({"kreis": "12061"}, "2026-06-01")
        places = cluster.routing.lookup_postcode("22145")
        jobcenter = cluster.routing.get_jobcenter(answer["jobcenter"]["jobcenter_id"])
        listed = cluster.routing.list_jobcenters("2026-06-01")
        with pytest.raises(InvalidInput) as malformed:
            cluster.routing.resolve_residence({"wohnort": "Berlin"}, None)
    assert (answer["outcome"], answer["jobcenter"]["name"], answer["message"]) == (
        "assigned",
        "Dahme-Spreewald",
        "Für Ihren Wohnort ist dieses Jobcenter zuständig.",
    )
    assert {place["jobcenter"]["traeger_nummer"] for place in places["places"]} == {"12302", "11102"}
    assert jobcenter["areas"] == [{"kind": "kreis", "key": "12061", "name": "Dahme-Spreewald"}]
    assert len(listed) == 404
    assert malformed.value.code == "RESIDENCE_INVALID"


def test_the_area_key_a_case_was_routed_by_is_explained_in_german(routing, rpc):
    with rpc() as cluster:
        bezirk = cluster.routing.explain_area("berlin_bezirk:09")
        kreis = cluster.routing.explain_area("kreis:14612")
        for hostile in ("", "plz:12555", "kreis:../../etc", "x" * 300, None):
            with pytest.raises(InvalidInput) as refused:
                cluster.routing.explain_area(hostile)
            assert refused.value.code == "AREA_KEY_INVALID"
    assert bezirk["reason"] == "Ihre Anschrift liegt im Berliner Bezirk Treptow-Köpenick."
    assert "Dresden" in kreis["reason"] and "14612" in kreis["reason"]


def test_a_submitted_case_is_assigned_and_case_assigned_is_published(relay, rpc, amqp_uri, captured_logs):
    case_id = new_case(TREPTOW_KOEPENICK)
    with rpc(CORRELATION_ID) as cluster:
        publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0001"})
        assignment = wait_for_assignment(cluster, case_id)
    relay.relay_batch()

    def heard_of_this_case():
        return [event for event in heard if event.data["case_id"] == case_id]

    deadline = time.monotonic() + 10
    while not heard_of_this_case() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (assignment["status"], assignment["traeger_nummer"]) == ("assigned", "92204")
    (event,) = heard_of_this_case()
    assert event.data["case_id"] == case_id
    assert (event.data["reason_code"], event.data["matched_key"]) == ("MATCHED_BERLIN_BEZIRK", "berlin_bezirk:09")
    assert event.correlation_id == CORRELATION_ID
    decided = [line for line in captured_logs.named("case_assignment_decided") if line["case_id"] == case_id]
    assert decided[0]["institution_id"] == assignment["jobcenter_id"]
    assert "Alt-K" not in captured_logs.text() and "12555" not in captured_logs.text()


def test_a_redelivered_submission_is_assigned_once(routing, rpc, amqp_uri):
    case_id = new_case(TREPTOW_KOEPENICK)
    with rpc() as cluster:
        for _ in range(2):
            publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0002"})
        wait_for_assignment(cluster, case_id)
        time.sleep(0.5)
        assert len(cluster.routing.get_assignment(case_id)["history"]) == 1


def test_a_case_without_residence_waits_until_an_admin_assigns_it(routing, rpc, amqp_uri):
    case_id = new_case(None)
    with rpc() as cluster:
        publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0003"})
        pending = wait_for_assignment(cluster, case_id)
        dahme = cluster.routing.resolve_residence({"kreis": "12061"}, None)["jobcenter"]["jobcenter_id"]
        main_kinzig = cluster.routing.resolve_residence({"kreis": "06435"}, None)["jobcenter"]["jobcenter_id"]
        team_lead = TEST_ISSUER.token_for("lead-1", "team_lead", dahme)
        with pytest.raises(Forbidden):  # a pending case has no Jobcenter yet: an admin decides
            cluster.routing.override_assignment(case_id, dahme, "Meldeadresse geprüft", team_lead)
        admin = TEST_ISSUER.token_for("admin-1", "admin")
        with pytest.raises(Conflict) as not_served:
            cluster.routing.override_assignment(case_id, main_kinzig, "Meldeadresse geprüft", admin)
        overridden = cluster.routing.override_assignment(case_id, dahme, "Meldeadresse geprüft", admin)
        with pytest.raises(Forbidden):  # a citizen never decides where a case goes
            cluster.routing.override_assignment(case_id, main_kinzig, "x", TEST_ISSUER.token_for("c-1"))
    assert (pending["status"], pending["history"][0]["reason_code"]) == ("pending", "RESIDENCE_MISSING")
    assert not_served.value.code == "JOBCENTER_NOT_SERVED"
    assert (overridden["status"], overridden["jobcenter_id"]) == ("assigned", dahme)
    assert overridden["history"][-1]["actor_id"] == "admin-1"


def carried(resolution: dict) -> dict:
    """What submissions' events carry of routing's answer at the submit: the area and the Jobcenter, no address."""
    return {"jobcenter_id": resolution["jobcenter"]["jobcenter_id"], "matched_key": resolution["matched_key"],
            "reason_code": resolution["code"], "register_version": resolution["register_version"]}  # fmt: skip


def submitted_and_assigned(cluster, amqp_uri, residence) -> str:
    """A case submitted with routing's answer for ``residence`` and assigned from it (no question for the case)."""
    case_id = str(uuid.uuid4())  # the double knows no such case: a question for it would drop the event
    answer = cluster.routing.resolve_residence(residence, None)
    publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0005",
                                                                   **carried(answer)})  # fmt: skip
    wait_for_assignment(cluster, case_id)
    return case_id


def publish_move(amqp_uri, reporting_case_id, move_date, new_residence_answer, case_ids, times=1):
    """``case_move_took_effect`` as submissions publishes it; ``times`` > 1: the same event (same id) again."""
    data = {"move_date": move_date, **carried(new_residence_answer), "served": True, "case_ids": case_ids}
    event = IntegrationEvent("case_move_took_effect", reporting_case_id, 3, data, correlation_id=CORRELATION_ID)
    with EventPublisher(amqp_uri, "submissions") as publisher:
        for _ in range(times):
            publisher.publish(event)


def test_a_move_taking_effect_hands_the_open_cases_it_names_over_from_the_move_date(routing, rpc, amqp_uri):
    with rpc() as cluster:
        wba = submitted_and_assigned(cluster, amqp_uri, TREPTOW_KOEPENICK)
        reporting = submitted_and_assigned(cluster, amqp_uri, TREPTOW_KOEPENICK)
        dahme = cluster.routing.resolve_residence({"kreis": "12061"}, None)
        publish_move(amqp_uri, reporting, "2026-12-15", dahme, [wba])
        moved = wait_for_assignment(cluster, wba, until=lambda a: a["jobcenter_id"] != "jc-0394")
        stayed = cluster.routing.get_assignment(reporting)
    assert (moved["status"], moved["jobcenter_id"], moved["history"][-1]["what"]) == ("assigned", "jc-0012",
                                                                                       "reassigned")  # fmt: skip
    assert (moved["history"][-1]["effective_from"], moved["history"][-1]["previous_jobcenter_id"]) == (
        "2026-12-15", "jc-0394",
    )  # fmt: skip
    assert (stayed["jobcenter_id"], len(stayed["history"])) == ("jc-0394", 1), "the reporting case stays"


def test_a_redelivered_move_changes_nothing(routing, rpc, amqp_uri, captured_logs):
    with rpc() as cluster:
        wba = submitted_and_assigned(cluster, amqp_uri, TREPTOW_KOEPENICK)
        reporting = str(uuid.uuid4())
        dahme = cluster.routing.resolve_residence({"kreis": "12061"}, None)
        publish_move(amqp_uri, reporting, "2026-12-15", dahme, [wba], times=2)
        moved = wait_for_assignment(cluster, wba, until=lambda a: a["jobcenter_id"] == "jc-0012")
        wait_until(lambda: [line for line in captured_logs.named("case_move_already_followed")
                            if line["case_id"] == wba], 15, "the redelivery handled")  # fmt: skip
        again = cluster.routing.get_assignment(wba)
    assert again["version"] == moved["version"]
    assert again["history"] == moved["history"]


def test_a_move_into_a_zkt_area_hands_the_open_cases_over_to_the_zkt(routing, rpc, amqp_uri):
    with rpc() as cluster:
        wba = submitted_and_assigned(cluster, amqp_uri, TREPTOW_KOEPENICK)
        there = cluster.routing.resolve_residence(GELNHAUSEN, None)  # a zkT area: found from its area key
        publish_move(amqp_uri, str(uuid.uuid4()), "2026-12-01", there, [wba])
        moved = wait_for_assignment(cluster, wba, until=lambda a: a["status"] != "assigned")
    assert (moved["status"], moved["traeger_nummer"]) == ("handed_over", "43102")
    assert moved["history"][-1]["effective_from"] == "2026-12-01"


def test_a_move_reported_by_the_release_before_still_moves_the_reporting_case(routing, rpc, amqp_uri):
    """Its VÄM was routed by the new address; one still queued at the upgrade follows the move as then."""
    case_id = new_case(TREPTOW_KOEPENICK)
    with rpc() as cluster:
        publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0004"})
        wait_for_assignment(cluster, case_id)
        cases[case_id] = {**cases[case_id], "residence": GELNHAUSEN}
        publish_from_submissions(amqp_uri, "case_move_reported", case_id, {"move_date": "2026-12-01"})
        moved = wait_for_assignment(cluster, case_id, until=lambda a: a["status"] != "assigned")
    assert (moved["status"], moved["traeger_nummer"]) == ("handed_over", "43102")
    assert moved["history"][-1]["effective_from"] == "2026-12-01"


def test_a_move_reported_by_this_release_leaves_the_reporting_case_where_it_is(routing, rpc, amqp_uri, captured_logs):
    with rpc() as cluster:
        reporting = submitted_and_assigned(cluster, amqp_uri, TREPTOW_KOEPENICK)
        dahme = cluster.routing.resolve_residence({"kreis": "12061"}, None)
        reported = {"move_date": "2026-12-15", **carried(dahme), "served": True, "previous_jobcenter_id": "jc-0394"}
        publish_from_submissions(amqp_uri, "case_move_reported", reporting, reported)
        wait_until(lambda: [line for line in captured_logs.named("move_reported_waits_for_its_date")
                            if line["case_id"] == reporting], 15, "the report handled")  # fmt: skip
        stayed = cluster.routing.get_assignment(reporting)
    assert (stayed["jobcenter_id"], len(stayed["history"])) == ("jc-0394", 1)


def test_an_erased_case_s_assignment_is_gone_and_another_case_s_stays(routing, rpc, amqp_uri, cipher_key):
    erased, kept = new_case(TREPTOW_KOEPENICK), new_case(TREPTOW_KOEPENICK)
    with rpc() as cluster:
        for case_id in (erased, kept):
            publish_from_submissions(amqp_uri, "case_submitted", case_id, {"receipt_number": "JC-2026-TEST-0006"})
            wait_for_assignment(cluster, case_id)
        # As submissions publishes it: from the case's erasure record, the case named in the data.
        erasure = IntegrationEvent("case_erased", str(uuid.uuid5(uuid.UUID(erased), "erasure")), 1, {"case_id": erased})
        with EventPublisher(amqp_uri, "submissions") as publisher:
            publisher.publish(erasure)
        deadline = time.monotonic() + 15
        while True:
            try:
                cluster.routing.get_assignment(erased)
            except NotFound as gone:
                assert gone.code == "ASSIGNMENT_NOT_FOUND"
                break
            assert time.monotonic() < deadline, "the erased case's assignment is still read"
            time.sleep(0.05)
        assert cluster.routing.get_assignment(kept)["status"] == "assigned"
    config = routing.config
    application = Assignments.from_settings(config["DATABASE_URL"], config["CIPHER_KEY"])
    try:
        with pytest.raises(NotFound):
            application.get_assignment(erased)
        assert application.recorder.select_events(assignment_id(erased)), "ids and versions stay, unreadable"
    finally:
        application.close()


HAMBURG_CONTACT = {
    "postal_address": {"street": "  Kurt-Schumacher-Allee 16 ", "postcode": "20097", "city": "Hamburg"},
    "visitor_address": {"street": "", "postcode": "", "city": ""},
    "phone": "040 2485-0", "email": "post@jobcenter.example", "opening_hours": "Mo–Fr 8–12 Uhr\nDo 14–18 Uhr",
}  # fmt: skip


def test_a_jobcenter_s_contact_set_by_an_admin_is_shown_with_the_jobcenter_and_records_who(routing, rpc):
    admin = TEST_ISSUER.token_for("admin-contact", "admin")
    with rpc() as cluster:
        before = cluster.routing.get_jobcenter("jc-0001")
        stored = cluster.routing.set_jobcenter_contact("jc-0083", HAMBURG_CONTACT, admin)
        shown = cluster.routing.get_jobcenter("jc-0083")
    assert before["contact"] is None  # nobody has set it
    assert shown["contact"] == stored
    assert stored["postal_address"] == {"street": "Kurt-Schumacher-Allee 16", "postcode": "20097", "city": "Hamburg"}
    assert stored["visitor_address"] is None  # left blank
    assert (stored["phone"], stored["opening_hours"]) == ("040 2485-0", "Mo–Fr 8–12 Uhr\nDo 14–18 Uhr")
    engine = make_engine(routing.config["DATABASE_URL"])
    with engine.connect() as connection:
        who = connection.execute(text("SELECT updated_by, updated_at FROM routing_jobcenter_contacts "
                                      "WHERE jobcenter_id = 'jc-0083'")).one()  # fmt: skip
    engine.dispose()
    assert who[0] == "admin-contact" and who[1] is not None and "updated_by" not in stored


def test_a_team_lead_sets_the_contact_of_the_own_jobcenter_and_changes_it(routing, rpc):
    lead = TEST_ISSUER.token_for("lead-contact", "team_lead", "jc-0394")
    visitors = {"street": "Alt-Köpenick 21", "postcode": "12555", "city": "Berlin"}
    with rpc() as cluster:
        cluster.routing.set_jobcenter_contact("jc-0394", HAMBURG_CONTACT, lead)
        changed = cluster.routing.set_jobcenter_contact(
            "jc-0394", {"postal_address": {"street": "Postfach 1", "postcode": "12430", "city": "Berlin"},
                        "visitor_address": visitors}, lead)  # fmt: skip
        shown = cluster.routing.get_jobcenter("jc-0394")["contact"]
    assert shown == changed and shown["visitor_address"] == visitors
    assert (shown["postal_address"]["postcode"], shown["phone"], shown["email"]) == ("12430", None, None)


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        (("lead-other", "team_lead", "jc-0001"), "INSTITUTION_NOT_ALLOWED"),  # another Jobcenter's team lead
        (("worker-own", "caseworker", "jc-0394"), "ROLE_NOT_ALLOWED"),
        (("citizen-1", "citizen", None), "ROLE_NOT_ALLOWED"),
    ],
)
def test_only_an_admin_or_the_jobcenter_s_team_lead_sets_its_contact(routing, rpc, caller, code):
    with rpc() as cluster:
        with pytest.raises(Forbidden) as refused:
            cluster.routing.set_jobcenter_contact("jc-0394", HAMBURG_CONTACT, TEST_ISSUER.token_for(*caller))
    assert refused.value.code == code


def test_a_contact_is_set_only_for_a_jobcenter_of_the_portal_and_only_when_valid(routing, rpc):
    admin = TEST_ISSUER.token_for("admin-contact", "admin")
    with rpc() as cluster:
        main_kinzig = cluster.routing.resolve_residence({"kreis": "06435"}, None)["jobcenter"]["jobcenter_id"]
        with pytest.raises(Conflict) as zkt:
            cluster.routing.set_jobcenter_contact(main_kinzig, HAMBURG_CONTACT, admin)
        with pytest.raises(NotFound) as unknown:
            cluster.routing.set_jobcenter_contact("jc-9999", HAMBURG_CONTACT, admin)
        with pytest.raises(InvalidInput) as invalid:
            cluster.routing.set_jobcenter_contact(
                "jc-0083", {**HAMBURG_CONTACT, "postal_address": {"street": "A 1", "postcode": "2009", "city": "X"}},
                admin)  # fmt: skip
        with pytest.raises(Unauthenticated):
            cluster.routing.set_jobcenter_contact("jc-0083", HAMBURG_CONTACT, "not-a-token")
    assert (zkt.value.code, unknown.value.code) == ("JOBCENTER_NOT_SERVED", "JOBCENTER_NOT_FOUND")
    assert (invalid.value.code, invalid.value.details["field"]) == ("POSTCODE_INVALID", "postal_address.postcode")
