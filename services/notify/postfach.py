"""The Postfach: messages to a citizen, threaded by case, with read state and attachments."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Column, Date, DateTime, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.orm import Session

from services.notify import delivery
from shared.dates import GERMANY, german_today
from shared.errors import NotFound

metadata = MetaData()
messages = Table(
    "notify_postfach_messages",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("owner_id", String(64), nullable=False, index=True),
    Column("case_id", String(36), nullable=True, index=True),
    Column("kind", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("attachments", Text, nullable=False, default="[]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    # For a Bescheid: delivered digitally (with the day it counts as delivered) or on paper.
    Column("paper_delivery", Boolean, nullable=False, default=False),
    Column("alert_sent_at", DateTime(timezone=True), nullable=True),
    # The day of Bekanntgabe as services.notify.delivery last worked it out (kept for readers that
    # do not compute it; the facts below are what it is computed from).
    Column("legal_delivery_date", Date, nullable=True),
    # The citizen's first download of an attachment (the Abruf of § 37 (2a) SGB X).
    Column("retrieved_at", DateTime(timezone=True), nullable=True),
    # When the Jobcenter recorded that the citizen denies having received the e-mail notice.
    Column("notice_denied_at", DateTime(timezone=True), nullable=True),
)

# What the citizen reads, in plain German. Only ids and codes come from events; a receipt number
# or a due date is fine here: the Postfach is behind the citizen's login, unlike e-mail.
TEXTS = {
    "receipt": (
        "Bei Ihrem Jobcenter eingegangen",
        "Wir haben erhalten, was Sie abgeschickt haben. Ihre Eingangsnummer ist {receipt_number}. "
        "Die Eingangsbestätigung können Sie beim Vorgang herunterladen.",
    ),
    "documents_requested": (
        "Bitte reichen Sie Unterlagen nach",
        "Ihr Jobcenter braucht noch: {items}. Bitte laden Sie die Unterlagen bis zum {due_date} "
        "beim Vorgang hoch. Dort steht auch, wenn Ihr Jobcenter etwas dazu geschrieben hat.",
    ),
    "bescheid": (
        "Ihr Bescheid ist da",
        "Ihr Jobcenter hat entschieden. Den Bescheid finden Sie im Anhang.",
    ),
    "no_change": (
        "Ihre Mitteilung ist bearbeitet",
        "Ihr Jobcenter hat Ihre Veränderungsmitteilung geprüft. An Ihrer Leistung ändert sich dadurch nichts. "
        "Sie müssen nichts weiter tun.",
    ),
    "message": (
        "Neue Nachricht von Ihrem Jobcenter",
        "Ihr Jobcenter hat Ihnen zu Ihrem Vorgang geschrieben. Sie finden die Nachricht beim Vorgang.",
    ),
    "wba_reminder": (
        "Denken Sie an Ihren Weiterbewilligungsantrag",
        "Ihr Bewilligungszeitraum endet am {approval_to}. Stellen Sie bitte rechtzeitig den "
        "Weiterbewilligungsantrag. Wir haben ihn mit Ihren letzten Angaben vorausgefüllt.",
    ),
    "document_rejected": (
        "Ein Dokument wurde nicht angenommen",
        "Ein Dokument, das Sie hochgeladen haben, konnte nicht angenommen werden und wurde gelöscht. "
        "Den Grund sehen Sie beim Vorgang. Bitte laden Sie den Nachweis noch einmal hoch.",
    ),
    "withdrawn": (
        "Sie haben zurückgenommen",
        "Sie haben Ihren Antrag oder Ihre Mitteilung zurückgenommen. Ihr Jobcenter bearbeitet das nicht weiter. "
        "Wenn das ein Versehen war, stellen Sie den Antrag bitte neu oder schicken Sie die Mitteilung noch einmal.",
    ),
    "documents_reminder": (
        "Erinnerung: Unterlagen nachreichen",
        "Bitte denken Sie daran, die angeforderten Unterlagen bis zum {due_date} hochzuladen.",
    ),
    # A reported move (docs/moves.md): who decides what, from when, and what the citizen should do.
    "move_reported": (
        "Ihr Umzug: Das ist jetzt zu tun",
        "Sie haben uns Ihren Umzug zum {move_date} mitgeteilt. Diese Mitteilung bearbeitet das {old_jobcenter}. "
        "Es entscheidet über Ihre Leistungen bis zum Umzug.\n\n"
        "Ab dem {move_date} ist das {new_jobcenter} für Sie zuständig. Wie Sie es erreichen, zeigt Ihnen das Portal "
        "unter „Welches Jobcenter ist für mich zuständig?“ mit Ihrer neuen Anschrift.\n\n"
        "Das sollten Sie tun:\n"
        "- Melden Sie sich nach dem Umzug beim {new_jobcenter}.\n"
        "- Stellen Sie dort einen Weiterbewilligungsantrag, wenn Ihr Bewilligungszeitraum bald endet. Das geht "
        "hier im Portal. Ihre neue Anschrift ist schon eingetragen.\n"
        "- Ihre offenen Weiterbewilligungsanträge gehen zum {move_date} an das {new_jobcenter} über. "
        "Sie müssen sie nicht noch einmal stellen.\n"
        "- Ihre offenen Veränderungsmitteilungen bearbeitet weiter das {old_jobcenter}.",
    ),
    "move_reported_to_zkt": (
        "Ihr Umzug: Das ist jetzt zu tun",
        "Sie haben uns Ihren Umzug zum {move_date} mitgeteilt. Diese Mitteilung bearbeitet das {old_jobcenter}. "
        "Es entscheidet über Ihre Leistungen bis zum Umzug.\n\n"
        "Ab dem {move_date} ist das {new_jobcenter} für Sie zuständig. Es ist ein kommunales Jobcenter und "
        "nutzt dieses Portal nicht.\n\n"
        "Das sollten Sie tun:\n"
        "- Wenden Sie sich nach dem Umzug an das {new_jobcenter}. Sie erreichen es über die Kreis- oder "
        "Stadtverwaltung.\n"
        "- Stellen Sie neue Anträge dort, nicht mehr in diesem Portal.\n"
        "- Ihre offenen Weiterbewilligungsanträge gehen zum {move_date} an das {new_jobcenter} über.\n"
        "- Ihre offenen Veränderungsmitteilungen bearbeitet weiter das {old_jobcenter}.",
    ),
    "move_reported_same_jobcenter": (
        "Ihr Umzug: Ihr Jobcenter bleibt zuständig",
        "Sie haben uns Ihren Umzug zum {move_date} mitgeteilt. Ihre neue Wohnung liegt im Gebiet desselben "
        "Jobcenters: Das {old_jobcenter} bleibt für Sie zuständig. Sie müssen nichts weiter tun.",
    ),
    "move_handed_over": (
        "Ihr Antrag ist beim neuen Jobcenter",
        "Sie sind umgezogen. Seit dem {move_date} ist das {new_jobcenter} für Sie zuständig. Darum haben wir "
        "diesen Weiterbewilligungsantrag am {move_date} an das {new_jobcenter} abgegeben. Es bearbeitet ihn "
        "weiter. Sie müssen ihn nicht noch einmal stellen.",
    ),
}


def post(
    session: Session,
    owner_id: str,
    case_id: str | None,
    kind: str,
    attachments: list[str] | None = None,
    paper_delivery: bool = False,
    values: dict[str, str] | None = None,
) -> str:
    """Post a message of ``kind`` to the citizen; returns its id."""
    subject, body = TEXTS[kind]
    message_id = str(uuid.uuid4())
    session.execute(
        messages.insert().values(
            message_id=message_id,
            owner_id=owner_id,
            case_id=case_id,
            kind=kind,
            subject=subject,
            body=body.format(**(values or {})),
            attachments=json.dumps(attachments or []),
            created_at=datetime.now(UTC),
            paper_delivery=paper_delivery,
        )
    )
    return message_id


def record_alert(session: Session, message_id: str, sent_at: datetime) -> None:
    """The e-mail telling that the message is there was sent (for a Bescheid: the notice of § 37 (2a) SGB X)."""
    session.execute(update(messages).where(messages.c.message_id == message_id).values(alert_sent_at=sent_at))
    _record_bekanntgabe(session, message_id)


def record_retrieval(session: Session, owner_id: str, message_id: str, document_id: str) -> None:
    """The citizen downloads an attachment of their message: the first time is the day of retrieval.

    Raises NotFound unless the message is the citizen's and carries the attachment.
    """
    found = session.execute(
        select(messages.c.attachments, messages.c.retrieved_at, messages.c.read_at).where(
            messages.c.message_id == message_id, messages.c.owner_id == owner_id
        )
    ).first()
    if found is None or document_id not in json.loads(found.attachments):
        raise NotFound("DOCUMENT_NOT_FOUND", "Dieses Dokument gibt es nicht.")
    if found.retrieved_at is None:
        now = datetime.now(UTC)
        session.execute(
            update(messages)
            .where(messages.c.message_id == message_id)
            .values(retrieved_at=now, read_at=found.read_at or now)
        )
        _record_bekanntgabe(session, message_id)


def record_notice_denied(session: Session, case_id: str, message_id: str) -> dict[str, Any]:
    """The Jobcenter records that the citizen denies having received the notice of a Bescheid of the case.

    From then on only the day of retrieval counts (§ 37 (2a) sentences 6 and 7 SGB X). Raises
    NotFound unless the message is a Bescheid of the case sent with a notice.
    """
    found = session.execute(
        select(messages.c.kind, messages.c.alert_sent_at, messages.c.notice_denied_at).where(
            messages.c.message_id == message_id, messages.c.case_id == case_id
        )
    ).first()
    if found is None or found.kind != "bescheid" or found.alert_sent_at is None:
        raise NotFound("NOTICE_NOT_FOUND", "Zu diesem Vorgang gibt es keine Benachrichtigung über einen Bescheid.")
    if found.notice_denied_at is None:
        session.execute(
            update(messages).where(messages.c.message_id == message_id).values(notice_denied_at=datetime.now(UTC))
        )
        _record_bekanntgabe(session, message_id)
    row = session.execute(select(messages).where(messages.c.message_id == message_id)).mappings().one()
    return as_dict(row)


def _record_bekanntgabe(session: Session, message_id: str) -> None:
    row = session.execute(select(messages).where(messages.c.message_id == message_id)).mappings().one()
    if row["kind"] == "bescheid":
        made_known = bekanntgabe(row).made_known_on
        session.execute(
            update(messages).where(messages.c.message_id == message_id).values(legal_delivery_date=made_known)
        )


def bekanntgabe(row: Any) -> delivery.Bekanntgabe:
    """What § 37 (2a) SGB X makes of a Bescheid message's facts today."""
    return delivery.assess(
        delivery.Provision(
            provided_on=_local_day(row["created_at"]) or german_today(),
            digital=not row["paper_delivery"],
            notice_sent_on=_local_day(row["alert_sent_at"]),
            retrieved_on=_local_day(row["retrieved_at"]),
            notice_denied=row["notice_denied_at"] is not None,
        ),
        german_today(),
    )


