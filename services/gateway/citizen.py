"""What a citizen can do, once: the layer the JSON API and the pages both call.

Every function takes the ``Backend`` (RPC to the services, with the gateway's timeouts) and, for
anything personal, the caller's access token, which the services verify themselves: ownership of a
case is decided by submissions and documents, never here.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from nameko.exceptions import MethodNotFound

from services.documents.streaming import UploadFailed, UploadRefused, stream_upload
from services.submissions.presentation import german_date
from shared.errors import Forbidden, InvalidInput, NotFound, Unavailable

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{8,100}")
RESIDENCE_FIELDS = ("ags", "kreis", "plz", "ort", "strasse", "hausnummer", "berlin_bezirk")
DRAFT = "draft"
# Photos documents can merge into one PDF (merge_photos).
PHOTO_TYPES = ("image/jpeg", "image/png")
# Checking an upload means one pass over the object with clamd: allow more than a plain RPC.
CHECK_TIMEOUT_SECONDS = 60.0
# Merging reads every photo (up to 20) from the store and writes one PDF: a pass over all of them, too.
# The plain 5 s left it little room on a loaded machine: 2-3 s at load average 14 (#23).
MERGE_TIMEOUT_SECONDS = CHECK_TIMEOUT_SECONDS


class Backend(Protocol):
    def call(self, service: str, method: str, *args: Any, timeout: float | None = None) -> Any: ...


@dataclass(frozen=True)
class Receipt:
    receipt_number: str
    pdf: bytes
    jws: str


# -- session ---------------------------------------------------------------------------------------


def log_in(backend: Backend, email: str, password: str, client: str) -> dict[str, Any]:
    """identity's first step: the ticket for the second factor, or for setting one up."""
    return dict(backend.call("identity", "login_with_password", email, password, client))


def start_enrolment_at_login(backend: Backend, ticket: str) -> dict[str, Any]:
    """The first login of an account without a second factor: ``{secret, otpauth_uri}`` for the app."""
    return dict(backend.call("identity", "start_totp_enrolment_at_login", ticket))


def complete_enrolment_at_login(backend: Backend, ticket: str, code: str, client: str) -> dict[str, Any]:
    """The session and the recovery codes, once the app's first code is right."""
    return dict(backend.call("identity", "complete_login_with_totp_enrolment", ticket, code, client))


def complete_second_factor(
    backend: Backend, ticket: str, code: str | None, recovery_code: str | None, client: str
) -> dict[str, Any]:
    """The session, after a TOTP code or one of the recovery codes."""
    if recovery_code:
        return dict(backend.call("identity", "complete_login_with_recovery_code", ticket, recovery_code, client))
    return dict(backend.call("identity", "complete_login_with_totp", ticket, code or "", client))


def log_out(backend: Backend, session_token: str, client: str) -> None:
    backend.call("identity", "logout", session_token, client)


def register(
    backend: Backend, email: str, password: str, activation_code: str, client: str, given_name: str, family_name: str
) -> dict[str, Any]:
    """Register with the activation code and the citizen's name; identity checks both (``NAME_INVALID``)."""
    return dict(
        backend.call("identity", "register_citizen", email, password, activation_code, client, given_name, family_name)
    )


def my_name(backend: Backend, token: str) -> dict[str, Any]:
    """The citizen's name as they gave it: ``{given_name, family_name}``, None where not given."""
    return dict(backend.call("identity", "get_my_name", token))


def change_my_name(backend: Backend, token: str, given_name: str, family_name: str, client: str) -> dict[str, Any]:
    """A new name for the citizen's account; InvalidInput ``NAME_INVALID`` naming the field."""
    return dict(backend.call("identity", "change_my_name", token, given_name, family_name, client))


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
        # per section, the fields a WBA draft took over from earlier cases and still holds unchanged
        "taken_over": answers.get("taken_over") or {},
        # the sections a prefilled WBA draft had nothing for (absent before, or out of date since a VÄM)
        "not_taken_over": answers.get("not_taken_over") or [],
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


# The dated steps of a move (docs/moves.md): {date} the day a step takes effect, {jobcenter} the Jobcenter's name.
DATED_STEPS = {
    "MoveReported": "Umzug gemeldet zum {date} — bearbeitet vom {jobcenter}",
    "MoveTookEffect": "Ab {date} zuständig: {jobcenter}",
    "Reassigned": "Am {date} an das {jobcenter} abgegeben",
    "HandedOver": "Am {date} an das {jobcenter} abgegeben",
}


