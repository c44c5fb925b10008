"""Moves as § 36 SGB II has them: the new Jobcenter is responsible from the move date.

The VÄM reporting a move stays with the Jobcenter of the address before the move, which decides on the
time up to it. When the move date is reached (at the submit for a date in the past, else by the periodic
check) the move takes effect: the VÄM records ``MoveTookEffect`` naming the owner's open
Weiterbewilligungsanträge, and routing hands each over to the new Jobcenter (§ 2 Abs. 2 SGB X: the newly
responsible authority continues a pending procedure). Open VÄM stay where they are: they change the old
Jobcenter's decision for its time. The rule and its reasons: docs/moves.md.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from services.submissions import readmodel
from services.submissions.application import Cases
from services.submissions.domainmodel import GERMANY, CaseKind, CaseStatus
from shared.errors import Conflict
from shared.projection import ProjectionRunner

log = logging.getLogger(__name__)

# A case is open for the handover while its Jobcenter has not decided it (nor has it ended otherwise).
# A case waiting for a person to decide its Jobcenter (assignment pending) is left to that person.
OPEN_FOR_HANDOVER = (
    CaseStatus.SUBMITTED,
    CaseStatus.ASSIGNED,
    CaseStatus.RECEIVED,
    CaseStatus.IN_PROGRESS,
    CaseStatus.WAITING_FOR_DOCUMENTS,
)
HANDED_OVER_KINDS = (CaseKind.WEITERBEWILLIGUNGSANTRAG,)
# How far back a move may have been reported and still be due: the form takes a move date up to two years
# ahead (common.yaml ``datum``), with room for a check that did not run for a while.
REPORTED_MOVES_LOOKBACK_DAYS = 3 * 366


def take_move_into_effect(cases: Cases, runner: ProjectionRunner, case_id: str, today: date) -> list[str] | None:
    """Let the move that ``case_id`` reports take effect if its date is reached; returns the cases handed
    over, None when nothing was due (not yet, no move, or done before: doing it again changes nothing).

    The read model must be caught up (the owner's cases are read from it).
    """
    if not cases.move_due(case_id, today):
        return None
    case = cases.get_case(case_id)
    new_jobcenter = case["move"]["jobcenter_id"]
    with Session(runner.engine) as session:
        open_cases = [
            row
            for kind in HANDED_OVER_KINDS
            for row in readmodel.open_cases_of_owner(
                session, case["owner_id"], kind.value, [status.value for status in OPEN_FOR_HANDOVER]
            )
        ]
    handed_over = [str(row["case_id"]) for row in open_cases if row["jobcenter_id"] != new_jobcenter]
    try:
        cases.take_move_into_effect(case_id, today, handed_over)
    except Conflict:
        return None  # taken into effect meanwhile, e.g. by another instance
    log.info(
        "move_took_effect",
        extra={"case_id": case_id, "institution_id": new_jobcenter, "count": len(handed_over)},
    )
    return handed_over


def take_due_moves_into_effect(cases: Cases, runner: ProjectionRunner, today: date) -> list[str]:
    """Every reported move whose date is reached and that has not taken effect: take it into effect;
    returns the reporting cases. Idempotent, safe on every instance."""
    runner.catch_up()
    since = datetime.combine(today - timedelta(days=REPORTED_MOVES_LOOKBACK_DAYS), time(), GERMANY)
    with Session(runner.engine) as session:
        reported = readmodel.moves_reported_since(session, since)
    return [case_id for case_id in reported if take_move_into_effect(cases, runner, case_id, today) is not None]