def mark_read(session: Session, owner_id: str, message_id: str) -> None:
    """Mark one of the citizen's messages read (the first time only: the Jobcenter sees when)."""
    found = session.execute(
        select(messages.c.read_at).where(messages.c.message_id == message_id, messages.c.owner_id == owner_id)
    ).first()
    if found is None:
        raise NotFound("MESSAGE_NOT_FOUND", "Diese Nachricht gibt es nicht.")
    if found[0] is None:
        session.execute(update(messages).where(messages.c.message_id == message_id).values(read_at=datetime.now(UTC)))


def list_messages(session: Session, owner_id: str, case_id: str | None = None) -> list[dict[str, Any]]:
    """The citizen's messages (of one case, if given), newest first."""
    query = select(messages).where(messages.c.owner_id == owner_id)
    if case_id is not None:
        query = query.where(messages.c.case_id == case_id)
    return [as_dict(row) for row in session.execute(query.order_by(messages.c.created_at.desc())).mappings()]


def messages_of_case(session: Session, case_id: str) -> list[dict[str, Any]]:
    """What was sent about one case and when it was opened: the Jobcenter's view."""
    query = select(messages).where(messages.c.case_id == case_id).order_by(messages.c.created_at)
    return [as_dict(row) for row in session.execute(query).mappings()]


