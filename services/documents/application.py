"""The documents application: what the service's entrypoints do, over metadata, store and scanner.

Built for each worker by the service with its dependencies and a way to look up a case (in
production ``submissions.get_case_parties`` over RPC). Commands and queries take an :class:`Actor` and
return plain dicts; anyone who may not see a document gets the same NotFound as for one that
does not exist.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from minio.error import S3Error
from urllib3.exceptions import HTTPError as StoreUnreachable

from services.documents import checks, metadata
from services.documents.domainmodel import (
    STAFF_ROLES,
    Actor,
    Rejection,
    State,
    check_case_takes_uploads,
    check_citizen_kind,
    check_known_kind,
    check_nachweis,
    check_size,
    display_name_for,
    document_not_found,
    is_owner,
    may_read,
    may_see_access_record,
    may_upload,
    sanitise_name,
)
from services.documents.intake import Limits, Verdict, check_upload
from services.documents.storage import PART_SIZE, DocumentStore, accepted_key, quarantine_key
from shared.clamd import ClamdClient, ClamdError
from shared.envelope import IntegrationEvent
from shared.errors import Conflict, InvalidInput, NotFound, Unavailable
from shared.sql import ServiceDatabase

log = logging.getLogger(__name__)

MERGE_MAX_PHOTOS = 20
ABORT_REASONS = (Rejection.UPLOAD_ABORTED, Rejection.FILE_TOO_LARGE)
# A case lookup returns the case's ``owner_id``, ``jobcenter_id`` and ``status``, or raises NotFound.
CaseLookup = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Settings:
    limits: Limits
    upload_url_lifetime: timedelta
    download_url_lifetime: timedelta


class Documents:
    """The uploads of all cases, in the words of the domain."""

    def __init__(
        self,
        db: ServiceDatabase,
        store: DocumentStore,
        scanner: ClamdClient,
        settings: Settings,
        case_of: CaseLookup,
        published: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.store = store
        self.scanner = scanner
        self.settings = settings
        self.case_of = case_of
        # Tells the outbox relay that events were written, so it publishes them now.
        self.published = published

    # -- uploads (the citizen, through the gateway) -----------------------------------------------

    def start_upload(
        self, who: Actor, case_id: str, nachweis: str, original_name: str, declared_size: int | None = None
    ) -> dict[str, Any]:
        """Open an upload into quarantine; returns its id and where to stream the bytes.

        ``target`` holds either ``url`` (one presigned PUT, for files declared no larger than one
        part) or ``part_urls``, ``part_size`` and ``abort_url`` (multipart); hand it to
        ``services.documents.streaming.stream_upload``. Raises InvalidInput ``FILE_TOO_LARGE`` or
        ``CASE_QUOTA_EXCEEDED`` when the declared size breaks a limit.
        """
        case = self._case(case_id)
        if not may_upload(who, case, nachweis):
            raise _case_not_found()
        check_citizen_kind(who, nachweis)
        check_case_takes_uploads(who, case)
        check_nachweis(nachweis)
        check_known_kind(who, case, nachweis)
        limits = self.settings.limits
        document_id = str(uuid.uuid4())
        key = quarantine_key(document_id)
        lifetime = self.settings.upload_url_lifetime
        with self.db.transaction() as session:
            held = metadata.bytes_held_by_case(session, str(case_id))
            max_bytes = check_size(declared_size, limits.max_file_bytes, held, limits.max_case_bytes)
            target: dict[str, Any] = {"max_bytes": max_bytes, "part_size": PART_SIZE}
            multipart_id = None
            if declared_size is not None and declared_size <= PART_SIZE:
                target["url"] = self.store.presigned_put(key, lifetime)
            else:
                multipart_id = self.store.start_multipart(key)
                parts = max(1, math.ceil(max_bytes / PART_SIZE))
                target["part_urls"] = self.store.presigned_part_urls(key, multipart_id, parts, lifetime)
                target["abort_url"] = self.store.presigned_abort_url(key, multipart_id, lifetime)
            metadata.add(
                session,
                document_id=document_id,
                case_id=str(case_id),
                owner_id=str(case["owner_id"]),
                uploaded_by=who.account_id,
                nachweis=nachweis,
                original_name=sanitise_name(original_name),
                state=State.AWAITING_UPLOAD.value,
                max_bytes=max_bytes,
                declared_size=declared_size,
                object_key=key,
                multipart_id=multipart_id,
                quality_hints=[],
            )
        log.info("upload_started", extra={"document_id": document_id, "case_id": case_id})
        return {
            "upload_id": document_id,
            "document_id": document_id,
            "max_bytes": max_bytes,
            "expires_in": int(lifetime.total_seconds()),
            "target": target,
        }

    def complete_upload(self, who: Actor, upload_id: str, size: int, sha256: str) -> dict[str, Any]:
        """Check the streamed file and accept or reject it; returns the document's metadata.

        Idempotent: a finished upload returns its result again. Raises Unavailable when clamd or
        the store could not check the file; the upload then stays in quarantine and the same call
        may be repeated.
        """
        if not isinstance(size, int) or size < 0 or not isinstance(sha256, str) or len(sha256) != 64:
            raise InvalidInput("UPLOAD_RESULT_INVALID", "Die Angaben zur hochgeladenen Datei sind ungültig.")
        row = self._own_upload(who, upload_id)
        if row["state"] != State.AWAITING_UPLOAD:
            return metadata.as_dict(row)
        with self.db.transaction() as session:
            if not metadata.change(session, row["document_id"], (State.AWAITING_UPLOAD,), state=State.CHECKING):
                raise Conflict("UPLOAD_BEING_CHECKED", "Die Datei wird gerade geprüft.")
            if row["version"] == 0:
                metadata.record_event(
                    session,
                    "document_uploaded",
                    row["document_id"],
                    {"case_id": row["case_id"], "nachweis": row["nachweis"]},
                )
            held_by_others = metadata.bytes_held_by_case(session, row["case_id"]) - _held(row)
        self.published()
        try:
            verdict = self._check(row, size, sha256, held_by_others)
        except Exception as problem:
            # Not checked is not clean: the file stays in quarantine and the call may be repeated.
            with self.db.transaction() as session:
                metadata.change(session, row["document_id"], (State.CHECKING,), state=State.AWAITING_UPLOAD)
            log.warning(
                "upload_check_failed", extra={"document_id": row["document_id"], "code": type(problem).__name__}
            )
            # S3 down shows as urllib3's MaxRetryError (an HTTPError, not an OSError) under minio.
            if not isinstance(problem, ClamdError | S3Error | OSError | StoreUnreachable):
                raise
            raise Unavailable(
                "CHECK_UNAVAILABLE",
                "Die Datei kann gerade nicht geprüft werden. Bitte versuchen Sie es gleich noch einmal.",
            ) from None
        return self._record_verdict(row, verdict)

    def abort_upload(
        self, who: Actor, upload_id: str, reason_code: str = Rejection.UPLOAD_ABORTED.value
    ) -> dict[str, Any]:
        """Give up an upload (e.g. the streamer stopped at the size limit) and remove what arrived."""
        if reason_code not in [reason.value for reason in ABORT_REASONS]:
            raise InvalidInput("REASON_INVALID", "Der Grund ist ungültig.")
        row = self._own_upload(who, upload_id)
        if row["state"] != State.AWAITING_UPLOAD:
            return metadata.as_dict(row)
        self._remove_objects(row)
        with self.db.transaction() as session:
            if metadata.change(
                session,
                row["document_id"],
                (State.AWAITING_UPLOAD,),
                state=State.REJECTED,
                reason_code=reason_code,
                object_key=None,
                multipart_id=None,
            ):
                metadata.record_event(
                    session, "document_rejected", row["document_id"], _rejected_data(row, reason_code)
                )
            current = metadata.get(session, row["document_id"])
        self.published()
        assert current is not None
        return metadata.as_dict(current)

    def merge_photos(self, who: Actor, case_id: str, nachweis: str, document_ids: list[str]) -> dict[str, Any]:
        """Make one PDF of several accepted photos of the case, one page each, in the order given.

        The photos become ``merged`` (their objects are removed); returns the PDF's metadata.
        """
        case = self._case(case_id)
        if not is_owner(who, case):
            raise _case_not_found()
        check_case_takes_uploads(who, case)
        check_nachweis(nachweis)
        check_known_kind(who, case, nachweis)
        ids = [str(document_id) for document_id in document_ids or []]
        if not 2 <= len(ids) <= MERGE_MAX_PHOTOS or len(set(ids)) != len(ids):
            raise InvalidInput("MERGE_INVALID", f"Bitte wählen Sie 2 bis {MERGE_MAX_PHOTOS} verschiedene Fotos aus.")
        with self.db.transaction() as session:
            photos = [metadata.get(session, document_id) for document_id in ids]
            done = self._merged_before(session, photos, str(case_id), nachweis)
        if done is not None:
            # The same merge again (its caller gave up waiting, or asks twice): its one result.
            return metadata.as_dict(done)
        for photo in photos:
            if photo is None or photo["case_id"] != str(case_id):
                raise document_not_found()
            if photo["state"] != State.ACCEPTED or photo["content_type"] not in (checks.JPEG, checks.PNG):
                raise InvalidInput("MERGE_NOT_A_PHOTO", "Nur geprüfte Fotos können zusammengefügt werden.")
        merged = [photo for photo in photos if photo is not None]
        pdf = checks.photos_to_pdf([self.store.read(str(photo["object_key"])) for photo in merged])
        if len(pdf) > self.settings.limits.max_file_bytes:
            raise InvalidInput(Rejection.FILE_TOO_LARGE.value, Rejection.FILE_TOO_LARGE.message)
        document_id = str(uuid.uuid4())
        key = accepted_key(document_id)
        self.store.put(key, pdf, checks.PDF)
        digest = _sha256(pdf)
        try:
            with self.db.transaction() as session:
                metadata.add(
                    session,
                    document_id=document_id,
                    case_id=str(case_id),
                    owner_id=str(case["owner_id"]),
                    uploaded_by=who.account_id,
                    nachweis=nachweis,
                    original_name=display_name_for(merged[0]["original_name"], checks.PDF),
                    state=State.ACCEPTED.value,
                    max_bytes=len(pdf),
                    size=len(pdf),
                    sha256=digest,
                    content_type=checks.PDF,
                    stored_size=len(pdf),
                    stored_sha256=digest,
                    scan_result="clean",
                    page_count=len(merged),
                    object_key=key,
                    quality_hints=sorted({hint for photo in merged for hint in photo["quality_hints"] or []}),
                    checked_at=metadata.now(),
                )
                for photo in merged:
                    if not metadata.change(
                        session, photo["document_id"], (State.ACCEPTED,), state=State.MERGED, merged_into=document_id,
                        object_key=None,
                    ):  # fmt: skip
                        raise Conflict("MERGE_CHANGED", "Die Fotos wurden inzwischen geändert.")
                metadata.record_event(
                    session,
                    "document_accepted",
                    document_id,
                    {**_accepted_data(case_id, nachweis, checks.PDF), "merged_from": ids},
                )
                current = metadata.get(session, document_id)
        except Exception:
            self.store.remove(key)
            raise
        for photo in merged:
            self.store.remove(str(photo["object_key"]))
        self.published()
        log.info("photos_merged", extra={"document_id": document_id, "count": len(merged)})
        assert current is not None
        return metadata.as_dict(current)

    @staticmethod
    def _merged_before(
        session: Any, photos: list[dict[str, Any] | None], case_id: str, nachweis: str
    ) -> dict[str, Any] | None:
        """The PDF these very photos were merged into before, in this order, for this case and Nachweis."""
        targets = {photo["merged_into"] for photo in photos if photo is not None and photo["state"] == State.MERGED}
        if len(targets) != 1 or any(photo is None or photo["state"] != State.MERGED for photo in photos):
            return None
        pdf = metadata.get(session, str(targets.pop()))
        if pdf is None or pdf["state"] != State.ACCEPTED or (pdf["case_id"], pdf["nachweis"]) != (case_id, nachweis):
            return None
        if pdf["page_count"] != len(photos):
            return None
        return pdf

    # -- reading (the owner and the assigned Jobcenter's staff) -----------------------------------

    def get_document(self, who: Actor, document_id: str) -> dict[str, Any]:
        """A document's metadata; every read by staff is recorded."""
        row, _case = self._readable(who, document_id)
        self._record_staff_access(who, [row], "metadata")
        return metadata.as_dict(row)

    def download_url(self, who: Actor, document_id: str) -> dict[str, Any]:
        """A presigned GET of an accepted document, valid at most 60 s; staff downloads are recorded.

        The record is committed before the URL is made, so no download goes unrecorded.
        """
        row, _case = self._readable(who, document_id)
        if row["state"] != State.ACCEPTED:
            raise Conflict("DOCUMENT_NOT_READY", "Dieses Dokument ist noch nicht geprüft.")
        self._record_staff_access(who, [row], "download")
        lifetime = self.settings.download_url_lifetime
        filename = display_name_for(row["original_name"], row["content_type"])
        url = self.store.presigned_get(str(row["object_key"]), lifetime, filename, row["content_type"])
        return {
            "url": url,
            "expires_in": int(lifetime.total_seconds()),
            "content_type": row["content_type"],
            "filename": filename,
            "size": row["stored_size"],
            "sha256": row["stored_sha256"],
        }

    def handover_download_url(
        self, case_id: str, document_id: str, jobcenter_id: str, receiver_id: str
    ) -> dict[str, Any]:
        """A presigned GET of an accepted document of a case, for the e-file of the case's assigned Jobcenter.

        For the backoffice service, which has verified its client; the read is recorded like a staff read
        (role ``backoffice``, the client id as account). NotFound ``DOCUMENT_NOT_FOUND`` for anything else.
        """
        with self.db.transaction() as session:
            row = metadata.get(session, str(document_id))
        if row is None or row["case_id"] != str(case_id) or row["state"] != State.ACCEPTED:
            raise document_not_found()
        case = self._case(row["case_id"], missing=document_not_found)
        if not jobcenter_id or case.get("jobcenter_id") != jobcenter_id:
            raise document_not_found()
        with self.db.transaction() as session:
            metadata.record_access(session, Actor(receiver_id, "backoffice", jobcenter_id), row, "handover_download")
        log.info("document_handed_over", extra={"document_id": row["document_id"], "institution_id": jobcenter_id})
        lifetime = self.settings.download_url_lifetime
        filename = display_name_for(row["original_name"], row["content_type"])
        return {
            "url": self.store.presigned_get(str(row["object_key"]), lifetime, filename, row["content_type"]),
            "expires_in": int(lifetime.total_seconds()),
            "content_type": row["content_type"],
            "filename": filename,
            "size": row["stored_size"],
            "sha256": row["stored_sha256"],
        }

    def list_documents(self, who: Actor, case_id: str) -> list[dict[str, Any]]:
        """The case's documents, oldest first: all of them for the owner, accepted ones for staff."""
        case = self._case(case_id)
        if not may_read(who, case):
            raise _case_not_found()
        states = (
            (State.ACCEPTED,)
            if who.is_staff
            else (State.AWAITING_UPLOAD, State.CHECKING, State.ACCEPTED, State.REJECTED)
        )
        with self.db.transaction() as session:
            rows = metadata.of_case(session, str(case_id), tuple(str(state) for state in states))
        # The citizen sees the Jobcenter's uploads only as the Bescheid of the decision: one refused,
        # unfinished or not (yet) decided with is the staff's business, not "their" document.
        rows = [row for row in rows if who.is_staff or not _from_jobcenter(row) or _is_the_bescheid(row, case)]
        self._record_staff_access(who, rows, "list")
        return [metadata.as_dict(row) for row in rows]

    def get_access_record(self, who: Actor, document_id: str) -> list[dict[str, Any]]:
        """Who of the staff saw a document and when: for its owner and the Jobcenter's team leads."""
        with self.db.transaction() as session:
            row = metadata.get(session, document_id)
        if row is None or not may_see_access_record(who, self._case(row["case_id"], missing=document_not_found)):
            raise document_not_found()
        with self.db.transaction() as session:
            return metadata.accesses_of(session, row["document_id"])

    # -- retention ------------------------------------------------------------------------------

    def delete_documents_of_case(self, event: IntegrationEvent, states: tuple[str, ...], reason_code: str) -> None:
        """Delete the documents of a case in ``states`` once per event: objects first, then the rows."""
        case_id = str(event.data.get("case_id") or event.aggregate_id)
        with self.db.transaction() as session:
            rows = metadata.of_case(session, case_id, states)
        # Objects first: removing them again on a redelivery is harmless; a row marked deleted whose
        # object stayed behind would be a leak nobody looks for.
        for row in rows:
            self._remove_objects(row)

        def mark_deleted(session: Any) -> int:
            deleted = 0
            for row in metadata.of_case(session, case_id, states):
                if metadata.change(
                    session, row["document_id"], (row["state"],), state=State.DELETED, reason_code=reason_code,
                    object_key=None, multipart_id=None, **metadata.ERASED_DETAILS,
                ):  # fmt: skip
                    metadata.record_event(
                        session,
                        "document_deleted",
                        row["document_id"],
                        {"case_id": case_id, "reason_code": reason_code},
                    )
                    deleted += 1
            return deleted

        deleted = self.db.apply_once(event, mark_deleted)
        self.published()
        log.info("case_documents_deleted", extra={"case_id": case_id, "count": deleted or 0, "code": reason_code})

    # -- helpers ----------------------------------------------------------------------------------

    def _case(self, case_id: str, missing: Callable[[], NotFound] | None = None) -> dict[str, Any]:
        try:
            return self.case_of(str(case_id))
        except NotFound:
            raise (missing or _case_not_found)() from None

    def _readable(self, who: Actor, document_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        with self.db.transaction() as session:
            row = metadata.get(session, str(document_id))
        if row is None or row["state"] in (State.DELETED, State.MERGED):
            raise document_not_found()
        case = self._case(row["case_id"], missing=document_not_found)
        if not may_read(who, case) or (who.is_staff and row["state"] != State.ACCEPTED):
            raise document_not_found()
        if not who.is_staff and _from_jobcenter(row) and not _is_the_bescheid(row, case):
            raise document_not_found()  # the Jobcenter's upload reaches the citizen with the decision
        return row, case

    def _own_upload(self, who: Actor, upload_id: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            row = metadata.get(session, str(upload_id))
        # The uploader only: the citizen for Nachweise, a caseworker for the Bescheid they upload.
        if row is None or who.role not in ("citizen", *STAFF_ROLES) or row["uploaded_by"] != who.account_id:
            raise NotFound("UPLOAD_NOT_FOUND", "Diesen Upload gibt es nicht.")
        return row

    def _record_staff_access(self, who: Actor, rows: list[dict[str, Any]], action: str) -> None:
        if not who.is_staff or not rows:
            return
        with self.db.transaction() as session:
            for row in rows:
                metadata.record_access(session, who, row, action)
        for row in rows:
            log.info(
                "document_accessed_by_staff",
                extra={"document_id": row["document_id"], "account_id": who.account_id, "method": action},
            )

    def _check(self, row: dict[str, Any], size: int, sha256: str, held_by_others: int) -> Verdict:
        key = quarantine_key(row["document_id"])
        if row["multipart_id"]:
            try:
                self.store.complete_multipart(key, row["multipart_id"])
            except S3Error as error:
                if error.code != "NoSuchUpload":
                    raise
            with self.db.transaction() as session:
                metadata.change(session, row["document_id"], (State.CHECKING,), multipart_id=None)
        limits = self.settings.limits
        room = limits.max_case_bytes - held_by_others
        verdict = check_upload(
            self.store,
            self.scanner,
            key,
            row["document_id"],
            size,
            sha256,
            min(row["max_bytes"], room),
            limits,
        )
        if verdict.reason == Rejection.FILE_TOO_LARGE and verdict.size is not None and verdict.size <= row["max_bytes"]:
            verdict.reason = Rejection.CASE_QUOTA_EXCEEDED
        return verdict

    def _record_verdict(self, row: dict[str, Any], verdict: Verdict) -> dict[str, Any]:
        document_id = row["document_id"]
        common = {"size": verdict.size, "sha256": verdict.sha256, "scan_result": verdict.scan_result}
        with self.db.transaction() as session:
            if verdict.reason is not None:
                changed = metadata.change(
                    session, document_id, (State.CHECKING,), state=State.REJECTED, reason_code=verdict.reason.value,
                    object_key=None, checked_at=metadata.now(), **common,
                )  # fmt: skip
                if changed:
                    metadata.record_event(
                        session, "document_rejected", document_id, _rejected_data(row, verdict.reason.value)
                    )
            else:
                changed = metadata.change(
                    session,
                    document_id,
                    (State.CHECKING,),
                    state=State.ACCEPTED,
                    content_type=verdict.content_type,
                    stored_size=verdict.stored_size,
                    stored_sha256=verdict.stored_sha256,
                    page_count=verdict.page_count,
                    width=verdict.width,
                    height=verdict.height,
                    quality_hints=verdict.hints,
                    object_key=verdict.stored_key,
                    original_name=display_name_for(row["original_name"], str(verdict.content_type)),
                    checked_at=metadata.now(),
                    **common,
                )
                if changed:
                    metadata.record_event(
                        session,
                        "document_accepted",
                        document_id,
                        {
                            **_accepted_data(row["case_id"], row["nachweis"], verdict.content_type),
                            "quality_hints": verdict.hints,
                        },
                    )
            current = metadata.get(session, document_id)
        if not changed and verdict.stored_key:
            self.store.remove(verdict.stored_key)  # the document was deleted meanwhile
        self.published()
        assert current is not None
        log.info("upload_checked", extra={"document_id": document_id, "status": current["state"]})
        return metadata.as_dict(current)

    def _remove_objects(self, row: dict[str, Any]) -> None:
        """Remove every object a document may have: open multipart upload, quarantine, accepted."""
        if row["multipart_id"]:
            self.store.abort_multipart(quarantine_key(row["document_id"]), row["multipart_id"])
        self.store.remove(quarantine_key(row["document_id"]))
        self.store.remove(accepted_key(row["document_id"]))


ALL_KEPT_STATES = tuple(
    str(state) for state in (State.AWAITING_UPLOAD, State.CHECKING, State.ACCEPTED, State.REJECTED, State.MERGED)
)


def _case_not_found() -> NotFound:
    return NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")


def _held(row: dict[str, Any]) -> int:
    return int(row["stored_size"] or row["size"] or row["declared_size"] or row["max_bytes"])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _accepted_data(case_id: str, nachweis: str, content_type: str | None) -> dict[str, Any]:
    return {"case_id": str(case_id), "nachweis": nachweis, "content_type": content_type}


def _is_the_bescheid(row: dict[str, Any], case: dict[str, Any]) -> bool:
    """The checked document the case was decided with."""
    return row["state"] == State.ACCEPTED and row["document_id"] == case.get("bescheid_document_id")


def _from_jobcenter(row: dict[str, Any]) -> bool:
    """Uploaded by the Jobcenter's staff (a Bescheid), not by the citizen whose case it is."""
    return bool(row["uploaded_by"] != row["owner_id"])


def _rejected_data(row: dict[str, Any], reason_code: str) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "nachweis": row["nachweis"],
        "reason_code": reason_code,
        "from_jobcenter": _from_jobcenter(row),
        "owner_id": row["owner_id"],  # whose Postfach hears of the refusal: notify need not ask
    }
