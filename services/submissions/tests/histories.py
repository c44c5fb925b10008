"""Random case histories: commands on a few cases in any order, each tried whether the case allows it.

Used to compare ways of building the case list (event by event, in batches, while events keep
coming) on every path a case can take, erasure and VÄM categories included.
"""

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from services.submissions.application import Cases
from services.submissions.domainmodel import Actor
from services.submissions.readmodel import forget_case
from services.submissions.tests.scenarios import (
    ARBEITSAUFNAHME,
    CITIZEN,
    JOBCENTER,
    MOVED_TO,
    ROUTED,
    UMZUG,
    fill,
)
from shared.dates import german_today
from shared.errors import PortalError

OTHER_JOBCENTER = "jc-dahme-spreewald"
TEAM_LEAD = Actor("team-lead-1", "team_lead", JOBCENTER)
COLLEAGUE = Actor("caseworker-2", "caseworker", JOBCENTER)
DUE = (german_today() + timedelta(days=14)).isoformat()


def _bescheid(case_id: str) -> dict[str, Any]:
    return {"document_id": "doc-bescheid", "case_id": case_id, "nachweis": "bescheid", "state": "accepted",
            "from_jobcenter": True}  # fmt: skip


def _staff(cases: Cases, case_id: str) -> Actor:
    """A caseworker of the case's Jobcenter now (cases move between Jobcenters)."""
    jobcenter = cases.get_case(case_id)["jobcenter_id"] or JOBCENTER
    return Actor("caseworker-1", "caseworker", jobcenter)


# Each step is a command of the Cases application; one the case does not allow raises and is skipped.
STEPS: dict[str, Callable[[Cases, str], Any]] = {
    "fill_arbeitsaufnahme": lambda cases, case_id: fill(cases, case_id, ARBEITSAUFNAHME),
    "fill_umzug": lambda cases, case_id: fill(cases, case_id, UMZUG),
    "change_categories": lambda cases, case_id: cases.save_section(
        case_id, CITIZEN, "aenderungen", {"aenderungen": ["arbeitsaufnahme", "umzug"]}
    ),
    "submit": lambda cases, case_id: cases.submit(case_id, CITIZEN, f"key-{case_id}", ROUTED, MOVED_TO),
    "assign": lambda cases, case_id: cases.assign(case_id, JOBCENTER, "bezirk", "2026-1"),
    "pending": lambda cases, case_id: cases.mark_assignment_pending(case_id, "NO_MATCH"),
    "reassign": lambda cases, case_id: cases.reassign(
        case_id,
        OTHER_JOBCENTER if cases.get_case(case_id)["jobcenter_id"] == JOBCENTER else JOBCENTER,
        "umzug",
        "2026-12-01",
    ),  # fmt: skip
    "overdue": lambda cases, case_id: cases.mark_overdue(case_id, german_today() + timedelta(days=8)),
    "take": lambda cases, case_id: cases.assign_caseworker(case_id, TEAM_LEAD, COLLEAGUE),
    "receive": lambda cases, case_id: cases.receive(case_id, _staff(cases, case_id)),
    "start": lambda cases, case_id: cases.start_processing(case_id, _staff(cases, case_id)),
    "request": lambda cases, case_id: cases.request_documents(
        case_id, _staff(cases, case_id), ["lohnabrechnung_erste"], "", DUE
    ),
    "decide": lambda cases, case_id: cases.decide(
        case_id, _staff(cases, case_id), "amended", "doc-bescheid", None, None, _bescheid(case_id)
    ),
    "close": lambda cases, case_id: cases.close_case(case_id, _staff(cases, case_id)),
    "hand_over": lambda cases, case_id: cases.hand_over(case_id, "efile"),
    "withdraw": lambda cases, case_id: cases.withdraw(case_id, CITIZEN),
    "discard": lambda cases, case_id: cases.discard(case_id, CITIZEN),
    "expire": lambda cases, case_id: cases.expire_draft(case_id),
    "erase": lambda cases, case_id: cases.erase(case_id),
}
# A realistic mix: most cases are filled, submitted, assigned and worked on; few are erased.
WEIGHTS = {name: 1 for name in STEPS} | {
    "fill_arbeitsaufnahme": 6, "submit": 6, "assign": 6, "receive": 4, "start": 4, "decide": 3, "close": 2,
    "take": 2, "request": 2,
}  # fmt: skip


def play(cases: Cases, case_id: str, step: str, on_erase: Callable[[str], None] | None = None) -> bool:
    """Try one step on one case; returns whether the case allowed it."""
    try:
        STEPS[step](cases, case_id)
    except PortalError:
        return False
    except Exception as problem:  # an erased case can no longer be loaded: that step is simply refused
        if type(problem).__name__ not in ("MapperDeserialisationError", "ErasedAggregateEvent"):
            raise
        return False
    if step == "erase" and on_erase is not None:
        on_erase(case_id)
    return True


def random_history(cases: Cases, rng: random.Random, case_count: int, steps: int, **kwargs: Any) -> list[str]:
    """Start ``case_count`` cases and play ``steps`` random steps on them; returns the case ids."""
    case_ids = [str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung")) for _ in range(case_count)]
    names, weights = list(WEIGHTS), list(WEIGHTS.values())
    for _ in range(steps):
        play(cases, rng.choice(case_ids), rng.choices(names, weights)[0], **kwargs)
    return case_ids


def erase_everywhere(cases: Cases, engine: Any) -> Callable[[str], None]:
    """What retention does after ``Cases.erase``: delete the case's rows of this code's case list at once."""

    def forget(case_id: str) -> None:
        with engine.begin() as connection:
            forget_case(connection, case_id)

    return forget
