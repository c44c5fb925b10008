"""The assignments of cases: commands return ids, queries return plain dicts.

Each case's assignment is encrypted with a data key of its own (``shared/datakeys.py``), destroyed when
submissions erases the case (``case_erased``). Releases before that sealed every event with routing's
one cipher key: those events are still read, sealed again under their case's key by the migrate step
(``services/routing/rekey.py``), and at the latest when their case is erased.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.routing.domainmodel import Assignment, assignment_id
from services.routing.register import Jobcenter
from services.routing.resolver import Resolution
from shared.datakeys import ErasedAggregateEvent, rekey_shared_key_events
from shared.errors import InvalidInput, NotFound
from shared.eventstore import PortalApplication, Publishes

_DECISION = ("case_id", "jobcenter_id", "traeger_nummer", "register_version", "reason_code", "matched_key")


class AssignmentErased(Exception):
    """The case was erased: its assignment can no longer be read (NotFound to callers)."""


class Assignments(PortalApplication):
    name = "routing"
    per_aggregate_keys = True
    stored_under_shared_key = True
    integration_events: ClassVar[dict[type, Publishes]] = {
        Assignment.Assigned: Publishes("case_assigned", _DECISION),
        Assignment.Reassigned: Publishes("case_reassigned", (*_DECISION, "previous_jobcenter_id", "effective_from")),
        Assignment.HandedOver: Publishes("case_handed_over", (*_DECISION, "effective_from")),
        Assignment.Pending: Publishes(
            "case_assignment_pending", ("case_id", "register_version", "reason_code", "candidate_ids")
        ),
    }

    def assign_case(self, case_id: str, resolution: Resolution, source_event_id: str) -> UUID | None:
        """Decide the case's first assignment; None (and nothing stored) when it has one already."""
        check_case_id(case_id)
        try:
            if self._find(case_id) is not None:
                return None
        except AssignmentErased:
            return None  # a redelivered submission of a case erased since
        assignment = Assignment(case_id=case_id)
        assignment.decide(resolution, source_event_id)
        return self._save_new(assignment)

    def record_move(self, case_id: str, resolution: Resolution, move_date: str, source_event_id: str) -> UUID | None:
        """Follow a move that took effect; a case not yet assigned is assigned from the new residence. The
        same source event again changes nothing (``moved_by``). None (and nothing stored) for a case erased since.
        """
        check_case_id(case_id)
        try:
            assignment = self._find(case_id)
        except AssignmentErased:
            return None
        if assignment is None:
            assignment = Assignment(case_id=case_id)
            assignment.decide(resolution, source_event_id)
            saved = self._save_new(assignment)
            if saved is not None:
                return saved
            assignment = self._get(case_id)
        assignment.move(resolution, move_date, source_event_id)
        self.save(assignment)
        return assignment.id

    def override(
        self, case_id: str, jobcenter: Jobcenter, register_version: str, effective_from: str, note: str, actor_id: str
    ) -> UUID:
        """Put the case at ``jobcenter`` by a person's decision (recorded with who and why)."""
        assignment = self._get(case_id)
        assignment.override(jobcenter, register_version, effective_from, note, actor_id)
        self.save(assignment)
        return assignment.id

    def moved_by(self, case_id: str, source_event_id: str) -> bool:
        """Whether the case's assignment has handled ``source_event_id`` already."""
        assignment = self._find(case_id)
        return assignment is not None and source_event_id in assignment.handled_event_ids

    def get_assignment(self, case_id: str) -> dict[str, Any]:
        assignment = self._get(case_id)
        return {
            "case_id": assignment.case_id,
            "status": assignment.status.value,
            "jobcenter_id": assignment.jobcenter_id,
            "traeger_nummer": assignment.traeger_nummer,
            "history": assignment.history,
            "version": assignment.version,
        }

    def erase(self, case_id: str) -> bool:
        """Make the case's assignment unreadable for good; returns whether it had one. Idempotent.

        Events still sealed with the shared key are first sealed with the case's own key, so that
        destroying that key reaches every event of the case.
        """
        check_case_id(case_id)
        identifier = assignment_id(case_id)
        rekey_shared_key_events(self, [identifier])
        return self.destroy_data_key(identifier)

    def _save_new(self, assignment: Assignment) -> UUID | None:
        try:
            self.save(assignment)
        except IntegrityError:
            # Another worker stored the same case's assignment first (a redelivery raced this one).
            return None
        return assignment.id

    def _find(self, case_id: str) -> Assignment | None:
        try:
            assignment: Assignment = self.repository.get(assignment_id(case_id))
        except AggregateNotFoundError:
            return None
        except ErasedAggregateEvent:
            raise AssignmentErased() from None
        return assignment

    def _get(self, case_id: str) -> Assignment:
        check_case_id(case_id)
        try:
            assignment = self._find(case_id)
        except AssignmentErased:
            assignment = None  # as if it never existed: nothing tells an erased case from an unknown one
        if assignment is None:
            raise NotFound("ASSIGNMENT_NOT_FOUND", "Für diesen Vorgang gibt es noch keine Zuordnung.")
        return assignment


def check_case_id(case_id: str) -> None:
    """Raises InvalidInput ``CASE_ID_INVALID`` unless ``case_id`` is a UUID."""
    try:
        UUID(str(case_id))
    except ValueError:
        raise InvalidInput("CASE_ID_INVALID", "Die Vorgangsnummer ist ungültig.") from None
