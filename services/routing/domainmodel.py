"""The assignment of one case to its responsible Jobcenter, as a stream of events.

The aggregate's id is derived from the case id (itself random), so a case has exactly one
assignment stream: a redelivered ``case_submitted`` finds it and cannot assign the case twice.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.routing.register import Jobcenter
from services.routing.resolver import Outcome, Resolution
from shared.errors import Conflict

_ASSIGNMENT_NAMESPACE = UUID("0b7f3c1e-2f4d-5a8b-9c61-7e2d4a9b3f10")
MANUAL_OVERRIDE = "MANUAL_OVERRIDE"


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    PENDING = "pending"
    HANDED_OVER = "handed_over"


def assignment_id(case_id: str) -> UUID:
    """The one assignment id of a case."""
    return uuid5(_ASSIGNMENT_NAMESPACE, case_id)


class Assignment(Aggregate):
    """Which Jobcenter is responsible for a case, why, and since when."""

    class Opened(Aggregate.Created):
        case_id: str

    class Assigned(Aggregate.Event):
        case_id: str
        jobcenter_id: str
        traeger_nummer: str
        register_version: str
        reason_code: str
        matched_key: str | None
        actor_id: str | None
        note: str | None
        source_event_id: str | None

        def apply(self, aggregate: Assignment) -> None:
            aggregate.status = AssignmentStatus.ASSIGNED
            aggregate.ever_assigned = True
            aggregate.record(self, "assigned")

    class Pending(Aggregate.Event):
        case_id: str
        register_version: str
        reason_code: str
        candidate_ids: list[str]
        source_event_id: str | None

        def apply(self, aggregate: Assignment) -> None:
            aggregate.status = AssignmentStatus.PENDING
            aggregate.record(self, "pending")

    class Reassigned(Aggregate.Event):
        case_id: str
        jobcenter_id: str
        traeger_nummer: str
        previous_jobcenter_id: str | None
        register_version: str
        reason_code: str
        matched_key: str | None
        effective_from: str
        actor_id: str | None
        note: str | None
        source_event_id: str | None

        def apply(self, aggregate: Assignment) -> None:
            aggregate.status = AssignmentStatus.ASSIGNED
            aggregate.ever_assigned = True
            aggregate.record(self, "reassigned")

    class HandedOver(Aggregate.Event):
        case_id: str
        jobcenter_id: str
        traeger_nummer: str
        register_version: str
        reason_code: str
        matched_key: str | None
        effective_from: str
        source_event_id: str | None

        def apply(self, aggregate: Assignment) -> None:
            aggregate.status = AssignmentStatus.HANDED_OVER
            aggregate.record(self, "handed_over")

    @staticmethod
    def create_id(case_id: str) -> UUID:
        return assignment_id(case_id)

    @event(Opened)
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        self.status = AssignmentStatus.PENDING
        self.jobcenter_id: str | None = None
        self.traeger_nummer: str | None = None
        self.ever_assigned = False
        self.handled_event_ids: list[str] = []
        self.history: list[dict[str, Any]] = []

    def decide(self, resolution: Resolution, source_event_id: str | None) -> None:
        """The first decision from the residence given on submission: assigned, or pending for a person."""
        if resolution.outcome is Outcome.ASSIGNED:
            jobcenter = resolution.jobcenter
            assert jobcenter is not None
            self.trigger_event(
                self.Assigned,
                case_id=self.case_id,
                jobcenter_id=jobcenter.jobcenter_id,
                traeger_nummer=jobcenter.traeger_nummer,
                register_version=resolution.register_version,
                reason_code=resolution.code,
                matched_key=resolution.matched_key,
                actor_id=None,
                note=None,
                source_event_id=source_event_id,
            )
        else:
            self._pend(resolution, source_event_id)

    def move(self, resolution: Resolution, move_date: str, source_event_id: str) -> None:
        """Follow a reported move from ``move_date``; doing it again with the same event changes nothing."""
        if source_event_id in self.handled_event_ids:
            return
        jobcenter = resolution.jobcenter
        if resolution.outcome is Outcome.ASSIGNED and jobcenter is not None:
            if self.status is AssignmentStatus.ASSIGNED and jobcenter.jobcenter_id == self.jobcenter_id:
                return
            self.trigger_event(
                self.Reassigned,
                case_id=self.case_id,
                jobcenter_id=jobcenter.jobcenter_id,
                traeger_nummer=jobcenter.traeger_nummer,
                previous_jobcenter_id=self.jobcenter_id,
                register_version=resolution.register_version,
                reason_code=resolution.code,
                matched_key=resolution.matched_key,
                effective_from=move_date,
                actor_id=None,
                note=None,
                source_event_id=source_event_id,
            )
        elif resolution.outcome is Outcome.NOT_SERVED and jobcenter is not None:
            if self.status is AssignmentStatus.HANDED_OVER and jobcenter.jobcenter_id == self.jobcenter_id:
                return
            self.trigger_event(
                self.HandedOver,
                case_id=self.case_id,
                jobcenter_id=jobcenter.jobcenter_id,
                traeger_nummer=jobcenter.traeger_nummer,
                register_version=resolution.register_version,
                reason_code=resolution.code,
                matched_key=resolution.matched_key,
                effective_from=move_date,
                source_event_id=source_event_id,
            )
        else:
            self._pend(resolution, source_event_id)

    def override(
        self, jobcenter: Jobcenter, register_version: str, effective_from: str, note: str, actor_id: str
    ) -> None:
        """A team lead's or admin's decision; raises Conflict when the case already lies there."""
        self.check_changes_jobcenter(jobcenter)
        if not self.ever_assigned:
            self.trigger_event(
                self.Assigned,
                case_id=self.case_id,
                jobcenter_id=jobcenter.jobcenter_id,
                traeger_nummer=jobcenter.traeger_nummer,
                register_version=register_version,
                reason_code=MANUAL_OVERRIDE,
                matched_key=None,
                actor_id=actor_id,
                note=note,
                source_event_id=None,
            )
            return
        self.trigger_event(
            self.Reassigned,
            case_id=self.case_id,
            jobcenter_id=jobcenter.jobcenter_id,
            traeger_nummer=jobcenter.traeger_nummer,
            previous_jobcenter_id=self.jobcenter_id,
            register_version=register_version,
            reason_code=MANUAL_OVERRIDE,
            matched_key=None,
            effective_from=effective_from,
            actor_id=actor_id,
            note=note,
            source_event_id=None,
        )

    def check_changes_jobcenter(self, jobcenter: Jobcenter) -> None:
        if self.status is AssignmentStatus.ASSIGNED and self.jobcenter_id == jobcenter.jobcenter_id:
            raise Conflict("ASSIGNMENT_UNCHANGED", "Der Vorgang liegt bereits bei diesem Jobcenter.")

    def _pend(self, resolution: Resolution, source_event_id: str | None) -> None:
        self.trigger_event(
            self.Pending,
            case_id=self.case_id,
            register_version=resolution.register_version,
            reason_code=resolution.code,
            # The zkT of a "not served" answer is the one candidate a person may want to see.
            candidate_ids=[candidate.jobcenter.jobcenter_id for candidate in resolution.candidates]
            or ([resolution.jobcenter.jobcenter_id] if resolution.jobcenter else []),
            source_event_id=source_event_id,
        )

    def record(self, change: Aggregate.Event, what: str) -> None:
        """Keep the current Jobcenter, the handled source events and the history for queries."""
        state = {key: value for key, value in vars(change).items() if not key.startswith("_")}
        if "jobcenter_id" in state:
            self.jobcenter_id = state["jobcenter_id"]
            self.traeger_nummer = state["traeger_nummer"]
        if state.get("source_event_id"):
            self.handled_event_ids.append(state["source_event_id"])
        hidden = ("case_id", "source_event_id", "originator_id", "originator_version", "timestamp")
        entry = {key: value for key, value in state.items() if key not in hidden}
        self.history.append({"what": what, "at": change.timestamp.isoformat(), **entry})
