"""Accept and reject as events of the case in submissions (the aggregate and its application, no broker)."""

from __future__ import annotations

from typing import Any

import pytest

from services.submissions.application import Cases
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CITIZEN, ROUTED, fill
from shared.errors import Conflict, InvalidInput

JOBCENTER = "jc-0394"


@pytest.fixture
def cases(tmp_path: Any, cipher_key: str) -> Any:
    application = Cases.from_settings(f"sqlite:///{tmp_path}/submissions.sqlite", cipher_key)
    yield application
    application.close()


def assigned_case(cases: Cases) -> str:
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    return case_id


def event_names(cases: Cases, case_id: str) -> list[str]:
    return [entry["event"] for entry in cases.timeline(case_id)]


def test_a_repeated_accept_records_one_event(cases: Cases) -> None:
    case_id = assigned_case(cases)
    assert cases.confirm_handover(case_id, JOBCENTER) is True
    assert cases.confirm_handover(case_id, JOBCENTER) is False
    assert event_names(cases, case_id).count("HandoverConfirmed") == 1
    assert cases.get_case(case_id)["status"] == "assigned"  # the caseworkers' work is not touched
    with pytest.raises(Conflict) as refused:
        cases.refuse_handover(case_id, JOBCENTER, "doch nicht")
    assert refused.value.code == "HANDOVER_ALREADY_CONFIRMED"


def test_another_jobcenter_and_a_draft_are_refused(cases: Cases) -> None:
    case_id = assigned_case(cases)
    with pytest.raises(Conflict) as refused:
        cases.confirm_handover(case_id, "jc-0001")
    assert refused.value.code == "CASE_NOT_ASSIGNED_TO_JOBCENTER"
    draft = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    with pytest.raises(Conflict):
        cases.confirm_handover(draft, JOBCENTER)
    with pytest.raises(Conflict):
        cases.export_case(draft)


def test_a_refusal_needs_a_reason_which_stays_out_of_the_exported_events(cases: Cases) -> None:
    case_id = assigned_case(cases)
    with pytest.raises(InvalidInput):
        cases.refuse_handover(case_id, JOBCENTER, "   ")
    assert cases.refuse_handover(case_id, JOBCENTER, "Aktenzeichen 4711 unbekannt") is True
    assert cases.refuse_handover(case_id, JOBCENTER, "noch einmal") is False
    labels = [entry["label"] for entry in cases.timeline(case_id)]
    assert labels[-1] == "Vom Jobcenter nicht übernommen"
    exported = cases.export_events(case_id)
    assert exported[-1]["type"] == "case_handover_refused"
    assert exported[-1]["data"] == {"jobcenter_id": JOBCENTER}
    assert "4711" not in repr(exported) and CITIZEN.account_id not in repr(exported)
    assert len({entry["event_id"] for entry in exported}) == len(exported)


def test_the_export_holds_the_submitted_answers_with_form_kind_and_version(cases: Cases) -> None:
    case_id = assigned_case(cases)
    exported = cases.export_case(case_id)
    assert exported["kind"] == "veraenderungsmitteilung" and exported["form_version"]
    assert exported["answers"]["arbeitsaufnahme"]["arbeitgeber"] == "Muster GmbH"
    assert {item["kind"] for item in exported["nachweise"]}
    assert exported["jobcenter_id"] == JOBCENTER and "owner_id" not in exported
