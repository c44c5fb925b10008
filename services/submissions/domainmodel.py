"""The case: one Weiterbewilligungsantrag or Veränderungsmitteilung, as a stream of events."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from shared.errors import Conflict, InvalidInput

# Receipt numbers are read aloud on the phone: no 0/O or 1/I.
_RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CaseKind(StrEnum):
    WEITERBEWILLIGUNGSANTRAG = "weiterbewilligungsantrag"
    VERAENDERUNGSMITTEILUNG = "veraenderungsmitteilung"


class CaseStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


def new_receipt_number(year: int) -> str:
    """A random receipt number such as ``JC-2026-7KQ4-M2XD``; it says nothing about the person."""
    body = "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(8))
    return f"JC-{year}-{body[:4]}-{body[4:]}"


def parse_kind(kind: str) -> CaseKind:
    """The kind of case named by ``kind``; raises InvalidInput for anything else."""
    try:
        return CaseKind(kind)
    except ValueError:
        raise InvalidInput(
            "CASE_KIND_UNKNOWN", "Diese Art von Antrag gibt es nicht.", {"allowed": [k.value for k in CaseKind]}
        ) from None


class Case(Aggregate):
    """A citizen's case. Its events tell its whole story."""

    class DraftStarted(Aggregate.Created):
        owner_id: str
        kind: CaseKind

    class Submitted(Aggregate.Event):
        receipt_number: str

    @event(DraftStarted)
    def __init__(self, owner_id: str, kind: CaseKind) -> None:
        self.owner_id = owner_id
        self.kind = kind
        self.status = CaseStatus.DRAFT
        self.receipt_number: str | None = None
        self.submitted_at: datetime | None = None

    def submit(self) -> None:
        """Record the submission with a new receipt number; a case is submitted once."""
        self.check_is_draft()
        self._submitted(receipt_number=new_receipt_number(self.modified_on.year))

    def check_is_draft(self) -> None:
        if self.status != CaseStatus.DRAFT:
            raise Conflict("CASE_ALREADY_SUBMITTED", "Dieser Antrag wurde schon abgeschickt.")

    @event(Submitted)
    def _submitted(self, receipt_number: str) -> None:
        self.status = CaseStatus.SUBMITTED
        self.receipt_number = receipt_number
        self.submitted_at = self.modified_on
