"""The Cases application on each event store: SQLite (embedded default) and PostgreSQL."""

import sqlite3
from datetime import timedelta

import psycopg
import pytest
from eventsourcing.persistence import MapperDeserialisationError

from services.submissions.application import Cases
from services.submissions.tests.scenarios import (
    ARBEITSAUFNAHME,
    CASEWORKER,
    CASEWORKER_ELSEWHERE,
    CITIZEN,
    JOBCENTER,
    MOVED_TO,
    NEW_JOBCENTER,
    OTHER_CITIZEN,
    ROUTED,
    UMZUG,
    WBA,
    WEITERBEWILLIGUNG,
    fill,
)
from shared.correlation import correlated
from shared.dates import german_today
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

MARKER = "Zeichenkette-7f3a9c"
TOMORROW = (german_today() + timedelta(days=1)).isoformat()


def stored_states(database_url):
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return [row[0] for row in connection.execute("SELECT state FROM stored_events")]
    with psycopg.connect(database_url) as connection:
        return [bytes(row[0]) for row in connection.execute("SELECT state FROM submissions_events")]


def bescheid(case_id, document_id="doc-bescheid"):
    """What the documents service tells of a Bescheid the case's Jobcenter uploaded for it."""
    return {"document_id": document_id, "case_id": case_id, "nachweis": "bescheid", "state": "accepted",
            "from_jobcenter": True}  # fmt: skip


def submitted_case(cases, answers=ARBEITSAUFNAHME, kind="veraenderungsmitteilung"):
    case_id = str(cases.start_draft(CITIZEN.account_id, kind))
    fill(cases, case_id, answers)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED, MOVED_TO)
    return case_id


