"""The submissions service: thin entrypoints over the ``Cases`` application.

Every entrypoint a person triggers takes the caller's access token and verifies it here
(``shared/auth.py``), whatever the gateway checked before; the aggregate then checks ownership
and the Jobcenter scope itself. ``get_case`` without a token is for other services only.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import date, datetime
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from sqlalchemy.orm import Session

from services.submissions import accesslog, moves, readmodel, receipt
from services.submissions.application import Cases
from services.submissions.domainmodel import (
    RECEIVE_WITHIN_WORKING_DAYS,
    STAFF_ROLES,
    Actor,
    CaseKind,
    working_days_between,
)
from shared.auth import AccessTokens, TokenVerifier
from shared.dates import german_today
from shared.envelope import IntegrationEvent
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from shared.eventstore import EventSourcedApplication
from shared.messaging import integration_event_handler
from shared.projection import ProjectionRunner
from shared.service import PortalService

log = logging.getLogger(__name__)

INBOX_PAGE = 50
# How long a submit waits for routing's answer: well below the gateway's wait for the submit (5 s);
# SUBMISSIONS_ROUTING_TIMEOUT_SECONDS when the gateway's is set otherwise.
ROUTING_TIMEOUT_SECONDS = 2.0
OVERDUE_CHECK_SECONDS = 900
MOVES_CHECK_SECONDS = 900
# How long a receipt download waits for routing (the Jobcenter's name) and documents (the Nachweise).
RECEIPT_LOOKUP_SECONDS = 3.0


class ReceiptKey(DependencyProvider):
    """The service's receipt signer, from ``RECEIPT_SIGNING_KEY``, and where its keys are published (``PORTAL_URL``)."""

    def setup(self) -> None:
        config = self.container.config
        retired = str(config.get("RECEIPT_RETIRED_KEYS") or "").split(",")
        keys_url = str(config.get("PORTAL_URL") or "").rstrip("/") + receipt.KEYS_PATH
        self.signer = receipt.ReceiptSigner(str(config["RECEIPT_SIGNING_KEY"]), retired, keys_url)

    def get_dependency(self, worker_ctx: Any) -> receipt.ReceiptSigner:
        return self.signer


def flag_overdue(cases: Cases, runner: ProjectionRunner, today: date) -> list[str]:
    """Flag every assigned case its Jobcenter has not received in time; returns their ids."""
    runner.catch_up()
    with Session(runner.engine) as session:
        waiting = readmodel.assigned_not_received(session)
    flagged = []
    for case_id, submitted_at in waiting:
        if working_days_between(submitted_at.date(), today) <= RECEIVE_WITHIN_WORKING_DAYS:
            continue
        try:
            cases.mark_overdue(case_id, today)
        except Conflict:
            continue  # received or flagged meanwhile, e.g. by another instance
        log.warning("case_overdue", extra={"case_id": case_id})
        flagged.append(case_id)
    return flagged


MAX_OWNERS = 200  # identity's find_customers_by_name finds at most as many


def checked_owner_ids(owner_ids: Any, owner_id: Any = None) -> list[str] | None:
    """The customers an inbox page is narrowed to, None for all: ``owner_ids`` or the older single ``owner_id``.

    An empty list keeps no case. InvalidInput ``SEARCH_INVALID`` for anything but up to 200 ids.
    """
    if owner_ids is None:
        return [str(owner_id)] if owner_id else None
    if (
        not isinstance(owner_ids, list)
        or len(owner_ids) > MAX_OWNERS
        or not all(isinstance(owner, str) and 0 < len(owner) <= 64 for owner in owner_ids)
    ):
        raise InvalidInput("SEARCH_INVALID", "Die Suche findet höchstens 200 Kundinnen und Kunden auf einmal.")
    return sorted(set(owner_ids))


def _may_read(who: Actor, case: dict[str, Any]) -> bool:
    if who.role == "citizen":
        return bool(case["owner_id"] == who.account_id)
    return who.role in STAFF_ROLES and bool(who.institution_id) and case["jobcenter_id"] == who.institution_id


