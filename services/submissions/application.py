"""The application of the submissions service: commands return ids, queries return plain dicts."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from services.submissions.domainmodel import Case, parse_kind
from shared.errors import InvalidInput, NotFound
from shared.eventstore import PortalApplication, Publishes


class Cases(PortalApplication):
    name = "submissions"
    integration_events: ClassVar[dict[type, Publishes]] = {
        Case.DraftStarted: Publishes("case_draft_started", ("kind", "owner_id")),
        Case.Submitted: Publishes("case_submitted", ("receipt_number",)),
    }

    def start_draft(self, owner_id: str, kind: str) -> UUID:
        case = Case(owner_id=owner_id, kind=parse_kind(kind))
        self.save(case)
        return case.id

    def submit(self, case_id: str) -> str:
        """Submit a draft; returns the receipt number. Raises Conflict when already submitted."""
        case = self._get(case_id)
        case.submit()
        self.save(case)
        assert case.receipt_number is not None
        return case.receipt_number

    def get_case(self, case_id: str) -> dict[str, Any]:
        case = self._get(case_id)
        return {
            "case_id": str(case.id),
            "owner_id": case.owner_id,
            "kind": case.kind.value if hasattr(case.kind, "value") else case.kind,
            "status": case.status.value if hasattr(case.status, "value") else case.status,
            "receipt_number": case.receipt_number,
            "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
            "version": case.version,
        }

    def _get(self, case_id: str) -> Case:
        try:
            identifier = UUID(str(case_id))
        except ValueError:
            raise InvalidInput("CASE_ID_INVALID", "Die Vorgangsnummer ist ungültig.") from None
        try:
            case: Case = self.repository.get(identifier)
        except AggregateNotFoundError:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.") from None
        return case