def unread_count(session: Session, owner_id: str) -> int:
    query = select(messages.c.message_id).where(messages.c.owner_id == owner_id, messages.c.read_at.is_(None))
    return len(session.execute(query).all())


def as_dict(row: Any) -> dict[str, Any]:
    known = bekanntgabe(row) if row["kind"] == "bescheid" else None
    return {
        "message_id": row["message_id"],
        "case_id": row["case_id"],
        "kind": row["kind"],
        "subject": row["subject"],
        "body": row["body"],
        "attachments": json.loads(row["attachments"]),
        "created_at": _iso(row["created_at"]),
        "read": row["read_at"] is not None,
        "read_at": _iso(row["read_at"]),
        "paper_delivery": bool(row["paper_delivery"]),
        "alert_sent_at": _iso(row["alert_sent_at"]),
        "legal_delivery_date": _day(known.made_known_on) if known else None,
        "retrieved_at": _iso(row["retrieved_at"]),
        "notice_denied_at": _iso(row["notice_denied_at"]),
        # For a Bescheid: the day of Bekanntgabe, on what it rests, the last day for a Widerspruch,
        # and whether the Jobcenter must make it known another way (services.notify.delivery).
        "bekanntgabe": {
            "basis": known.basis.value,
            "made_known_on": _day(known.made_known_on),
            "appeal_until": _day(known.appeal_until),
            "needs_other_delivery": known.needs_other_delivery,
        }
        if known
        else None,
    }


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _local_day(moment: datetime | None) -> date | None:
    """The calendar day in Germany of a stored UTC time (a Bescheid sent at 00:30 in Berlin is of that day)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(GERMANY).date()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def forget_case(session: Session, case_id: str, *tables_with_case_id: Table, alert_table: Table) -> int:
    """An erased case leaves nothing here: its messages, the alerts about them, and every row of
    ``tables_with_case_id`` (reminders, staff alerts) naming it. Returns the messages deleted."""
    ids = [row[0] for row in session.execute(select(messages.c.message_id).where(messages.c.case_id == case_id))]
    if ids:
        session.execute(delete(alert_table).where(alert_table.c.message_id.in_(ids)))
        session.execute(delete(messages).where(messages.c.message_id.in_(ids)))
    for table in tables_with_case_id:
        session.execute(delete(table).where(table.c.case_id == case_id))
    return len(ids)


def owners_of_case(session: Session, case_id: str) -> set[str]:
    """The accounts with a Postfach message about the case."""
    return set(session.scalars(select(messages.c.owner_id).where(messages.c.case_id == case_id).distinct()))


def has_case_messages(session: Session, owner_id: str) -> bool:
    """Whether a case of the owner is still kept here (each submitted case has its receipt message)."""
    found = select(messages.c.message_id).where(messages.c.owner_id == owner_id, messages.c.case_id.is_not(None))
    return session.execute(found.limit(1)).first() is not None