class SubmissionsService(PortalService):
    name = "submissions"

    cases: Cases = EventSourcedApplication(Cases)
    tokens: TokenVerifier = AccessTokens()
    case_list: readmodel.CaseListReadModel = readmodel.CaseListReadModel()
    signer: receipt.ReceiptSigner = ReceiptKey()
    access_log: accesslog.StaffAccessLog = accesslog.StaffAccessLog()
    identity: Any = RpcProxy("identity")
    documents: Any = RpcProxy("documents")
    routing: Any = RpcProxy("routing")
    config: dict[str, Any] = Config()

    # -- the citizen ------------------------------------------------------------------------------

    @rpc
    def start_draft(self, token: str, kind: str) -> str:
        """Start a draft of the current form of ``kind`` for ``owner_id``; returns the case id.

        A Weiterbewilligungsantrag is prefilled from the owner's last submitted WBA and the VÄM
        submitted after it (the form's ``prefill``), so the citizen only confirms or corrects.
        """
        owner = self._actor(token)
        if owner.role != "citizen":
            raise Forbidden("CITIZEN_ONLY", "Anträge stellen Kundinnen und Kunden selbst.")
        owner_id = owner.account_id
        prefill = None
        if kind == CaseKind.WEITERBEWILLIGUNGSANTRAG.value:
            with self.case_list.session() as session:
                earlier = readmodel.prefill_sources_of_owner(session, owner_id, kind)
            prefill = [self.cases.prefill_source(case_id) for case_id in earlier] or None
        case_id = str(self.cases.start_draft(owner_id, kind, prefill_from=prefill))
        log.info("case_draft_started", extra={"case_id": case_id})
        return case_id

    @rpc
    def save_section(self, case_id: str, token: str, section_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and save one section; returns what applies now (sections, Nachweise, problems)."""
        return self.cases.save_section(case_id, self._actor(token), section_id, data)

    @rpc
    def attach_document(self, case_id: str, token: str, document_id: str, nachweis: str) -> None:
        self.cases.attach_document(case_id, self._actor(token), document_id, nachweis)

    @rpc
    def add_document(self, case_id: str, token: str, document_id: str, nachweis: str) -> None:
        """The citizen's upload into the case: attached to a draft, supplied to a submitted case (one call
        whichever the case is, so the gateway need not load the case first)."""
        self.cases.add_document(case_id, self._actor(token), document_id, nachweis)

    @rpc
    def detach_document(self, case_id: str, token: str, document_id: str) -> None:
        self.cases.detach_document(case_id, self._actor(token), document_id)

    @rpc
    def submit_case(self, case_id: str, token: str, idempotency_key: str) -> dict[str, Any]:
        """Submit a draft routed to its Jobcenter; the same idempotency key returns the same receipt.

        A case whose residence routing cannot give to one gE is refused (``RESIDENCE_NOT_ROUTABLE``,
        with routing's answer), never taken in and left waiting for a Jobcenter.
        """
        actor = self._actor(token)
        case = self.cases.submit_routed(
            case_id, actor, idempotency_key, self._responsible_jobcenter, self.signer.sign, self._jobcenter_after_move
        )
        log.info("case_submitted", extra={"case_id": case_id})
        if case.get("move") and self.case_list.serving:
            # A move dated today or earlier takes effect at once; a later one by the periodic check.
            try:
                self.case_list.runner.catch_up()
                moves.take_move_into_effect(self.cases, self.case_list.runner, case_id, german_today())
            except Exception:  # the case is submitted: the periodic check takes the move into effect instead
                log.exception("move_not_taken_into_effect_at_submit", extra={"case_id": case_id})
        return case

    def _ask_routing(self, residence: dict[str, Any], on_date: str | None = None) -> dict[str, Any]:
        """routing's answer, well within the gateway's wait: a submit the citizen was told failed must not
        happen later. The question expires in the queue unless routing takes it up in time."""
        ask = self.routing.resolve_residence
        seconds = float(self.config.get("ROUTING_TIMEOUT_SECONDS") or ROUTING_TIMEOUT_SECONDS)
        ask.publisher.expiration = seconds
        try:
            with eventlet.Timeout(seconds, TimeoutError):
                return dict(ask(residence, on_date))
        except TimeoutError:
            log.warning("routing_unavailable_at_submit")
            raise Unavailable(
                "ROUTING_UNAVAILABLE",
                "Ihr Antrag ist noch nicht abgeschickt: Wir können das zuständige Jobcenter gerade nicht "
                "ermitteln. Bitte versuchen Sie es in einigen Minuten noch einmal.",
            ) from None

    def _responsible_jobcenter(self, section_id: str, residence: dict[str, Any]) -> dict[str, str]:
        """Routing's Jobcenter for the residence today; raises InvalidInput unless it is one gE."""
        resolution = self._ask_routing(residence)
        if resolution["outcome"] != "assigned":
            details = {key: resolution[key] for key in ("outcome", "code", "ask", "candidates", "jobcenter")
                       if resolution.get(key) is not None}  # fmt: skip
            if resolution["outcome"] == "not_served":
                message = (
                    f"Für Ihren Wohnort ist das kommunale Jobcenter „{resolution['jobcenter']['name']}“ zuständig. "
                    "Es nutzt dieses Portal nicht: Bitte wenden Sie sich über die Kreis- oder Stadtverwaltung dorthin."
                )
            else:
                message = f"Wir können Ihre Anschrift noch keinem Jobcenter zuordnen. {resolution['message']}"
            raise InvalidInput("RESIDENCE_NOT_ROUTABLE", message, {"section": section_id, "routing": details})
        return {
            "jobcenter_id": resolution["jobcenter"]["jobcenter_id"],
            "matched_key": resolution["matched_key"],
            "reason_code": resolution["code"],
            "register_version": resolution["register_version"],
        }

    def _jobcenter_after_move(self, move_date: str, residence: dict[str, Any]) -> dict[str, Any]:
        """Routing's Jobcenter for the new address on the move date: a gE, or a zkT (``served`` False, the
        open cases are handed over to it); InvalidInput ``RESIDENCE_NOT_ROUTABLE`` when it is not one."""
        resolution = self._ask_routing(residence, move_date)
        if resolution["outcome"] not in ("assigned", "not_served"):
            details = {key: resolution[key] for key in ("outcome", "code", "ask", "candidates")
                       if resolution.get(key) is not None}  # fmt: skip
            raise InvalidInput(
                "RESIDENCE_NOT_ROUTABLE",
                f"Wir können Ihre neue Anschrift noch keinem Jobcenter zuordnen. {resolution['message']}",
                {"section": "umzug", "routing": details},
            )
        return {
            "jobcenter_id": resolution["jobcenter"]["jobcenter_id"],
            "matched_key": resolution["matched_key"],
            "reason_code": resolution["code"],
            "register_version": resolution["register_version"],
            "served": resolution["outcome"] == "assigned",
        }

    @rpc
    def discard_draft(self, case_id: str, token: str) -> None:
        """The citizen deletes a draft never sent: it is discarded and erased at once (its data key
        destroyed; documents deletes the uploads on ``case_erased``). Nobody has to keep a draft."""
        self.cases.discard(case_id, self._actor(token))
        self.cases.erase(case_id)
        log.info("draft_discarded_and_erased", extra={"case_id": case_id})

    @rpc
    def withdraw_case(self, case_id: str, token: str) -> None:
        self.cases.withdraw(case_id, self._actor(token))
        log.info("case_withdrawn", extra={"case_id": case_id})

    @rpc
    def supply_document(self, case_id: str, token: str, document_id: str, nachweis: str) -> None:
        self.cases.supply_document(case_id, self._actor(token), document_id, nachweis)

    # -- the Jobcenter ----------------------------------------------------------------------------

    @rpc
    def receive_case(self, case_id: str, token: str) -> None:
        self.cases.receive(case_id, self._actor(token))

    @rpc
    def assign_caseworker(self, case_id: str, token: str, caseworker_id: str | None = None) -> bool:
        """Give the case to a caseworker of its Jobcenter (none: the caller takes it); False when theirs already.

        Who the caseworker is and where they work is asked of identity, never taken from the caller.
        """
        actor = self._actor(token)
        if not caseworker_id or caseworker_id == actor.account_id:
            caseworker = actor
        else:
            caseworker = self._staff_account(str(caseworker_id))
        assigned = self.cases.assign_caseworker(case_id, actor, caseworker)
        log.info("case_caseworker_assigned", extra={"case_id": case_id, "account_id": actor.account_id})
        return assigned

    @rpc
    def start_processing(self, case_id: str, token: str) -> None:
        self.cases.start_processing(case_id, self._actor(token))

    @rpc
    def request_documents(self, case_id: str, token: str, items: list[str], note: str, due_date: str) -> None:
        self.cases.request_documents(case_id, self._actor(token), items, note, due_date)

    @rpc
    def waive_nachweis(self, case_id: str, token: str, nachweis: str) -> None:
        self.cases.waive_nachweis(case_id, self._actor(token), nachweis)

    @rpc
    def decide_case(
        self,
        case_id: str,
        token: str,
        outcome: str,
        bescheid_document_id: str | None,
        approval_from: str | None = None,
        approval_to: str | None = None,
    ) -> None:
        """Staff record the decision with its Bescheid; ``unchanged`` (a VÄM) may come without one."""
        actor = self._actor(token)
        bescheid = self._document_as_seen_by(token, bescheid_document_id)
        self.cases.decide(case_id, actor, outcome, bescheid_document_id, approval_from, approval_to, bescheid)
        log.info("case_decided", extra={"case_id": case_id})

    @rpc
    def close_case(self, case_id: str, token: str) -> None:
        self.cases.close_case(case_id, self._actor(token))

    # -- the receipt ------------------------------------------------------------------------------

    @rpc
    def get_receipt(self, case_id: str, token: str) -> dict[str, Any]:
        """The signed receipt of a submitted case: ``{receipt_number, jws, pdf}`` (PDF base64).

        The JWS is the one signed at the submission; the PDF around it is drawn now, with the assigned
        Jobcenter's name (routing) and the submitted Nachweise's names and SHA-256 (documents). Raises
        Unavailable ``RECEIPT_UNAVAILABLE`` when either does not answer in time.
        """
        case = self._readable_case(case_id, token)
        if case["receipt_number"] is None:
            raise Conflict("CASE_NOT_SUBMITTED", "Dieser Antrag wurde noch nicht abgeschickt.")
        signed = self.cases.issue_receipt(case_id, self.signer.sign)
        claims = receipt.receipt_claims(case)
        form, content = self.cases.submitted_form_and_content(case_id)
        attachments = self.cases.submitted_attachments(case_id)
        try:
            with eventlet.Timeout(RECEIPT_LOOKUP_SECONDS, TimeoutError):
                jobcenter, address = self._letterhead(case["jobcenter_id"], case["submitted_at"])
                letter = receipt.Letter(
                    jobcenter=jobcenter,
                    documents=self._submitted_documents(token, case_id, form.labels, attachments),
                    keys_url=self.signer.keys_url,
                    jobcenter_address=address,
                )
        except (TimeoutError, Unavailable):
            log.warning("receipt_letter_unavailable", extra={"case_id": case_id})
            raise Unavailable(
                "RECEIPT_UNAVAILABLE",
                "Die Eingangsbestätigung kann gerade nicht erstellt werden. Ihr Antrag ist trotzdem eingegangen. "
                "Bitte versuchen Sie es in einigen Minuten noch einmal.",
            ) from None
        document = receipt.receipt_pdf(claims, form, content, signed, letter)
        return {"receipt_number": case["receipt_number"], "jws": signed, "pdf": base64.b64encode(document).decode()}

    def _letterhead(self, jobcenter_id: str | None, submitted_at: str) -> tuple[str | None, tuple[str, ...]]:
        """The assigned Jobcenter's name from routing's register (today's, else the one of the submission day)
        and the lines of the postal address it set there (none while it has not)."""
        if not jobcenter_id:
            return None, ()  # routing's assignment is not recorded yet: the receipt says it is being forwarded
        for on_date in (None, submitted_at[:10]):
            try:
                found = self.routing.get_jobcenter(jobcenter_id, on_date)
            except NotFound:
                continue
            name = str(found.get("display_name") or found["name"])
            return name, receipt.postal_address_lines(found.get("contact"))
        return jobcenter_id, ()

    def _submitted_documents(
        self, token: str, case_id: str, labels: dict[str, str], attachments: dict[str, str]
    ) -> tuple[receipt.SubmittedDocument, ...]:
        """The Nachweise sent with the submission, as the documents service records them (name, SHA-256)."""
        if not attachments:
            return ()
        recorded = {row["document_id"]: row for row in self.documents.list_documents(token, case_id)}
        listed = []
        for document_id, nachweis in attachments.items():
            row = recorded.get(document_id)
            if row is None:
                continue  # not visible to this reader (staff see accepted documents only)
            listed.append(
                receipt.SubmittedDocument(
                    nachweis=labels.get(nachweis, nachweis),
                    file_name=str(row["original_name"]),
                    sha256=str(row["sha256"] or "-"),
                    state=str(row["state"]),
                )
            )
        return tuple(listed)

    @rpc
    def get_form(self, kind: str, version: str | None = None) -> dict[str, Any]:
        """The current form of ``kind`` (or the given version) with its sections' schemas; public data.

        Raises InvalidInput ``CASE_KIND_UNKNOWN`` / ``FORM_VERSION_UNKNOWN``.
        """
        forms = self.cases.forms
        if version is None:
            return forms.current(str(kind)).describe()
        try:
            return forms.version(str(kind), str(version)).describe()
        except KeyError:
            raise InvalidInput("FORM_VERSION_UNKNOWN", "Diese Fassung des Formulars gibt es nicht.") from None

    @rpc
    def get_receipt_keys(self) -> dict[str, Any]:
        """The JWKS with which anyone can verify a receipt offline."""
        return self.signer.jwks()

    # -- queries ----------------------------------------------------------------------------------

    @rpc
    def get_case(self, case_id: str) -> dict[str, Any]:
        """For other services (routing, notify, documents) only; never exposed by the gateway.

        ``nachweis_kinds``: the kinds of Nachweis the case's form knows (documents takes no other).
        """
        case = self.cases.get_case(case_id)
        form = self.cases.forms.version(case["kind"], case["form_version"])
        return {**case, "nachweis_kinds": sorted(form.labels)}

    @rpc
    def get_case_parties(self, case_id: str) -> dict[str, Any]:
        """For other services only: the ids and codes of a case (owner, Jobcenter, kind, status, the Nachweis
        kinds of its form, the decision's Bescheid) - what documents checks an upload or a read against, and
        what notify needs of an event stored before events carried it. Never the answers or the residence."""
        return self.cases.get_parties(case_id)

    @rpc
    def view_case(self, case_id: str, token: str) -> dict[str, Any]:
        """The case for its owner or its Jobcenter's staff; NotFound for everyone else.

        Every opening by staff is recorded (who, role, Jobcenter, when) before the case is answered.
        """
        case = self._readable_case(case_id, token)
        who = self._actor(token)
        if who.role == "citizen":
            case.pop("assignee_id", None)  # who at the Jobcenter works on it is the Jobcenter's business
        if who.role in STAFF_ROLES:
            self.access_log.record(case["case_id"], who.account_id, who.role, who.institution_id, "case_viewed")
            log.info("case_viewed_by_staff", extra={"case_id": case["case_id"], "account_id": who.account_id})
        return case

    @rpc
    def list_staff_accesses(
        self,
        token: str,
        case_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: int = 1,
    ) -> list[dict[str, Any]]:
        """Who of the staff opened which case when, newest first, 50 a page, in ``[since, until)`` (ISO times):
        admins see all, team leads their Jobcenter's. Forbidden ``ADMIN_ONLY`` for everyone else,
        InvalidInput ``ACCESS_FILTER_INVALID`` for a time or page that is none."""
        who = self._actor(token)
        try:
            bounds = [datetime.fromisoformat(str(value)) if value else None for value in (since, until)]
            number = int(page)
        except (TypeError, ValueError):
            raise InvalidInput("ACCESS_FILTER_INVALID", "Bitte geben Sie gültige Daten an.") from None
        if number < 1 or any(bound is not None and bound.tzinfo is None for bound in bounds):
            raise InvalidInput("ACCESS_FILTER_INVALID", "Bitte geben Sie gültige Daten an.")
        if who.role == "admin" or (who.role == "team_lead" and who.institution_id):
            institution = None if who.role == "admin" else who.institution_id
            return self.access_log.list(case_id or None, institution, bounds[0], bounds[1], number)
        raise Forbidden("ADMIN_ONLY", "Das Zugriffsprotokoll sehen nur Administration und Teamleitung.")

    @rpc
    def audited_case_documents(self, case_id: str, token: str) -> list[str]:
        """The documents of a case, for the access record (admins are no readers of cases): admins any
        case, team leads their Jobcenter's (another's answers as a missing one); Forbidden for the rest."""
        who = self._actor(token)
        if who.role not in ("admin", "team_lead"):
            raise Forbidden("ADMIN_ONLY", "Das Zugriffsprotokoll sehen nur Administration und Teamleitung.")
        case = self.cases.get_case(case_id)
        if who.role == "team_lead" and (not who.institution_id or case.get("jobcenter_id") != who.institution_id):
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")
        listed = [d for item in (case.get("checklist") or {}).values() for d in item.get("document_ids", [])]
        bescheid = (case.get("decision") or {}).get("bescheid_document_id")
        return sorted({*listed, *([bescheid] if bescheid else [])})

    @rpc
    def get_answers(self, case_id: str, token: str) -> dict[str, Any]:
        self._readable_case(case_id, token)
        return self.cases.get_answers(case_id)

    @rpc
    def get_timeline(self, case_id: str, token: str) -> list[dict[str, Any]]:
        self._readable_case(case_id, token)
        return self.cases.timeline(case_id)

    @rpc
    def list_my_cases(self, token: str) -> list[dict[str, Any]]:
        """The citizen's cases, newest change first, with status and next step."""
        citizen = self._actor(token)
        with self.case_list.session() as session:
            rows = readmodel.cases_of_owner(session, citizen.account_id)
        return [readmodel.row_as_dict(row) for row in rows]

    @rpc
    def list_inbox(
        self,
        token: str,
        status: str | None = None,
        kind: str | None = None,
        page: int = 1,
        overdue: bool = False,
        owner_id: str | None = None,
        category: str | None = None,
        assignee: str | None = None,
        receipt_part: str | None = None,
        sort: str = "received",
        owner_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """A page (50) of the caseworker's own Jobcenter's cases, oldest first, and counts per status.

        ``overdue`` keeps the cases not received in time; ``owner_ids`` the cases of these customers (up to
        200: those identity found by a name); ``owner_id`` one customer's cases (a Kundennummer's, or a name's
        one customer: the previous release knows it too);
        ``category`` the VÄM reporting that change or category (``arbeitsaufnahme``, ``einkommen``);
        ``assignee`` ``me``, ``nobody`` or a colleague's account id; ``receipt_part`` the cases whose
        receipt number contains it (``7K3M``); ``sort`` ``received`` (oldest first), ``due`` (Frist,
        soonest first) or ``status``. Each row carries what a VÄM reports as changed (``categories``)
        and the owner's id, for the gateway to name the customer (identity);
        InvalidInput ``SEARCH_INVALID`` / ``SORT_UNKNOWN``.
        """
        staff = self._actor(token)
        if staff.role not in STAFF_ROLES or not staff.institution_id:
            raise Forbidden("STAFF_ONLY", "Nur Mitarbeitende eines Jobcenters sehen den Posteingang.")
        page = max(1, int(page))
        if sort not in readmodel.SORTS:
            raise InvalidInput("SORT_UNKNOWN", "Diese Sortierung gibt es nicht.", {"allowed": list(readmodel.SORTS)})
        receipt_part = re.sub(r"\s", "", str(receipt_part or "")).upper() or None
        if receipt_part and not readmodel.RECEIPT_PART.fullmatch(receipt_part):
            raise InvalidInput(
                "SEARCH_INVALID", "Ein Teil der Eingangsnummer hat 2 bis 20 Buchstaben, Ziffern oder Striche."
            )
        owners = checked_owner_ids(owner_ids, owner_id)
        if assignee == "me":
            assignee = staff.account_id
        elif assignee == "nobody":
            assignee = readmodel.UNASSIGNED
        with self.case_list.session() as session:
            rows, counts = readmodel.inbox(
                session, staff.institution_id, status, kind, INBOX_PAGE, (page - 1) * INBOX_PAGE,
                overdue=bool(overdue), owner_ids=owners, category=category or None,
                assignee=assignee or None, receipt_part=receipt_part, sort=sort,
            )  # fmt: skip
            reported = readmodel.categories_of(session, [row["case_id"] for row in rows])
        return {
            "cases": [
                {**readmodel.row_as_dict(row), "owner_id": row["owner_id"], "categories": reported[row["case_id"]]}
                for row in rows
            ],
            "counts": counts,
            "page": page,
        }

    @rpc
    def find_by_receipt_number(self, token: str, receipt_number: str) -> dict[str, Any]:
        """The case with this receipt number, for its owner or its Jobcenter's staff only."""
        who = self._actor(token)
        with self.case_list.session() as session:
            row = readmodel.by_receipt_number(session, str(receipt_number).strip().upper())
        if row is not None and who.role == "admin":
            return {"case_id": row["case_id"]}  # admins read no cases: the id, for the access record
        allowed = row is not None and (
            (who.role == "citizen" and row["owner_id"] == who.account_id)
            or (who.role in STAFF_ROLES and who.institution_id and row["jobcenter_id"] == who.institution_id)
        )
        if not allowed:
            # The same answer whether the number does not exist or belongs to someone else.
            raise NotFound("CASE_NOT_FOUND", "Zu dieser Eingangsnummer gibt es keinen Vorgang.")
        return readmodel.row_as_dict(row)

    @rpc
    def post_message(self, case_id: str, token: str, text: str) -> str:
        """A message between the citizen and the assigned Jobcenter; returns its id."""
        message_id = self.cases.post_message(case_id, self._actor(token), text)
        log.info("message_posted", extra={"case_id": case_id})
        return message_id

    @rpc
    def list_messages(self, case_id: str, token: str) -> list[dict[str, Any]]:
        self._readable_case(case_id, token)  # another's case is NotFound, as on every reading route
        return self.cases.messages(case_id, self._actor(token))

    # -- the back-office interface (for the backoffice service only) -----------------------------

    @rpc
    def confirm_handover(self, case_id: str, jobcenter_id: str) -> bool:
        """The Jobcenter's e-file took the case over; idempotent (False when recorded before).

        Conflict ``CASE_NOT_ASSIGNED_TO_JOBCENTER`` unless the case is assigned to ``jobcenter_id``.
        """
        recorded = self.cases.confirm_handover(case_id, jobcenter_id)
        log.info("case_handover_confirmed", extra={"case_id": case_id, "code": "new" if recorded else "repeated"})
        return recorded

    @rpc
    def refuse_handover(self, case_id: str, jobcenter_id: str, reason: str) -> bool:
        """The Jobcenter's e-file refused the case with a reason; idempotent as ``confirm_handover``."""
        recorded = self.cases.refuse_handover(case_id, jobcenter_id, reason)
        log.info("case_handover_refused", extra={"case_id": case_id, "code": "new" if recorded else "repeated"})
        return recorded

    @rpc
    def export_case(
        self, case_id: str, client_id: str | None = None, jobcenter_id: str | None = None
    ) -> dict[str, Any]:
        """A submitted case for the Jobcenter's e-file (answers, form kind and version, Nachweise, documents).

        The back office names the client it reads for and its Jobcenter: another Jobcenter's case is
        NotFound, and every read is in the staff access record like an opening by a caseworker. (A back
        office of the release before names neither: its reads are recorded as of an unnamed client.)
        """
        exported: dict[str, Any] = self.cases.export_case(case_id)
        self._record_export(exported, client_id, jobcenter_id, "case_exported")
        return exported

    @rpc
    def export_case_events(
        self, case_id: str, client_id: str | None = None, jobcenter_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The case's event log for the Jobcenter's e-file: ids, types, times, codes (recorded like export_case)."""
        case = self.cases.get_parties(case_id)
        self._record_export(case, client_id, jobcenter_id, "events_exported")
        events: list[dict[str, Any]] = self.cases.export_events(case_id)
        return events

    def _record_export(
        self, case: dict[str, Any], client_id: str | None, jobcenter_id: str | None, action: str
    ) -> None:
        if jobcenter_id is not None and case.get("jobcenter_id") != jobcenter_id:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")
        reader = f"backoffice:{client_id}" if client_id else "backoffice:unbekannt"
        self.access_log.record(str(case["case_id"]), reader[:64], "backoffice", case.get("jobcenter_id"), action)

    # -- deadlines --------------------------------------------------------------------------------

    @timer(interval=OVERDUE_CHECK_SECONDS)
    def flag_overdue_cases(self) -> None:
        """Flag cases not received within 3 working days; idempotent, safe on every instance."""
        if self.case_list.serving:  # a read model still being built would miss cases, not flag wrong ones
            flag_overdue(self.cases, self.case_list.runner, german_today())

    @timer(interval=MOVES_CHECK_SECONDS)
    def take_due_moves_into_effect(self) -> None:
        """Moves whose date is reached take effect (docs/moves.md); idempotent, safe on every instance."""
        if self.case_list.serving:
            moves.take_due_moves_into_effect(self.cases, self.case_list.runner, german_today())

    # -- helpers ----------------------------------------------------------------------------------

    def _document_as_seen_by(self, token: str, document_id: Any) -> dict[str, Any] | None:
        """The documents service's metadata of a document the caller may read; None when there is none."""
        if not isinstance(document_id, str) or not document_id:
            return None
        try:
            document: dict[str, Any] = self.documents.get_document(token, document_id)
        except (NotFound, InvalidInput, Forbidden):  # they cross RPC as themselves (shared/errors.py)
            return None
        return document

    def _actor(self, token: str) -> Actor:
        """Who calls, from a verified access token; raises Unauthenticated."""
        claims = self.tokens.verify(token)
        return Actor(claims.account_id, claims.role, claims.institution_id)

    def _staff_account(self, account_id: str) -> Actor:
        """A colleague as identity knows them; InvalidInput ``CASEWORKER_NOT_OF_THIS_JOBCENTER`` if unknown/disabled."""
        try:
            account = self.identity.get_account(account_id)
        except NotFound:
            account = None
        if not account or account.get("status") != "active":
            raise InvalidInput(
                "CASEWORKER_NOT_OF_THIS_JOBCENTER",
                "Diese Person arbeitet nicht in dem Jobcenter, dem der Vorgang zugeordnet ist.",
                {"field": "caseworker_id"},
            )
        return Actor(str(account["account_id"]), str(account["role"]), account.get("institution_id"))

    def _readable_case(self, case_id: str, token: str) -> dict[str, Any]:
        case = self.cases.get_case(case_id)
        if not _may_read(self._actor(token), case):
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")
        return case

    # -- routing's decisions ----------------------------------------------------------------------

    @integration_event_handler("routing", "case_assigned")
    def on_case_assigned(self, event: IntegrationEvent) -> None:
        data = event.data
        self._record_routing(
            event, lambda: self.cases.assign(data["case_id"], data["jobcenter_id"], data["reason_code"],
                                             str(data.get("register_version", "")))
        )  # fmt: skip

    @integration_event_handler("routing", "case_assignment_pending")
    def on_case_assignment_pending(self, event: IntegrationEvent) -> None:
        self._record_routing(
            event, lambda: self.cases.mark_assignment_pending(event.data["case_id"], event.data["reason_code"])
        )

    @integration_event_handler("routing", "case_reassigned")
    def on_case_reassigned(self, event: IntegrationEvent) -> None:
        data = event.data
        self._record_routing(
            event, lambda: self.cases.reassign(data["case_id"], data["jobcenter_id"], data["reason_code"],
                                               str(data.get("effective_from", "")))
        )  # fmt: skip

    @integration_event_handler("routing", "case_handed_over")
    def on_case_handed_over(self, event: IntegrationEvent) -> None:
        data = event.data
        self._record_routing(
            event, lambda: self.cases.hand_over(data["case_id"], data["reason_code"], data.get("jobcenter_id"),
                                                data.get("effective_from"))
        )  # fmt: skip

    def _record_routing(self, event: IntegrationEvent, record: Any) -> None:
        try:
            record()
        except Conflict as refused:
            # A redelivered decision finds the case already in that state: nothing to do.
            log.info("routing_event_not_applied", extra={"event_id": event.event_id, "code": refused.code})
            return
        log.info("routing_event_applied", extra={"event_id": event.event_id, "event_type": event.type})
