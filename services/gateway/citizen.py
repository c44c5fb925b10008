"""What a citizen can do, once: the layer the JSON API and the pages both call.

Every function takes the ``Backend`` (RPC to the services, with the gateway's timeouts) and, for
anything personal, the caller's access token, which the services verify themselves: ownership of a
case is decided by submissions and documents, never here.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from services.documents.streaming import UploadFailed, UploadRefused, stream_upload
from shared.errors import InvalidInput, NotFound, Unavailable

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{8,100}")
RESIDENCE_FIELDS = ("ags", "kreis", "plz", "ort", "strasse", "hausnummer", "berlin_bezirk")
DRAFT = "draft"
# Checking an upload means one pass over the object with clamd: allow more than a plain RPC.
CHECK_TIMEOUT_SECONDS = 60.0


class Backend(Protocol):
    def call(self, service: str, method: str, *args: Any, timeout: float | None = None) -> Any: ...


@dataclass(frozen=True)
class Receipt:
    receipt_number: str
    pdf: bytes


# -- session ---------------------------------------------------------------------------------------


def log_in(backend: Backend, email: str, password: str, client: str) -> dict[str, Any]:
    """identity's first step: a session, or the ticket for the second factor."""
    return dict(backend.call("identity", "login_with_password", email, password, client))


def complete_second_factor(
    backend: Backend, ticket: str, code: str | None, recovery_code: str | None, client: str
) -> dict[str, Any]:
    """The session, after a TOTP code or one of the recovery codes."""
    if recovery_code:
        return dict(backend.call("identity", "complete_login_with_recovery_code", ticket, recovery_code, client))
    return dict(backend.call("identity", "complete_login_with_totp", ticket, code or "", client))


def log_out(backend: Backend, session_token: str, client: str) -> None:
    backend.call("identity", "logout", session_token, client)


def register(backend: Backend, email: str, password: str, activation_code: str, client: str) -> dict[str, Any]:
    return dict(backend.call("identity", "register_citizen", email, password, activation_code, client))


def who_am_i(backend: Backend, token: str) -> dict[str, Any]:
    claims = backend.call("identity", "verify_access_token", token)
    return {key: claims[key] for key in ("account_id", "role", "amr", "expires_at")}


# -- cases -----------------------------------------------------------------------------------------


def my_cases(backend: Backend, token: str) -> list[dict[str, Any]]:
    return list(backend.call("submissions", "list_my_cases", token))


def start_case(backend: Backend, token: str, kind: str) -> str:
    return str(backend.call("submissions", "start_draft", token, kind))


def case_detail(backend: Backend, token: str, case_id: str) -> dict[str, Any]:
    """The case with its answers, applicable sections, Nachweise, open problems and documents."""
    case = dict(backend.call("submissions", "view_case", case_id, token))
    answers = backend.call("submissions", "get_answers", case_id, token)
    documents = backend.call("documents", "list_documents", token, case_id)
    case.pop("residence", None)  # routing's input; the citizen sees their answers instead
    return {
        "case": case,
        "answers": answers["answers"],
        "sections": answers["sections"],
        "nachweise": answers["nachweise"],
        "problems": answers["problems"],
        "documents": documents,
    }


def form_of(backend: Backend, case: dict[str, Any]) -> dict[str, Any]:
    """The form a case is filled with, its sections with their JSON Schemas (public data)."""
    return dict(backend.call("submissions", "get_form", case["kind"], case.get("form_version")))


def current_form(backend: Backend, kind: str) -> dict[str, Any]:
    return dict(backend.call("submissions", "get_form", kind))


