"""The rules of documents: who may see one, what an upload may be, why one is refused.

A document starts as an upload in quarantine (``awaiting_upload``), is checked (``checking``) and
ends ``accepted`` or ``rejected``; ``merged`` photos live on inside a PDF, ``deleted`` ones are gone
for retention. Nobody reads a file before it is accepted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.errors import Conflict, InvalidInput, NotFound

STAFF_ROLES = ("caseworker", "team_lead")
# A case in one of these states takes no more uploads (see submissions' CaseStatus).
FINAL_CASE_STATUSES = ("closed", "withdrawn", "handed_over", "discarded", "expired")
NAME_MAX_LENGTH = 120
NACHWEIS_PATTERN = re.compile(r"[a-z0-9_]{1,64}")


class State(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    CHECKING = "checking"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    MERGED = "merged"
    DELETED = "deleted"


# The states whose bytes count against the case's quota.
HOLDING_STATES = (State.AWAITING_UPLOAD, State.CHECKING, State.ACCEPTED)


class Rejection(StrEnum):
    """Why an upload was refused: a stable code, and what the citizen is told."""

    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    CASE_QUOTA_EXCEEDED = "CASE_QUOTA_EXCEEDED"
    SIZE_MISMATCH = "SIZE_MISMATCH"
    CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
    EMPTY_FILE = "EMPTY_FILE"
    VIRUS_FOUND = "VIRUS_FOUND"
    TYPE_NOT_ALLOWED = "TYPE_NOT_ALLOWED"
    PDF_ENCRYPTED = "PDF_ENCRYPTED"
    PDF_DAMAGED = "PDF_DAMAGED"
    PDF_ACTIVE_CONTENT = "PDF_ACTIVE_CONTENT"
    PDF_TOO_MANY_PAGES = "PDF_TOO_MANY_PAGES"
    IMAGE_DAMAGED = "IMAGE_DAMAGED"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    UPLOAD_ABORTED = "UPLOAD_ABORTED"
    UPLOAD_ABANDONED = "UPLOAD_ABANDONED"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Rejection.FILE_TOO_LARGE: "Die Datei ist zu groß. Bitte laden Sie eine kleinere Datei hoch.",
    Rejection.CASE_QUOTA_EXCEEDED: "Zu diesem Antrag wurden schon zu viele Daten hochgeladen.",
    Rejection.SIZE_MISMATCH: "Die Datei ist nicht vollständig angekommen. Bitte laden Sie sie noch einmal hoch.",
    Rejection.CHECKSUM_MISMATCH: "Die Datei ist nicht vollständig angekommen. Bitte laden Sie sie noch einmal hoch.",
    Rejection.EMPTY_FILE: "Die Datei ist leer.",
    Rejection.VIRUS_FOUND: "In der Datei wurde Schadsoftware gefunden. Sie wurde gelöscht.",
    Rejection.TYPE_NOT_ALLOWED: "Bitte laden Sie nur PDF-Dateien oder Fotos (JPEG, PNG, HEIC) hoch.",
    Rejection.PDF_ENCRYPTED: "Die PDF-Datei ist mit einem Passwort geschützt. Bitte laden Sie sie ohne Schutz hoch.",
    Rejection.PDF_DAMAGED: "Die PDF-Datei ist beschädigt und kann nicht geöffnet werden.",
    Rejection.PDF_ACTIVE_CONTENT: "Die PDF-Datei enthält Skripte oder Aktionen. Bitte speichern Sie sie neu als "
    "einfaches PDF.",
    Rejection.PDF_TOO_MANY_PAGES: "Die PDF-Datei hat zu viele Seiten. Bitte teilen Sie sie auf.",
    Rejection.IMAGE_DAMAGED: "Das Foto ist beschädigt und kann nicht geöffnet werden.",
    Rejection.IMAGE_TOO_LARGE: "Das Foto hat zu viele Bildpunkte. Bitte verkleinern Sie es.",
    Rejection.UPLOAD_ABORTED: "Das Hochladen wurde abgebrochen.",
    Rejection.UPLOAD_ABANDONED: "Das Hochladen wurde nicht abgeschlossen.",
}


class Refused(Exception):
    """A check found a reason to refuse the file."""

    def __init__(self, reason: Rejection, scan_result: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.scan_result = scan_result


@dataclass(frozen=True)
class Actor:
    """Who calls: ``{"account_id", "role", "institution_id"}`` until verified tokens arrive."""

    account_id: str
    role: str
    institution_id: str | None = None

    @classmethod
    def from_dict(cls, actor: dict[str, Any]) -> Actor:
        if not isinstance(actor, dict) or not actor.get("account_id") or not actor.get("role"):
            raise InvalidInput("ACTOR_INVALID", "Die Anmeldung ist ungültig.")
        return cls(str(actor["account_id"]), str(actor["role"]), actor.get("institution_id") or None)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def is_owner(actor: Actor, case: dict[str, Any]) -> bool:
    return actor.role == "citizen" and bool(case.get("owner_id")) and case["owner_id"] == actor.account_id


def is_assigned_staff(actor: Actor, case: dict[str, Any]) -> bool:
    return actor.is_staff and bool(actor.institution_id) and case.get("jobcenter_id") == actor.institution_id


def may_read(actor: Actor, case: dict[str, Any]) -> bool:
    """The owner, and the caseworkers and team leads of the case's assigned Jobcenter."""
    return is_owner(actor, case) or is_assigned_staff(actor, case)


