"""What staff of a Jobcenter can do, once: the layer the staff pages and the staff API both call.

Every function takes the ``Backend`` and the caller's access token. ``staff_member`` is checked first
on every call: a citizen gets 403 ``STAFF_ONLY``, and a staff session without a second factor
(``amr`` without ``mfa``) 403 ``SECOND_FACTOR_REQUIRED``. Which cases a caseworker may see is
decided by the services (submissions, documents): a case of another Jobcenter is 404 there.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from nameko.exceptions import IncorrectSignature, MethodNotFound

from services.documents.streaming import UploadFailed, UploadRefused, stream_upload
from services.gateway import citizen
from services.gateway.citizen import CHECK_TIMEOUT_SECONDS, Backend
from services.submissions import presentation
from shared.dates import GERMANY
from shared.errors import Forbidden, InvalidInput, NotFound, Unavailable

CASEWORKERS = ("caseworker", "team_lead")
STAFF = (*CASEWORKERS, "admin")
SECOND_FACTOR = "mfa"
RECEIPT_NUMBER = re.compile(r"JC-\d{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
CUSTOMER_NUMBER = re.compile(r"\d{3}[A-Z]\d{6}")
INBOX_STATUSES = ("assigned", "received", "in_progress", "waiting_for_documents", "decided", "closed",
                  "withdrawn", "handed_over")  # fmt: skip
KINDS = ("veraenderungsmitteilung", "weiterbewilligungsantrag")
# The decisions of each kind of case, as submissions checks them (a VÄM decided before this rule may
# still read "approved": the names below keep every outcome ever stored).
OUTCOMES_BY_KIND = {
    "weiterbewilligungsantrag": ("approved", "partially_approved", "rejected"),
    "veraenderungsmitteilung": ("amended", "revoked", "unchanged"),
}
OUTCOMES = tuple(outcome for outcomes in OUTCOMES_BY_KIND.values() for outcome in outcomes)
# A VÄM that changes nothing is no Bescheid: a letter may go with it, none has to.
WITHOUT_BESCHEID = ("unchanged",)
# A document request's due date as the form offers it: two weeks from today (German day).
DOCUMENT_REQUEST_DAYS = 14
# A VÄM's change (``arbeitsaufnahme``) or category (``einkommen``), as the form names them.
CATEGORY = re.compile(r"[a-z][a-z_]{1,39}")
ASSIGNEE_FILTERS = ("me", "nobody")
# The inbox's orders (submissions' readmodel.SORTS): by receipt, oldest first; by Frist, soonest first; by status.
SORTS = ("received", "due", "status")
# A part of a receipt number ("7K3M", "2026-7K3M"): letters, digits and dashes.
RECEIPT_PART = re.compile(r"[A-Z0-9-]{2,20}")
# The start of a name ("Müll", "o'bri", "Erika Must"): letters of any language, spaces, hyphens, apostrophes and
# dots, at least 2 letters; identity's accounts.is_name_text says what a name may hold.
NAME_PUNCTUATION = frozenset(" -'.\u2019\u02bc")
SEARCH_HINT = (
    "Bitte geben Sie eine Eingangsnummer (JC-2026-XXXX-XXXX) oder einen Teil davon (mindestens 2 Zeichen), "
    "eine Kundennummer (123A456789) oder den Anfang eines Namens (mindestens 2 Buchstaben, ohne Ziffern) ein."
)
BESCHEID = "bescheid"
STREAM_CHUNK_BYTES = 64 * 1024
PREVIEWABLE = ("application/pdf", "image/jpeg", "image/png")


@dataclass(frozen=True)
class Staff:
    account_id: str
    role: str
    institution_id: str | None

    @property
    def is_team_lead(self) -> bool:
        return self.role == "team_lead"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def staff_member(backend: Backend, token: str, roles: tuple[str, ...] = CASEWORKERS) -> Staff:
    """The caller, when staff in one of ``roles`` with a second factor; Forbidden otherwise."""
    claims = backend.call("identity", "verify_access_token", token)
    role = str(claims["role"])
    if role not in STAFF:
        raise Forbidden("STAFF_ONLY", "Diese Seiten sind nur für Mitarbeitende der Jobcenter.")
    if SECOND_FACTOR not in claims.get("amr", []):
        raise Forbidden("SECOND_FACTOR_REQUIRED", "Mitarbeitende melden sich immer mit einem zweiten Faktor an.")
    if role not in roles:
        raise Forbidden("ROLE_NOT_ALLOWED", "Dafür fehlt Ihnen die Berechtigung.")
    return Staff(str(claims["account_id"]), role, claims.get("institution_id"))


# -- the inbox -------------------------------------------------------------------------------------


MAX_INBOX_PAGE = 100_000  # 5 million cases at 50 a page


@dataclass(frozen=True)
class InboxFilter:
    status: str | None = None
    kind: str | None = None
    overdue: bool = False
    search: str = ""
    page: int = 1
    category: str | None = None
    assignee: str | None = None
    sort: str = "received"

    @classmethod
    def from_args(cls, args: Any, strict: bool = False) -> InboxFilter:
        """The filter of a query string. The page forgets what it does not know (an old bookmark still
        opens the inbox); ``strict`` (the API) refuses it: InvalidInput ``FILTER_INVALID`` naming the parameter."""
        status = args.get("status") or None
        kind = args.get("kind") or None
        category = str(args.get("category") or "")
        assignee = args.get("assignee") or None
        sort = args.get("sort") or None
        page_text = str(args.get("page", "1"))
        page = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) <= 6 else 0
        chosen = cls(
            status=status if status in INBOX_STATUSES else None,
            kind=kind if kind in KINDS else None,
            overdue=args.get("overdue") in {"1", "true", "on"},
            search=str(args.get("q", "")).strip()[:40],
            page=min(max(1, page), MAX_INBOX_PAGE),
            category=category if CATEGORY.fullmatch(category) else None,
            assignee=assignee if assignee in ASSIGNEE_FILTERS else None,
            sort=sort if sort in SORTS else "received",
        )
        if strict:
            if sort is not None and sort not in SORTS:
                raise InvalidInput("FILTER_INVALID", "Diese Sortierung gibt es nicht.", {"field": "sort"})
            given = {"status": status, "kind": kind, "category": category or None, "assignee": assignee}
            for name, value in given.items():
                if value is not None and getattr(chosen, name) is None:
                    raise InvalidInput("FILTER_INVALID", "Diesen Filter gibt es nicht.", {"field": name})
            if not 1 <= page <= MAX_INBOX_PAGE:
                raise InvalidInput(
                    "FILTER_INVALID", f"Die Seite ist eine Zahl von 1 bis {MAX_INBOX_PAGE}.", {"field": "page"}
                )
        return chosen

    @property
    def active(self) -> bool:
        return bool(self.status or self.kind or self.overdue or self.search or self.category or self.assignee)


def inbox(backend: Backend, token: str, chosen: InboxFilter) -> dict[str, Any]:
    """A page of the own Jobcenter's cases with counts, each named by the customer's Kundennummer and name and
    its assignee's name; sorted by receipt (oldest first), Frist or status.

    The search takes a receipt number or a part of one (the cases whose number contains it), a Kundennummer
    (that customer's cases of this Jobcenter) or the start of a name (the cases of the customers whose given or
    family names start with the words typed; identity finds up to 200). Letters alone may be either a name or a
    part of a receipt number: a name first, and a part of a receipt number when no customer's name starts so.
    InvalidInput ``SEARCH_INVALID`` for anything else.
    """
    me = staff_member(backend, token)
    search = re.sub(r"\s", "", chosen.search).upper()
    owner_ids: list[str] | None = None
    receipt_part = kind_of_search = None
    if search and CUSTOMER_NUMBER.fullmatch(search):
        kind_of_search = "customer_number"
        found_id = backend.call("identity", "find_customer", token, search)
        owner_ids = [found_id] if found_id else []
    elif search and is_name_start(chosen.search):
        kind_of_search = "name"
        owner_ids = list(backend.call("identity", "find_customers_by_name", token, " ".join(chosen.search.split())))
        if not owner_ids and RECEIPT_PART.fullmatch(search):
            kind_of_search, receipt_part, owner_ids = "receipt_number", search, None
    elif search and (RECEIPT_NUMBER.fullmatch(search) or RECEIPT_PART.fullmatch(search)):
        kind_of_search, receipt_part = "receipt_number", search
    elif search:
        raise InvalidInput("SEARCH_INVALID", SEARCH_HINT)
    if owner_ids == []:
        counts = backend.call("submissions", "list_inbox", token, None, None, 1)["counts"]
        return {"cases": [], "counts": counts, "page": 1, "search": kind_of_search, "sort": chosen.sort}
    # A receipt number names its case whatever else is chosen: the filters apply to the rest.
    narrowed = chosen if receipt_part is None else InboxFilter(search=chosen.search, page=chosen.page,
                                                               sort=chosen.sort)  # fmt: skip
    # One customer goes as the single owner_id the previous release of submissions knows too (a rollout runs
    # both); only the customers of a name need the list.
    single = owner_ids[0] if owner_ids is not None and len(owner_ids) == 1 else None
    arguments: list[Any] = [
        token, narrowed.status, narrowed.kind, narrowed.page, narrowed.overdue, single, narrowed.category,
        narrowed.assignee, receipt_part, narrowed.sort,
    ]  # fmt: skip
    if owner_ids is not None and single is None:
        arguments.append(owner_ids)
    found = dict(backend.call("submissions", "list_inbox", *arguments))
    found["cases"] = named_rows(backend, token, me, found["cases"])
    found["search"] = kind_of_search
    found["sort"] = chosen.sort
    return found


def is_name_start(text: str) -> bool:
    """Whether a search can be the start of a name: at least 2 letters, otherwise only spaces, hyphens,
    apostrophes and dots (no digit: a receipt number's part has them often, a name never)."""
    text = text.strip()
    allowed = all(c.isalpha() or unicodedata.category(c).startswith("M") or c in NAME_PUNCTUATION for c in text)
    return allowed and sum(c.isalpha() for c in text) >= 2


def customer_name(described: dict[str, Any]) -> str | None:
    """The customer's name as the Jobcenter files it, "Nachname, Vorname"; None when the citizen gave none."""
    family, given = described.get("family_name"), described.get("given_name")
    if not family:
        return None
    return f"{family}, {given}" if given else str(family)


def named_rows(backend: Backend, token: str, me: Staff, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The inbox's rows with the customer's Kundennummer and name and the assignee's name (identity); the
    owner's account id stays in the gateway."""
    wanted = {row.get("owner_id") for row in rows} | {row.get("assignee_id") for row in rows}
    wanted.discard(None)
    described = backend.call("identity", "describe_accounts", token, sorted(wanted)) if wanted else {}
    named = []
    for row in rows:
        row = dict(row)
        owner = described.get(row.pop("owner_id", None) or "", {})
        assignee_id = row.get("assignee_id")
        row["customer_number"] = owner.get("customer_number")
        row["customer_name"] = customer_name(owner)
        row["assignee_name"] = None if not assignee_id else described.get(assignee_id, {}).get("display_name")
        row["assignee_is_me"] = assignee_id == me.account_id
        named.append(row)
    return named


# -- one case --------------------------------------------------------------------------------------


def case_detail(backend: Backend, token: str, case_id: str) -> dict[str, Any]:
    """The case as its Jobcenter sees it: data, form, Nachweise with documents, timeline, messages.

    Opening it is recorded by submissions (``view_case``) and the document list by documents.
    """
    me = staff_member(backend, token)
    case = dict(backend.call("submissions", "view_case", case_id, token))
    answers = backend.call("submissions", "get_answers", case_id, token)
    documents = backend.call("documents", "list_documents", token, case_id)
    form = backend.call("submissions", "get_form", case["kind"], case.get("form_version"))
    case.pop("residence", None)
    owner_id = case.pop("owner_id", None)
    wanted = sorted({owner_id, case.get("assignee_id")} - {None})
    described = backend.call("identity", "describe_accounts", token, wanted) if wanted else {}
    labels = {n["kind"]: n["label"] for n in answers["nachweise"]}
    by_id = {d["document_id"]: d for d in documents}
    checklist = []
    for kind, item in (case.get("checklist") or {}).items():
        checklist.append({
            "kind": kind, "label": labels.get(kind, kind), "status": item.get("status"),
            "documents": [by_id[d] for d in item.get("document_ids", []) if d in by_id],
        })  # fmt: skip
    bescheid_id = (case.get("decision") or {}).get("bescheid_document_id")
    # Team leads hand cases to colleagues: they pick from their Jobcenter's staff (identity knows them).
    colleagues = list(backend.call("identity", "list_jobcenter_staff", token)) if me.is_team_lead else []
    return {
        "assignee": _assignee(case.get("assignee_id"), me, colleagues, described),
        "customer": {
            "customer_number": described.get(owner_id or "", {}).get("customer_number"),
            "customer_name": customer_name(described.get(owner_id or "", {})),
        },
        "colleagues": colleagues,
        "case": case,
        "answers": answers["answers"],
        "sections": answers["sections"],
        "form": form,
        "checklist": checklist,
        "documents": documents,
        "bescheid": by_id.get(bescheid_id) if bescheid_id else None,
        "bekanntgabe": (
            bescheid_delivery(backend, token, case_id)
            if bescheid_id and case["decision"].get("outcome") not in WITHOUT_BESCHEID
            else None
        ),
        "timeline": [event for event in citizen.timeline(backend, token, case_id) if not event.get("draft")],
        "messages": list(backend.call("submissions", "list_messages", case_id, token)),
    }


def bescheid_delivery(backend: Backend, token: str, case_id: str) -> dict[str, Any] | None:
    """How the case's Bescheid reached the citizen's Postfach and when it counts as made known.

    ``basis`` says on what the day rests (services/notify/delivery.py, § 37 (2a) SGB X): notice,
    retrieval, paper, or pending - and ``needs_other_delivery`` asks the Jobcenter to make it known
    another way. None until notify has posted the Bescheid.
    """
    posted = [m for m in backend.call("notify", "list_case_messages", token, case_id) if m["kind"] == BESCHEID]
    if not posted:
        return None
    message = posted[-1]
    return {
        "message_id": message["message_id"],
        # days as in Germany, like the dates they lead to
        "provided_on": _german_day(message["created_at"]),
        "notice_sent_on": _german_day(message["alert_sent_at"]),
        "retrieved_on": _german_day(message["retrieved_at"]),
        "notice_denied_on": _german_day(message["notice_denied_at"]),
        **message["bekanntgabe"],
    }


def _german_day(moment: str | None) -> str | None:
    return datetime.fromisoformat(moment).astimezone(GERMANY).date().isoformat() if moment else None


def record_notice_denied(backend: Backend, token: str, case_id: str, message_id: Any) -> None:
    """The citizen denies having received the e-mail notice of the Bescheid: from now on retrieval counts."""
    if not isinstance(message_id, str) or not message_id:
        raise InvalidInput("MESSAGE_ID_REQUIRED", "Bitte geben Sie die Nachricht mit dem Bescheid an.")
    backend.call("notify", "record_notice_denied", token, case_id, message_id)


def _assignee(
    assignee_id: str | None, me: Staff, colleagues: list[dict[str, Any]], described: dict[str, dict[str, str]]
) -> dict[str, Any] | None:
    """Who works on the case: ``me`` or a colleague named as identity names them to the caller."""
    if not assignee_id:
        return None
    known = {colleague["account_id"]: colleague for colleague in colleagues}
    colleague = known.get(assignee_id, {})
    name = colleague.get("display_name") or described.get(assignee_id, {}).get("display_name")
    return {"account_id": assignee_id, "me": assignee_id == me.account_id, "email": colleague.get("email"),
            "name": name or colleague.get("email")}  # fmt: skip


def answers_as_form(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The submitted answers laid out like the paper form: sections with their German field labels.

    Each field has ``label``, the answer as submitted (``value``: codes stay codes, for machines), and
    ``text`` and ``entries`` as people read it (services/submissions/presentation.py: the same
    words as on the receipt).
    """
    described = {section["id"]: section for section in detail["form"].get("sections", [])}
    laid_out = []
    for step in detail["sections"]:
        values = detail["answers"].get(step["id"], {})
        fields = [
            {"label": item.label, "value": values[item.name], "text": item.text, "entries": _entries(item)}
            for item in presentation.present_section(described.get(step["id"], {}).get("schema", {}), values)
        ]
        laid_out.append({"id": step["id"], "title": step["title"], "fields": fields})
    return laid_out


def _entries(item: presentation.Shown) -> list[list[dict[str, Any]]]:
    return [[{"label": part.label, "text": part.text, "entries": _entries(part)} for part in entry]
            for entry in item.entries]  # fmt: skip


# -- actions ---------------------------------------------------------------------------------------


def receive(backend: Backend, token: str, case_id: str) -> None:
    staff_member(backend, token)
    _act(backend, "receive_case", case_id, token)


def take(backend: Backend, token: str, case_id: str) -> bool:
    """The caller takes a case nobody works on yet ("Übernehmen"); False when it was theirs already."""
    staff_member(backend, token)
    return bool(_act(backend, "assign_caseworker", case_id, token, None))


def assign_to_colleague(backend: Backend, token: str, case_id: str, caseworker_id: Any) -> bool:
    """A team lead gives the case to a caseworker of the same Jobcenter; False when it was theirs already."""
    staff_member(backend, token, roles=("team_lead",))
    if not isinstance(caseworker_id, str) or not caseworker_id.strip():
        raise InvalidInput("FIELD_REQUIRED", "Bitte wählen Sie eine Kollegin oder einen Kollegen.",
                           {"field": "caseworker_id"})  # fmt: skip
    return bool(_act(backend, "assign_caseworker", case_id, token, caseworker_id.strip()))


def vaem_categories(backend: Backend) -> list[dict[str, Any]]:
    """The VÄM's categories with their changes, as the current form names them (for the inbox filter)."""
    form = backend.call("submissions", "get_form", "veraenderungsmitteilung")
    return [
        {"code": code, "title": group.get("title", code), "changes": list(group.get("changes", []))}
        for code, group in (form.get("categories") or {}).items()
    ]


def start_processing(backend: Backend, token: str, case_id: str) -> None:
    staff_member(backend, token)
    _act(backend, "start_processing", case_id, token)


def request_documents(backend: Backend, token: str, case_id: str, items: Any, note: Any, due_date: Any) -> None:
    """Ask the citizen for documents: Nachweise from the list and/or free text, by a due date."""
    staff_member(backend, token)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidInput("FIELD_INVALID", "Bitte wählen Sie die Unterlagen aus der Liste.", {"field": "items"})
    if not isinstance(note, str):
        note = ""
    due = parse_date(due_date, "due_date", "Bitte geben Sie eine Frist als Datum an (TT.MM.JJJJ).")
    _act(backend, "request_documents", case_id, token, items, note.strip()[:2000], str(due))


def waive(backend: Backend, token: str, case_id: str, nachweis: Any) -> None:
    staff_member(backend, token)
    if not isinstance(nachweis, str) or not nachweis:
        raise InvalidInput("FIELD_REQUIRED", "Bitte wählen Sie den Nachweis.", {"field": "nachweis"})
    _act(backend, "waive_nachweis", case_id, token, nachweis)


def post_message(backend: Backend, token: str, case_id: str, text: Any) -> str:
    staff_member(backend, token)
    if not isinstance(text, str):
        raise InvalidInput("MESSAGE_LENGTH", "Bitte schreiben Sie eine Nachricht.")
    return str(_act(backend, "post_message", case_id, token, text))


def decide(
    backend: Backend,
    token: str,
    case_id: str,
    outcome: Any,
    bescheid_document_id: Any,
    approval_from: Any = None,
    approval_to: Any = None,
) -> None:
    """Record the decision with its Bescheid (a document uploaded to the case by staff); a VÄM that
    changes nothing (``unchanged``) may come without one."""
    staff_member(backend, token)
    if outcome not in OUTCOMES:
        raise InvalidInput("OUTCOME_UNKNOWN", "Bitte wählen Sie die Entscheidung.", {"field": "outcome"})
    if bescheid_document_id is None and outcome in WITHOUT_BESCHEID:
        bescheid_document_id = ""
    elif not isinstance(bescheid_document_id, str) or not (bescheid_document_id or outcome in WITHOUT_BESCHEID):
        raise InvalidInput("BESCHEID_REQUIRED", "Bitte laden Sie den Bescheid als PDF hoch.", {"field": "bescheid"})
    start = parse_date(approval_from, "approval_from", "Bitte geben Sie den Beginn als Datum an.", optional=True)
    end = parse_date(approval_to, "approval_to", "Bitte geben Sie das Ende als Datum an.", optional=True)
    _act(
        backend, "decide_case", case_id, token, outcome, bescheid_document_id,
        start.isoformat() if start else None, end.isoformat() if end else None,
    )  # fmt: skip


def _act(backend: Backend, method: str, case_id: str, token: str, *args: Any) -> Any:
    """One action of submissions on a case; another Jobcenter's case is 404, as one that does not exist."""
    try:
        return backend.call("submissions", method, case_id, token, *args)
    except Forbidden as refused:
        if refused.code == "NOT_ASSIGNED_TO_YOUR_JOBCENTER":
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.") from None
        raise


def check_decision(kind: str, outcome: Any, approval_from: Any, approval_to: Any) -> None:
    """What submissions will check of a decision, before its Bescheid is uploaded; raises InvalidInput."""
    if outcome not in OUTCOMES_BY_KIND.get(kind, ()):
        raise InvalidInput("OUTCOME_UNKNOWN", "Bitte wählen Sie die Entscheidung.", {"field": "outcome"})
    start = parse_date(approval_from, "approval_from", "Bitte geben Sie den Beginn als Datum an.", optional=True)
    end = parse_date(approval_to, "approval_to", "Bitte geben Sie das Ende als Datum an.", optional=True)
    if kind == "weiterbewilligungsantrag" and outcome != "rejected" and not (start and end and end > start):
        raise InvalidInput(
            "APPROVAL_PERIOD_REQUIRED", "Bitte geben Sie den Bewilligungszeitraum an.", {"field": "approval_from"}
        )


def close(backend: Backend, token: str, case_id: str) -> None:
    staff_member(backend, token)
    _act(backend, "close_case", case_id, token)


def reassign_to_jobcenter(backend: Backend, token: str, case_id: str, jobcenter_id: Any, reason: Any) -> Any:
    """A team lead hands the case to another gE, with a reason (routing ``override_assignment``)."""
    staff_member(backend, token, roles=("team_lead",))
    backend.call("submissions", "view_case", case_id, token)  # 404 unless it is the own Jobcenter's
    if not isinstance(jobcenter_id, str) or not jobcenter_id.strip():
        raise InvalidInput("FIELD_REQUIRED", "Bitte geben Sie das Jobcenter an.", {"field": "jobcenter_id"})
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("OVERRIDE_REASON_MISSING", "Bitte begründen Sie die Abgabe.", {"field": "reason"})
    return backend.call("routing", "override_assignment", case_id, jobcenter_id.strip(), reason.strip(), token)


def parse_date(value: Any, field: str, message: str, optional: bool = False) -> date | None:
    """An ISO date (2026-12-01) or a German one (01.12.2026); InvalidInput ``DATE_INVALID`` otherwise."""
    if optional and (value is None or value == ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        german = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
        try:
            if german:
                return date(int(german.group(3)), int(german.group(2)), int(german.group(1)))
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise InvalidInput("DATE_INVALID", message, {"field": field})


# -- documents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Download:
    content_type: str
    filename: str
    size: int | None
    chunks: Iterator[bytes]


def open_document(backend: Backend, token: str, case_id: str, document_id: str) -> Download:
    """A document of the case, streamed from the store through the gateway (the read is recorded by documents).

    Only documents of this case: NotFound ``DOCUMENT_NOT_FOUND`` for any other id.
    """
    staff_member(backend, token)
    meta = backend.call("documents", "get_document", token, document_id)
    if meta.get("case_id") != case_id:
        raise NotFound("DOCUMENT_NOT_FOUND", "Dieses Dokument gibt es nicht.")
    link = backend.call("documents", "download_url", token, document_id)
    return Download(
        str(link["content_type"]), str(link["filename"]), link.get("size"), fetch_presigned(str(link["url"]))
    )


def fetch_presigned(url: str) -> Iterator[bytes]:
    """The object from the store's presigned URL, chunk by chunk, never whole in memory."""
    if not url.startswith(("http://", "https://")):
        raise Unavailable("DOCUMENT_UNAVAILABLE", "Das Dokument ist gerade nicht abrufbar.")
    answer = urllib.request.urlopen(url, timeout=30)  # noqa: S310 - documents' own presigned URL, scheme checked

    def chunks() -> Iterator[bytes]:
        with answer:
            while chunk := answer.read(STREAM_CHUNK_BYTES):
                yield chunk

    return chunks()


def upload_bescheid(
    backend: Backend, token: str, case_id: str, filename: str, chunks: Iterable[bytes], declared_size: int | None
) -> dict[str, Any]:
    """Stream the Bescheid PDF into documents (scanned like any upload); returns the accepted document.

    Raises InvalidInput ``FILE_TOO_LARGE`` / ``DOCUMENT_REJECTED`` / ``BESCHEID_NOT_PDF``.
    """
    staff_member(backend, token)
    started = backend.call("documents", "start_upload", token, case_id, BESCHEID, filename or "Bescheid.pdf",
                           declared_size)  # fmt: skip
    upload_id = started["upload_id"]
    try:
        streamed = stream_upload(chunks, started["target"], limit=int(started["max_bytes"]))
    except UploadRefused as refused:
        backend.call("documents", "abort_upload", token, upload_id, "FILE_TOO_LARGE")
        raise InvalidInput("FILE_TOO_LARGE", "Die Datei ist zu groß.") from refused
    except UploadFailed as failed:
        backend.call("documents", "abort_upload", token, upload_id, "UPLOAD_ABORTED")
        raise Unavailable("UPLOAD_FAILED", "Die Datei konnte nicht gespeichert werden. Bitte noch einmal.") from failed
    except BaseException:
        backend.call("documents", "abort_upload", token, upload_id, "UPLOAD_ABORTED")
        raise
    document = dict(
        backend.call("documents", "complete_upload", token, upload_id, streamed.size, streamed.sha256,
                     timeout=CHECK_TIMEOUT_SECONDS)
    )  # fmt: skip
    if document.get("state") != "accepted":
        raise InvalidInput(
            "DOCUMENT_REJECTED", str(document.get("reason") or "Die Datei wurde nicht angenommen."),
            {"reason_code": document.get("reason_code")},
        )  # fmt: skip
    if document.get("content_type") != "application/pdf":
        raise InvalidInput("BESCHEID_NOT_PDF", "Der Bescheid muss eine PDF-Datei sein.")
    return document


# -- the access record (admins, team leads) ---------------------------------------------------------


def colleagues_of(backend: Backend, token: str, me: Staff) -> list[dict[str, Any]]:
    """A team lead's colleagues (id, role, work address) to name people in the access record; [] for admins."""
    return list(backend.call("identity", "list_jobcenter_staff", token)) if me.is_team_lead else []


ROLE_NAMES = {"caseworker": "Sachbearbeitung", "team_lead": "Teamleitung", "admin": "Administration",
              "backoffice": "E-Akte (Schnittstelle)"}  # fmt: skip


@dataclass(frozen=True)
class AccessFilter:
    """What the access record is narrowed to: a case (by its id or receipt number), days, a page."""

    case: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> AccessFilter:
        """From the page's query; raises InvalidInput naming the field that is none."""
        since = parse_date(
            args.get("von") or None, "von", "Bitte geben Sie das Datum als TT.MM.JJJJ an.", optional=True
        )
        until = parse_date(
            args.get("bis") or None, "bis", "Bitte geben Sie das Datum als TT.MM.JJJJ an.", optional=True
        )
        if since and until and until < since:
            raise InvalidInput("ACCESS_FILTER_INVALID", "„Bis“ liegt vor „Von“.", {"field": "bis"})
        page = str(args.get("seite") or "1")
        if not page.isdigit() or not 1 <= int(page) <= MAX_INBOX_PAGE:
            raise InvalidInput("ACCESS_FILTER_INVALID", "Diese Seite gibt es nicht.", {"field": "seite"})
        return cls(str(args.get("vorgang") or "").strip(), since, until, int(page))


def access_record(backend: Backend, token: str, wanted: AccessFilter) -> dict[str, Any]:
    """Who of the staff opened cases and documents, and when: admins all, team leads their Jobcenter's.

    A case may be named by its receipt number; one that cannot be found raises NotFound (the page says so).
    """
    staff_member(backend, token, roles=("admin", "team_lead"))
    case_id = wanted.case or None
    if case_id and RECEIPT_NUMBER.fullmatch(case_id.upper()):
        case_id = str(backend.call("submissions", "find_by_receipt_number", token, case_id.upper())["case_id"])
    documents: list[dict[str, Any]] = []
    if case_id:
        try:
            seen = backend.call("submissions", "audited_case_documents", case_id, token)
        except InvalidInput:  # not a case id at all
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.") from None
        for document_id in seen:
            for row in backend.call("documents", "get_access_record", token, document_id):
                documents.append({**row, "document_id": document_id})
        documents.sort(key=lambda row: str(row.get("at")), reverse=True)
    since = _german_midnight(wanted.since)
    until = _german_midnight(wanted.until + timedelta(days=1)) if wanted.until else None
    cases = list(backend.call("submissions", "list_staff_accesses", token, case_id, since, until, wanted.page))
    return {"case_id": case_id, "case_views": cases, "document_reads": documents, "page": wanted.page,
            "more": len(cases) == ACCESS_PAGE_SIZE}  # fmt: skip


ACCESS_PAGE_SIZE = 50  # submissions' accesslog.PAGE_SIZE


def _german_midnight(day: date | None) -> str | None:
    return datetime.combine(day, datetime.min.time(), GERMANY).isoformat() if day else None


# -- the Jobcenter's own: activation codes, staff accounts, alerts, barrier reports ---------------


STAFF_ROLES = ("caseworker", "team_lead")


def _jobcenter(backend: Backend, me: Staff, institution_id: Any) -> str:
    """The Jobcenter an action is for: staff act for their own (naming another is refused, not ignored),
    admins name one that routing's register has today and that uses the portal (a gE)."""
    if not me.is_admin:
        if institution_id not in (None, "", me.institution_id):
            raise Forbidden("INSTITUTION_NOT_ALLOWED", "Sie handeln nur für Ihr eigenes Jobcenter.")
        return me.institution_id or ""
    if not isinstance(institution_id, str) or not institution_id.strip():
        raise InvalidInput("INSTITUTION_REQUIRED", "Bitte geben Sie die Kennung des Jobcenters an.",
                           {"field": "institution_id"})  # fmt: skip
    try:
        found = citizen.jobcenter(backend, institution_id.strip())
    except NotFound:
        found = {}
    if found.get("form") != "gE":
        raise InvalidInput("INSTITUTION_INVALID", "Dieses Jobcenter gibt es nicht oder es nutzt das Portal nicht.",
                           {"field": "institution_id"})  # fmt: skip
    return str(found["jobcenter_id"])


def activation_codes(backend: Backend, token: str, institution_id: str | None = None) -> list[dict[str, Any]]:
    """The Freischaltcodes of the caller's Jobcenter, newest first (admins: all, or of ``institution_id``)."""
    staff_member(backend, token, roles=STAFF)
    return list(backend.call("identity", "list_activation_codes", token, institution_id or None))


def issue_activation_code(
    backend: Backend, token: str, customer_number: Any, institution_id: Any = None
) -> dict[str, Any]:
    """A new Freischaltcode for a Kundennummer with its letter (PDF, base64); the clear code is shown once."""
    me = staff_member(backend, token, roles=STAFF)
    if not isinstance(customer_number, str) or not customer_number.strip():
        raise InvalidInput("FIELD_REQUIRED", "Bitte geben Sie die Kundennummer an.", {"field": "customer_number"})
    jobcenter = _jobcenter(backend, me, institution_id)
    # The letter's head: the register's name and the postal address the Jobcenter set (public data).
    try:
        found = citizen.jobcenter(backend, jobcenter)
    except NotFound:
        found = {}
    sender = found.get("display_name") or found.get("name")
    address = citizen.postal_address_lines(found.get("contact"))
    try:
        try:
            return dict(backend.call("identity", "issue_activation_code", token, customer_number, jobcenter, sender,
                                     address or None))  # fmt: skip
        except IncorrectSignature:
            # An identity of the release before, during a rollout, takes no letterhead (checked before it
            # issues anything): its letter names the Jobcenter by its id.
            return dict(backend.call("identity", "issue_activation_code", token, customer_number, jobcenter))
    except InvalidInput as refused:
        field = "customer_number" if refused.code == "CUSTOMER_NUMBER_INVALID" else "institution_id"
        raise InvalidInput(refused.code, refused.message, {"field": field}) from None


def revoke_activation_code(backend: Backend, token: str, code_id: str) -> None:
    """Revoke an unused Freischaltcode of the own Jobcenter; Conflict when it was used or revoked already."""
    staff_member(backend, token, roles=STAFF)
    backend.call("identity", "revoke_activation_code", token, code_id)


def team(backend: Backend, token: str, institution_id: Any = None) -> list[dict[str, Any]]:
    """The active caseworkers and team leads: team leads their own Jobcenter's, admins ``institution_id``'s."""
    me = staff_member(backend, token, roles=("admin", "team_lead"))
    return list(backend.call("identity", "list_jobcenter_staff", token, _jobcenter(backend, me, institution_id)))


def create_staff_account(
    backend: Backend, token: str, email: Any, role: Any, institution_id: Any = None, display_name: Any = None
) -> str:
    """Invite a new colleague (they set a password by the mailed link, the second factor at first login).

    Admins create caseworkers and team leads of any Jobcenter; team leads caseworkers of their own.
    """
    me = staff_member(backend, token, roles=("admin", "team_lead"))
    if not isinstance(email, str) or not email.strip():
        raise InvalidInput("FIELD_REQUIRED", "Bitte geben Sie die dienstliche E-Mail-Adresse an.", {"field": "email"})
    allowed = STAFF_ROLES if me.is_admin else ("caseworker",)
    if role not in allowed:
        raise InvalidInput("ROLE_UNKNOWN", "Bitte wählen Sie eine Rolle.", {"field": "role"})
    jobcenter = _jobcenter(backend, me, institution_id)
    try:
        name = display_name if isinstance(display_name, str) and display_name.strip() else None
        return str(backend.call("identity", "create_staff_account", token, email.strip(), role, jobcenter, name))
    except InvalidInput as refused:
        field = {"EMAIL_INVALID": "email", "DISPLAY_NAME_INVALID": "display_name"}.get(refused.code, "institution_id")
        raise InvalidInput(refused.code, refused.message, {"field": field}) from None


def disable_account(backend: Backend, token: str, account_id: str) -> None:
    """Disable a staff account (admins: any; team leads: a caseworker of their own Jobcenter)."""
    staff_member(backend, token, roles=("admin", "team_lead"))
    backend.call("identity", "disable_account", token, account_id)


def jobcenter_contact(backend: Backend, token: str, institution_id: Any = None) -> dict[str, Any]:
    """How citizens reach the Jobcenter (team leads: their own; admins: ``institution_id``'s), as set so far:
    ``{jobcenter_id, display_name, contact}`` (``contact`` None while nobody has set it)."""
    me = staff_member(backend, token, roles=("admin", "team_lead"))
    return _contact_of(citizen.jobcenter(backend, _jobcenter(backend, me, institution_id)))


def set_jobcenter_contact(backend: Backend, token: str, contact: Any, institution_id: Any = None) -> dict[str, Any]:
    """Set the Jobcenter's postal address (and visitors' address, telephone, e-mail, opening hours), which the
    finder, "Mein Jobcenter" and the letters show; routing checks them and records who set them."""
    me = staff_member(backend, token, roles=("admin", "team_lead"))
    jobcenter = _jobcenter(backend, me, institution_id)
    try:
        backend.call("routing", "set_jobcenter_contact", jobcenter, contact, token)
    except MethodNotFound:  # a routing of the release before, during a rollout: it cannot keep them yet
        raise Unavailable("ROUTING_UNAVAILABLE", "Die Angaben können gerade nicht gespeichert werden. Bitte "
                          "versuchen Sie es in einigen Minuten noch einmal.") from None  # fmt: skip
    return _contact_of(citizen.jobcenter(backend, jobcenter))


def _contact_of(jobcenter: dict[str, Any]) -> dict[str, Any]:
    return {"jobcenter_id": jobcenter["jobcenter_id"], "display_name": jobcenter.get("display_name") or
            jobcenter["name"], "contact": jobcenter.get("contact")}  # fmt: skip


def staff_alerts(backend: Backend, token: str, institution_id: str | None = None) -> list[dict[str, Any]]:
    """What happened in the own Jobcenter's cases (new, documents supplied, overdue, ...), newest first;
    admins see every Jobcenter's, or ``institution_id``'s."""
    me = staff_member(backend, token, roles=STAFF)
    wanted = (institution_id or None) if me.is_admin else None
    return list(backend.call("notify", "list_staff_alerts", token, wanted))


def barrier_reports(backend: Backend, token: str) -> list[dict[str, Any]]:
    """The barriers people reported from the Erklärung zur Barrierefreiheit, newest first (admins only)."""
    staff_member(backend, token, roles=("admin",))
    return list(backend.call("notify", "list_accessibility_feedback", token))
