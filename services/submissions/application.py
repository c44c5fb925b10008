"""The application of the submissions service: commands return ids, queries return plain dicts."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from services.submissions.domainmodel import (
    DRAFT_ONLY_EVENTS,
    MOVE_STEP_LABELS,
    RECORD_ONLY_EVENTS,
    TIMELINE_LABELS,
    Actor,
    Case,
    CaseErasure,
    CaseKind,
    CaseStatus,
    NachweisStatus,
    parse_kind,
)
from services.submissions.forms import Form, FormCatalogue
from shared.datakeys import ErasedAggregateEvent
from shared.envelope import stable_event_id
from shared.errors import Conflict, InvalidInput, NotFound
from shared.eventstore import PortalApplication, Publishes, jsonable

log = logging.getLogger(__name__)
T = TypeVar("T")

# How often a command is tried again when another request saved the same case in between.
CONCURRENCY_RETRIES = 5


class Cases(PortalApplication):
    name = "submissions"
    per_aggregate_keys = True
    snapshotting_intervals: ClassVar[dict[type, int]] = {Case: 50}
    integration_events: ClassVar[dict[type, Publishes]] = {
        Case.DraftStarted: Publishes("case_draft_started", ("kind", "owner_id")),
        # Each event carries what its consumers act on (ids and codes), so that none asks for the case.
        Case.Submitted: Publishes(
            "case_submitted",
            ("receipt_number", "jobcenter_id", "matched_key", "reason_code", "register_version", "owner_id"),
        ),
        Case.MoveReported: Publishes(
            "case_move_reported",
            (
                "move_date",
                "jobcenter_id",
                "matched_key",
                "reason_code",
                "register_version",
                "previous_jobcenter_id",
                "served",
                "owner_id",
            ),
        ),
        Case.MoveTookEffect: Publishes(
            "case_move_took_effect",
            (
                "move_date",
                "jobcenter_id",
                "matched_key",
                "reason_code",
                "register_version",
                "served",
                "case_ids",
                "owner_id",
            ),
        ),
        Case.Assigned: Publishes("case_assigned", ("jobcenter_id", "reason_code")),
        Case.Reassigned: Publishes("case_reassigned", ("jobcenter_id", "reason_code", "effective_from")),
        Case.HandedOver: Publishes("case_handed_over", ("reason_code",)),
        Case.Received: Publishes("case_received", ()),
        Case.ProcessingStarted: Publishes("case_processing_started", ()),
        Case.DocumentsRequested: Publishes("documents_requested", ("items", "due_date", "owner_id")),
        Case.DocumentSupplied: Publishes("document_supplied", ("document_id", "nachweis", "jobcenter_id")),
        Case.Decided: Publishes("case_decided", ("outcome", "bescheid_document_id", "approval_to", "owner_id", "kind")),
        Case.Closed: Publishes("case_closed", ()),
        Case.Withdrawn: Publishes("case_withdrawn", ()),
        Case.MessagePosted: Publishes("message_posted", ("message_id", "author_role", "owner_id", "jobcenter_id")),
        Case.Discarded: Publishes("case_draft_discarded", ()),
        Case.Expired: Publishes("case_draft_expired", ()),
        CaseErasure.Recorded: Publishes("case_erased", ("case_id",)),
        Case.BecameOverdue: Publishes("case_overdue", ("due_since", "jobcenter_id")),
        # The reason of a refusal stays in the case (it may name the person): only the fact is published.
        Case.HandoverConfirmed: Publishes("case_handover_confirmed", ("jobcenter_id",)),
        Case.HandoverRefused: Publishes("case_handover_refused", ("jobcenter_id",)),
        Case.CaseworkerAssigned: Publishes("case_caseworker_assigned", ("caseworker_id",)),
    }

    def __init__(self, env: Any = None) -> None:
        super().__init__(env)
        self.forms = FormCatalogue.load()

    # -- commands ---------------------------------------------------------------------------------

    def start_draft(self, owner_id: str, kind: str, prefill_from: list[dict[str, Any]] | None = None) -> UUID:
        """Start a draft of the current form version; a WBA may be prefilled from earlier cases
        (``prefill_sources``, oldest first; the draft records the newest as ``prefilled_from``)."""
        form = self.forms.current(parse_kind(kind))
        answers = form.prefill_from(prefill_from) if prefill_from else {}
        case = Case(
            owner_id=owner_id,
            kind=CaseKind(kind),
            form_version=form.version,
            answers=answers,
            prefilled_from=prefill_from[-1]["case_id"] if prefill_from and answers else None,
        )
        self.save(case)
        return case.id

    def save_section(self, case_id: str, actor: Actor, section_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Validate and save one section; returns the answers as ``get_answers`` does, from the saved case."""

        def command(case: Case) -> None:
            case.check_is_owner(actor)
            case.save_section(self.form_of(case), section_id, data)

        return self._answers_view(self._saved(case_id, command)[1])

    def attach_document(self, case_id: str, actor: Actor, document_id: str, nachweis: str) -> None:
        def command(case: Case) -> None:
            case.check_is_owner(actor)
            case.attach_document(document_id, nachweis)

        self._update(case_id, command)

    def add_document(self, case_id: str, actor: Actor, document_id: str, nachweis: str) -> None:
        """The citizen's upload into the case as it is now: attached to a draft, supplied to a submitted case."""

        def command(case: Case) -> None:
            case.check_is_owner(actor)
            if case.status == CaseStatus.DRAFT:
                case.attach_document(document_id, nachweis)
            else:
                case.supply_document(actor, document_id, nachweis)

        self._update(case_id, command)

    def detach_document(self, case_id: str, actor: Actor, document_id: str) -> None:
        def command(case: Case) -> None:
            case.check_is_owner(actor)
            case.detach_document(document_id)

        self._update(case_id, command)

    def submit(
        self,
        case_id: str,
        actor: Actor,
        idempotency_key: str,
        responsible: dict[str, str] | None,
        moving_to: dict[str, Any] | None = None,
    ) -> str:
        """Submit a draft routed to ``responsible`` (a reported move: ``moving_to`` from its date); returns the
        receipt number. The same key returns the same receipt."""
        described = self.submit_and_describe(case_id, actor, idempotency_key, responsible, moving_to=moving_to)
        return str(described["receipt_number"])

    def submit_routed(
        self,
        case_id: str,
        actor: Actor,
        idempotency_key: str,
        responsible_for: Callable[[str, dict[str, Any]], dict[str, str]],
        sign: Callable[[dict[str, Any]], str] | None = None,
        moving_to_for: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Submit a draft to the Jobcenter that ``responsible_for(section_id, residence)`` names (routing's
        answer; it raises when there is none); returns the case as ``get_case`` does. A reported move's new
        address is routed by ``moving_to_for(move_date, new_residence)`` (routing's answer on that day).

        The case is loaded once for the question and the save. Raises what a submit would for a case that
        is not the actor's or not complete before routing is asked, so the citizen hears about missing
        answers first; Conflict ``ADDRESS_CHANGED`` when an address was saved while routing was asked.
        """
        case = self._get(case_id)
        to_route = self._residence_to_route(case, actor)
        responsible = responsible_for(*to_route) if to_route is not None else None
        routed = to_route[1] if to_route is not None else None
        move = self.form_of(case).move(case.answers) if to_route is not None else None
        moving_to = moving_to_for(*move) if move is not None and moving_to_for is not None else None
        return self.submit_and_describe(
            case_id, actor, idempotency_key, responsible, sign, routed,
            loaded=case, moving_to=moving_to, routed_move=move,
        )  # fmt: skip

    def submit_and_describe(
        self,
        case_id: str,
        actor: Actor,
        idempotency_key: str,
        responsible: dict[str, str] | None,
        sign: Callable[[dict[str, Any]], str] | None = None,
        routed_residence: dict[str, Any] | None = None,
        loaded: Case | None = None,
        moving_to: dict[str, Any] | None = None,
        routed_move: tuple[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Submit a draft; returns the case as ``get_case`` does, from the submitted case. With ``sign``,
        the receipt is signed and stored in the same save; ``responsible`` is routing's answer for
        ``routed_residence``, recorded with the submission; ``loaded`` the case as just loaded. Conflict
        ``ADDRESS_CHANGED`` when the draft's residence is no longer the one routing was asked about (an
        address saved while the submit waited for routing)."""
        if not idempotency_key or len(idempotency_key) > 100:
            raise InvalidInput("IDEMPOTENCY_KEY_INVALID", "Der Antrag konnte nicht eindeutig zugeordnet werden.")

        def command(case: Case) -> None:
            case.check_is_owner(actor)
            form = self.form_of(case)
            if routed_residence is not None and case.status == CaseStatus.DRAFT:
                if form.residence(case.answers) != routed_residence or form.move(case.answers) != routed_move:
                    raise Conflict(
                        "ADDRESS_CHANGED",
                        "Ihre Anschrift wurde gerade geändert. Bitte prüfen Sie sie und senden Sie den Antrag noch "
                        "einmal ab.",
                    )
            case.submit(form, idempotency_key, responsible, moving_to)
            if sign is not None:
                case.issue_receipt(sign)

        return self._case_view(self._saved(case_id, command, loaded)[1])

    def _residence_to_route(self, case: Case, actor: Actor) -> tuple[str, dict[str, Any]] | None:
        """The form section and residence a submission must be routed by; None when the case is no draft."""
        case.check_is_owner(actor)
        if case.status != CaseStatus.DRAFT:
            return None
        form = self.form_of(case)
        problems = form.problems_before_submit(case.answers)
        if problems:
            raise InvalidInput("CASE_INCOMPLETE", "Es fehlen noch Angaben.", {"sections": problems})
        residence = form.residence(case.answers)
        if residence is None:
            raise InvalidInput("CASE_INCOMPLETE", "Es fehlen noch Angaben.", {"sections": {"wohnsitz": ["plz"]}})
        return "wohnsitz", residence

    def issue_receipt(self, case_id: str, sign: Callable[[dict[str, Any]], str]) -> str:
        """The case's one signed receipt (issued now for a case submitted before receipts were stored)."""
        case = self._get(case_id)
        issued = case.issued_receipt()
        return issued if issued is not None else self._update(case_id, lambda case: case.issue_receipt(sign))

    def erase(self, case_id: str) -> None:
        """Erase a case for good: destroy its data key and record that it was erased (idempotent)."""
        identifier = self._parse_id(case_id)
        self.destroy_data_key(identifier)
        try:
            self.save(CaseErasure.record(str(identifier)))
        except IntegrityError:
            pass  # erased before: the record is already there

    def expire_draft(self, case_id: str) -> None:
        self._update(case_id, lambda case: case.expire())

    def discard(self, case_id: str, actor: Actor) -> None:
        self._update(case_id, lambda case: case.discard(actor))

    def withdraw(self, case_id: str, actor: Actor) -> None:
        self._update(case_id, lambda case: case.withdraw(actor))

    def supply_document(self, case_id: str, actor: Actor, document_id: str, nachweis: str) -> None:
        self._update(case_id, lambda case: case.supply_document(actor, document_id, nachweis))

    def assign(self, case_id: str, jobcenter_id: str, reason_code: str, register_version: str) -> None:
        self._update(case_id, lambda case: case.assign(jobcenter_id, reason_code, register_version))

    def mark_assignment_pending(self, case_id: str, reason_code: str) -> None:
        self._update(case_id, lambda case: case.mark_assignment_pending(reason_code))

    def reassign(self, case_id: str, jobcenter_id: str, reason_code: str, effective_from: str) -> None:
        self._update(case_id, lambda case: case.reassign(jobcenter_id, reason_code, effective_from))

    def hand_over(
        self, case_id: str, reason_code: str, jobcenter_id: str | None = None, effective_from: str | None = None
    ) -> None:
        self._update(case_id, lambda case: case.hand_over(reason_code, jobcenter_id, effective_from))

    def move_due(self, case_id: str, today: date) -> bool:
        """Whether the case reports a move whose date is reached and that has not taken effect yet."""
        return self._get(case_id).move_due(today)

    def take_move_into_effect(self, case_id: str, today: date, open_case_ids: list[str]) -> None:
        """Record that the move the case reports took effect, handing ``open_case_ids`` over (see
        ``Case.take_move_into_effect``; Conflict ``MOVE_NOT_DUE`` when it is not due or done already)."""
        self._update(case_id, lambda case: case.take_move_into_effect(today, open_case_ids))

    def receive(self, case_id: str, actor: Actor) -> None:
        self._update(case_id, lambda case: case.receive(actor))

    def assign_caseworker(self, case_id: str, actor: Actor, caseworker: Actor) -> bool:
        """Give the case to a caseworker of its Jobcenter; False when it was theirs already."""
        return self._update(case_id, lambda case: case.assign_caseworker(actor, caseworker))

    def start_processing(self, case_id: str, actor: Actor) -> None:
        self._update(case_id, lambda case: case.start_processing(actor))

    def request_documents(self, case_id: str, actor: Actor, items: list[str], note: str, due_date: str) -> None:
        due = _parse_date(due_date, "DUE_DATE_INVALID")
        self._update(case_id, lambda case: case.request_documents(actor, items, note, due, self.form_of(case).labels))

    def waive_nachweis(self, case_id: str, actor: Actor, nachweis: str) -> None:
        self._update(case_id, lambda case: case.waive_nachweis(actor, nachweis))

    def decide(
        self,
        case_id: str,
        actor: Actor,
        outcome: str,
        bescheid_document_id: str | None,
        approval_from: str | None = None,
        approval_to: str | None = None,
        bescheid: dict[str, Any] | None = None,
    ) -> None:
        start = _parse_date(approval_from, "APPROVAL_PERIOD_INVALID") if approval_from else None
        end = _parse_date(approval_to, "APPROVAL_PERIOD_INVALID") if approval_to else None
        self._update(case_id, lambda case: case.decide(actor, outcome, bescheid_document_id, start, end, bescheid))

    def post_message(self, case_id: str, actor: Actor, text: str) -> str:
        return self._update(case_id, lambda case: case.post_message(actor, text))

    def messages(self, case_id: str, actor: Actor) -> list[dict[str, Any]]:
        case = self._get(case_id)
        if actor.role == "citizen":
            case.check_is_owner(actor)
        else:
            case.check_actor_is_assigned_staff(actor)
        return list(case.messages)

    def mark_overdue(self, case_id: str, today: date) -> None:
        self._update(case_id, lambda case: case.mark_overdue(today))

    def close_case(self, case_id: str, actor: Actor) -> None:
        self._update(case_id, lambda case: case.close(actor))

    def confirm_handover(self, case_id: str, jobcenter_id: str) -> bool:
        """Record that the Jobcenter's e-file took the case over; False when it was recorded before."""
        return self._update(case_id, lambda case: case.confirm_handover(jobcenter_id))

    def refuse_handover(self, case_id: str, jobcenter_id: str, reason: str) -> bool:
        """Record that the Jobcenter's e-file refused the case; False when it was recorded before."""
        return self._update(case_id, lambda case: case.refuse_handover(jobcenter_id, reason))

    # -- queries ----------------------------------------------------------------------------------

    def get_case(self, case_id: str) -> dict[str, Any]:
        return self._case_view(self._get(case_id))

    def get_parties(self, case_id: str) -> dict[str, Any]:
        """Who a case concerns, in ids and codes only: its owner, its Jobcenter, kind, status, the
        Nachweis kinds its form knows and the Bescheid it was decided with - never its answers or residence."""
        case = self._get(case_id)
        return {
            "case_id": str(case.id),
            "owner_id": case.owner_id,
            "jobcenter_id": case.jobcenter_id,
            "kind": case.kind.value,
            "status": case.status.value,
            "nachweis_kinds": sorted(self.form_of(case).labels),
            # documents shows the citizen the Jobcenter's upload only as the decision's Bescheid.
            "bescheid_document_id": (case.decision or {}).get("bescheid_document_id"),
        }

    def _case_view(self, case: Case) -> dict[str, Any]:
        form = self.form_of(case)
        return {
            "case_id": str(case.id),
            "owner_id": case.owner_id,
            "kind": case.kind.value,
            "form_version": case.form_version,
            "status": case.status.value,
            "receipt_number": case.receipt_number,
            "content_hash": case.content_hash,
            "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
            "jobcenter_id": case.jobcenter_id,
            "assignee_id": case.assignee(),
            "residence": form.residence(case.answers),
            "checklist": case.checklist,
            "document_request": self._open_document_request(case, form),
            "decision": case.decision,
            # The move the case reports: its date and the Jobcenters, never the address.
            "move": case.moved_to(),
            "version": case.version,
        }

    @staticmethod
    def _open_document_request(case: Case, form: Form) -> dict[str, Any] | None:
        """What the Jobcenter asked for last, while the case waits for it: each item named and whether it is
        supplied, the caseworker's note and the due date. None once the Jobcenter goes on (processing,
        decision, closing): the request is then no longer open."""
        if case.status != CaseStatus.WAITING_FOR_DOCUMENTS or not case.document_requests:
            return None
        request = case.document_requests[-1]
        return {
            "items": [
                {"kind": kind, "label": form.labels.get(kind, kind),
                 "supplied": case.checklist.get(kind, {}).get("status") == NachweisStatus.SUPPLIED.value}
                for kind in request["items"]
            ],
            "note": request["note"],
            "due_date": request["due_date"],
        }  # fmt: skip

    def submitted_form_and_content(self, case_id: str) -> tuple[Form, dict[str, Any]]:
        """The form version and the answers as they were submitted."""
        case = self._get(case_id)
        form = self.form_of(case)
        return form, form.submitted_content(case.answers)

    def submitted_attachments(self, case_id: str) -> dict[str, str]:
        """The documents sent with the submission: document id → Nachweis kind."""
        return dict(self._get(case_id).attachments)

    def prefill_source(self, case_id: str) -> dict[str, Any]:
        """What a new WBA may take over from an earlier submitted case of the same owner: its kind and answers."""
        case = self._get(case_id)
        return {
            "case_id": str(case.id),
            "kind": case.kind.value,
            "answers": self.form_of(case).submitted_content(case.answers),
        }

    def get_answers(self, case_id: str) -> dict[str, Any]:
        """What the citizen filled in, and which sections and Nachweise apply now."""
        return self._answers_view(self._get(case_id))

    def _answers_view(self, case: Case) -> dict[str, Any]:
        form = self.form_of(case)
        return {
            "case_id": str(case.id),
            "answers": case.answers,
            "sections": [{"id": s.id, "title": s.title} for s in form.applicable_sections(case.answers)],
            "nachweise": [
                {"kind": kind, "label": form.labels.get(kind, kind)} for kind in form.required_nachweise(case.answers)
            ],
            "problems": form.problems_before_submit(case.answers),
            "taken_over": case.taken_over_fields() if case.status == CaseStatus.DRAFT else {},
            "not_taken_over": (
                case.not_taken_over_sections(form.prefill_sections) if case.status == CaseStatus.DRAFT else []
            ),
        }

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        """The case's events as the citizen's timeline: what happened when, without content.

        ``draft`` marks the events of the draft (sections saved, documents attached), which staff do not need.
        """
        entries = []
        submitted_to: tuple[str, str] | None = None  # the Jobcenter and area key the submission carried
        for domain_event in self.events.get(self._parse_id(case_id)):
            name = type(domain_event).__name__
            if name in RECORD_ONLY_EVENTS:
                continue
            entry = {
                "event": name,
                "label": TIMELINE_LABELS.get(name, name),
                "version": domain_event.originator_version,
                "at": domain_event.timestamp.isoformat(),  # type: ignore[attr-defined]
                "draft": name in DRAFT_ONLY_EVENTS,
            }
            # Which Jobcenter an assignment went to: the citizen sees its name on the timeline.
            jobcenter_id = getattr(domain_event, "jobcenter_id", None)
            if isinstance(jobcenter_id, str):
                entry["jobcenter_id"] = jobcenter_id
            # And why: the area key that decided, which the page turns into "Ihre Anschrift liegt im …".
            matched_key = getattr(domain_event, "matched_key", None)
            if name == "Submitted" and isinstance(jobcenter_id, str) and isinstance(matched_key, str):
                submitted_to = (jobcenter_id, matched_key)
            if name == "Assigned" and submitted_to is not None and submitted_to[0] == jobcenter_id:
                entry["matched_key"] = submitted_to[1]
            step = {**entry, **dated_step(domain_event)}
            entries.append({key: value for key, value in step.items() if value is not None})
        return entries

    def export_case(self, case_id: str) -> dict[str, Any]:
        """What the Jobcenter's e-file takes over: the submitted answers with form kind and version,
        the Nachweis checklist and the attached document ids. Conflict ``CASE_NOT_SUBMITTED`` for a draft."""
        case = self._get(case_id)
        case.check_is_submitted()
        form = self.form_of(case)
        document_ids = [document_id for item in case.checklist.values() for document_id in item["document_ids"]]
        return {
            "case_id": str(case.id),
            "kind": case.kind.value,
            "form_version": case.form_version,
            "status": case.status.value,
            "receipt_number": case.receipt_number,
            "content_hash": case.content_hash,
            "submitted_at": case.submitted_at.isoformat() if case.submitted_at else None,
            "jobcenter_id": case.jobcenter_id,
            "answers": form.submitted_content(case.answers),
            "nachweise": [
                {"kind": kind, "label": form.labels.get(kind, kind), **item} for kind, item in case.checklist.items()
            ],
            "document_ids": list(dict.fromkeys(document_ids)),
            "decision": case.decision,
            "handovers": case.handover_states(),
        }

    def export_events(self, case_id: str) -> list[dict[str, Any]]:
        """The case's events for the Jobcenter's e-file: stable id (as published), type, time and the
        published ids and codes - never the content of a section or message, nor the owner's account."""
        entries = []
        identifier = self._parse_id(case_id)
        for domain_event in self.events.get(identifier):
            spec = self.integration_events.get(type(domain_event))
            state = vars(domain_event)
            fields = spec.fields if spec else ()
            entries.append(
                {
                    "event_id": stable_event_id(self.name, str(identifier), domain_event.originator_version),
                    "type": spec.type if spec else _snake_case(type(domain_event).__name__),
                    "version": domain_event.originator_version,
                    "at": domain_event.timestamp.isoformat(),  # type: ignore[attr-defined]
                    # Events stored before a field was published lack it.
                    "data": {name: jsonable(state[name]) for name in fields if name != "owner_id" and name in state},
                }
            )
        return entries

    def form_of(self, case: Case) -> Form:
        return self.forms.version(case.kind.value, case.form_version)

    # -- helpers ----------------------------------------------------------------------------------

    def _update(self, case_id: str, command: Callable[[Case], T]) -> T:
        """Run a command on the newest version of a case; on a concurrent save, run it again."""
        return self._saved(case_id, command)[0]

    def _saved(self, case_id: str, command: Callable[[Case], T], loaded: Case | None = None) -> tuple[T, Case]:
        """``_update``, also returning the case as saved (an answer made from it needs no second load);
        ``loaded``, the case as the caller just loaded it, serves the first attempt."""
        for attempt in range(1, CONCURRENCY_RETRIES + 1):
            case = loaded if loaded is not None and attempt == 1 else self._get(case_id)
            result = command(case)
            try:
                self.save(case)
            except IntegrityError:
                log.info("case_save_retried", extra={"case_id": case_id, "attempt": attempt})
                continue
            return result, case
        raise Conflict("CASE_BUSY", "Der Vorgang wird gerade geändert. Bitte versuchen Sie es noch einmal.")

    def _get(self, case_id: str) -> Case:
        """The case; NotFound for one that never existed and for one erased (its data key destroyed)."""
        try:
            case: Case = self.repository.get(self._parse_id(case_id))
        except (AggregateNotFoundError, ErasedAggregateEvent):
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.") from None
        return case

    @staticmethod
    def _parse_id(case_id: str) -> UUID:
        try:
            return uuid.UUID(str(case_id))
        except ValueError:
            raise InvalidInput("CASE_ID_INVALID", "Die Vorgangsnummer ist ungültig.") from None


def dated_step(domain_event: Any) -> dict[str, Any]:
    """What a step of a move adds to its timeline entry: ``on``, the day it takes effect, its label with that
    day, and for the reported move the Jobcenter that keeps this case (``jobcenter_id``) and the one
    responsible from the move (``new_jobcenter_id``). Empty for other events and for events stored before
    they carried the day."""
    name = type(domain_event).__name__
    on = getattr(domain_event, "move_date", None) or getattr(domain_event, "effective_from", None)
    if name not in MOVE_STEP_LABELS or not isinstance(on, str) or not on:
        return {}
    step: dict[str, Any] = {"on": on, "label": MOVE_STEP_LABELS[name].format(date=german_date(on))}
    if name == "MoveReported":
        previous = getattr(domain_event, "previous_jobcenter_id", None)
        step["new_jobcenter_id"] = domain_event.jobcenter_id
        # None (left out) in events of the release before, which gave the reporting case to the new Jobcenter.
        step["jobcenter_id"] = previous
    if name == "MoveTookEffect":
        step["handed_over_case_ids"] = list(domain_event.case_ids)
    return step


def german_date(iso: str) -> str:
    """``2027-01-01`` -> ``01.01.2027``; anything else stays as it is."""
    try:
        return date.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:
        return iso


def _snake_case(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name).lstrip("_")


def _parse_date(value: str | None, code: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(code, "Bitte geben Sie ein gültiges Datum an (JJJJ-MM-TT).") from None
