"""The submissions service: thin entrypoints over the ``Cases`` application."""

from __future__ import annotations

import logging
from typing import Any

from nameko.rpc import rpc

from services.submissions.application import Cases
from shared.eventstore import EventSourcedApplication
from shared.service import PortalService

log = logging.getLogger(__name__)


class SubmissionsService(PortalService):
    name = "submissions"

    cases: Cases = EventSourcedApplication(Cases)

    @rpc
    def start_draft(self, owner_id: str, kind: str) -> str:
        """Start a draft of ``kind`` for the account ``owner_id``; returns the case id."""
        case_id = str(self.cases.start_draft(owner_id, kind))
        log.info("case_draft_started", extra={"case_id": case_id})
        return case_id

    @rpc
    def submit_case(self, case_id: str) -> dict[str, Any]:
        """Submit a draft; raises Conflict ``CASE_ALREADY_SUBMITTED`` the second time."""
        self.cases.submit(case_id)
        log.info("case_submitted", extra={"case_id": case_id})
        return self.cases.get_case(case_id)

    @rpc
    def get_case(self, case_id: str) -> dict[str, Any]:
        return self.cases.get_case(case_id)