def save_section(backend: Backend, token: str, case_id: str, section_id: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Angaben des Abschnitts als Objekt.")
    return dict(backend.call("submissions", "save_section", case_id, token, section_id, data))


def submit(backend: Backend, token: str, case_id: str, idempotency_key: str | None) -> dict[str, Any]:
    """Submit once per key: the same key gives the same receipt again."""
    if not idempotency_key or not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise InvalidInput(
            "IDEMPOTENCY_KEY_REQUIRED",
            "Zum Absenden fehlt ein gültiger Idempotency-Key (8 bis 100 Zeichen).",
        )
    return dict(backend.call("submissions", "submit_case", case_id, token, idempotency_key))


def timeline(backend: Backend, token: str, case_id: str) -> list[dict[str, Any]]:
    return list(backend.call("submissions", "get_timeline", case_id, token))


def receipt(backend: Backend, token: str, case_id: str) -> Receipt:
    answer = backend.call("submissions", "get_receipt", case_id, token)
    return Receipt(str(answer["receipt_number"]), base64.b64decode(answer["pdf"]))


def withdraw(backend: Backend, token: str, case_id: str) -> None:
    backend.call("submissions", "withdraw_case", case_id, token)


def messages(backend: Backend, token: str, case_id: str) -> list[dict[str, Any]]:
    return list(backend.call("submissions", "list_messages", case_id, token))


def post_message(backend: Backend, token: str, case_id: str, text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInput("MESSAGE_LENGTH", "Bitte schreiben Sie eine Nachricht.")
    return str(backend.call("submissions", "post_message", case_id, token, text))


def upload(
    backend: Backend,
    token: str,
    case_id: str,
    nachweis: str,
    filename: str,
    chunks: Iterable[bytes],
    declared_size: int | None,
) -> dict[str, Any]:
    """Stream a Nachweis into documents' quarantine, have it checked, and add it to the case.

    The body is streamed part by part (``stream_upload``), never held whole. A draft gets the
    document attached; a submitted case gets it as supplied. Raises InvalidInput
    ``FILE_TOO_LARGE`` / ``DOCUMENT_REJECTED`` (with ``reason_code``), Unavailable ``UPLOAD_FAILED``.
    """
    case = backend.call("submissions", "view_case", case_id, token)
    started = backend.call("documents", "start_upload", token, case_id, nachweis, filename, declared_size)
    upload_id = started["upload_id"]
    try:
        streamed = stream_upload(chunks, started["target"], limit=int(started["max_bytes"]))
    except UploadRefused as refused:
        backend.call("documents", "abort_upload", token, upload_id, "FILE_TOO_LARGE")
        raise InvalidInput(
            "FILE_TOO_LARGE", "Die Datei ist zu groß.", {"max_bytes": int(started["max_bytes"])}
        ) from refused
    except UploadFailed as failed:
        backend.call("documents", "abort_upload", token, upload_id, "UPLOAD_ABORTED")
        raise Unavailable("UPLOAD_FAILED", "Die Datei konnte nicht gespeichert werden. Bitte noch einmal.") from failed
    except BaseException:
        backend.call("documents", "abort_upload", token, upload_id, "UPLOAD_ABORTED")
        raise
    document = dict(
        backend.call(
            "documents", "complete_upload", token, upload_id, streamed.size, streamed.sha256,
            timeout=CHECK_TIMEOUT_SECONDS,
        )
    )  # fmt: skip
    if document.get("state") != "accepted":
        raise InvalidInput(
            "DOCUMENT_REJECTED",
            str(document.get("reason") or "Die Datei wurde nicht angenommen."),
            {"reason_code": document.get("reason_code"), "document_id": document.get("document_id")},
        )
    if case["status"] == DRAFT:
        backend.call("submissions", "attach_document", case_id, token, document["document_id"], nachweis)
    else:
        backend.call("submissions", "supply_document", case_id, token, document["document_id"], nachweis)
    return document


# -- Postfach, consents, Mein Jobcenter ------------------------------------------------------------


def postfach(backend: Backend, token: str) -> dict[str, Any]:
    return dict(backend.call("notify", "list_postfach", token))


def mark_read(backend: Backend, token: str, message_id: str) -> None:
    backend.call("notify", "mark_read", token, message_id)


def consents(backend: Backend, token: str) -> Any:
    return backend.call("notify", "get_consents", token)


def set_consent(backend: Backend, token: str, channel: str, granted: Any) -> Any:
    return backend.call("notify", "set_consent", token, channel, granted)


def my_jobcenter(backend: Backend, token: str) -> dict[str, Any]:
    """Which Jobcenter is responsible for the address of my most recent case, and why."""
    cases = my_cases(backend, token)
    for row in cases:  # newest change first
        answers = backend.call("submissions", "get_answers", row["case_id"], token)["answers"]
        address = answers.get("wohnsitz")
        if address:
            residence = {key: str(value) for key, value in address.items() if key in RESIDENCE_FIELDS and value}
            resolution = backend.call("routing", "resolve_residence", residence)
            return {"case_id": row["case_id"], "resolution": resolution}
    raise NotFound("ADDRESS_UNKNOWN", "Wir kennen Ihre Anschrift noch nicht. Sie steht in Ihrem ersten Antrag.")


def lookup_postcode(backend: Backend, plz: str) -> Any:
    return backend.call("routing", "lookup_postcode", plz)
