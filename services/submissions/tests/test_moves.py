"""Moves as § 36 SGB II has them (docs/moves.md), on each event store and its case list.

The reporting VÄM stays with the Jobcenter until the move; from the move date the new one is responsible
and the owner's open Weiterbewilligungsanträge are named for the handover, once.
"""

from datetime import timedelta

import pytest

from services.submissions.moves import take_due_moves_into_effect, take_move_into_effect
from services.submissions.tests.scenarios import (
    ARBEITSAUFNAHME,
    CASEWORKER,
    CITIZEN,
    JOBCENTER,
    MOVED_TO,
    NEW_JOBCENTER,
    OTHER_CITIZEN,
    ROUTED,
    UMZUG,
    WBA,
    fill,
)
from shared.dates import german_today
from shared.errors import Conflict

TODAY = german_today()


def moving_on(day):
    """UMZUG with its move on ``day``."""
    return {**UMZUG, "umzug": {**UMZUG["umzug"], "umzugsdatum": day.isoformat()}}


def assigned(cases, kind, answers, owner=CITIZEN, moving_to=MOVED_TO):
    case_id = str(cases.start_draft(owner.account_id, kind))
    fill(cases, case_id, answers, owner)
    cases.submit(case_id, owner, f"key-{case_id}", ROUTED, moving_to)
    cases.assign(case_id, JOBCENTER, "MATCHED_BERLIN_ADDRESS", "test")
    return case_id


def took_effect(cases, case_id):
    return [entry for entry in cases.timeline(case_id) if entry["event"] == "MoveTookEffect"]


@pytest.fixture
def open_cases(cases):
    """The citizen's cases before the move: an open WBA, an open VÄM, a decided WBA; another citizen's WBA."""
    wba = assigned(cases, "weiterbewilligungsantrag", WBA)
    vaem = assigned(cases, "veraenderungsmitteilung", ARBEITSAUFNAHME)
    decided = assigned(cases, "weiterbewilligungsantrag", WBA)
    cases.receive(decided, CASEWORKER)
    cases.start_processing(decided, CASEWORKER)
    cases.decide(decided, CASEWORKER, "rejected", "doc-bescheid", None, None,
                 {"document_id": "doc-bescheid", "case_id": decided, "nachweis": "bescheid", "state": "accepted",
                  "from_jobcenter": True})  # fmt: skip
    assigned(cases, "weiterbewilligungsantrag", WBA, owner=OTHER_CITIZEN)
    return {"wba": wba, "vaem": vaem, "decided": decided}


def test_a_move_dated_in_the_future_takes_effect_on_its_date_and_not_before(cases, runner, open_cases):
    move_date = TODAY + timedelta(days=10)
    move = assigned(cases, "veraenderungsmitteilung", moving_on(move_date))

    assert take_due_moves_into_effect(cases, runner, TODAY) == []
    assert take_due_moves_into_effect(cases, runner, move_date - timedelta(days=1)) == []
    assert took_effect(cases, move) == []
    assert take_due_moves_into_effect(cases, runner, move_date) == [move]

    (step,) = took_effect(cases, move)
    assert step["handed_over_case_ids"] == [open_cases["wba"]], "only the open WBA: the VÄM stays, decided ones too"
    assert (step["on"], step["jobcenter_id"]) == (move_date.isoformat(), NEW_JOBCENTER)
    assert step["label"] == f"Ab {move_date:%d.%m.%Y} zuständig: das Jobcenter der neuen Anschrift"
    assert cases.get_case(move)["jobcenter_id"] == JOBCENTER, "the reporting VÄM stays with the Jobcenter before"


def test_a_withdrawn_move_never_takes_effect(cases, runner, open_cases):
    """The citizen took the report back before its date: the open WBA stays (outside pass of #21)."""
    move_date = TODAY + timedelta(days=10)
    move = assigned(cases, "veraenderungsmitteilung", moving_on(move_date))
    cases.withdraw(move, CITIZEN)
    assert take_due_moves_into_effect(cases, runner, move_date) == []
    assert took_effect(cases, move) == []
    assert cases.get_case(open_cases["wba"])["jobcenter_id"] == JOBCENTER


