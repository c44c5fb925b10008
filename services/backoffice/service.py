"""The backoffice service: the handover of cases to each Jobcenter's e-file (like FIT-Connect for receivers).

The gateway serves its HTTP API (``/backoffice/v1``, ``services/gateway/backoffice_api.py``) and passes the
bearer token of every call here, where it is verified (``clients.py``). Which cases are new to a Jobcenter
comes from submissions' events (``caselist.py``); accept and reject are recorded as events of the case in
submissions; the event log is signed as Security Event Tokens (``events.py``); callbacks tell a client
that a case is waiting (``callbacks.py``).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from sqlalchemy.orm import Session

from services.backoffice import caselist
from services.backoffice.callbacks import CallbackSender, case_available_body, schedule
from services.backoffice.clients import Client, Clients, Settings
from services.backoffice.events import EventSigner
from services.backoffice.schema import metadata
from shared.envelope import IntegrationEvent
from shared.errors import NotFound
from shared.messaging import integration_event_handler
from shared.service import PortalService
from shared.sql import Database, ServiceDatabase

log = logging.getLogger(__name__)

CALLBACK_TICK_SECONDS = 1


class Backoffice:
    """What the entrypoints work with: settings, the client registry, the SET signer, the callback sender."""

    def __init__(self, db: ServiceDatabase, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.clients = Clients(db, settings)
        self.signer = EventSigner(settings.signing_key)
        self.callbacks = CallbackSender(db, settings)


class BackofficeProvider(DependencyProvider):
    """Builds :class:`Backoffice` from the service's config and its :class:`Database` (once, on first use)."""

    def setup(self) -> None:
        self.settings = Settings.from_config(self.container.config)
        self.backoffice: Backoffice | None = None

    def get_dependency(self, worker_ctx: Any) -> Backoffice:
        if self.backoffice is None:
            # Every provider's setup() has run by the first worker: the container's database is ready.
            (database,) = [d for d in self.container.dependencies if isinstance(d, Database)]
            assert database.database is not None
            self.backoffice = Backoffice(database.database, self.settings)
        return self.backoffice


