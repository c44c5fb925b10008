"""The case: one Weiterbewilligungsantrag or Veränderungsmitteilung, as a stream of events.

Invariants live in ``check_*`` methods that raise before anything changes: no edit after submit,
no second submit, only the assigned Jobcenter's staff act on a case, a closed case takes no more
actions. Citizens act as the case's owner; staff as an ``Actor`` with role and institution.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from services.submissions.forms import Form
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.text import checked_text, has_hidden_characters

# Receipt numbers are read aloud on the phone: no 0/O or 1/I.
GERMANY = ZoneInfo("Europe/Berlin")
_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
STAFF_ROLES = ("caseworker", "team_lead")
MESSAGE_MAX_LENGTH = 5000
DOCUMENT_REQUEST_NOTE_MAX_LENGTH = 2000
DUE_DATE_MAX_DAYS = 366
APPROVAL_START_PAST_DAYS = 2 * 366
# A case its Jobcenter has not received after this many working days is overdue.
RECEIVE_WITHIN_WORKING_DAYS = 3
HANDOVER_REASON_MAX_LENGTH = 1000
# A decision fits the kind of case: a WBA is approved (in part) or rejected; a VÄM ends in an
# Änderungsbescheid, an Aufhebungsbescheid or the note that nothing changes. Decisions stored before
# this rule (a VÄM "approved") still read: replaying an event checks nothing.
WBA_OUTCOMES = ("approved", "partially_approved", "rejected")
VAEM_OUTCOMES = ("amended", "revoked", "unchanged")
# A VÄM that changes nothing is no administrative act: it may be decided without a Bescheid.
OUTCOMES_WITHOUT_BESCHEID = ("unchanged",)

# The citizen's timeline names each event in plain German; events not named here show their class name.
TIMELINE_LABELS = {
    "DraftStarted": "Begonnen",
    "Submitted": "Abgeschickt",
    "Assigned": "Dem zuständigen Jobcenter zugeordnet",
    "Reassigned": "An ein anderes Jobcenter weitergegeben",
    "HandedOver": "An eine andere Stelle abgegeben",
    "Received": "Vom Jobcenter erhalten",
    "ProcessingStarted": "In Bearbeitung",
    "DocumentsRequested": "Unterlagen angefordert",
    "DocumentSupplied": "Unterlagen nachgereicht",
    "NachweisWaived": "Nachweis nicht mehr nötig",
    "Decided": "Entschieden",
    "Closed": "Abgeschlossen",
    "MessagePosted": "Nachricht",
    "Withdrawn": "Zurückgezogen",
    "HandoverConfirmed": "Vom Jobcenter übernommen",
    "HandoverRefused": "Vom Jobcenter nicht übernommen",
    # Neutral on purpose: the citizen's timeline never names the caseworker.
    "CaseworkerAssigned": "Bearbeitung übernommen",
    "SectionSaved": "Angaben gespeichert",
    "DocumentAttached": "Unterlage angehängt",
    "DocumentDetached": "Unterlage entfernt",
    "MoveReported": "Umzug gemeldet",
    "MoveTookEffect": "Neues Jobcenter zuständig",
    "BecameOverdue": "Eingang nicht rechtzeitig bestätigt",
    "AssignmentPending": "Zuständiges Jobcenter wird ermittelt",
}
# The steps of a move, each dated with the day it takes effect (docs/moves.md).
MOVE_STEP_LABELS = {
    "MoveReported": "Umzug gemeldet zum {date}",
    "MoveTookEffect": "Ab {date} zuständig: das Jobcenter der neuen Anschrift",
    "Reassigned": "Am {date} an ein anderes Jobcenter abgegeben",
    "HandedOver": "Am {date} an eine andere Stelle abgegeben",
}
# Events of the draft only: the staff's timeline of a case leaves them out.
DRAFT_ONLY_EVENTS = frozenset({"SectionSaved", "DocumentAttached", "DocumentDetached"})
# Events of the case's record that are no step of its story: no timeline shows them.
RECORD_ONLY_EVENTS = frozenset({"ReceiptIssued"})


class CaseKind(StrEnum):
    WEITERBEWILLIGUNGSANTRAG = "weiterbewilligungsantrag"
    VERAENDERUNGSMITTEILUNG = "veraenderungsmitteilung"


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    ASSIGNMENT_PENDING = "assignment_pending"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_DOCUMENTS = "waiting_for_documents"
    DECIDED = "decided"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    HANDED_OVER = "handed_over"
    DISCARDED = "discarded"
    EXPIRED = "expired"


# The Jobcenter works on the case: it may ask for Nachweise or waive them.
WORKING_STATUSES = (CaseStatus.RECEIVED, CaseStatus.IN_PROGRESS, CaseStatus.WAITING_FOR_DOCUMENTS)
FINAL_STATUSES = (
    CaseStatus.CLOSED,
    CaseStatus.WITHDRAWN,
    CaseStatus.HANDED_OVER,
    CaseStatus.DISCARDED,
    CaseStatus.EXPIRED,
)


def check_approval_period(start: date, end: date) -> None:
    """A Bewilligungszeitraum as § 41 (3) SGB II has it: at most a year (usually exactly one, 01.01. to
    31.12.), beginning no more than two years back and no more than a year ahead; InvalidInput
    ``APPROVAL_PERIOD_INVALID`` naming the field."""
    today = german_today()
    if end <= start:
        field, message = "approval_to", "Der Bewilligungszeitraum muss nach seinem Beginn enden."
    elif end >= _a_year_on(start):
        field, message = "approval_to", "Ein Bewilligungszeitraum dauert höchstens ein Jahr."
    elif not today - timedelta(days=APPROVAL_START_PAST_DAYS) <= start <= today + timedelta(days=366):
        field, message = "approval_from", "Der Beginn des Bewilligungszeitraums liegt zu weit von heute entfernt."
    else:
        return
    raise InvalidInput("APPROVAL_PERIOD_INVALID", message, {"field": field})


def _a_year_on(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class NachweisStatus(StrEnum):
    MISSING = "missing"
    SUPPLIED = "supplied"
    WAIVED = "waived"


@dataclass(frozen=True)
class Actor:
    """Who acts: an account with its role and, for staff, its Jobcenter."""

    account_id: str
    role: str
    institution_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        try:
            return cls(str(data["account_id"]), str(data["role"]), data.get("institution_id"))
        except (KeyError, TypeError):
            raise InvalidInput("ACTOR_INVALID", "Die Angaben zur handelnden Person fehlen.") from None


def german_today() -> date:
    """Today in Germany, by the clock the events' own timestamps come from."""
    return Aggregate.Event.create_timestamp().astimezone(GERMANY).date()