def may_see_access_record(actor: Actor, case: dict[str, Any]) -> bool:
    """The data subject, the team leads who supervise their Jobcenter's staff, and admins (audit)."""
    return (
        is_owner(actor, case)
        or (is_assigned_staff(actor, case) and actor.role == "team_lead")
        or (actor.role == "admin")
    )


# What staff of the assigned Jobcenter upload to a case: the Bescheid that records the decision.
STAFF_UPLOAD_NACHWEISE = ("bescheid",)


def may_upload(actor: Actor, case: dict[str, Any], nachweis: str) -> bool:
    """The owner uploads Nachweise; the assigned Jobcenter's staff upload a Bescheid."""
    return is_owner(actor, case) or (is_assigned_staff(actor, case) and nachweis in STAFF_UPLOAD_NACHWEISE)


def check_citizen_kind(actor: Actor, nachweis: str) -> None:
    """A citizen never uploads what only the Jobcenter issues; InvalidInput ``NACHWEIS_STAFF_ONLY``."""
    if not actor.is_staff and nachweis in STAFF_UPLOAD_NACHWEISE:
        raise InvalidInput(
            "NACHWEIS_STAFF_ONLY",
            "Einen Bescheid lädt nur das Jobcenter hoch. Bitte wählen Sie die Art Ihrer Unterlage.",
            {"nachweis": nachweis},
        )


def document_not_found() -> NotFound:
    """The one answer for a missing document and for one the caller may not see."""
    return NotFound("DOCUMENT_NOT_FOUND", "Dieses Dokument gibt es nicht.")


def check_nachweis(nachweis: str) -> str:
    if not isinstance(nachweis, str) or not NACHWEIS_PATTERN.fullmatch(nachweis):
        raise InvalidInput("NACHWEIS_INVALID", "Bitte wählen Sie aus, welcher Nachweis das ist.")
    return nachweis


def check_known_kind(actor: Actor, case: dict[str, Any], nachweis: str) -> None:
    """A citizen uploads only a kind of Nachweis the case's form knows; InvalidInput ``NACHWEIS_UNKNOWN``.

    (A case from a submissions release that does not tell the kinds is not checked here.)
    """
    kinds = case.get("nachweis_kinds")
    if not actor.is_staff and isinstance(kinds, list) and nachweis not in kinds:
        raise InvalidInput(
            "NACHWEIS_UNKNOWN",
            "Diese Art von Nachweis gibt es nicht. Bitte wählen Sie eine aus der Liste.",
            {"field": "nachweis"},
        )


def check_case_takes_uploads(actor: Actor, case: dict[str, Any]) -> None:
    """A closed case takes no upload; a decided one only the Jobcenter's (a Bescheid).

    Checked before anything is stored: submissions refuses to add a Nachweis to a decided case, and a
    file kept after that refusal would be in the citizen's list but in no case's record.
    """
    if case.get("status") in FINAL_CASE_STATUSES:
        raise InvalidInput("CASE_CLOSED", "Zu diesem Vorgang können keine Dokumente mehr hochgeladen werden.")
    if case.get("status") == "decided" and not actor.is_staff:
        raise Conflict(
            "CASE_ALREADY_DECIDED",
            "Über diesen Antrag wurde schon entschieden. Unterlagen können Sie dazu nicht mehr hochladen.",
        )


def check_size(declared_size: int | None, max_file_bytes: int, case_bytes: int, max_case_bytes: int) -> int:
    """The most bytes this upload may have; raises when the declared size already breaks a limit."""
    if declared_size is not None and (not isinstance(declared_size, int) or declared_size < 0):
        raise InvalidInput("SIZE_INVALID", "Die Dateigröße ist ungültig.")
    if declared_size is not None and declared_size > max_file_bytes:
        raise InvalidInput(Rejection.FILE_TOO_LARGE.value, Rejection.FILE_TOO_LARGE.message)
    room = max_case_bytes - case_bytes
    if room <= 0 or (declared_size is not None and declared_size > room):
        raise InvalidInput(Rejection.CASE_QUOTA_EXCEEDED.value, Rejection.CASE_QUOTA_EXCEEDED.message)
    return min(max_file_bytes, room)


_CONTROL_OR_FORMAT = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
_RESERVED = re.compile(r'[<>:"/\\|?*]')


def sanitise_name(original: str) -> str:
    """A file name safe to display: NFC, no path, no control characters, at most 120 characters.

    Used for display and the download's file name only; storage keys never contain it.
    """
    name = unicodedata.normalize("NFC", str(original or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(char) in _CONTROL_OR_FORMAT else char for char in name)
    name = _RESERVED.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if dot and stem:
        name = f"{stem.rstrip(' .')}.{extension.strip()}"
    if len(name) > NAME_MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: NAME_MAX_LENGTH - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            name = name[:NAME_MAX_LENGTH].rstrip(" .")
    return name or "Dokument"


def display_name_for(name: str, content_type: str) -> str:
    """The display name with the extension of the type the bytes turned out to be."""
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(content_type)
    if extension is None:
        return name
    stem, dot, current = name.rpartition(".")
    if dot and current.lower() in ("pdf", "jpg", "jpeg", "png", "heic", "heif"):
        name = stem or "Dokument"
    return f"{name}.{extension}"
