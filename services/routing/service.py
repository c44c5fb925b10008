"""The routing service: the Jobcenter register, resolution of residences and the assignment of cases."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from nameko.rpc import RpcProxy, rpc

from services.routing.application import Assignments
from services.routing.contacts import ContactStore, JobcenterContacts, checked_contact
from services.routing.index import RoutingIndex
from services.routing.register import Form
from services.routing.resolver import (
    GERMAN_TIME,
    Residence,
    Resolution,
    Resolver,
    area_reason,
    parse_on_date,
    today_in_germany,
)
from shared.auth import ADMIN, TEAM_LEAD, AccessTokens, TokenVerifier, authorize
from shared.envelope import IntegrationEvent
from shared.errors import Conflict, InvalidInput, NotFound
from shared.eventstore import EventSourcedApplication
from shared.messaging import integration_event_handler
from shared.service import PortalService
from shared.text import checked_text

log = logging.getLogger(__name__)
OVERRIDE_REASON_MAX_LENGTH = 1000


class RoutingService(PortalService):
    name = "routing"

    assignments: Assignments = EventSourcedApplication(Assignments)
    contacts: JobcenterContacts = ContactStore()
    index: Resolver = RoutingIndex()
    submissions: Any = RpcProxy("submissions")
    tokens: TokenVerifier = AccessTokens()

    @rpc
    def resolve_residence(self, residence: dict[str, Any], on_date: str | None = None) -> dict[str, Any]:
        """The responsible Jobcenter of ``residence`` on ``on_date`` (today): assigned, ambiguous, not served
        or unknown input. Raises InvalidInput ``RESIDENCE_INVALID`` / ``DATE_INVALID``."""
        resolution = self.index.resolve(Residence.from_dict(residence), parse_on_date(on_date))
        return resolution.as_dict()

    @rpc
    def lookup_postcode(self, plz: str, on_date: str | None = None) -> dict[str, Any]:
        """Every place of a postcode with its Jobcenter, for type-ahead. Raises InvalidInput ``POSTCODE_INVALID``."""
        if not (isinstance(plz, str) and len(plz) == 5 and plz.isdigit()):
            raise InvalidInput("POSTCODE_INVALID", "Die Postleitzahl hat 5 Ziffern.")
        return self.index.lookup_postcode(plz, parse_on_date(on_date))

    @rpc
    def explain_area(self, matched_key: str, on_date: str | None = None) -> dict[str, Any]:
        """Why a Jobcenter is responsible, in German, from the area key that decided (``berlin_bezirk:09``,
        ``kreis:14612``, ``gemeinde:06435014``), as a resolution says it. InvalidInput ``AREA_KEY_INVALID``."""
        kinds = ("berlin_bezirk", "kreis", "gemeinde")
        keys = matched_key.split(",") if isinstance(matched_key, str) and len(matched_key) <= 200 else [""]
        if not all(key.partition(":")[0] in kinds and key.partition(":")[2].isalnum() for key in keys):
            raise InvalidInput("AREA_KEY_INVALID", "Diesen Gebietsschlüssel gibt es nicht.")
        view = self.index.register.at(parse_on_date(on_date))
        return {"matched_key": matched_key, "reason": area_reason(view, matched_key)}

    @rpc
    def get_jobcenter(self, jobcenter_id: str, on_date: str | None = None) -> dict[str, Any]:
        """A Jobcenter as it stands on ``on_date``, with its areas and ``contact`` (None while its team lead or
        an admin has not set it). Raises NotFound ``JOBCENTER_NOT_FOUND``."""
        view = self.index.register.at(parse_on_date(on_date))
        jobcenter = view.jobcenters.get(jobcenter_id)
        if jobcenter is None:
            raise NotFound("JOBCENTER_NOT_FOUND", "Dieses Jobcenter gibt es zu diesem Datum nicht.")
        areas = [{"kind": area.kind.value, "key": area.key, "name": area.name} for area in view.areas_of[jobcenter_id]]
        contact = self.contacts.get(jobcenter_id)
        return {**jobcenter.as_dict(), "areas": areas, "register_version": view.version, "contact": contact}

    @rpc
    def set_jobcenter_contact(self, jobcenter_id: str, contact: dict[str, Any], token: str) -> dict[str, Any]:
        """Set how citizens reach a Jobcenter that uses the portal (contacts.py), recorded with who and when;
        returns the stored ``contact``.

        The caller's token is verified here: an admin, or a team lead of that Jobcenter. Raises
        Unauthenticated, Forbidden ``ROLE_NOT_ALLOWED`` / ``INSTITUTION_NOT_ALLOWED``, NotFound
        ``JOBCENTER_NOT_FOUND``, Conflict ``JOBCENTER_NOT_SERVED``, InvalidInput naming the field
        (``CONTACT_INVALID``, ``FIELD_REQUIRED``, ``POSTCODE_INVALID``, ``PHONE_INVALID``, ``EMAIL_INVALID``,
        ``TEXT_TOO_LONG``, ``HIDDEN_CHARACTERS``).
        """
        caller = self.tokens.verify(token)
        authorize(caller, (TEAM_LEAD, ADMIN), str(jobcenter_id))
        jobcenter = self.index.register.at(today_in_germany()).jobcenters.get(jobcenter_id)
        if jobcenter is None:
            raise NotFound("JOBCENTER_NOT_FOUND", "Dieses Jobcenter gibt es zu diesem Datum nicht.")
        if jobcenter.form is not Form.GE:
            raise Conflict("JOBCENTER_NOT_SERVED", "Dieses Jobcenter nutzt das Portal nicht.")
        stored = self.contacts.set(jobcenter_id, checked_contact(contact), caller.account_id)
        log.info("jobcenter_contact_set", extra={"institution_id": jobcenter_id, "account_id": caller.account_id})
        return stored

    @rpc
    def list_jobcenters(self, on_date: str | None = None) -> list[dict[str, Any]]:
        """Every Jobcenter in force on ``on_date`` (gE and zkT), ordered by id."""
        view = self.index.register.at(parse_on_date(on_date))
        return [view.jobcenters[jobcenter_id].as_dict() for jobcenter_id in sorted(view.jobcenters)]

    @rpc
    def get_assignment(self, case_id: str) -> dict[str, Any]:
        """Where the case lies, and its history. Raises NotFound ``ASSIGNMENT_NOT_FOUND``."""
        return self.assignments.get_assignment(case_id)

    @rpc
    def override_assignment(self, case_id: str, jobcenter_id: str, reason: str, token: str) -> dict[str, Any]:
        """An admin's, or the assigned Jobcenter's team lead's, decision, recorded with who and why.

        The caller's token is verified here. Raises Unauthenticated, Forbidden ``ROLE_NOT_ALLOWED`` /
        ``INSTITUTION_NOT_ALLOWED``, InvalidInput ``OVERRIDE_REASON_MISSING``, NotFound
        ``ASSIGNMENT_NOT_FOUND`` / ``JOBCENTER_NOT_FOUND``, Conflict ``JOBCENTER_NOT_SERVED`` /
        ``ASSIGNMENT_UNCHANGED``.
        """
        caller = self.tokens.verify(token)
        current = self.assignments.get_assignment(case_id)
        # A team lead acts only on cases of their own Jobcenter; a pending case is for an admin.
        authorize(caller, (TEAM_LEAD, ADMIN), current["jobcenter_id"] or "")
        actor_id = caller.account_id
        if not (isinstance(reason, str) and reason.strip()):
            raise InvalidInput("OVERRIDE_REASON_MISSING", "Bitte begründen Sie die Änderung der Zuständigkeit.")
        reason = checked_text(reason, "reason", "Begründung", OVERRIDE_REASON_MAX_LENGTH)
        today = today_in_germany()
        view = self.index.register.at(today)
        jobcenter = view.jobcenters.get(jobcenter_id)
        if jobcenter is None:
            raise NotFound("JOBCENTER_NOT_FOUND", "Dieses Jobcenter gibt es zu diesem Datum nicht.")
        if jobcenter.form is not Form.GE:
            raise Conflict("JOBCENTER_NOT_SERVED", "Dieses Jobcenter nutzt das Portal nicht.")
        self.assignments.override(case_id, jobcenter, view.version, today.isoformat(), reason, actor_id)
        log.info("case_assignment_overridden", extra={"case_id": case_id, "institution_id": jobcenter_id})
        return self.assignments.get_assignment(case_id)

    @integration_event_handler("submissions", "case_submitted")
    def on_case_submitted(self, event: IntegrationEvent) -> None:
        case_id = event.aggregate_id
        resolution = self._carried_resolution(event, day_of(event.occurred_at))
        if resolution is None:
            return
        if self.assignments.assign_case(case_id, resolution, event.event_id) is None:
            log.info("case_already_assigned", extra={"case_id": case_id, "event_id": event.event_id})
            return
        log_decision("case_assignment_decided", case_id, resolution)

    @integration_event_handler("submissions", "case_move_reported")
    def on_case_move_reported(self, event: IntegrationEvent) -> None:
        """A move reported by the release before (no ``previous_jobcenter_id``): its VÄM was routed by the new
        address, and the reporting case follows the move as it did then. Kept for one release, for its events
        still queued at the upgrade (docs/moves.md). A move of this release stays with the Jobcenter until the
        move and takes effect with ``case_move_took_effect``: nothing to do here."""
        case_id = event.aggregate_id
        if event.data.get("previous_jobcenter_id"):
            log.info("move_reported_waits_for_its_date", extra={"case_id": case_id, "event_id": event.event_id})
            return
        moved_on = move_day(event)
        if moved_on is None:
            return
        resolution = self._carried_resolution(event, moved_on)
        if resolution is None:
            return
        self._follow_move(case_id, resolution, moved_on, event)

    @integration_event_handler("submissions", "case_move_took_effect")
    def on_case_move_took_effect(self, event: IntegrationEvent) -> None:
        """A citizen's move took effect: their open cases the event names go to the Jobcenter of the new
        residence from the move date (a zkT: handed over). The reporting case itself stays (docs/moves.md).
        The same event again changes nothing."""
        moved_on = move_day(event)
        if moved_on is None:
            return
        matched_key = event.data.get("matched_key")
        if not matched_key:
            log.error("move_area_missing_dropped", extra={"case_id": event.aggregate_id, "event_id": event.event_id})
            return
        resolution = self.index.carried(event.data, moved_on) or self.index.of_area(str(matched_key), moved_on)
        for case_id in map(str, event.data.get("case_ids") or []):
            if self.assignments.moved_by(case_id, event.event_id):
                log.info("case_move_already_followed", extra={"case_id": case_id, "event_id": event.event_id})
                continue
            self._follow_move(case_id, resolution, moved_on, event)

    def _follow_move(self, case_id: str, resolution: Resolution, moved_on: date, event: IntegrationEvent) -> None:
        """Record the move for the case from ``moved_on``; nothing for a case erased since."""
        if self.assignments.record_move(case_id, resolution, moved_on.isoformat(), event.event_id) is None:
            log.info("case_erased_move_dropped", extra={"case_id": case_id, "event_id": event.event_id})
            return
        log_decision("case_move_followed", case_id, resolution)

    @integration_event_handler("submissions", "case_erased")
    def on_case_erased(self, event: IntegrationEvent) -> None:
        """The case's retention ended (or a draft was deleted): its assignment becomes unreadable for good
        (its data key destroyed, docs/retention.md)."""
        case_id = str(event.data.get("case_id") or event.aggregate_id)
        had_assignment = self.assignments.erase(case_id)
        log.info("case_assignment_erased", extra={"case_id": case_id, "status": "erased" if had_assignment else "none"})

    def _carried_resolution(self, event: IntegrationEvent, on_date: date) -> Resolution | None:
        """What the event's residence resolves to on ``on_date``, from the area and Jobcenter it carries (the
        submit asked routing before it took the case in); the area again when the register changed since.

        Only an event stored before events carried the area makes routing ask submissions for the case's
        address; None when that case does not exist.
        """
        matched_key = event.data.get("matched_key")
        if matched_key:
            return self.index.carried(event.data, on_date) or self.index.of_area(str(matched_key), on_date)
        return self._resolve_case_residence(event.aggregate_id, on_date)

    def _resolve_case_residence(self, case_id: str, on_date: date) -> Resolution | None:
        """The resolution of the residence the case records; None when the case does not exist."""
        try:
            case = self.submissions.get_case(case_id)
        except NotFound:
            log.warning("case_not_found_dropped", extra={"case_id": case_id})
            return None
        residence = case.get("residence")
        if residence is None:
            return self.index.unresolved("RESIDENCE_MISSING", on_date)
        try:
            return self.index.resolve(Residence.from_dict(residence), on_date)
        except InvalidInput:
            return self.index.unresolved("RESIDENCE_INVALID", on_date)


def move_day(event: IntegrationEvent) -> date | None:
    """The move date an event carries; None (logged, the event dropped) when it cannot be read."""
    try:
        return date.fromisoformat(str(event.data.get("move_date")))
    except ValueError:
        log.error("move_date_invalid_dropped", extra={"case_id": event.aggregate_id, "event_id": event.event_id})
        return None


def day_of(timestamp: str) -> date:
    """The German calendar day of an ISO timestamp; today when it cannot be read."""
    try:
        return datetime.fromisoformat(timestamp).astimezone(GERMAN_TIME).date()
    except ValueError:
        return today_in_germany()


def log_decision(message: str, case_id: str, resolution: Resolution) -> None:
    jobcenter_id = resolution.jobcenter.jobcenter_id if resolution.jobcenter else None
    extra = {"case_id": case_id, "status": resolution.outcome.value, "code": resolution.code}
    log.info(message, extra={**extra, "institution_id": jobcenter_id})
