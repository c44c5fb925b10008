"""The documents service: uploads through presigned URLs, checks in quarantine, audited reads.

Every entrypoint a person triggers takes the caller's access token and verifies it here
(``shared/auth.py``); the case's owner and Jobcenter come from ``submissions.get_case_parties`` (ids and
codes, never the case's answers). The work is done by
:class:`~services.documents.application.Documents`; README.md describes each method.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc

from services.documents import metadata
from services.documents.application import ALL_KEPT_STATES, Documents, Settings
from services.documents.domainmodel import Actor, Rejection, State
from services.documents.intake import Limits
from services.documents.outbox import OutboxRelay
from services.documents.storage import DocumentObjects, DocumentStore
from shared.auth import AccessTokens, TokenVerifier
from shared.clamd import Clamd, ClamdClient
from shared.envelope import IntegrationEvent
from shared.errors import InvalidInput, NotFound, Unavailable
from shared.messaging import integration_event_handler
from shared.service import PortalService
from shared.sql import Database, ServiceDatabase

# Presigned downloads are short-lived whatever the config says.
MAX_DOWNLOAD_URL_SECONDS = 60


class DocumentSettings(DependencyProvider):
    """The limits and URL lifetimes of the ``DOCUMENTS`` section of the config."""

    def setup(self) -> None:
        settings = self.container.config["DOCUMENTS"]
        download_seconds = max(1, min(int(settings["DOWNLOAD_URL_SECONDS"]), MAX_DOWNLOAD_URL_SECONDS))
        self.settings = Settings(
            limits=Limits(
                max_file_bytes=int(settings["MAX_FILE_BYTES"]),
                max_case_bytes=int(settings["MAX_CASE_BYTES"]),
                max_pdf_pages=int(settings["MAX_PDF_PAGES"]),
                max_image_pixels=int(settings["MAX_IMAGE_PIXELS"]),
            ),
            upload_url_lifetime=timedelta(seconds=int(settings["UPLOAD_URL_SECONDS"])),
            download_url_lifetime=timedelta(seconds=download_seconds),
        )

    def get_dependency(self, worker_ctx: Any) -> Settings:
        return self.settings


class DocumentsService(PortalService):
    name = "documents"

    db: ServiceDatabase = Database(metadata.metadata)
    store: DocumentStore = DocumentObjects()
    scanner: ClamdClient = Clamd()
    settings: Settings = DocumentSettings()
    events: OutboxRelay = OutboxRelay()
    submissions: Any = RpcProxy("submissions")
    tokens: TokenVerifier = AccessTokens()

    # -- uploads (the citizen, through the gateway) -----------------------------------------------

    @rpc
    def start_upload(
        self, token: str, case_id: str, nachweis: str, original_name: str, declared_size: int | None = None
    ) -> dict[str, Any]:
        """Open an upload into quarantine; returns its id and the ``target`` for ``stream_upload``."""
        return self._documents().start_upload(self._actor(token), case_id, nachweis, original_name, declared_size)

    @rpc
    def complete_upload(self, token: str, upload_id: str, size: int, sha256: str) -> dict[str, Any]:
        """Check the streamed file, accept or reject it; idempotent. Unavailable: try again later."""
        return self._documents().complete_upload(self._actor(token), upload_id, size, sha256)

    @rpc
    def abort_upload(
        self, token: str, upload_id: str, reason_code: str = Rejection.UPLOAD_ABORTED.value
    ) -> dict[str, Any]:
        """Give up an upload (e.g. the streamer stopped at the size limit) and remove what arrived."""
        return self._documents().abort_upload(self._actor(token), upload_id, reason_code)

    @rpc
    def merge_photos(self, token: str, case_id: str, nachweis: str, document_ids: list[str]) -> dict[str, Any]:
        """One PDF of several accepted photos of the case, one page each, in the order given."""
        return self._documents().merge_photos(self._actor(token), case_id, nachweis, document_ids)

    # -- reading (the owner and the assigned Jobcenter's staff) -----------------------------------

    @rpc
    def get_document(self, token: str, document_id: str) -> dict[str, Any]:
        """A document's metadata; every read by staff is recorded."""
        return self._documents().get_document(self._actor(token), document_id)

    @rpc
    def download_url(self, token: str, document_id: str) -> dict[str, Any]:
        """A presigned GET valid at most 60 s; a staff download is recorded before the URL is made."""
        return self._documents().download_url(self._actor(token), document_id)

    @rpc
    def handover_download_url(
        self, case_id: str, document_id: str, jobcenter_id: str, receiver_id: str
    ) -> dict[str, Any]:
        """For the backoffice service only: a presigned GET (≤ 60 s) of an accepted document for the case's
        assigned Jobcenter's e-file; recorded before the URL is made. NotFound ``DOCUMENT_NOT_FOUND``."""
        return self._documents().handover_download_url(case_id, document_id, jobcenter_id, receiver_id)

    @rpc
    def list_documents(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """The case's documents, oldest first: all of them for the owner, accepted ones for staff."""
        return self._documents().list_documents(self._actor(token), case_id)

    @rpc
    def get_access_record(self, token: str, document_id: str) -> list[dict[str, Any]]:
        """Who of the staff saw a document and when: for its owner and the Jobcenter's team leads."""
        return self._documents().get_access_record(self._actor(token), document_id)

    # -- retention, told by submissions -----------------------------------------------------------

    @integration_event_handler("submissions", "case_draft_discarded")
    def on_case_draft_discarded(self, event: IntegrationEvent) -> None:
        self._documents().delete_documents_of_case(event, ALL_KEPT_STATES, "CASE_DISCARDED")

    @integration_event_handler("submissions", "case_draft_expired")
    def on_case_draft_expired(self, event: IntegrationEvent) -> None:
        self._documents().delete_documents_of_case(event, ALL_KEPT_STATES, "CASE_EXPIRED")

    @integration_event_handler("submissions", "case_erased")
    def on_case_erased(self, event: IntegrationEvent) -> None:
        self._documents().delete_documents_of_case(event, ALL_KEPT_STATES, "CASE_ERASED")

    @integration_event_handler("submissions", "case_withdrawn")
    def on_case_withdrawn(self, event: IntegrationEvent) -> None:
        # Only a submitted case can be withdrawn, and its file is kept as long as the case: only
        # uploads still open are dropped. The accepted documents go when the case is erased.
        self._documents().delete_documents_of_case(event, (State.AWAITING_UPLOAD.value,), "CASE_WITHDRAWN")

    # -- helpers ----------------------------------------------------------------------------------

    def _actor(self, token: str) -> Actor:
        """Who calls, from a verified access token; raises Unauthenticated."""
        claims = self.tokens.verify(token)
        return Actor(claims.account_id, claims.role, claims.institution_id)

    def _documents(self) -> Documents:
        return Documents(self.db, self.store, self.scanner, self.settings, self._case, self.events.wake)

    def _case(self, case_id: str) -> dict[str, Any]:
        """The case from submissions; NotFound ``CASE_NOT_FOUND`` for a missing or malformed id."""
        try:
            case: dict[str, Any] = self.submissions.get_case_parties(case_id)
        except InvalidInput:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.") from None
        except UnknownService:
            raise Unavailable("CASES_UNAVAILABLE", "Der Dienst ist gerade nicht erreichbar.") from None
        return case