def test_a_move_takes_effect_once_however_often_it_is_asked(cases, runner, open_cases):
    move = assigned(cases, "veraenderungsmitteilung", moving_on(TODAY - timedelta(days=3)))
    runner.catch_up()
    assert take_move_into_effect(cases, runner, move, TODAY) == [open_cases["wba"]]
    version = cases.get_case(move)["version"]

    assert take_move_into_effect(cases, runner, move, TODAY) is None
    assert take_due_moves_into_effect(cases, runner, TODAY + timedelta(days=30)) == []
    with pytest.raises(Conflict, match="MOVE_NOT_DUE"):
        cases.take_move_into_effect(move, TODAY, [open_cases["wba"]])
    assert cases.get_case(move)["version"] == version
    assert len(took_effect(cases, move)) == 1


def test_the_move_taking_effect_names_the_cases_to_hand_over_and_no_address(cases, runner, open_cases):
    move = assigned(cases, "veraenderungsmitteilung", moving_on(TODAY))
    before = cases.check_store()
    take_due_moves_into_effect(cases, runner, TODAY)

    notifications = cases.recorder.select_notifications(before, 20, inclusive_of_start=False)
    (event,) = [e for n in notifications if (e := cases.integration_event_for(n)) and e.type == "case_move_took_effect"]
    assert event.aggregate_id == move
    assert event.data == {
        "move_date": TODAY.isoformat(), **MOVED_TO, "case_ids": [open_cases["wba"]], "owner_id": CITIZEN.account_id,
    }  # fmt: skip


def test_a_move_within_the_same_jobcenter_hands_nothing_over_but_is_on_the_timeline(cases, runner, open_cases):
    staying = {**MOVED_TO, "jobcenter_id": JOBCENTER, "matched_key": "berlin_bezirk:09"}
    move = assigned(cases, "veraenderungsmitteilung", moving_on(TODAY), moving_to=staying)
    assert take_due_moves_into_effect(cases, runner, TODAY) == [move]
    (step,) = took_effect(cases, move)
    assert (step["handed_over_case_ids"], step["jobcenter_id"]) == ([], JOBCENTER)


def test_a_move_into_a_zkt_area_names_the_open_wba_for_the_zkt(cases, runner, open_cases):
    zkt = {"jobcenter_id": "jc-0202", "matched_key": "kreis:06435", "reason_code": "AREA_OF_ZKT",
           "register_version": "test", "served": False}  # fmt: skip
    move = assigned(cases, "veraenderungsmitteilung", moving_on(TODAY), moving_to=zkt)
    take_due_moves_into_effect(cases, runner, TODAY)
    (step,) = took_effect(cases, move)
    assert (step["handed_over_case_ids"], step["jobcenter_id"]) == ([open_cases["wba"]], "jc-0202")
    assert cases.get_case(move)["move"]["served"] is False


def test_a_move_reported_by_the_release_before_is_read_and_never_taken_into_effect_again(cases, runner):
    """That release routed the VÄM by the new address and moved it itself: its MoveReported had no
    previous Jobcenter."""
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, moving_on(TODAY - timedelta(days=5)))
    case = cases._get(case_id)
    new_address = {key: MOVED_TO[key] for key in ROUTED}  # both events carried the new address's answer
    case._submitted(receipt_number="JC-2026-ABCD-EFGH", content_hash="sha256:x", idempotency_key="k", nachweise=[],
                    **new_address)  # fmt: skip
    case._move_reported(move_date=(TODAY - timedelta(days=5)).isoformat(), **new_address)
    cases.save(case)

    assert cases.get_case(case_id)["move"]["took_effect"] is True
    assert take_due_moves_into_effect(cases, runner, TODAY) == []
    (reported,) = [entry for entry in cases.timeline(case_id) if entry["event"] == "MoveReported"]
    assert reported["label"] == f"Umzug gemeldet zum {TODAY - timedelta(days=5):%d.%m.%Y}"
    assert "jobcenter_id" not in reported, "no Jobcenter kept it: it went to the new one at once"
