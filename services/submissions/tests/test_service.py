"""The submissions service over real RPC, and its reactions to routing's events."""

import base64
import time

import eventlet
import jwt
import pytest
from nameko.rpc import rpc as rpc_entrypoint

from services.notify.tests.doubles import FakeRouting
from services.submissions.receipt import verify_receipt
from services.submissions.tests.scenarios import (
    ARBEITSAUFNAHME,
    JOBCENTER,
    UMZUG_UND_NEUES_EINKOMMEN,
    WEITERBEWILLIGUNG,
    submit_over_rpc,
)
from shared.envelope import IntegrationEvent
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, Unavailable
from shared.messaging import EventPublisher
from shared.testing.tokens import TEST_ISSUER, FakeIdentity, Issuer


@pytest.fixture
def submissions(start_services):
    return start_services(FakeIdentity, "submissions", "routing")["submissions"]


def test_a_draft_is_submitted_once_over_rpc(submissions, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-1")
        with pytest.raises(Conflict) as refused:
            cluster.submissions.submit_case(case["case_id"], issue_token("owner-1"), "other")
    assert case["status"] == "submitted"
    assert refused.value.code == "CASE_ALREADY_SUBMITTED"


def test_field_problems_cross_rpc_with_their_details(submissions, rpc, issue_token):
    with rpc() as cluster:
        case_id = cluster.submissions.start_draft(issue_token("owner-1"), "veraenderungsmitteilung")
        with pytest.raises(InvalidInput) as refused:
            cluster.submissions.save_section(case_id, issue_token("owner-1"), "wohnsitz", {"plz": "x"})
    assert refused.value.code == "SECTION_INVALID"
    assert {error["field"] for error in refused.value.details["errors"]} >= {"plz", "ort"}


def test_another_citizen_cannot_touch_the_draft(submissions, rpc, issue_token):
    with rpc() as cluster:
        case_id = cluster.submissions.start_draft(issue_token("owner-1"), "veraenderungsmitteilung")
        with pytest.raises(NotFound):  # as for an id that does not exist
            cluster.submissions.save_section(case_id, issue_token("owner-2"), "wohnsitz", ARBEITSAUFNAHME["wohnsitz"])
        with pytest.raises(NotFound):
            cluster.submissions.get_answers(case_id, issue_token("owner-2"))


def test_a_forged_or_missing_token_is_refused_by_the_service_itself(submissions, rpc, issue_token):
    forged = Issuer().token_for("owner-1")  # signed by a key identity never published
    with rpc() as cluster:
        for token in (forged, "", "not-a-token", issue_token("owner-1")[:-4] + "AAAA"):
            with pytest.raises(Unauthenticated):
                cluster.submissions.start_draft(token, "veraenderungsmitteilung")


def test_a_caseworker_cannot_start_a_citizens_case(submissions, rpc, issue_token):
    with rpc() as cluster, pytest.raises(Forbidden):
        cluster.submissions.start_draft(issue_token("cw-1", "caseworker", JOBCENTER), "veraenderungsmitteilung")


def test_an_unknown_case_is_not_found_over_rpc(submissions, rpc):
    with rpc() as cluster, pytest.raises(NotFound) as missing:
        cluster.submissions.get_case("7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11")
    assert missing.value.code == "CASE_NOT_FOUND"


def test_routings_assignment_is_recorded_once_in_the_case(submissions, rpc, amqp_uri, issue_token):
    token = issue_token("owner-1")
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-1")
        data = {"case_id": case["case_id"], "jobcenter_id": JOBCENTER, "reason_code": "bezirk"}
        assigned = IntegrationEvent("case_assigned", "assignment-1", 1, {**data, "register_version": "2026-1"})
        with EventPublisher(amqp_uri, "routing") as publisher:
            publisher.publish(assigned)
            publisher.publish(assigned)  # a redelivery
        deadline = time.monotonic() + 10
        while cluster.submissions.get_case(case["case_id"])["status"] != "assigned" and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        timeline = [entry["event"] for entry in cluster.submissions.get_timeline(case["case_id"], token)]
    assert timeline.count("Assigned") == 1


def test_health_reports_the_event_store_and_the_read_model(submissions, rpc):
    with rpc() as cluster:
        report = cluster.submissions.health()
    assert report["status"] == "ok"
    assert set(report["dependencies"]) == {"event_store", "read_model"}


def test_the_citizen_sees_the_submitted_case_in_the_list_at_once(submissions, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-list")
        listed = cluster.submissions.list_my_cases(issue_token("owner-list"))
    assert [(c["case_id"], c["status"], c["receipt_number"]) for c in listed] == [
        (case["case_id"], "submitted", case["receipt_number"])
    ]


def test_a_weiterbewilligungsantrag_is_prefilled_from_the_last_submitted_case(submissions, rpc, issue_token):
    token = issue_token("owner-wba")
    with rpc() as cluster:
        submit_over_rpc(cluster, "owner-wba")
        case_id = cluster.submissions.start_draft(token, "weiterbewilligungsantrag")
        answers = cluster.submissions.get_answers(case_id, token)["answers"]
    assert answers == {
        "wohnsitz": ARBEITSAUFNAHME["wohnsitz"],
        "einkommen": {"hat_einkommen": True, "netto_monatlich": ARBEITSAUFNAHME["arbeitsaufnahme"]["netto_monatlich"]},
    }


def test_a_weiterbewilligungsantrag_takes_over_the_last_one_as_a_later_vaem_changed_it(submissions, rpc, issue_token):
    token = issue_token("owner-wba-vaem")
    with rpc() as cluster:
        submit_over_rpc(cluster, "owner-wba-vaem", WEITERBEWILLIGUNG, kind="weiterbewilligungsantrag")
        submit_over_rpc(cluster, "owner-wba-vaem", UMZUG_UND_NEUES_EINKOMMEN)
        case_id = cluster.submissions.start_draft(token, "weiterbewilligungsantrag")
        shown = cluster.submissions.get_answers(case_id, token)
    moved = UMZUG_UND_NEUES_EINKOMMEN["umzug"]
    assert shown["answers"] == {
        "wohnsitz": {key: moved[key] for key in ("plz", "ort", "strasse", "hausnummer", "berlin_bezirk")},
        "bankverbindung": WEITERBEWILLIGUNG["bankverbindung"],
        "bedarfsgemeinschaft": {"personen": WEITERBEWILLIGUNG["bedarfsgemeinschaft"]["personen"]},
        "einkommen": {"hat_einkommen": True, "netto_monatlich": 720.0},  # the VÄM's new income
        "wohnkosten": {"miete_kalt": 520.0, "nebenkosten": 110.0},  # the new flat's, not the old heating costs
        "krankenversicherung": {"krankenkasse": "AOK Nordost"},
        "mehrbedarf": {"arten": ["alleinerziehend"]},
    }
    assert shown["taken_over"]["wohnkosten"] == ["miete_kalt", "nebenkosten"]
    assert "vermoegen" not in shown["taken_over"] and "erklaerung" not in shown["taken_over"]


def test_the_inbox_shows_only_the_caseworkers_own_jobcenter(submissions, rpc, amqp_uri, issue_token):
    caseworker = issue_token("cw-1", "caseworker", "jc-inbox-test")
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-inbox")
        data = {"case_id": case["case_id"], "jobcenter_id": "jc-inbox-test", "reason_code": "bezirk"}
        with EventPublisher(amqp_uri, "routing") as publisher:
            publisher.publish(IntegrationEvent("case_assigned", "assignment-2", 1, data))
        deadline = time.monotonic() + 10
        while not cluster.submissions.list_inbox(caseworker)["cases"] and time.monotonic() < deadline:
            time.sleep(0.1)
        inbox = cluster.submissions.list_inbox(caseworker)
        elsewhere = cluster.submissions.list_inbox(issue_token("cw-2", "caseworker", "jc-other"))
        with pytest.raises(Forbidden):
            cluster.submissions.list_inbox(issue_token("owner-inbox"))
    assert [c["case_id"] for c in inbox["cases"]] == [case["case_id"]]
    assert inbox["counts"] == {"assigned": 1}
    assert elsewhere["cases"] == []


def test_a_receipt_number_finds_nothing_for_a_stranger(submissions, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-receipt")
        found = cluster.submissions.find_by_receipt_number(issue_token("owner-receipt"), case["receipt_number"].lower())
        with pytest.raises(NotFound):
            cluster.submissions.find_by_receipt_number(issue_token("someone-else"), case["receipt_number"])
    assert found["case_id"] == case["case_id"]


def test_the_receipt_verifies_with_the_published_key_and_not_after_a_change(submissions, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-receipt-jws")
        issued = cluster.submissions.get_receipt(case["case_id"], issue_token("owner-receipt-jws"))
        keys = cluster.submissions.get_receipt_keys()
    claims = verify_receipt(issued["jws"], keys)
    assert claims["receipt_number"] == case["receipt_number"]
    assert claims["content_hash"] == case["content_hash"]
    header, payload, signature = issued["jws"].split(".")
    tampered_payload = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    # The signature's first bytes changed for sure (its last characters may carry padding bits only).
    tampered_signature = ("B" if signature[0] == "A" else "A") + signature[1:]
    for tampered in (f"{header}.{tampered_payload}.{signature}", f"{header}.{payload}.{tampered_signature}"):
        with pytest.raises(jwt.InvalidTokenError):
            verify_receipt(tampered, keys)
    pdf = base64.b64decode(issued["pdf"])
    assert pdf.startswith(b"%PDF-")


def test_nobody_else_gets_the_receipt(submissions, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-receipt-2")
        with pytest.raises(NotFound):
            cluster.submissions.get_receipt(case["case_id"], issue_token("intruder"))


def test_the_form_is_described_with_its_section_schemas_for_rendering(submissions, rpc):
    with rpc() as cluster:
        form = cluster.submissions.get_form("veraenderungsmitteilung")
        same = cluster.submissions.get_form("veraenderungsmitteilung", form["version"])
        with pytest.raises(InvalidInput) as unknown:
            cluster.submissions.get_form("veraenderungsmitteilung", "1999-1")
    sections = {section["id"]: section for section in form["sections"]}
    assert sections["arbeitsaufnahme"]["applies_if"] == {"aenderungen": "arbeitsaufnahme"}
    assert sections["arbeitsaufnahme"]["schema"]["properties"]["arbeitgeber"]["title"] == "Arbeitgeber"
    assert "$ref" not in str(sections["wohnsitz"]["schema"])
    assert same == form
    assert unknown.value.code == "FORM_VERSION_UNKNOWN"


class SlowRouting:
    """A routing that answers only after the submit stopped waiting (a paused or overloaded routing)."""

    name = "routing"

    @rpc_entrypoint
    def resolve_residence(self, residence, on_date=None):
        eventlet.sleep(3)
        return FakeRouting().resolve_residence(residence, on_date)


def test_a_submit_routing_does_not_answer_in_time_is_refused_and_never_happens_later(start_services, rpc):
    """Found from outside: with routing paused, the citizen was told the submit failed (503), and the case
    was submitted a minute later when routing took the question up."""
    start_services(FakeIdentity, "submissions", SlowRouting)
    token = TEST_ISSUER.token_for("owner-1")
    with rpc() as cluster:
        case_id = cluster.submissions.start_draft(token, "veraenderungsmitteilung")
        for section_id, data in ARBEITSAUFNAHME.items():
            cluster.submissions.save_section(case_id, token, section_id, data)
        with pytest.raises(Unavailable) as refused:
            cluster.submissions.submit_case(case_id, token, "submit-1")
        eventlet.sleep(3)  # routing's late answer has come and gone
        case = cluster.submissions.get_case(case_id)
    assert refused.value.code == "ROUTING_UNAVAILABLE" and "noch nicht abgeschickt" in refused.value.message
    assert (case["status"], case["receipt_number"]) == ("draft", None)