def timeline(backend: Backend, token: str, case_id: str) -> list[dict[str, Any]]:
    """The case's events; the dated steps of a move with their ``text`` (see ``with_dated_steps``)."""
    return with_dated_steps(backend, list(backend.call("submissions", "get_timeline", case_id, token)))


def with_dated_steps(backend: Backend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each step of a move gets ``text``: "Ab 15.12.2026 zuständig: Jobcenter Dahme-Spreewald", and the
    ``jobcenter_name`` in it (events stored before steps carried their day, and a move whose Jobcenter is not
    named, keep their ``label``)."""
    names: dict[str, str] = {}
    for event in events:
        template, jobcenter_id, day = DATED_STEPS.get(event["event"]), event.get("jobcenter_id"), event.get("on")
        if template is None or not jobcenter_id or not day:
            continue
        if jobcenter_id not in names:
            names[jobcenter_id] = jobcenter_name(backend, jobcenter_id) or "zuständigen Jobcenter"
        event["jobcenter_name"] = names[jobcenter_id]
        event["text"] = template.format(date=german_date(day), jobcenter=names[jobcenter_id])
    return events


def receipt(backend: Backend, token: str, case_id: str) -> Receipt:
    answer = backend.call("submissions", "get_receipt", case_id, token)
    return Receipt(str(answer["receipt_number"]), base64.b64decode(answer["pdf"]), str(answer["jws"]))


def withdraw(backend: Backend, token: str, case_id: str) -> None:
    backend.call("submissions", "withdraw_case", case_id, token)


def delete_account(backend: Backend, token: str, password: Any, client_address: str) -> dict[str, int]:
    """Delete the caller's account (identity checks the password), then their drafts, which nobody keeps,
    and their consents (notify keeps them while a kept case needs them as proof).

    Submitted cases stay: the Jobcenter keeps its files (§ 84 SGB X) and erases them with their
    retention. The access token of this request stays valid for the drafts though its session ended;
    a draft left behind by a failure in between is erased with the untouched drafts (retention).
    Returns how many drafts were deleted and how many cases are kept.
    """
    cases = my_cases(backend, token)
    kept = [case for case in cases if case["status"] not in ("draft", "discarded", "expired")]
    # The Jobcenter tells kept cases apart by the customer number: it stays while there are any.
    given = password if isinstance(password, str) else ""
    backend.call("identity", "delete_my_account", token, given, client_address, bool(kept))
    drafts = [case for case in cases if case["status"] == "draft"]
    for draft in drafts:
        discard_draft(backend, token, draft["case_id"])
    # Consents go with the account unless a kept case needs them as proof (then with its last case).
    try:
        backend.call("notify", "forget_deleted_account", token)
    except MethodNotFound:
        # A notify of the release before, during a rollout: the account is gone all the same.
        log.warning("consents_not_forgotten", extra={"code": "METHOD_NOT_FOUND"})
    return {"drafts_deleted": len(drafts), "cases_kept": len(kept)}


def discard_draft(backend: Backend, token: str, case_id: str) -> None:
    """Delete a draft that was never sent: it and its uploads are erased (documents follows the event)."""
    backend.call("submissions", "discard_draft", case_id, token)


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
    # documents refuses another's case before anything is stored; submissions decides attach or supply.
    document = _store(backend, token, case_id, nachweis, filename, chunks, declared_size)
    backend.call("submissions", "add_document", case_id, token, document["document_id"], nachweis)
    return document


def upload_files(
    backend: Backend, token: str, case_id: str, nachweis: str, files: Iterable[tuple[str, Iterable[bytes]]]
) -> list[dict[str, Any]]:
    """Several files for one Nachweis, read one after the other: photos become one PDF, others stay as they are.

    Each file is streamed and checked as ``upload`` does. Two or more photos (JPEG, PNG) are merged
    by documents into one PDF (a page each, in the order chosen), which alone is added to the case;
    a PDF among them keeps every file its own document. Returns the documents added. Raises
    InvalidInput ``FILE_REQUIRED`` without a file and, naming the file, ``DOCUMENT_REJECTED`` as ``upload``.
    """
    stored = []
    for filename, chunks in files:
        try:
            stored.append(_store(backend, token, case_id, nachweis, filename, chunks, None))
        except InvalidInput as refused:
            raise InvalidInput(refused.code, f"„{filename}“: {refused.message}", refused.details) from refused
    if not stored:
        raise InvalidInput("FILE_REQUIRED", "Bitte wählen Sie eine Datei aus.", {"field": "datei"})
    if len(stored) > 1 and all(document.get("content_type") in PHOTO_TYPES for document in stored):
        ids = [str(document["document_id"]) for document in stored]
        merged = backend.call("documents", "merge_photos", token, case_id, nachweis, ids, timeout=MERGE_TIMEOUT_SECONDS)
        stored = [dict(merged)]
    for document in stored:
        backend.call("submissions", "add_document", case_id, token, document["document_id"], nachweis)
    return stored


def merge_photos(backend: Backend, token: str, case_id: str, nachweis: Any, document_ids: Any) -> dict[str, Any]:
    """Make one PDF of photos uploaded before (2 to 20, in the order given) and put it in their place.

    On a draft the photos are detached and the PDF attached; on a submitted case the PDF is supplied
    (photos supplied before stay in the case's record, merged). Raises InvalidInput ``MERGE_INVALID``,
    ``MERGE_NOT_A_PHOTO`` and the rest of documents' ``merge_photos``.
    """
    if not isinstance(nachweis, str) or not nachweis:
        raise InvalidInput("FIELD_REQUIRED", "Bitte wählen Sie, welchen Nachweis Sie hochladen.", {"field": "nachweis"})
    if not isinstance(document_ids, list) or not all(isinstance(item, str) for item in document_ids):
        raise InvalidInput("MERGE_INVALID", "Bitte nennen Sie die Fotos als Liste ihrer document_id.")
    case = backend.call("submissions", "view_case", case_id, token)
    document = dict(
        backend.call("documents", "merge_photos", token, case_id, nachweis, document_ids, timeout=MERGE_TIMEOUT_SECONDS)
    )
    if case["status"] == DRAFT:
        for photo_id in document_ids:
            try:
                backend.call("submissions", "detach_document", case_id, token, photo_id)
            except InvalidInput as refused:
                if refused.code != "DOCUMENT_NOT_ATTACHED":  # uploaded, never attached: nothing to take off
                    raise
    backend.call("submissions", "add_document", case_id, token, document["document_id"], nachweis)
    return document


def _store(
    backend: Backend,
    token: str,
    case_id: str,
    nachweis: str,
    filename: str,
    chunks: Iterable[bytes],
    declared_size: int | None,
) -> dict[str, Any]:
    """One file streamed into documents and checked there: the accepted document, or InvalidInput."""
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
    return document


# -- Postfach, consents, Mein Jobcenter ------------------------------------------------------------


def postfach(backend: Backend, token: str) -> dict[str, Any]:
    return dict(backend.call("notify", "list_postfach", token))


def with_open_requests(backend: Backend, token: str, messages: list[dict[str, Any]]) -> None:
    """Give the newest document request message of each case what is still asked for there (the items
    with their upload links and the caseworker's note), while the case waits for it.

    The note never travels in events or e-mails (it may name people); submissions hands it to the owner.
    """
    newest: dict[str, dict[str, Any]] = {}
    for message in sorted(messages, key=lambda m: str(m.get("created_at") or ""), reverse=True):
        if message.get("kind") == "documents_requested" and message.get("case_id"):
            newest.setdefault(str(message["case_id"]), message)
    for case_id, message in newest.items():
        try:
            case = backend.call("submissions", "view_case", case_id, token)
        except (NotFound, Forbidden):  # erased or no longer the citizen's: the message text still stands
            continue
        message["document_request"] = case.get("document_request")


def decision_letter(backend: Backend, token: str, case_id: str) -> dict[str, str] | None:
    """The Postfach attachment of the case's decision (``message_id``, ``document_id``, ``kind``: a Bescheid, or
    the letter of a VÄM that changes nothing), for a download link on the case page; None while none is there."""
    for message in postfach(backend, token)["messages"]:
        if message.get("case_id") == case_id and message.get("kind") in ("bescheid", "no_change"):
            for document_id in message.get("attachments") or []:
                return {"message_id": message["message_id"], "document_id": document_id, "kind": message["kind"]}
    return None


def mark_read(backend: Backend, token: str, message_id: str) -> None:
    backend.call("notify", "mark_read", token, message_id)


@dataclass(frozen=True)
class Attachment:
    chunks: Iterator[bytes]
    content_type: str
    filename: str


def postfach_attachment(backend: Backend, token: str, message_id: str, document_id: str) -> Attachment:
    """An attachment of one of my Postfach messages, streamed from the store.

    notify checks that the message is mine and carries it, and records the first download: for a
    Bescheid the day of retrieval, which can be its day of Bekanntgabe (§ 37 (2a) SGB X).
    """
    from services.gateway.staff import fetch_presigned  # the one presigned-GET streamer

    backend.call("notify", "retrieve_attachment", token, message_id, document_id)
    link = backend.call("documents", "download_url", token, document_id)
    return Attachment(fetch_presigned(str(link["url"])), str(link["content_type"]), str(link["filename"]))


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
            return {"case_id": row["case_id"], "resolution": with_contact(backend, resolution)}
    raise NotFound("ADDRESS_UNKNOWN", "Wir kennen Ihre Anschrift noch nicht. Sie steht in Ihrem ersten Antrag.")


def jobcenter(backend: Backend, jobcenter_id: str) -> dict[str, Any]:
    """A Jobcenter of routing's register with its name and areas (public data)."""
    return dict(backend.call("routing", "get_jobcenter", jobcenter_id))


def jobcenter_name(backend: Backend, jobcenter_id: str) -> str | None:
    """``Jobcenter Berlin Treptow-Köpenick``: routing's ``display_name`` of the Jobcenter.

    The one naming of a Jobcenter for the citizen (timeline, Mein Jobcenter); None when the register
    does not know the id.
    """
    try:
        found = jobcenter(backend, jobcenter_id)
    except NotFound:
        return None
    return str(found.get("display_name") or found["name"])


def postal_address_lines(contact: dict[str, Any] | None) -> list[str]:
    """A Jobcenter's postal address as a letter prints it (``["Musterstraße 1", "12345 Musterstadt"]``); none
    while the Jobcenter has not set its contact details."""
    if not contact:
        return []
    postal = contact["postal_address"]
    return [str(postal["street"]), f"{postal['postcode']} {postal['city']}"]


def area_reason(backend: Backend, matched_key: str) -> str:
    """``Ihre Anschrift liegt im Berliner Bezirk Treptow-Köpenick.``: why the area key's Jobcenter is responsible."""
    return str(backend.call("routing", "explain_area", matched_key)["reason"])


FINDER_FIELDS = ("plz", "ort", "strasse", "hausnummer", "berlin_bezirk", "ags")
FINDER_MAX_LENGTH = 100
ZKT_HOW_TO_REACH = (
    "{name} ist ein kommunales Jobcenter (zugelassener kommunaler Träger) und nutzt dieses Portal nicht. "
    "Sie erreichen es über die Kreis- oder Stadtverwaltung: Ihr Antrag und Ihre Unterlagen gehen direkt dorthin."
)


def find_jobcenter(backend: Backend, query: dict[str, str], on_date: str | None) -> dict[str, Any]:
    """Which Jobcenter is responsible for an address, and why; or what to ask next; or who serves it instead.

    Public (no login): routing's resolution with the Jobcenters named as the citizen reads them.
    """
    plz = query.get("plz", "").strip()
    if not plz:
        raise InvalidInput("POSTCODE_MISSING", "Bitte geben Sie Ihre Postleitzahl an.", {"field": "plz"})
    if not (len(plz) == 5 and plz.isdigit()):
        raise InvalidInput("POSTCODE_INVALID", "Die Postleitzahl hat 5 Ziffern.", {"field": "plz"})
    residence = {"plz": plz}
    for name in FINDER_FIELDS[1:]:
        value = query.get(name, "").strip()
        if len(value) > FINDER_MAX_LENGTH or not value.isprintable():
            raise InvalidInput("QUERY_INVALID", "Diese Angabe können wir nicht lesen.", {"field": name})
        if value:
            residence[name] = value
    resolution = dict(backend.call("routing", "resolve_residence", residence, on_date))
    if resolution.get("jobcenter"):
        resolution["jobcenter"] = _named(resolution["jobcenter"])
    for candidate in resolution.get("candidates", []):
        candidate["jobcenter"] = _named(candidate["jobcenter"])
    if resolution["outcome"] == "not_served":
        resolution["how_to_reach"] = ZKT_HOW_TO_REACH.format(name=resolution["jobcenter"]["display_name"])
    return with_contact(backend, resolution)


def with_contact(backend: Backend, resolution: dict[str, Any]) -> dict[str, Any]:
    """The resolution with the responsible Jobcenter's ``contact`` when it is this portal's (a gE sets its own:
    routing's ``get_jobcenter``); None while not set. A zkT has none here: ``how_to_reach`` says where to go."""
    if resolution.get("outcome") != "assigned" or not resolution.get("jobcenter"):
        return resolution
    try:
        found = backend.call("routing", "get_jobcenter", resolution["jobcenter"]["jobcenter_id"],
                             resolution.get("on_date"))  # fmt: skip
    except NotFound:
        found = {}
    return {**resolution, "jobcenter": {**resolution["jobcenter"], "contact": found.get("contact")}}


def _named(jobcenter_of_resolution: dict[str, Any]) -> dict[str, Any]:
    """Routing names each Jobcenter as the citizen reads it (``display_name``): no further call."""
    return {**jobcenter_of_resolution, "display_name": jobcenter_of_resolution.get("display_name") or
            jobcenter_of_resolution["name"]}  # fmt: skip


def lookup_postcode(backend: Backend, plz: str) -> Any:
    return backend.call("routing", "lookup_postcode", plz)


# -- the account: registration, links by mail, passwords, second factor, passkeys -----------------


def confirm_email(backend: Backend, token: str) -> None:
    backend.call("identity", "confirm_email", token)


def request_password_reset(backend: Backend, email: str, client: str) -> dict[str, Any]:
    """identity's answer is the same whether or not the address has an account."""
    return dict(backend.call("identity", "request_password_reset", email, client))


def reset_password(backend: Backend, token: str, new_password: str, client: str) -> None:
    backend.call("identity", "reset_password", token, new_password, client)


def security_overview(backend: Backend, token: str) -> dict[str, Any]:
    return dict(backend.call("identity", "get_security_overview", token))


def change_password(backend: Backend, token: str, current: str, new_password: str, client: str) -> None:
    backend.call("identity", "change_password", token, current, new_password, client)


def request_email_change(backend: Backend, token: str, current: str, new_email: str, client: str) -> dict[str, Any]:
    return dict(backend.call("identity", "request_email_change", token, current, new_email, client))


def confirm_email_change(backend: Backend, token: str) -> None:
    backend.call("identity", "confirm_email_change", token)


def start_authenticator(backend: Backend, token: str) -> dict[str, Any]:
    """``{ticket, secret, otpauth_uri}`` of a new authenticator app (the first one or a replacement)."""
    return dict(backend.call("identity", "start_totp_replacement", token))


def confirm_authenticator(backend: Backend, token: str, ticket: str, code: str, client: str) -> list[str]:
    """The new recovery codes once the app's first code fits."""
    return list(backend.call("identity", "confirm_totp_replacement", token, ticket, code, client)["recovery_codes"])


def renew_recovery_codes(backend: Backend, token: str, client: str) -> list[str]:
    return list(backend.call("identity", "renew_recovery_codes", token, client)["recovery_codes"])


def passkey_login_options(backend: Backend) -> dict[str, Any]:
    """``{ticket, options}`` for ``navigator.credentials.get``."""
    return dict(backend.call("identity", "start_passkey_login"))


def log_in_with_passkey(backend: Backend, ticket: str, credential: dict[str, Any], client: str) -> dict[str, Any]:
    return dict(backend.call("identity", "complete_passkey_login", ticket, credential, client))


def passkey_registration_options(backend: Backend, token: str) -> dict[str, Any]:
    """``{ticket, options}`` for ``navigator.credentials.create``."""
    return dict(backend.call("identity", "start_passkey_registration", token))


def register_passkey(backend: Backend, token: str, ticket: str, credential: dict[str, Any], client: str) -> None:
    backend.call("identity", "complete_passkey_registration", token, ticket, credential, client)


def my_passkeys(backend: Backend, token: str) -> list[dict[str, Any]]:
    return list(backend.call("identity", "list_passkeys", token))


def remove_passkey(backend: Backend, token: str, credential_id: str, client: str) -> None:
    backend.call("identity", "remove_passkey", token, credential_id, client)


def send_accessibility_feedback(backend: Backend, barrier: str, page: str, contact: str) -> None:
    """A reported barrier for the operators (notify keeps it; nothing of it is logged)."""
    backend.call("notify", "record_accessibility_feedback", barrier, page, contact)