def new_receipt_number(year: int) -> str:
    """A random receipt number such as ``JC-2026-7KQ4-M2XD``; it says nothing about the person."""
    body = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(8))
    return f"JC-{year}-{body[:4]}-{body[4:]}"


def content_hash(kind: str, form_version: str, content: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of what was submitted; printed on the receipt."""
    canonical = json.dumps({"kind": kind, "form_version": form_version, "content": content}, sort_keys=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days after ``start`` up to and including ``end`` (public holidays not yet)."""
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


def receive_deadline(submitted: date) -> date:
    """The last day the Jobcenter may receive a case submitted on ``submitted`` without it being overdue."""
    day = submitted
    while working_days_between(submitted, day) < RECEIVE_WITHIN_WORKING_DAYS:
        day += timedelta(days=1)
    return day


def outcomes_for(kind: str) -> tuple[str, ...]:
    """The decisions a case of this kind can end in."""
    return WBA_OUTCOMES if kind == CaseKind.WEITERBEWILLIGUNGSANTRAG else VAEM_OUTCOMES


def parse_kind(kind: str) -> CaseKind:
    """The kind of case named by ``kind``; raises InvalidInput for anything else."""
    try:
        return CaseKind(kind)
    except ValueError:
        allowed = [k.value for k in CaseKind]
        raise InvalidInput("CASE_KIND_UNKNOWN", "Diese Art von Antrag gibt es nicht.", {"allowed": allowed}) from None


def _enum_attribute(name: str, enum: type[StrEnum]) -> property:
    """An attribute kept in the instance's dict under ``name`` and always read as ``enum``.

    A snapshot writes the aggregate's dict as JSON, where a StrEnum becomes a plain string; reading
    through the enum makes a case restored from any snapshot, also one stored before this existed,
    the same as the case replayed from its events.
    """

    def read(self: Any) -> Any:
        return enum(self.__dict__[name])

    def write(self: Any, value: Any) -> None:
        self.__dict__[name] = enum(value)

    return property(read, write)


class Case(Aggregate):
    """A citizen's case. Its events tell its whole story."""

    kind = _enum_attribute("kind", CaseKind)
    status = _enum_attribute("status", CaseStatus)

    class DraftStarted(Aggregate.Created):
        owner_id: str
        kind: CaseKind
        form_version: str
        answers: dict[str, Any]
        prefilled_from: str | None

    class SectionSaved(Aggregate.Event):
        section_id: str
        data: dict[str, Any]

    class DocumentAttached(Aggregate.Event):
        document_id: str
        nachweis: str

    class DocumentDetached(Aggregate.Event):
        document_id: str

    # An event's own time is its ``timestamp``: inside an apply, ``modified_on`` is still the time of the
    # event before (eventsourcing sets it after the apply). Events that record their time do it here.
    class Submitted(Aggregate.Event):
        receipt_number: str
        content_hash: str
        idempotency_key: str
        nachweise: list[str]
        # The Jobcenter routing found responsible for the residence when the case was submitted, and the
        # area key that decided (berlin_bezirk:09, kreis:12061): never the address. None in events stored
        # before submissions were routed first.
        jobcenter_id: str | None = None
        matched_key: str | None = None
        reason_code: str | None = None
        register_version: str | None = None
        # Whose Postfach gets the receipt, so that notify need not ask (None in events stored before).
        owner_id: str | None = None

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.submitted_at = self.timestamp

    class ReceiptIssued(Aggregate.Event):
        jws: str

    class MoveReported(Aggregate.Event):
        move_date: str
        # What routing found for the new residence on the move date (as ``Submitted`` carries it for the
        # residence before), never the address (None in events stored before).
        jobcenter_id: str | None = None
        matched_key: str | None = None
        reason_code: str | None = None
        register_version: str | None = None
        # Since moves follow § 36 SGB II (docs/moves.md): the Jobcenter until the move, which keeps this
        # case, whether the new one uses the portal (False: a zkT) and whose Postfach is told. None in
        # events of the release before, whose move routing followed with the reporting case itself.
        previous_jobcenter_id: str | None = None
        served: bool | None = None
        owner_id: str | None = None

    class MoveTookEffect(Aggregate.Event):
        """The move date is reached: the new Jobcenter is responsible; ``case_ids`` are the owner's open
        Weiterbewilligungsanträge handed over to it (§ 2 Abs. 2 SGB X)."""

        move_date: str
        jobcenter_id: str
        matched_key: str | None
        reason_code: str | None
        register_version: str | None
        served: bool
        case_ids: list[str]
        owner_id: str | None = None

    class Assigned(Aggregate.Event):
        jobcenter_id: str
        reason_code: str
        register_version: str

    class AssignmentPending(Aggregate.Event):
        reason_code: str

    class Reassigned(Aggregate.Event):
        jobcenter_id: str
        reason_code: str
        effective_from: str

    class HandedOver(Aggregate.Event):
        reason_code: str
        # The zkT and the day it took over (None in events stored before).
        jobcenter_id: str | None = None
        effective_from: str | None = None

    class Received(Aggregate.Event):
        actor_id: str

    class ProcessingStarted(Aggregate.Event):
        actor_id: str

    class DocumentsRequested(Aggregate.Event):
        items: list[str]
        note: str
        due_date: str
        actor_id: str
        owner_id: str | None = None  # whose Postfach gets the request (None in events stored before)

    class DocumentSupplied(Aggregate.Event):
        document_id: str
        nachweis: str
        jobcenter_id: str | None = None  # whose staff are alerted (None in events stored before)

    class NachweisWaived(Aggregate.Event):
        nachweis: str
        actor_id: str

    class Decided(Aggregate.Event):
        outcome: str
        bescheid_document_id: str | None  # None: a VÄM that changes nothing, decided without a letter
        approval_from: str | None
        approval_to: str | None
        actor_id: str
        # Whose Postfach gets the Bescheid, and whether a WBA reminder follows (None in events stored before).
        owner_id: str | None = None
        kind: str | None = None

    class Closed(Aggregate.Event):
        actor_id: str

    class MessagePosted(Aggregate.Event):
        message_id: str
        author_id: str
        author_role: str
        text: str
        # Who is told: the citizen of a staff message, the Jobcenter of the citizen's (None in events stored before).
        owner_id: str | None = None
        jobcenter_id: str | None = None

        def apply(self, aggregate: Any) -> None:
            super().apply(aggregate)
            aggregate.messages[-1]["at"] = self.timestamp.isoformat()

    class BecameOverdue(Aggregate.Event):
        due_since: str
        jobcenter_id: str | None = None  # whose staff are alerted (None in events stored before)

    class HandoverConfirmed(Aggregate.Event):
        jobcenter_id: str

    class HandoverRefused(Aggregate.Event):
        jobcenter_id: str
        reason: str

    class CaseworkerAssigned(Aggregate.Event):
        caseworker_id: str
        by: str

    class Withdrawn(Aggregate.Event):
        pass

    class Discarded(Aggregate.Event):
        pass

    class Expired(Aggregate.Event):
        pass

    @event(DraftStarted)
    def __init__(
        self, owner_id: str, kind: CaseKind, form_version: str, answers: dict[str, Any], prefilled_from: str | None
    ) -> None:
        self.owner_id = owner_id
        self.kind = CaseKind(kind)
        self.form_version = form_version
        self.answers: dict[str, Any] = dict(answers)
        self.prefilled_from = prefilled_from
        # What the draft took over from earlier cases, as it was: shown as taken over while unchanged.
        self.prefilled: dict[str, Any] = copy.deepcopy(dict(answers)) if prefilled_from else {}
        self.status = CaseStatus.DRAFT
        self.attachments: dict[str, str] = {}
        self.receipt_number: str | None = None
        self.content_hash: str | None = None
        self.idempotency_key: str | None = None
        self.submitted_at: datetime | None = None
        self.checklist: dict[str, dict[str, Any]] = {}
        self.jobcenter_id: str | None = None
        self.assignment_reason: str | None = None
        self.decision: dict[str, Any] | None = None
        self.document_requests: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.overdue_since: str | None = None
        self.assignee_id: str | None = None

    # -- the citizen's draft ----------------------------------------------------------------------

    def save_section(self, form: Form, section_id: str, data: dict[str, Any]) -> None:
        """Save one section; raises InvalidInput with every field problem, in German."""
        self.check_is_draft()
        errors = form.validate_section(section_id, data)
        if errors:
            raise InvalidInput(
                "SECTION_INVALID",
                "Bitte prüfen Sie Ihre Angaben.",
                {"section": section_id, "errors": [error.as_dict() for error in errors]},
            )
        self._section_saved(section_id=section_id, data=data)

    @event(SectionSaved)
    def _section_saved(self, section_id: str, data: dict[str, Any]) -> None:
        self.answers[section_id] = data

    def attach_document(self, document_id: str, nachweis: str) -> None:
        self.check_is_draft()
        if self.attachments.get(document_id) == nachweis:
            return  # attached as that Nachweis already: asking again (a retry) changes nothing
        if document_id in self.attachments:
            raise Conflict("DOCUMENT_ALREADY_ATTACHED", "Dieses Dokument ist schon angehängt.")
        self._document_attached(document_id=document_id, nachweis=nachweis)

    @event(DocumentAttached)
    def _document_attached(self, document_id: str, nachweis: str) -> None:
        self.attachments[document_id] = nachweis

    def detach_document(self, document_id: str) -> None:
        self.check_is_draft()
        if document_id not in self.attachments:
            raise InvalidInput("DOCUMENT_NOT_ATTACHED", "Dieses Dokument ist nicht angehängt.")
        self._document_detached(document_id=document_id)

    @event(DocumentDetached)
    def _document_detached(self, document_id: str) -> None:
        del self.attachments[document_id]

    def submit(
        self,
        form: Form,
        idempotency_key: str,
        responsible: dict[str, str] | None,
        moving_to: dict[str, Any] | None = None,
    ) -> str:
        """Submit a complete, valid draft routed to its Jobcenter; returns the receipt number.

        ``responsible`` is routing's answer for the residence (``jobcenter_id``, ``matched_key``,
        ``reason_code``, ``register_version``): a draft without a Jobcenter cannot be submitted, so no
        case is ever taken in and left waiting for one. A VÄM reporting a move is routed by the address
        before the move and stays there; ``moving_to`` is routing's answer for the new address on the move
        date (the same keys and ``served``: False for a zkT), without which it cannot be submitted
        (InvalidInput ``RESIDENCE_NOT_ROUTABLE``). Idempotent: the same key returns the same receipt
        without a new event (``responsible`` is not needed then); another key after the submit raises
        Conflict ``CASE_ALREADY_SUBMITTED``.
        """
        if self.status != CaseStatus.DRAFT and idempotency_key == self.idempotency_key:
            assert self.receipt_number is not None
            return self.receipt_number
        self.check_is_draft()
        problems = form.problems_before_submit(self.answers)
        if problems:
            raise InvalidInput("CASE_INCOMPLETE", "Es fehlen noch Angaben.", {"sections": problems})
        if not responsible or not responsible.get("jobcenter_id"):
            raise InvalidInput("RESIDENCE_NOT_ROUTABLE", "Wir können Ihre Anschrift noch keinem Jobcenter zuordnen.")
        content = form.submitted_content(self.answers)
        move = form.move(content)
        if move is not None and not (moving_to and moving_to.get("jobcenter_id")):
            raise InvalidInput(
                "RESIDENCE_NOT_ROUTABLE",
                "Wir können Ihre neue Anschrift noch keinem Jobcenter zuordnen.",
                {"section": "umzug"},
            )
        self._submitted(
            receipt_number=new_receipt_number(german_today().year),
            content_hash=content_hash(self.kind, self.form_version, content),
            idempotency_key=idempotency_key,
            nachweise=form.required_nachweise(self.answers),
            owner_id=self.owner_id,
            **responsible,
        )
        if move is not None and moving_to is not None:
            self._move_reported(
                move_date=move[0],
                jobcenter_id=str(moving_to["jobcenter_id"]),
                matched_key=moving_to.get("matched_key"),
                reason_code=moving_to.get("reason_code"),
                register_version=moving_to.get("register_version"),
                previous_jobcenter_id=responsible["jobcenter_id"],
                served=bool(moving_to.get("served", True)),
                owner_id=self.owner_id,
            )
        assert self.receipt_number is not None
        return self.receipt_number

    @event(Submitted)
    def _submitted(
        self,
        receipt_number: str,
        content_hash: str,
        idempotency_key: str,
        nachweise: list[str],
        jobcenter_id: str | None = None,
        matched_key: str | None = None,
        reason_code: str | None = None,
        register_version: str | None = None,
        owner_id: str | None = None,
    ) -> None:
        self.status = CaseStatus.SUBMITTED
        self.receipt_number = receipt_number
        self.content_hash = content_hash
        self.idempotency_key = idempotency_key
        self.submitted_at = None  # the event's own time, set by Submitted.apply
        self.checklist = {kind: {"status": NachweisStatus.MISSING.value, "document_ids": []} for kind in nachweise}
        for document_id, nachweis in self.attachments.items():
            self._mark_supplied(nachweis, document_id)

    def taken_over_fields(self) -> dict[str, list[str]]:
        """Per section, the fields still holding what was taken over from earlier cases."""
        prefilled: dict[str, Any] = getattr(self, "prefilled", None) or {}  # none in snapshots of older releases
        taken: dict[str, list[str]] = {}
        for section_id, given in prefilled.items():
            now = self.answers.get(section_id)
            if not isinstance(given, dict) or not isinstance(now, dict):
                continue
            fields = [name for name, value in given.items() if name in now and now[name] == value]
            if fields:
                taken[section_id] = fields
        return taken

    def not_taken_over_sections(self, prefill_sections: tuple[str, ...] | list[str]) -> list[str]:
        """The sections a prefilled draft would take over but had nothing for: absent from the earlier case, or
        dropped because a later VÄM reported a change there without the new answers. Empty if not prefilled."""
        prefilled: dict[str, Any] = getattr(self, "prefilled", None) or {}
        if not getattr(self, "prefilled_from", None):
            return []
        return [section_id for section_id in prefill_sections if section_id not in prefilled]

    def receipt_claims(self) -> dict[str, Any]:
        """What the receipt attests: the submission - ids, codes, its time and the hash of the content.

        Not the Jobcenter: it is not known at the submission, and one submission has one receipt.
        """
        self.check_is_submitted()
        assert self.submitted_at is not None
        return {
            "sub": str(self.id),
            "receipt_number": self.receipt_number,
            "submitted_at": self.submitted_at.isoformat(),
            "kind": self.kind.value,
            "form_version": self.form_version,
            "content_hash": self.content_hash,
        }

    def issued_receipt(self) -> str | None:
        """The signed receipt (compact JWS), once issued (cases restored from older snapshots have none)."""
        jws: str | None = self.__dict__.get("receipt_jws")
        return jws

    def issue_receipt(self, sign: Callable[[dict[str, Any]], str]) -> str:
        """The case's one receipt: signed the first time it is asked for, the same ever after."""
        issued = self.issued_receipt()
        if issued is not None:
            return issued
        jws = sign(self.receipt_claims())
        self._receipt_issued(jws=jws)
        return jws

    @event(ReceiptIssued)
    def _receipt_issued(self, jws: str) -> None:
        self.receipt_jws = jws

    @event(MoveReported)
    def _move_reported(
        self,
        move_date: str,
        jobcenter_id: str | None = None,
        matched_key: str | None = None,
        reason_code: str | None = None,
        register_version: str | None = None,
        previous_jobcenter_id: str | None = None,
        served: bool | None = None,
        owner_id: str | None = None,
    ) -> None:
        self.reported_move = {
            "move_date": move_date,
            "jobcenter_id": jobcenter_id,
            "matched_key": matched_key,
            "reason_code": reason_code,
            "register_version": register_version,
            "served": True if served is None else served,
            # The release before moved the reporting case itself: nothing is left to take effect.
            "took_effect": previous_jobcenter_id is None,
        }

    def moved_to(self) -> dict[str, Any] | None:
        """The move this case reports (date, new Jobcenter, whether it took effect); None for no move."""
        move: dict[str, Any] | None = self.__dict__.get("reported_move")
        return move

    def move_due(self, today: date) -> bool:
        """A reported move whose date is reached and which has not taken effect yet; a VÄM the citizen
        withdrew reports no move any more (nothing is handed over on its date)."""
        move = self.moved_to()
        if self.status is CaseStatus.WITHDRAWN:
            return False
        return bool(move and not move["took_effect"] and date.fromisoformat(move["move_date"]) <= today)

    def take_move_into_effect(self, today: date, open_case_ids: list[str]) -> None:
        """From the move date the new Jobcenter is responsible: record it with the owner's open
        Weiterbewilligungsanträge handed over to it. Conflict ``MOVE_NOT_DUE`` before the date, for a
        case without a move and for a move that took effect already (so doing it twice changes nothing)."""
        move = self.moved_to()
        if move is None or not self.move_due(today):
            raise Conflict("MOVE_NOT_DUE", "Für diesen Vorgang ist kein Umzug fällig.")
        self._move_took_effect(
            move_date=move["move_date"],
            jobcenter_id=move["jobcenter_id"],
            matched_key=move["matched_key"],
            reason_code=move["reason_code"],
            register_version=move["register_version"],
            served=move["served"],
            case_ids=sorted(set(open_case_ids) - {str(self.id)}),
            owner_id=self.owner_id,
        )

    @event(MoveTookEffect)
    def _move_took_effect(
        self,
        move_date: str,
        jobcenter_id: str,
        matched_key: str | None,
        reason_code: str | None,
        register_version: str | None,
        served: bool,
        case_ids: list[str],
        owner_id: str | None = None,
    ) -> None:
        self.reported_move = {**self.__dict__["reported_move"], "took_effect": True}

    def discard(self, actor: Actor) -> None:
        self.check_is_owner(actor)
        self.check_is_draft()
        self._discarded()

    @event(Discarded)
    def _discarded(self) -> None:
        self.status = CaseStatus.DISCARDED

    def expire(self) -> None:
        """Drafts left untouched expire (the retention command decides when)."""
        self.check_is_draft()
        self._expired()

    @event(Expired)
    def _expired(self) -> None:
        self.status = CaseStatus.EXPIRED

    # -- routing ----------------------------------------------------------------------------------

    def assign(self, jobcenter_id: str, reason_code: str, register_version: str) -> None:
        self.check_not_final()
        if self.status not in (CaseStatus.SUBMITTED, CaseStatus.ASSIGNMENT_PENDING):
            raise Conflict("CASE_ALREADY_ASSIGNED", "Dieser Vorgang ist schon einem Jobcenter zugeordnet.")
        self._assigned(jobcenter_id=jobcenter_id, reason_code=reason_code, register_version=register_version)

    @event(Assigned)
    def _assigned(self, jobcenter_id: str, reason_code: str, register_version: str) -> None:
        self.status = CaseStatus.ASSIGNED
        self.jobcenter_id = jobcenter_id
        self.assignment_reason = reason_code

    def mark_assignment_pending(self, reason_code: str) -> None:
        self.check_not_final()
        if self.status != CaseStatus.SUBMITTED:
            raise Conflict("CASE_ALREADY_ASSIGNED", "Dieser Vorgang ist schon einem Jobcenter zugeordnet.")
        self._assignment_pending(reason_code=reason_code)

    @event(AssignmentPending)
    def _assignment_pending(self, reason_code: str) -> None:
        self.status = CaseStatus.ASSIGNMENT_PENDING
        self.assignment_reason = reason_code

    def reassign(self, jobcenter_id: str, reason_code: str, effective_from: str) -> None:
        self.check_not_final()
        self.check_is_submitted()
        if jobcenter_id == self.jobcenter_id:
            raise Conflict("CASE_ALREADY_ASSIGNED", "Dieser Vorgang ist schon diesem Jobcenter zugeordnet.")
        self._reassigned(jobcenter_id=jobcenter_id, reason_code=reason_code, effective_from=effective_from)

    @event(Reassigned)
    def _reassigned(self, jobcenter_id: str, reason_code: str, effective_from: str) -> None:
        self.jobcenter_id = jobcenter_id
        self.assignee_id = None  # the other Jobcenter decides who works on it
        self.assignment_reason = reason_code
        if self.status in (CaseStatus.SUBMITTED, CaseStatus.ASSIGNMENT_PENDING):
            self.status = CaseStatus.ASSIGNED

    def hand_over(self, reason_code: str, jobcenter_id: str | None = None, effective_from: str | None = None) -> None:
        self.check_not_final()
        self.check_is_submitted()
        self._handed_over(reason_code=reason_code, jobcenter_id=jobcenter_id, effective_from=effective_from)

    @event(HandedOver)
    def _handed_over(
        self, reason_code: str, jobcenter_id: str | None = None, effective_from: str | None = None
    ) -> None:
        self.status = CaseStatus.HANDED_OVER
        self.assignment_reason = reason_code

    # -- the Jobcenter's work ---------------------------------------------------------------------

    def receive(self, actor: Actor) -> None:
        """Confirm the case arrived; whoever receives a case nobody works on yet takes it."""
        self.check_actor_is_assigned_staff(actor)
        self.check_status(CaseStatus.ASSIGNED)
        self._received(actor_id=actor.account_id)
        if self.assignee() is None:
            self._caseworker_assigned(caseworker_id=actor.account_id, by=actor.account_id)

    def assign_caseworker(self, actor: Actor, caseworker: Actor) -> bool:
        """Give the case to ``caseworker``; False when it is theirs already (no event).

        A caseworker takes a case nobody works on; only a team lead gives a case to someone else or
        takes it from a colleague. Raises Forbidden ``NOT_ASSIGNED_TO_YOUR_JOBCENTER`` /
        ``TEAM_LEAD_ONLY``, Conflict ``CASE_TAKEN`` / ``CASE_CLOSED`` / ``CASE_NOT_SUBMITTED`` and
        InvalidInput ``CASEWORKER_NOT_OF_THIS_JOBCENTER`` for anyone not on the staff of the case's Jobcenter.
        """
        self.check_actor_is_assigned_staff(actor)
        self.check_is_submitted()
        self.check_not_final()
        if caseworker.role not in STAFF_ROLES or caseworker.institution_id != self.jobcenter_id:
            raise InvalidInput(
                "CASEWORKER_NOT_OF_THIS_JOBCENTER",
                "Diese Person arbeitet nicht in dem Jobcenter, dem der Vorgang zugeordnet ist.",
                {"field": "caseworker_id"},
            )
        if caseworker.account_id == self.assignee():
            return False
        if actor.role != "team_lead":
            if caseworker.account_id != actor.account_id:
                raise Forbidden("TEAM_LEAD_ONLY", "Nur die Teamleitung kann Vorgänge anderen zuweisen.")
            if self.assignee() is not None:
                raise Conflict("CASE_TAKEN", "Diesen Vorgang bearbeitet schon eine Kollegin oder ein Kollege.")
        self._caseworker_assigned(caseworker_id=caseworker.account_id, by=actor.account_id)
        return True

    @event(CaseworkerAssigned)
    def _caseworker_assigned(self, caseworker_id: str, by: str) -> None:
        self.assignee_id = caseworker_id

    def assignee(self) -> str | None:
        """Who of the Jobcenter works on the case (cases restored from older snapshots have nobody)."""
        return getattr(self, "assignee_id", None)

    @event(Received)
    def _received(self, actor_id: str) -> None:
        self.status = CaseStatus.RECEIVED

    def start_processing(self, actor: Actor) -> None:
        self.check_actor_is_assigned_staff(actor)
        self.check_status(CaseStatus.RECEIVED, CaseStatus.WAITING_FOR_DOCUMENTS)
        self._processing_started(actor_id=actor.account_id)

    @event(ProcessingStarted)
    def _processing_started(self, actor_id: str) -> None:
        self.status = CaseStatus.IN_PROGRESS

    def request_documents(
        self, actor: Actor, items: list[str], note: str, due_date: date, known: Mapping[str, str]
    ) -> None:
        """Ask the citizen for Nachweise of the catalogue (``known``: kind -> name) and/or what ``note``
        describes, by ``due_date`` (tomorrow at the earliest, in at most a year)."""
        self.check_actor_is_assigned_staff(actor)
        self.check_status(*WORKING_STATUSES)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise InvalidInput("DOCUMENT_REQUEST_INVALID", "Bitte wählen Sie die Unterlagen aus der Liste.")
        unknown = sorted(set(items) - set(known))
        if unknown:
            raise InvalidInput(
                "NACHWEIS_UNKNOWN", "Diese Unterlage gibt es in der Liste nicht.", {"field": "items", "items": unknown}
            )
        note = note if isinstance(note, str) else ""
        if not items and not note.strip():
            raise InvalidInput("DOCUMENT_REQUEST_EMPTY", "Bitte wählen Sie Unterlagen aus oder beschreiben Sie sie.")
        if note.strip():
            note = checked_text(note, "note", "Hinweis", DOCUMENT_REQUEST_NOTE_MAX_LENGTH)
        today = german_today()
        if due_date <= today:
            raise InvalidInput("DUE_DATE_IN_PAST", "Die Frist muss in der Zukunft liegen.")
        if due_date > today + timedelta(days=DUE_DATE_MAX_DAYS):
            raise InvalidInput("DUE_DATE_TOO_FAR", "Die Frist darf höchstens ein Jahr in der Zukunft liegen.")
        self._documents_requested(
            items=list(dict.fromkeys(items)),
            note=note,
            due_date=due_date.isoformat(),
            actor_id=actor.account_id,
            owner_id=self.owner_id,
        )

    @event(DocumentsRequested)
    def _documents_requested(
        self, items: list[str], note: str, due_date: str, actor_id: str, owner_id: str | None = None
    ) -> None:
        self.status = CaseStatus.WAITING_FOR_DOCUMENTS
        self.document_requests.append({"items": items, "note": note, "due_date": due_date})
        for kind in items:
            self.checklist.setdefault(kind, {"status": NachweisStatus.MISSING.value, "document_ids": []})
            if self.checklist[kind]["status"] == NachweisStatus.WAIVED.value:
                self.checklist[kind]["status"] = NachweisStatus.MISSING.value

    def supply_document(self, actor: Actor, document_id: str, nachweis: str) -> None:
        self.check_is_owner(actor)
        self.check_is_submitted()
        self.check_not_final()
        if self.status == CaseStatus.DECIDED:
            raise Conflict("CASE_ALREADY_DECIDED", "Über diesen Antrag wurde schon entschieden.")
        if document_id in self.checklist.get(nachweis, {}).get("document_ids", []):
            return  # supplied for that Nachweis already: a retry changes nothing
        self._document_supplied(document_id=document_id, nachweis=nachweis, jobcenter_id=self.jobcenter_id)

    @event(DocumentSupplied)
    def _document_supplied(self, document_id: str, nachweis: str, jobcenter_id: str | None = None) -> None:
        self._mark_supplied(nachweis, document_id)

    def _mark_supplied(self, nachweis: str, document_id: str) -> None:
        item = self.checklist.setdefault(nachweis, {"status": NachweisStatus.MISSING.value, "document_ids": []})
        item["status"] = NachweisStatus.SUPPLIED.value
        item["document_ids"] = [*item["document_ids"], document_id]

    def waive_nachweis(self, actor: Actor, nachweis: str) -> None:
        self.check_actor_is_assigned_staff(actor)
        self.check_status(*WORKING_STATUSES)  # not on a withdrawn, decided or closed case
        if self.checklist.get(nachweis, {}).get("status") != NachweisStatus.MISSING.value:
            raise Conflict("NACHWEIS_NOT_MISSING", "Dieser Nachweis fehlt nicht.")
        self._nachweis_waived(nachweis=nachweis, actor_id=actor.account_id)

    @event(NachweisWaived)
    def _nachweis_waived(self, nachweis: str, actor_id: str) -> None:
        self.checklist[nachweis]["status"] = NachweisStatus.WAIVED.value

    def decide(
        self,
        actor: Actor,
        outcome: str,
        bescheid_document_id: str | None,
        approval_from: date | None = None,
        approval_to: date | None = None,
        bescheid: dict[str, Any] | None = None,
    ) -> None:
        """Record the decision; ``bescheid`` is what the documents service knows of the Bescheid
        (None when it knows no such document the actor may read).

        A VÄM that changes nothing (``unchanged``) regulates nothing, so it needs no Bescheid: a letter
        saying so may go with it, checked as a Bescheid is.
        """
        self.check_actor_is_assigned_staff(actor)
        self.check_status(CaseStatus.IN_PROGRESS, CaseStatus.WAITING_FOR_DOCUMENTS)
        if outcome not in outcomes_for(self.kind):
            raise InvalidInput("OUTCOME_UNKNOWN", "Diese Entscheidung passt nicht zu dieser Art von Vorgang.")
        if bescheid_document_id or outcome not in OUTCOMES_WITHOUT_BESCHEID:
            self.check_bescheid(bescheid_document_id or "", bescheid)
        if self.kind == CaseKind.WEITERBEWILLIGUNGSANTRAG and outcome != "rejected":
            if approval_from is None or approval_to is None:
                raise InvalidInput("APPROVAL_PERIOD_REQUIRED", "Bitte geben Sie den Bewilligungszeitraum an.")
            check_approval_period(approval_from, approval_to)
        self._decided(
            outcome=outcome,
            bescheid_document_id=bescheid_document_id or None,
            approval_from=approval_from.isoformat() if approval_from else None,
            approval_to=approval_to.isoformat() if approval_to else None,
            actor_id=actor.account_id,
            owner_id=self.owner_id,
            kind=self.kind.value,
        )

    @event(Decided)
    def _decided(
        self,
        outcome: str,
        bescheid_document_id: str | None,
        approval_from: str | None,
        approval_to: str | None,
        actor_id: str,
        owner_id: str | None = None,
        kind: str | None = None,
    ) -> None:
        self.status = CaseStatus.DECIDED
        self.decision = {
            "outcome": outcome,
            "bescheid_document_id": bescheid_document_id,
            "approval_from": approval_from,
            "approval_to": approval_to,
        }

    def close(self, actor: Actor) -> None:
        self.check_actor_is_assigned_staff(actor)
        self.check_status(CaseStatus.DECIDED)
        self._closed(actor_id=actor.account_id)

    @event(Closed)
    def _closed(self, actor_id: str) -> None:
        self.status = CaseStatus.CLOSED

    def withdraw(self, actor: Actor) -> None:
        """The citizen withdraws a submitted case before it is decided."""
        self.check_is_owner(actor)
        self.check_is_submitted()
        self.check_not_final()
        if self.status == CaseStatus.DECIDED:
            raise Conflict("CASE_ALREADY_DECIDED", "Über diesen Antrag wurde schon entschieden.")
        self._withdrawn()

    @event(Withdrawn)
    def _withdrawn(self) -> None:
        self.status = CaseStatus.WITHDRAWN

    # -- talking ----------------------------------------------------------------------------------

    def post_message(self, actor: Actor, text: str) -> str:
        """A message between the citizen and the assigned Jobcenter; returns its id."""
        if actor.role == "citizen":
            self.check_is_owner(actor)
        else:
            self.check_actor_is_assigned_staff(actor)
        self.check_is_submitted()
        self.check_not_final()
        body = text.strip()
        if not body or len(body) > MESSAGE_MAX_LENGTH:
            raise InvalidInput(
                "MESSAGE_LENGTH", f"Eine Nachricht hat 1 bis {MESSAGE_MAX_LENGTH} Zeichen.", {"max": MESSAGE_MAX_LENGTH}
            )
        if has_hidden_characters(body, multiline=True):
            raise InvalidInput(
                "HIDDEN_CHARACTERS",
                "Die Nachricht enthält unsichtbare Zeichen oder Steuerzeichen. Bitte schreiben Sie nur Text.",
                {"field": "text"},
            )
        message_id = str(uuid.uuid4())
        self._message_posted(
            message_id=message_id,
            author_id=actor.account_id,
            author_role=actor.role,
            text=body,
            owner_id=self.owner_id,
            jobcenter_id=self.jobcenter_id,
        )
        return message_id

    @event(MessagePosted)
    def _message_posted(
        self,
        message_id: str,
        author_id: str,
        author_role: str,
        text: str,
        owner_id: str | None = None,
        jobcenter_id: str | None = None,
    ) -> None:
        self.messages.append(
            {
                "message_id": message_id,
                "author_role": author_role,
                "text": text,
                "at": None,  # the event's own time, set by MessagePosted.apply
            }
        )

    def check_bescheid(self, document_id: str, bescheid: dict[str, Any] | None) -> None:
        """The Bescheid is a checked document that the Jobcenter's staff uploaded for this case as a
        Bescheid (staff of another Jobcenter cannot upload to it); InvalidInput ``BESCHEID_INVALID``."""
        if not (
            bescheid is not None
            and bescheid.get("document_id") == document_id
            and bescheid.get("case_id") == str(self.id)
            and bescheid.get("nachweis") == "bescheid"
            and bescheid.get("state") == "accepted"
            and bescheid.get("from_jobcenter") is True
        ):
            raise InvalidInput(
                "BESCHEID_INVALID",
                "Als Bescheid geht nur ein geprüfter Bescheid, den Ihr Jobcenter zu diesem Vorgang hochgeladen hat.",
                {"field": "bescheid_document_id"},
            )

    # -- watching the Jobcenter's deadlines -------------------------------------------------------

    def mark_overdue(self, today: date) -> None:
        """Flag a case its Jobcenter has not received within the deadline; once per case."""
        if self.status != CaseStatus.ASSIGNED or self.overdue_since is not None:
            raise Conflict("CASE_NOT_OVERDUE", "Dieser Vorgang ist nicht überfällig.")
        self._became_overdue(due_since=today.isoformat(), jobcenter_id=self.jobcenter_id)

    @event(BecameOverdue)
    def _became_overdue(self, due_since: str, jobcenter_id: str | None = None) -> None:
        self.overdue_since = due_since

    # -- the handover to the Jobcenter's e-file (back-office interface) ---------------------------

    def confirm_handover(self, jobcenter_id: str) -> bool:
        """The Jobcenter's e-file took the case over; returns False when it had confirmed before (no event).

        Raises Conflict ``CASE_NOT_ASSIGNED_TO_JOBCENTER`` unless the case is assigned to ``jobcenter_id``
        and ``HANDOVER_ALREADY_REFUSED`` after a refusal by that Jobcenter.
        """
        previous = self.check_handover_possible(jobcenter_id)
        if previous == "confirmed":
            return False
        if previous == "refused":
            raise Conflict("HANDOVER_ALREADY_REFUSED", "Das Jobcenter hat die Übernahme schon abgelehnt.")
        self._handover_confirmed(jobcenter_id=jobcenter_id)
        return True

    @event(HandoverConfirmed)
    def _handover_confirmed(self, jobcenter_id: str) -> None:
        self.handovers = {**self.handover_states(), jobcenter_id: "confirmed"}

    def refuse_handover(self, jobcenter_id: str, reason: str) -> bool:
        """The Jobcenter's e-file refused the case, with a reason; returns False when refused before (no event).

        Raises Conflict as :meth:`confirm_handover` does (``HANDOVER_ALREADY_CONFIRMED`` after a confirmation)
        and InvalidInput ``REASON_REQUIRED`` for an empty or overlong reason.
        """
        text = reason.strip() if isinstance(reason, str) else ""
        if not text or len(text) > HANDOVER_REASON_MAX_LENGTH:
            raise InvalidInput(
                "REASON_REQUIRED",
                f"Bitte geben Sie einen Grund an (1 bis {HANDOVER_REASON_MAX_LENGTH} Zeichen).",
                {"max": HANDOVER_REASON_MAX_LENGTH},
            )
        previous = self.check_handover_possible(jobcenter_id)
        if previous == "refused":
            return False
        if previous == "confirmed":
            raise Conflict("HANDOVER_ALREADY_CONFIRMED", "Das Jobcenter hat den Vorgang schon übernommen.")
        self._handover_refused(jobcenter_id=jobcenter_id, reason=text)
        return True

    @event(HandoverRefused)
    def _handover_refused(self, jobcenter_id: str, reason: str) -> None:
        self.handovers = {**self.handover_states(), jobcenter_id: "refused"}

    def handover_states(self) -> dict[str, str]:
        """Per Jobcenter: ``confirmed`` or ``refused`` (cases restored from older snapshots have none)."""
        return dict(getattr(self, "handovers", {}))

    def check_handover_possible(self, jobcenter_id: str) -> str | None:
        """The earlier answer of this Jobcenter, if any; Conflict unless the case is assigned to it."""
        self.check_is_submitted()
        if self.jobcenter_id is None or jobcenter_id != self.jobcenter_id:
            raise Conflict("CASE_NOT_ASSIGNED_TO_JOBCENTER", "Dieser Vorgang ist nicht diesem Jobcenter zugeordnet.")
        if self.status in (CaseStatus.WITHDRAWN, CaseStatus.HANDED_OVER):
            raise Conflict("CASE_CLOSED", "Dieser Vorgang ist abgeschlossen.")
        return self.handover_states().get(jobcenter_id)

    # -- invariants -------------------------------------------------------------------------------

    def check_is_draft(self) -> None:
        if self.status == CaseStatus.DRAFT:
            return
        if self.status in (CaseStatus.DISCARDED, CaseStatus.EXPIRED):
            raise Conflict("DRAFT_GONE", "Dieser Entwurf wurde verworfen oder ist abgelaufen.")
        raise Conflict("CASE_ALREADY_SUBMITTED", "Das haben Sie schon abgeschickt.")

    def check_is_submitted(self) -> None:
        if self.status == CaseStatus.DRAFT:
            raise Conflict("CASE_NOT_SUBMITTED", "Dieser Antrag wurde noch nicht abgeschickt.")

    def check_not_final(self) -> None:
        if self.status in FINAL_STATUSES:
            raise Conflict("CASE_CLOSED", "Dieser Vorgang ist abgeschlossen.")

    def check_status(self, *allowed: CaseStatus) -> None:
        self.check_not_final()
        if self.status not in allowed:
            raise Conflict("CASE_STATUS_DOES_NOT_ALLOW", "Das ist im jetzigen Stand des Vorgangs nicht möglich.")

    def check_is_owner(self, actor: Actor) -> None:
        if actor.role == "citizen" and actor.account_id == self.owner_id:
            return
        self.check_may_read(actor)
        raise Forbidden("NOT_YOUR_CASE", "Diesen Vorgang können nur Sie selbst bearbeiten.")

    def check_actor_is_assigned_staff(self, actor: Actor) -> None:
        if self.is_assigned_staff(actor):
            return
        self.check_may_read(actor)
        raise Forbidden("NOT_ASSIGNED_TO_YOUR_JOBCENTER", "Dieser Vorgang gehört nicht zu Ihrem Jobcenter.")

    def is_assigned_staff(self, actor: Actor) -> bool:
        return actor.role in STAFF_ROLES and bool(actor.institution_id) and actor.institution_id == self.jobcenter_id

    def check_may_read(self, actor: Actor) -> None:
        """For whoever may not even read the case it does not exist (NotFound ``CASE_NOT_FOUND``): another
        citizen's case answers as a random id does, on every route, reading or writing."""
        is_owner = actor.role == "citizen" and actor.account_id == self.owner_id
        if not (is_owner or self.is_assigned_staff(actor)):
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")


class CaseErasure(Aggregate):
    """What remains of an erased case: the fact that it was erased, so others can erase their copies."""

    class Recorded(Aggregate.Created):
        case_id: str

    @staticmethod
    def id_for(case_id: str) -> uuid.UUID:
        # One record per case: erasing twice finds the record already there.
        return uuid.uuid5(uuid.UUID(case_id), "erasure")

    @classmethod
    def record(cls, case_id: str) -> CaseErasure:
        return cls._create(cls.Recorded, id=cls.id_for(case_id), case_id=case_id)

    @event(Recorded)
    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