def test_a_vaem_arbeitsaufnahme_walks_through_every_step(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    assert [n["kind"] for n in cases.get_answers(case_id)["nachweise"]] == [
        "arbeitsvertrag", "lohnabrechnung_erste", "anlage_ek",
    ]  # fmt: skip
    cases.attach_document(case_id, CITIZEN, "doc-contract", "arbeitsvertrag")
    receipt = cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.request_documents(case_id, CASEWORKER, ["lohnabrechnung_erste"], "", TOMORROW)
    cases.supply_document(case_id, CITIZEN, "doc-payslip", "lohnabrechnung_erste")
    cases.waive_nachweis(case_id, CASEWORKER, "anlage_ek")
    cases.start_processing(case_id, CASEWORKER)
    cases.decide(case_id, CASEWORKER, "amended", "doc-bescheid", None, None, bescheid(case_id))
    cases.close_case(case_id, CASEWORKER)

    case = cases.get_case(case_id)
    assert case["status"] == "closed"
    assert case["receipt_number"] == receipt
    assert case["content_hash"].startswith("sha256:")
    assert case["jobcenter_id"] == JOBCENTER
    assert case["checklist"] == {
        "arbeitsvertrag": {"status": "supplied", "document_ids": ["doc-contract"]},
        "lohnabrechnung_erste": {"status": "supplied", "document_ids": ["doc-payslip"]},
        "anlage_ek": {"status": "waived", "document_ids": []},
    }
    assert [entry["event"] for entry in cases.timeline(case_id)] == [
        "DraftStarted", "SectionSaved", "SectionSaved", "SectionSaved", "SectionSaved", "DocumentAttached",
        "Submitted", "Assigned", "Received", "CaseworkerAssigned", "ProcessingStarted", "DocumentsRequested",
        "DocumentSupplied", "NachweisWaived", "ProcessingStarted", "Decided", "Closed",
    ]  # fmt: skip


def test_an_invalid_section_is_refused_with_german_messages_per_field(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    with pytest.raises(InvalidInput) as refused:
        cases.save_section(case_id, CITIZEN, "wohnsitz", {"plz": "1234", "ort": "Berlin", "strasse": "A"})
    errors = {error["field"]: error for error in refused.value.details["errors"]}
    assert errors["plz"]["code"] == "PATTERN"
    assert errors["hausnummer"]["message"] == "Bitte füllen Sie „Hausnummer“ aus."
    assert cases.get_case(case_id)["version"] == 1


def test_an_incomplete_draft_cannot_be_submitted(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    cases.save_section(case_id, CITIZEN, "aenderungen", {"aenderungen": ["arbeitsaufnahme"]})
    with pytest.raises(InvalidInput) as refused:
        cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    assert refused.value.code == "CASE_INCOMPLETE"
    assert set(refused.value.details["sections"]) == {"wohnsitz", "arbeitsaufnahme", "erklaerung"}


@pytest.mark.parametrize("responsible", [None, {}, {**ROUTED, "jobcenter_id": ""}])
def test_a_draft_without_its_jobcenter_cannot_be_submitted(cases, responsible):
    """Nothing is taken in without the Jobcenter routing named: no case can wait for one."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    version = cases.get_case(case_id)["version"]
    with pytest.raises(InvalidInput) as refused:
        cases.submit(case_id, CITIZEN, "key-1", responsible)
    assert refused.value.code == "RESIDENCE_NOT_ROUTABLE"
    assert (cases.get_case(case_id)["status"], cases.get_case(case_id)["version"]) == ("draft", version)


def test_a_repeated_submit_with_the_same_key_returns_the_same_receipt(cases):
    case_id = submitted_case(cases)
    version = cases.get_case(case_id)["version"]
    assert cases.submit(case_id, CITIZEN, "key-1", ROUTED) == cases.get_case(case_id)["receipt_number"]
    assert cases.get_case(case_id)["version"] == version


def test_second_submit_of_the_same_draft_with_another_key_is_rejected(cases):
    case_id = submitted_case(cases)
    with pytest.raises(Conflict) as refused:
        cases.submit(case_id, CITIZEN, "key-2", ROUTED)
    assert refused.value.code == "CASE_ALREADY_SUBMITTED"


def test_no_edit_after_submit(cases):
    case_id = submitted_case(cases)
    with pytest.raises(Conflict, match="CASE_ALREADY_SUBMITTED"):
        cases.save_section(case_id, CITIZEN, "erklaerung", {"wahrheitsgemaess": True})


def test_only_the_owner_edits_a_draft(cases):
    """Another citizen's case answers as one that does not exist (no oracle of which ids exist)."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    with pytest.raises(NotFound, match="CASE_NOT_FOUND"):
        cases.save_section(case_id, OTHER_CITIZEN, "erklaerung", {"wahrheitsgemaess": True})


def test_only_the_assigned_jobcenters_staff_act_on_a_case(cases):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    with pytest.raises(NotFound, match="CASE_NOT_FOUND"):  # another Jobcenter's: no such case
        cases.receive(case_id, CASEWORKER_ELSEWHERE)
    with pytest.raises(Forbidden, match="NOT_ASSIGNED_TO_YOUR_JOBCENTER"):  # the owner, who may read it
        cases.receive(case_id, CITIZEN)


def test_a_closed_case_takes_no_more_actions(cases):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.decide(case_id, CASEWORKER, "revoked", "doc-bescheid", None, None, bescheid(case_id))
    cases.close_case(case_id, CASEWORKER)
    with pytest.raises(Conflict, match="CASE_CLOSED"):
        cases.request_documents(case_id, CASEWORKER, ["arbeitsvertrag"], "", TOMORROW)
    with pytest.raises(Conflict, match="CASE_CLOSED"):
        cases.withdraw(case_id, CITIZEN)


def test_a_citizen_withdraws_before_the_decision(cases):
    case_id = submitted_case(cases)
    cases.withdraw(case_id, CITIZEN)
    assert cases.get_case(case_id)["status"] == "withdrawn"


def test_a_wba_decision_needs_the_approval_period(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag"))
    fill(cases, case_id, {**WBA, "wohnsitz": ARBEITSAUFNAHME["wohnsitz"]})
    cases.submit(case_id, CITIZEN, "k", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    with pytest.raises(InvalidInput, match="APPROVAL_PERIOD_REQUIRED"):
        cases.decide(case_id, CASEWORKER, "approved", "doc-bescheid", None, None, bescheid(case_id))
    cases.decide(case_id, CASEWORKER, "approved", "doc-bescheid", "2027-01-01", "2027-12-31", bescheid(case_id))
    assert cases.get_case(case_id)["decision"]["approval_to"] == "2027-12-31"


def test_a_reported_move_is_routed_by_the_address_before_the_move(cases):
    case_id = submitted_case(cases, UMZUG)
    case = cases.get_case(case_id)
    assert (case["residence"]["plz"], case["residence"]["kreis"]) == ("12555", None)  # Berlin, until the move
    assert case["move"] == {"move_date": "2026-12-15", "jobcenter_id": NEW_JOBCENTER, "matched_key": "kreis:12061",
                            "reason_code": "MATCHED_GEMEINDE", "register_version": "test", "served": True,
                            "took_effect": False}  # fmt: skip
    assert case["checklist"].keys() == {"mietvertrag", "wohnungsgeberbestaetigung"}
    (reported,) = [entry for entry in cases.timeline(case_id) if entry["event"] == "MoveReported"]
    assert reported["label"] == "Umzug gemeldet zum 15.12.2026"
    assert (reported["on"], reported["jobcenter_id"], reported["new_jobcenter_id"]) == (
        "2026-12-15", JOBCENTER, NEW_JOBCENTER,
    )  # fmt: skip


def test_a_move_whose_new_address_has_no_jobcenter_cannot_be_submitted(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, UMZUG)
    with pytest.raises(InvalidInput) as refused:
        cases.submit(case_id, CITIZEN, "key-1", ROUTED, None)
    assert (refused.value.code, refused.value.details["section"]) == ("RESIDENCE_NOT_ROUTABLE", "umzug")
    assert cases.get_case(case_id)["status"] == "draft"


def test_a_reported_move_carries_routings_answer_for_the_new_address_and_no_address(cases):
    before = cases.check_store()
    submitted_case(cases, UMZUG)
    notifications = cases.recorder.select_notifications(before, 20, inclusive_of_start=False)
    events = {e.type: e for n in notifications if (e := cases.integration_event_for(n))}
    assert events["case_submitted"].data["jobcenter_id"] == JOBCENTER  # the Jobcenter until the move keeps it
    assert events["case_move_reported"].data == {
        "move_date": "2026-12-15", **MOVED_TO, "previous_jobcenter_id": JOBCENTER, "owner_id": CITIZEN.account_id,
    }  # fmt: skip


def test_an_upload_is_attached_to_a_draft_and_supplied_to_a_submitted_case(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.add_document(case_id, CITIZEN, "doc-contract", "arbeitsvertrag")
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.add_document(case_id, CITIZEN, "doc-payslip", "lohnabrechnung_erste")
    with pytest.raises((Forbidden, NotFound)):
        cases.add_document(case_id, OTHER_CITIZEN, "doc-stranger", "arbeitsvertrag")
    checklist = cases.get_case(case_id)["checklist"]
    assert checklist["arbeitsvertrag"]["document_ids"] == ["doc-contract"]
    assert checklist["lohnabrechnung_erste"]["document_ids"] == ["doc-payslip"]
    steps = [entry["event"] for entry in cases.timeline(case_id)]
    assert ("DocumentAttached", "DocumentSupplied") == (steps[steps.index("DocumentAttached")], steps[-1])


def test_a_submit_loads_its_case_once(cases, monkeypatch):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    loads: list[object] = []
    load = cases.repository.get

    def counted_load(*args, **kwargs):
        loads.append(args)
        return load(*args, **kwargs)

    monkeypatch.setattr(cases.repository, "get", counted_load)
    submitted = cases.submit_routed(case_id, CITIZEN, "key-1", lambda section_id, residence: ROUTED)
    assert (submitted["status"], len(loads)) == ("submitted", 1)


def test_an_event_stored_before_a_field_was_published_is_published_as_it_was_stored(cases):
    before = cases.check_store()
    case_id = submitted_case(cases)
    notifications = cases.recorder.select_notifications(before, 20, inclusive_of_start=False)
    stored = next(n for n in notifications if n.topic.endswith("Case.Submitted"))
    domain_event = cases.mapper.to_domain_event(stored)
    object.__delattr__(domain_event, "owner_id")  # as a release before this field stored it
    old = cases.mapper.to_stored_event(domain_event)
    event = cases.integration_event_for(type(stored)(**{**vars(stored), "state": old.state}))
    assert event is not None and event.aggregate_id == case_id
    assert "owner_id" not in event.data and event.data["jobcenter_id"] == ROUTED["jobcenter_id"]


def test_two_concurrent_updates_are_both_applied(cases, caplog):
    caplog.set_level("INFO")
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    save = cases.save
    interfered: list[bool] = []

    def save_after_another_request_saved_first(*aggregates, **kwargs):
        if not interfered:
            interfered.append(True)
            other = cases.repository.get(cases._parse_id(case_id))
            other.save_section(cases.form_of(other), "erklaerung", ARBEITSAUFNAHME["erklaerung"])
            save(other)
        return save(*aggregates, **kwargs)

    cases.save = save_after_another_request_saved_first
    cases.save_section(case_id, CITIZEN, "wohnsitz", ARBEITSAUFNAHME["wohnsitz"])
    cases.save = save

    assert set(cases.get_answers(case_id)["answers"]) == {"wohnsitz", "erklaerung"}
    assert cases.get_case(case_id)["version"] == 3
    assert "case_save_retried" in caplog.messages


def test_an_unknown_case_is_not_found(cases):
    with pytest.raises(NotFound):
        cases.get_case("7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11")
    with pytest.raises(InvalidInput):
        cases.get_case("../etc/passwd")


def test_stored_event_state_holds_no_plaintext(cases, database_url):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    cases.save_section(
        case_id, CITIZEN, "arbeitsaufnahme", {**ARBEITSAUFNAHME["arbeitsaufnahme"], "arbeitgeber": MARKER}
    )
    states = stored_states(database_url)
    assert states
    assert all(MARKER.encode() not in state for state in states)
    # Read back through the cipher, the marker is there: the check above is not vacuous.
    assert cases.get_answers(case_id)["answers"]["arbeitsaufnahme"]["arbeitgeber"] == MARKER


def test_a_store_opened_with_another_key_cannot_read_the_events(cases, database_url):
    case_id = cases.start_draft("owner-1", "veraenderungsmitteilung")
    other = Cases.from_settings(database_url, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    with pytest.raises(MapperDeserialisationError):
        other.repository.get(case_id)
    other.close()


def test_stored_events_become_integration_events_with_their_correlation_id(cases):
    before = cases.check_store()
    with correlated("corr-0123456789"):
        case_id = submitted_case(cases)
    notifications = cases.recorder.select_notifications(before, 20, inclusive_of_start=False)
    events = [event for n in notifications if (event := cases.integration_event_for(n))]
    assert [(e.type, e.correlation_id) for e in events] == [
        ("case_draft_started", "corr-0123456789"),
        ("case_submitted", "corr-0123456789"),
    ]
    # The Jobcenter routing found at the submission and the area key that decided (no address), and whose
    # Postfach gets the receipt (the account's id): what routing and notify need, so neither asks for the case.
    assert set(events[1].data) == {
        "receipt_number", "jobcenter_id", "matched_key", "reason_code", "register_version", "owner_id"
    }  # fmt: skip
    assert events[1].data["owner_id"] == events[0].data["owner_id"]
    assert events[1].aggregate_id == case_id
    # Relaying the same stored event twice yields the same event id, so consumers can drop copies.
    again = cases.integration_event_for(notifications[0])
    assert again.event_id == events[0].event_id


def test_citizen_and_assigned_caseworker_exchange_messages(cases):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.post_message(case_id, CITIZEN, "Ich habe den Vertrag nachgereicht.")
    cases.post_message(case_id, CASEWORKER, "Danke, ist angekommen.")
    with pytest.raises(NotFound, match="CASE_NOT_FOUND"):  # another Jobcenter's case does not exist for them
        cases.post_message(case_id, CASEWORKER_ELSEWHERE, "Hallo")
    with pytest.raises(InvalidInput, match="MESSAGE_LENGTH"):
        cases.post_message(case_id, CITIZEN, "x" * 5001)
    thread = cases.messages(case_id, CITIZEN)
    assert [(m["author_role"], m["text"]) for m in thread] == [
        ("citizen", "Ich habe den Vertrag nachgereicht."),
        ("caseworker", "Danke, ist angekommen."),
    ]
    with pytest.raises(NotFound, match="CASE_NOT_FOUND"):
        cases.messages(case_id, OTHER_CITIZEN)


def test_a_prefilled_wba_walks_through_to_the_decision(cases):
    earlier = submitted_case(cases, UMZUG)
    case_id = str(
        cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag", prefill_from=[cases.prefill_source(earlier)])
    )
    answers = cases.get_answers(case_id)["answers"]
    assert answers["wohnsitz"]["plz"] == "15711"  # the new address of the reported move
    fill(cases, case_id, {
        "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "E. M."},
        "bedarfsgemeinschaft": {"unveraendert": True, "personen": []},
        "einkommen": {"hat_einkommen": True, "netto_monatlich": 310.0},
        "vermoegen": {"ueber_grenze": False},
        "wohnkosten": {"unveraendert": True, "miete_kalt": 520.0},
        "krankenversicherung": {"krankenkasse": "AOK Nordost"},
        "mehrbedarf": {"arten": ["alleinerziehend"]},
        "erklaerung": {"wahrheitsgemaess": True},
    })  # fmt: skip
    cases.submit(case_id, CITIZEN, "wba", ROUTED)
    assert cases.get_case(case_id)["checklist"] == {"lohnabrechnung_aktuell": {"status": "missing", "document_ids": []}}
    cases.assign(case_id, JOBCENTER, "kreis", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.request_documents(case_id, CASEWORKER, ["lohnabrechnung_aktuell"], "Bitte die letzte Abrechnung.", TOMORROW)
    cases.supply_document(case_id, CITIZEN, "doc-payslip", "lohnabrechnung_aktuell")
    cases.start_processing(case_id, CASEWORKER)
    cases.decide(case_id, CASEWORKER, "approved", "doc-bescheid", "2027-01-01", "2027-12-31", bescheid(case_id))
    cases.close_case(case_id, CASEWORKER)
    case = cases.get_case(case_id)
    assert (case["status"], case["decision"]["approval_from"]) == ("closed", "2027-01-01")


@pytest.mark.parametrize("outcome", ["approved", "partially_approved", "rejected"])
def test_a_vaem_is_not_decided_like_a_wba(cases, outcome):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    with pytest.raises(InvalidInput, match="OUTCOME_UNKNOWN"):
        cases.decide(case_id, CASEWORKER, outcome, "doc-bescheid", None, None, bescheid(case_id))
    assert cases.get_case(case_id)["status"] == "in_progress"


@pytest.mark.parametrize("outcome", ["amended", "revoked", "unchanged"])
def test_a_vaem_ends_in_an_aenderungsbescheid_an_aufhebungsbescheid_or_no_change(cases, outcome):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    cases.decide(case_id, CASEWORKER, outcome, "doc-bescheid", None, None, bescheid(case_id))
    assert cases.get_case(case_id)["decision"]["outcome"] == outcome


def test_a_vaem_that_changes_nothing_is_decided_without_a_bescheid_any_other_decision_needs_one(cases):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    for outcome in ("amended", "revoked"):
        with pytest.raises(InvalidInput, match="BESCHEID_INVALID"):
            cases.decide(case_id, CASEWORKER, outcome, None, None, None, None)
    cases.decide(case_id, CASEWORKER, "unchanged", None, None, None, None)
    case = cases.get_case(case_id)
    assert (case["status"], case["decision"]["outcome"], case["decision"]["bescheid_document_id"]) == (
        "decided", "unchanged", None,
    )  # fmt: skip


def test_a_vaem_decision_stored_before_the_outcomes_fitted_the_kind_still_reads(cases):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    # The event exactly as the code before the rule stored it: a VÄM "approved", no owner, no kind.
    cases._update(case_id, lambda case: case._decided(
        outcome="approved", bescheid_document_id="doc-bescheid", approval_from=None, approval_to=None,
        actor_id=CASEWORKER.account_id,
    ))  # fmt: skip
    case = cases.get_case(case_id)
    assert (case["status"], case["decision"]["outcome"]) == ("decided", "approved")
    cases.close_case(case_id, CASEWORKER)
    assert cases.get_case(case_id)["status"] == "closed"


@pytest.mark.parametrize(
    "wrong",
    [None, {"case_id": "another-case"}, {"nachweis": "arbeitsvertrag"}, {"state": "rejected"},
     {"from_jobcenter": False}, {"document_id": "doc-other"}],
)  # fmt: skip
def test_a_decision_needs_the_jobcenters_checked_bescheid_of_this_case(cases, wrong):
    case_id = submitted_case(cases)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    facts = None if wrong is None else {**bescheid(case_id), **wrong}
    with pytest.raises(InvalidInput, match="BESCHEID_INVALID"):
        cases.decide(case_id, CASEWORKER, "amended", "doc-bescheid", None, None, facts)
    assert cases.get_case(case_id)["status"] == "in_progress"


def test_an_address_saved_while_the_submit_asked_routing_stops_the_submit(cases):
    """Found from outside: a wohnsitz PUT racing the submit got a zkT address submitted to the gE routing
    had named for the address before it."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    moved = {"plz": "61130", "ort": "Nidderau", "strasse": "Hauptstraße", "hausnummer": "1"}
    asked: list[dict] = []

    def routing_while_the_address_is_saved(section_id: str, residence: dict) -> dict[str, str]:
        asked.append(residence)
        if len(asked) == 1:
            cases.save_section(case_id, CITIZEN, "wohnsitz", moved)
        return ROUTED

    with pytest.raises(Conflict) as refused:
        cases.submit_routed(case_id, CITIZEN, "key-1", routing_while_the_address_is_saved)
    assert refused.value.code == "ADDRESS_CHANGED"
    assert cases.get_case(case_id)["status"] == "draft"
    submitted = cases.submit_routed(case_id, CITIZEN, "key-1", routing_while_the_address_is_saved)
    assert submitted["status"] == "submitted"
    assert asked[1]["plz"] == "61130"  # the next submit asked about the new address


def test_a_wba_shows_as_taken_over_only_what_still_holds_the_earlier_answer(cases):
    earlier = submitted_case(cases, WEITERBEWILLIGUNG, kind="weiterbewilligungsantrag")
    case_id = str(
        cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag", prefill_from=[cases.prefill_source(earlier)])
    )
    taken = cases.get_answers(case_id)["taken_over"]
    assert taken["wohnkosten"] == ["miete_kalt", "nebenkosten", "heizkosten"]  # "unveraendert" is asked anew
    assert "bedarfsgemeinschaft" in taken and "vermoegen" not in taken
    cases.save_section(case_id, CITIZEN, "wohnkosten", {"unveraendert": False, "miete_kalt": 470.0})
    assert "wohnkosten" not in cases.get_answers(case_id)["taken_over"]


def test_a_later_vaem_reporting_the_work_ended_leaves_the_income_to_be_filled_in(cases):
    earlier = submitted_case(cases, WEITERBEWILLIGUNG, kind="weiterbewilligungsantrag")
    ended = submitted_case(cases, {
        "aenderungen": {"aenderungen": ["arbeitsende"]},
        "wohnsitz": WEITERBEWILLIGUNG["wohnsitz"],
        "arbeitsende": {"arbeitgeber": "Muster GmbH", "ende": "2026-11-30"},
        "erklaerung": {"wahrheitsgemaess": True},
    })  # fmt: skip
    sources = [cases.prefill_source(earlier), cases.prefill_source(ended)]
    case_id = str(cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag", prefill_from=sources))
    view = cases.get_answers(case_id)
    answers = view["answers"]
    assert "einkommen" not in answers
    assert answers["bankverbindung"] == WEITERBEWILLIGUNG["bankverbindung"]
    assert "einkommen" in view["not_taken_over"], "the page says why the income is empty"
    assert "bankverbindung" not in view["not_taken_over"]
    fresh = str(cases.start_draft(CITIZEN.account_id, "weiterbewilligungsantrag"))
    assert cases.get_answers(fresh)["not_taken_over"] == []  # nothing was prefilled: nothing to explain
