"""The notify service: the Postfach, consents, e-mail alerts, reminders and staff alerts.

It consumes the events of submissions and documents (ids and codes only), which name the case's owner
and Jobcenter where notify needs them; only an event stored before they did makes it ask submissions
(``get_case_parties``). It asks identity where to send an alert, and applies each event once
(``apply_once``): the Postfach message, the queued alert and the record of the event id commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from sqlalchemy.orm import Session

from services.notify import alerts, consent, feedback, postfach, reminders, staff
from services.notify.consent import Channel
from services.notify.schema import (
    alert_table,
    consent_history,
    consent_table,
    feedback_table,
    metadata,
    reminder_table,
    staff_alert_table,
)
from services.submissions.forms import nachweis_labels
from shared.auth import AccessClaims, AccessTokens, TokenVerifier
from shared.dates import german_today
from shared.envelope import IntegrationEvent
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.messaging import integration_event_handler
from shared.service import PortalService
from shared.smtp import SmtpMailer, SmtpRelay
from shared.sql import Database, ServiceDatabase
from shared.text import has_hidden_characters

log = logging.getLogger(__name__)

# The outcome of a VÄM that changes nothing (``case_decided``, docs/events.md): no Bescheid, perhaps a letter.
OUTCOMES_WITHOUT_BESCHEID = ("unchanged",)

consents = consent.Consents(consent_table, consent_history)
reminder_book = reminders.Reminders(reminder_table)

STAFF_ROLES = ("caseworker", "team_lead")
MAIL_SEND_SECONDS = 2
REMINDER_SECONDS = 600


def citizen(caller: AccessClaims) -> str:
    """The account id of a citizen; raises Forbidden for anyone else."""
    if caller.role != "citizen":
        raise Forbidden("CITIZEN_ONLY", "Das ist nur für Kundinnen und Kunden möglich.")
    return caller.account_id


def staff_institution(caller: AccessClaims) -> str:
    if caller.role not in STAFF_ROLES or not caller.institution_id:
        raise Forbidden("STAFF_ONLY", "Das ist nur für Mitarbeitende eines Jobcenters möglich.")
    return caller.institution_id


def german_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


class NotifyService(PortalService):
    name = "notify"

    db: ServiceDatabase = Database(metadata)
    smtp: SmtpMailer = SmtpRelay()
    config: dict[str, Any] = Config()
    tokens: TokenVerifier = AccessTokens()
    submissions: Any = RpcProxy("submissions")
    identity: Any = RpcProxy("identity")
    routing: Any = RpcProxy("routing")

    # -- events of submissions --------------------------------------------------------------------

    @integration_event_handler("submissions", "case_submitted")
    def on_case_submitted(self, event: IntegrationEvent) -> None:
        owner = self._carried(event, "owner_id")
        self._to_citizen(event, owner, "receipt", receipt_number=event.data["receipt_number"])

    @integration_event_handler("submissions", "documents_requested")
    def on_documents_requested(self, event: IntegrationEvent) -> None:
        owner = self._carried(event, "owner_id")
        due = str(event.data["due_date"])

        def also_remind(session: Session) -> None:
            reminder_book.schedule(session, "documents_reminder", owner, event.aggregate_id, date.fromisoformat(due))

        # The event carries the Nachweis codes; their names are public data of the forms.
        known = nachweis_labels()
        names = [known.get(str(kind), str(kind)) for kind in event.data.get("items") or []]
        items = ", ".join(names) if names else "was Ihr Jobcenter beim Vorgang beschreibt"
        self._to_citizen(event, owner, "documents_requested", then=also_remind, due_date=german_date(due), items=items)

    @integration_event_handler("submissions", "case_decided")
    def on_case_decided(self, event: IntegrationEvent) -> None:
        owner = self._carried(event, "owner_id")
        kind = self._carried(event, "kind")
        approval_to = event.data.get("approval_to")

        letter = event.data.get("bescheid_document_id")

        def post_no_change(session: Session) -> str:
            # A VÄM that changes nothing: no Bescheid, so no delivery date and no appeal; a letter may go with it.
            message_id = postfach.post(
                session, owner, event.aggregate_id, "no_change", attachments=[str(letter)] if letter else None
            )
            self._queue_alert(session, event.event_id, owner, message_id)
            return message_id

        if event.data.get("outcome") in OUTCOMES_WITHOUT_BESCHEID:
            if self.db.apply_once(event, post_no_change):
                log.info("decision_posted", extra={"case_id": event.aggregate_id, "event_id": event.event_id})
            return

        def post_bescheid(session: Session) -> str:
            digital = consents.granted(session, owner, Channel.POSTFACH_BESCHEIDE)
            message_id = postfach.post(
                session,
                owner,
                event.aggregate_id,
                "bescheid",
                attachments=[str(letter)],
                paper_delivery=not digital,
            )
            self._queue_alert(session, event.event_id, owner, message_id, is_bescheid=digital)
            if kind == "weiterbewilligungsantrag" and approval_to:
                reminder_book.schedule(
                    session, "wba_reminder", owner, event.aggregate_id, date.fromisoformat(approval_to)
                )
            return message_id

        if self.db.apply_once(event, post_bescheid):
            log.info("bescheid_posted", extra={"case_id": event.aggregate_id, "event_id": event.event_id})

    @integration_event_handler("submissions", "message_posted")
    def on_message_posted(self, event: IntegrationEvent) -> None:
        if event.data.get("author_role") in STAFF_ROLES:
            self._to_citizen(event, self._carried(event, "owner_id"), "message")
        elif jobcenter := self._carried(event, "jobcenter_id"):
            self._to_staff(event, jobcenter, "citizen_message")

    @integration_event_handler("submissions", "case_erased")
    def on_case_erased(self, event: IntegrationEvent) -> None:
        """The case's retention ended (or a draft was deleted): its Postfach messages, reminders and staff
        alerts go too (docs/retention.md)."""
        case_id = str(event.data.get("case_id") or event.aggregate_id)

        def forget(session: Session) -> int:
            owners = postfach.owners_of_case(session, case_id)
            deleted = postfach.forget_case(session, case_id, reminder_table, staff_alert_table, alert_table=alert_table)
            for owner in owners:
                # The last kept case of a deleted account: the proof of its consents is needed no longer.
                if consents.account_deleted(session, owner) and not postfach.has_case_messages(session, owner):
                    consents.forget(session, owner)
                    log.info("consents_forgotten", extra={"account_id": owner, "case_id": case_id})
            return deleted

        deleted = self.db.apply_once(event, forget)
        log.info("case_forgotten", extra={"case_id": case_id, "count": deleted or 0})

    @integration_event_handler("submissions", "case_withdrawn")
    def on_case_withdrawn(self, event: IntegrationEvent) -> None:
        """The citizen withdrew: a Postfach message says so, and the Jobcenter (once assigned) gets an alert."""
        parties = self.submissions.get_case_parties(event.aggregate_id)  # the event carries no parties
        owner, jobcenter = parties.get("owner_id"), parties.get("jobcenter_id")

        def apply(session: Session) -> str:
            message_id = postfach.post(session, str(owner), event.aggregate_id, "withdrawn")
            self._queue_alert(session, event.event_id, str(owner), message_id)
            if jobcenter:
                staff.raise_alert(session, staff_alert_table, str(jobcenter), event.aggregate_id, "case_withdrawn")
            return message_id

        if self.db.apply_once(event, apply):
            log.info("case_withdrawn_told", extra={"case_id": event.aggregate_id, "event_id": event.event_id})

    @integration_event_handler("submissions", "case_move_reported")
    def on_case_move_reported(self, event: IntegrationEvent) -> None:
        """What a move means for the citizen: who decides up to it, who from it, what to do (docs/moves.md)."""
        data = event.data
        old_jobcenter = data.get("previous_jobcenter_id")
        if not old_jobcenter:
            return  # a move of the release before, which went to the new Jobcenter at once: nothing to explain
        new_jobcenter = str(data["jobcenter_id"])
        if new_jobcenter == old_jobcenter:
            kind = "move_reported_same_jobcenter"
        else:
            kind = "move_reported" if data.get("served", True) else "move_reported_to_zkt"
        self._to_citizen(
            event, self._carried(event, "owner_id"), kind, move_date=german_date(str(data["move_date"])),
            old_jobcenter=self._jobcenter_name(old_jobcenter), new_jobcenter=self._jobcenter_name(new_jobcenter),
        )  # fmt: skip

    @integration_event_handler("submissions", "case_move_took_effect")
    def on_case_move_took_effect(self, event: IntegrationEvent) -> None:
        """Each case handed over to the new Jobcenter gets a message in its thread, saying so."""
        data = event.data
        case_ids = [str(case_id) for case_id in data.get("case_ids") or []]
        if not case_ids:
            return
        owner = str(self._carried(event, "owner_id"))
        values = {"move_date": german_date(str(data["move_date"])),
                  "new_jobcenter": self._jobcenter_name(str(data["jobcenter_id"]))}  # fmt: skip

        def apply(session: Session) -> str:
            for case_id in case_ids:
                message_id = postfach.post(session, owner, case_id, "move_handed_over", values=values)
            self._queue_alert(session, event.event_id, owner, message_id)  # one e-mail for all of them
            return message_id

        if self.db.apply_once(event, apply) is not None:
            log.info("move_handover_told", extra={"case_id": event.aggregate_id, "count": len(case_ids)})

    @integration_event_handler("submissions", "case_assigned")
    def on_case_assigned(self, event: IntegrationEvent) -> None:
        self._to_staff(event, str(event.data["jobcenter_id"]), "new_case")

    @integration_event_handler("submissions", "case_reassigned")
    def on_case_reassigned(self, event: IntegrationEvent) -> None:
        """A case handed over by a move or a team lead arrives in the new Jobcenter's inbox: tell its staff."""
        if jobcenter := self._carried(event, "jobcenter_id"):
            self._to_staff(event, jobcenter, "case_handed_in")

    @integration_event_handler("submissions", "document_supplied")
    def on_document_supplied(self, event: IntegrationEvent) -> None:
        if jobcenter := self._carried(event, "jobcenter_id"):
            self._to_staff(event, jobcenter, "documents_supplied")

    @integration_event_handler("submissions", "case_overdue")
    def on_case_overdue(self, event: IntegrationEvent) -> None:
        if jobcenter := self._carried(event, "jobcenter_id"):
            self._to_staff(event, jobcenter, "case_overdue")

    # -- events of documents ----------------------------------------------------------------------

    @integration_event_handler("documents", "document_rejected")
    def on_document_rejected(self, event: IntegrationEvent) -> None:
        # Only a refusal found after the upload (e.g. a virus) needs telling; the size and type
        # checks while uploading answer the citizen at once.
        if event.data.get("reason_code") in ("UPLOAD_ABORTED", "UPLOAD_ABANDONED", "FILE_TOO_LARGE"):
            return
        # A refused upload of the Jobcenter's staff is theirs to redo; the citizen never saw it.
        if event.data.get("from_jobcenter"):
            return
        self._to_citizen(event, self._carried(event, "owner_id"), "document_rejected")

    # -- timers -----------------------------------------------------------------------------------

    @timer(interval=MAIL_SEND_SECONDS)
    def send_alerts(self) -> None:
        self.alert_queue().send_due(self.db.engine, self.smtp, self.identity.get_contact)

    @timer(interval=REMINDER_SECONDS)
    def send_reminders(self) -> None:
        send_due_reminders(self.db, self.alert_queue(), german_today())

    # -- the citizen ------------------------------------------------------------------------------

    @rpc
    def list_postfach(self, token: str, case_id: str | None = None) -> dict[str, Any]:
        """The citizen's messages (of one case, if given), newest first, and the unread count."""
        owner = citizen(self.tokens.verify(token))
        with self.db.transaction() as session:
            return {
                "messages": postfach.list_messages(session, owner, case_id),
                "unread": postfach.unread_count(session, owner),
            }

    @rpc
    def mark_read(self, token: str, message_id: str) -> None:
        with self.db.transaction() as session:
            postfach.mark_read(session, citizen(self.tokens.verify(token)), message_id)

    @rpc
    def retrieve_attachment(self, token: str, message_id: str, document_id: str) -> None:
        """The citizen is about to download an attachment of a message: allowed, and the first time recorded.

        The first download of a Bescheid is its retrieval (§ 37 (2a) SGB X, services.notify.delivery).
        """
        owner = citizen(self.tokens.verify(token))
        with self.db.transaction() as session:
            postfach.record_retrieval(session, owner, str(message_id), str(document_id))

    @rpc
    def get_consents(self, token: str) -> dict[str, Any]:
        with self.db.transaction() as session:
            return consents.all_of(session, citizen(self.tokens.verify(token)))

    @rpc
    def set_consent(self, token: str, channel: str, granted: bool) -> dict[str, Any]:
        """Give or take back consent for one channel; every change is recorded with its time."""
        owner = citizen(self.tokens.verify(token))
        if not isinstance(granted, bool):
            raise InvalidInput("CONSENT_NOT_BOOLEAN", "Bitte wählen Sie ja oder nein.")
        with self.db.transaction() as session:
            consents.set(session, owner, channel, granted, changed_by=owner)
            log.info("consent_changed", extra={"account_id": owner, "target": channel, "status": granted})
            return consents.all_of(session, owner)

    @rpc
    def forget_deleted_account(self, token: str) -> dict[str, Any]:
        """The caller deleted their account (the gateway asks right after identity did it): every consent is
        withdrawn; consents and their history are deleted at once when no case of the account is kept,
        else when its last case is erased (see consent.py). Returns ``{"consents_kept": bool}``. Idempotent."""
        owner = citizen(self.tokens.verify(token))
        with self.db.transaction() as session:
            kept = postfach.has_case_messages(session, owner)
            if kept:
                consents.withdraw_for_deleted_account(session, owner)
            else:
                consents.forget(session, owner)
        log.info("deleted_account_consents", extra={"account_id": owner, "status": "kept" if kept else "deleted"})
        return {"consents_kept": kept}

    @rpc
    def list_consent_changes(self, token: str) -> list[dict[str, Any]]:
        with self.db.transaction() as session:
            return consents.changes_of(session, citizen(self.tokens.verify(token)))

    # -- the Jobcenter ----------------------------------------------------------------------------

    @rpc
    def list_case_messages(self, token: str, case_id: str) -> list[dict[str, Any]]:
        """What was sent to the citizen about a case and when it was opened, for its Jobcenter."""
        self._staff_of_case(token, case_id)
        with self.db.transaction() as session:
            return postfach.messages_of_case(session, case_id)

    @rpc
    def record_notice_denied(self, token: str, case_id: str, message_id: str) -> dict[str, Any]:
        """The case's Jobcenter records that the citizen denies having received a Bescheid's notice.

        From then on the Bescheid counts as made known on the day it is retrieved (§ 37 (2a) SGB X).
        """
        self._staff_of_case(token, case_id)
        with self.db.transaction() as session:
            message = postfach.record_notice_denied(session, str(case_id), str(message_id))
        log.info("notice_denied_recorded", extra={"case_id": case_id})
        return message

    @rpc
    def list_staff_alerts(self, token: str, institution_id: str | None = None) -> list[dict[str, Any]]:
        """The newest alerts (100) of the caller's Jobcenter; admins every Jobcenter's, or ``institution_id``'s."""
        caller = self.tokens.verify(token)
        if caller.role == "admin":
            jobcenter = str(institution_id) if institution_id else None
        else:
            jobcenter = staff_institution(caller)
        with self.db.transaction() as session:
            return staff.alerts_of(session, staff_alert_table, jobcenter)

    # -- operators --------------------------------------------------------------------------------

    @rpc
    def replay_dead_alerts(self, token: str) -> int:
        """Put alerts that could not be sent back in the queue (admin only)."""
        if self.tokens.verify(token).role != "admin":
            raise Forbidden("ADMIN_ONLY", "Das dürfen nur Administratorinnen und Administratoren.")
        replayed = self.alert_queue().replay(self.db.engine)
        log.info("alerts_replayed", extra={"count": replayed})
        return replayed

    @rpc
    def record_accessibility_feedback(self, barrier: str, page: str = "", contact: str = "") -> str:
        """Keep a barrier someone reported (anyone may, no login); its text is never logged."""
        if not isinstance(barrier, str) or not barrier.strip():
            raise InvalidInput("FEEDBACK_EMPTY", "Bitte beschreiben Sie die Barriere.")
        for text, multiline in ((barrier, True), (str(page or ""), False), (str(contact or ""), False)):
            if has_hidden_characters(text, multiline):  # they would reach the admins' screen as they are
                raise InvalidInput("HIDDEN_CHARACTERS", "Bitte geben Sie nur Text ein, ohne Steuerzeichen.")
        with self.db.transaction() as session:
            feedback_id = feedback.record(session, feedback_table, barrier.strip(), str(page or ""), str(contact or ""))
        log.info("accessibility_feedback_received", extra={"feedback_id": feedback_id})
        return feedback_id

    @rpc
    def list_accessibility_feedback(self, token: str) -> list[dict[str, Any]]:
        """The reported barriers, newest first (admin only)."""
        if self.tokens.verify(token).role != "admin":
            raise Forbidden("ADMIN_ONLY", "Das dürfen nur Administratorinnen und Administratoren.")
        with self.db.transaction() as session:
            return feedback.newest(session, feedback_table)

    @rpc
    def alert_counts(self) -> dict[str, int]:
        return self.alert_queue().counts(self.db.engine)

    # -- helpers ----------------------------------------------------------------------------------

    def alert_queue(self) -> alerts.AlertQueue:
        settings = self.config.get("MAIL", {})
        return alerts.AlertQueue(
            alert_table, int(settings.get("MAX_ATTEMPTS", 8)), str(settings.get("PORTAL_URL", "http://127.0.0.1:8000"))
        )

    def _queue_alert(
        self, session: Session, event_id: str, owner_id: str, message_id: str | None, is_bescheid: bool = False
    ) -> None:
        if consents.granted(session, owner_id, Channel.EMAIL_ALERTS):
            self.alert_queue().queue(session, event_id, owner_id, message_id, is_bescheid)

    def _staff_of_case(self, token: str, case_id: str) -> None:
        """Raises unless the token is staff of the Jobcenter the case is assigned to."""
        institution = staff_institution(self.tokens.verify(token))
        if self.submissions.get_case_parties(case_id).get("jobcenter_id") != institution:
            raise NotFound("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht.")

    def _jobcenter_name(self, jobcenter_id: str) -> str:
        """``Jobcenter Dahme-Spreewald``, as citizens read it (routing's register: public data)."""
        try:
            return str(self.routing.get_jobcenter(jobcenter_id)["display_name"])
        except NotFound:
            return "zuständige Jobcenter"

    def _carried(self, event: IntegrationEvent, name: str) -> Any:
        """The case's ``owner_id``, ``jobcenter_id`` or ``kind`` as the event carries it; only for an event
        stored before events carried them, as submissions knows it now (``get_case_parties``)."""
        if name in event.data:
            return event.data[name]
        case_id = str(event.data.get("case_id") or event.aggregate_id)
        log.info("case_parties_asked", extra={"case_id": case_id, "event_id": event.event_id})
        return self.submissions.get_case_parties(case_id).get(name)

    def _to_citizen(
        self,
        event: IntegrationEvent,
        owner_id: str,
        kind: str,
        then: Callable[[Session], None] | None = None,
        **values: str,
    ) -> None:
        case_id = str(event.data.get("case_id") or event.aggregate_id)

        def apply(session: Session) -> str:
            message_id = postfach.post(session, owner_id, case_id, kind, values=values)
            self._queue_alert(session, event.event_id, owner_id, message_id)
            if then is not None:
                then(session)
            return message_id

        if self.db.apply_once(event, apply) is not None:
            log.info("postfach_message_posted", extra={"case_id": case_id, "event_id": event.event_id})

    def _to_staff(self, event: IntegrationEvent, jobcenter_id: str, kind: str) -> None:
        def apply(session: Session) -> bool:
            staff.raise_alert(session, staff_alert_table, jobcenter_id, event.aggregate_id, kind)
            return True

        if self.db.apply_once(event, apply):
            log.info("staff_alert_raised", extra={"case_id": event.aggregate_id, "institution_id": jobcenter_id})


def send_due_reminders(db: ServiceDatabase, queue: alerts.AlertQueue, today: date) -> int:
    """Post every reminder due by ``today`` once; returns how many were posted."""
    with db.transaction() as session:
        due = reminder_book.due(session, today)
    posted = 0
    for reminder in due:
        with db.transaction() as session:
            if not reminder_book.mark_sent(session, reminder["reminder_id"]):
                continue
            message_id = postfach.post(
                session,
                reminder["owner_id"],
                reminder["case_id"],
                reminder["kind"],
                values={
                    "approval_to": reminder["subject_date"].strftime("%d.%m.%Y"),
                    "due_date": reminder["subject_date"].strftime("%d.%m.%Y"),
                },
            )
            if consents.granted(session, reminder["owner_id"], Channel.EMAIL_ALERTS):
                queue.queue(session, f"reminder:{reminder['reminder_id']}", reminder["owner_id"], message_id)
        log.info("reminder_posted", extra={"case_id": reminder["case_id"], "code": reminder["kind"]})
        posted += 1
    return posted
