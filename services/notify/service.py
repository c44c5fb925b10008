"""The notify service: consumes case events and tells the citizen through the Postfach."""

from __future__ import annotations

import logging
from typing import Any

from nameko.rpc import RpcProxy, rpc

from services.notify import postfach
from shared.envelope import IntegrationEvent
from shared.messaging import integration_event_handler
from shared.service import PortalService
from shared.smtp import SmtpRelay
from shared.sql import Database, ServiceDatabase

log = logging.getLogger(__name__)


class NotifyService(PortalService):
    name = "notify"

    db: ServiceDatabase = Database(postfach.metadata)
    smtp: SmtpRelay = SmtpRelay()
    submissions: Any = RpcProxy("submissions")

    @integration_event_handler("submissions", "case_submitted")
    def on_case_submitted(self, event: IntegrationEvent) -> None:
        # The event carries ids and codes only; who owns the case is asked of its owner service.
        case = self.submissions.get_case(event.aggregate_id)
        message_id = self.db.apply_once(
            event,
            lambda session: postfach.post_receipt_confirmation(
                session, case["owner_id"], event.aggregate_id, event.data["receipt_number"]
            ),
        )
        if message_id is not None:
            log.info("postfach_message_posted", extra={"case_id": event.aggregate_id, "event_id": event.event_id})

    @rpc
    def list_postfach(self, owner_id: str) -> list[dict[str, Any]]:
        """The Postfach of the account ``owner_id``, newest first."""
        with self.db.transaction() as session:
            return postfach.list_messages(session, owner_id)