def occurred(event: IntegrationEvent) -> datetime:
    try:
        moment = datetime.fromisoformat(event.occurred_at)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BackofficeService(PortalService):
    name = "backoffice"

    db: ServiceDatabase = Database(metadata)
    office: Backoffice = BackofficeProvider()
    submissions: Any = RpcProxy("submissions")
    documents: Any = RpcProxy("documents")

    # -- OAuth2 client credentials -----------------------------------------------------------------

    @rpc
    def issue_token(self, client_id: str, client_secret: str) -> dict[str, Any]:
        """``{access_token, token_type: Bearer, expires_in}``; Unauthenticated ``CLIENT_CREDENTIALS_INVALID``."""
        return self.office.clients.issue_token(client_id, client_secret)

    @rpc
    def get_keys(self) -> dict[str, Any]:
        """The JWKS that verifies the Security Event Tokens; public."""
        return self.office.signer.jwks()

    # -- the API of a Jobcenter's e-file (every call with its bearer token) ------------------------

    @rpc
    def list_new_cases(self, token: str, page: int = 1) -> dict[str, Any]:
        """A page of the cases assigned to the caller's Jobcenter and not yet accepted or rejected."""
        client = self.office.clients.verify_token(token)
        size = self.office.settings.page_size
        page = max(1, int(page))
        with self.db.transaction() as session:
            rows, total = caselist.new_cases(session, client.jobcenter_id, size, (page - 1) * size)
        return {
            "cases": rows,
            "page": page,
            "page_size": size,
            "total": total,
            "next_page": page + 1 if page * size < total else None,
        }

    @rpc
    def get_case(self, token: str, case_id: str) -> dict[str, Any]:
        """The submitted case as the e-file takes it over, with its form kind and version."""
        client = self._client_of_case(token, case_id)
        exported = self._export(client, case_id)
        return {
            "case": exported,
            "schema": {"kind": exported["kind"], "version": exported["form_version"]},
        }

    @rpc
    def list_documents(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """The case's attached documents that passed the virus scan and checks."""
        client = self._client_of_case(token, case_id)
        exported = self._export(client, case_id)
        with self.db.transaction() as session:
            return caselist.clean_documents_of(session, str(case_id), list(exported["document_ids"]))

    @rpc
    def document_download(self, token: str, case_id: str, document_id: str) -> dict[str, Any]:
        """A presigned GET (≤ 60 s) of one clean attached document; the gateway streams it to the client."""
        client = self._client_of_case(token, case_id)
        exported = self._export(client, case_id)
        with self.db.transaction() as session:
            clean = caselist.clean_documents_of(session, str(case_id), list(exported["document_ids"]))
        if str(document_id) not in {row["document_id"] for row in clean}:
            raise NotFound("DOCUMENT_NOT_FOUND", "Dieses Dokument gibt es nicht.")
        found: dict[str, Any] = self.documents.handover_download_url(
            str(case_id), str(document_id), client.jobcenter_id, client.client_id
        )
        return found

    @rpc
    def accept_case(self, token: str, case_id: str) -> dict[str, Any]:
        """The e-file took the case over; recorded on the case (``HandoverConfirmed``); idempotent."""
        client = self._client_of_case(token, case_id)
        self.submissions.confirm_handover(str(case_id), client.jobcenter_id)
        with self.db.transaction() as session:
            caselist.set_state(session, str(case_id), "accepted", client.jobcenter_id)
        log.info("case_accepted_by_backoffice", extra={"case_id": case_id, "institution_id": client.jobcenter_id})
        return {"case_id": str(case_id), "status": "accepted"}

    @rpc
    def reject_case(self, token: str, case_id: str, reason: str) -> dict[str, Any]:
        """The e-file refused the case with a reason; recorded on the case (``HandoverRefused``)."""
        client = self._client_of_case(token, case_id)
        self.submissions.refuse_handover(str(case_id), client.jobcenter_id, reason)
        with self.db.transaction() as session:
            caselist.set_state(session, str(case_id), "rejected", client.jobcenter_id)
        log.info("case_rejected_by_backoffice", extra={"case_id": case_id, "institution_id": client.jobcenter_id})
        return {"case_id": str(case_id), "status": "rejected"}

    @rpc
    def case_events(self, token: str, case_id: str) -> list[str]:
        """The case's event log, oldest first, each event a Security Event Token (compact JWS)."""
        client = self._client_of_case(token, case_id)
        try:
            entries = self.submissions.export_case_events(str(case_id), client.client_id, client.jobcenter_id)
        except NotFound:
            raise caselist.case_not_found() from None
        now = int(time.time())
        return [self.office.signer.sign(str(case_id), client.jobcenter_id, entry, now) for entry in entries]

    # -- callbacks ---------------------------------------------------------------------------------

    @timer(interval=CALLBACK_TICK_SECONDS)
    def send_callbacks(self) -> None:
        """Send the callbacks that are due (first attempts and retries); safe on every instance."""
        self.office.callbacks.send_due()

    # -- what submissions and documents tell -------------------------------------------------------

    @integration_event_handler("submissions", "case_assigned")
    def on_case_assigned(self, event: IntegrationEvent) -> None:
        self._record_assignment(event)

    @integration_event_handler("submissions", "case_reassigned")
    def on_case_reassigned(self, event: IntegrationEvent) -> None:
        self._record_assignment(event)

    @integration_event_handler("submissions", "case_withdrawn")
    def on_case_withdrawn(self, event: IntegrationEvent) -> None:
        self._set_state(event, event.aggregate_id, "gone")

    @integration_event_handler("submissions", "case_handed_over")
    def on_case_handed_over(self, event: IntegrationEvent) -> None:
        self._set_state(event, event.aggregate_id, "gone")

    @integration_event_handler("submissions", "case_erased")
    def on_case_erased(self, event: IntegrationEvent) -> None:
        self._set_state(event, str(event.data.get("case_id") or event.aggregate_id), "gone")

    @integration_event_handler("submissions", "case_handover_confirmed")
    def on_handover_confirmed(self, event: IntegrationEvent) -> None:
        self._set_state(event, event.aggregate_id, "accepted", str(event.data.get("jobcenter_id")))

    @integration_event_handler("submissions", "case_handover_refused")
    def on_handover_refused(self, event: IntegrationEvent) -> None:
        self._set_state(event, event.aggregate_id, "rejected", str(event.data.get("jobcenter_id")))

    @integration_event_handler("documents", "document_accepted")
    def on_document_accepted(self, event: IntegrationEvent) -> None:
        self.db.apply_once(event, lambda session: caselist.record_clean_document(session, event.data, occurred(event)))

    @integration_event_handler("documents", "document_deleted")
    def on_document_deleted(self, event: IntegrationEvent) -> None:
        document_id = str(event.data.get("document_id") or event.aggregate_id)
        self.db.apply_once(event, lambda session: caselist.forget_document(session, document_id))

    # -- helpers -----------------------------------------------------------------------------------

    def _record_assignment(self, event: IntegrationEvent) -> None:
        case_id = event.aggregate_id
        jobcenter_id = str(event.data["jobcenter_id"])

        def record(session: Session) -> int:
            now = datetime.now(UTC)
            caselist.record_assignment(session, case_id, jobcenter_id, occurred(event))
            targets = self.office.clients.callback_targets(session, jobcenter_id)
            schedule(session, targets, case_available_body(case_id, jobcenter_id), now)
            return len(targets)

        scheduled = self.db.apply_once(event, record)
        log.info("case_available", extra={"case_id": case_id, "institution_id": jobcenter_id, "count": scheduled or 0})
        if scheduled:
            self.office.callbacks.send_due()  # the first attempt at once; retries come with the timer

    def _set_state(self, event: IntegrationEvent, case_id: str, state: str, jobcenter_id: str | None = None) -> None:
        self.db.apply_once(event, lambda session: caselist.set_state(session, case_id, state, jobcenter_id))

    def _client_of_case(self, token: str, case_id: str) -> Client:
        """The verified caller, if the case is its Jobcenter's; NotFound (never Forbidden) otherwise."""
        client = self.office.clients.verify_token(token)
        with self.db.transaction() as session:
            caselist.state_for(session, str(case_id), client.jobcenter_id)
        return client

    def _export(self, client: Client, case_id: str) -> dict[str, Any]:
        try:
            # submissions records the read in the staff access record, with the client that read
            exported: dict[str, Any] = self.submissions.export_case(str(case_id), client.client_id, client.jobcenter_id)
        except NotFound:
            raise caselist.case_not_found() from None
        if exported.get("jobcenter_id") != client.jobcenter_id:
            raise caselist.case_not_found()  # re-assigned meanwhile; our row follows with the event
        return exported
