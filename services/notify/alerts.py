"""E-mail alerts: one per event, queued in the same transaction that posts the message, sent with retries.

An alert says only that there is something new in the Postfach, with a link: no names, no
amounts, no case content, no case ids. The recipient's address is asked of identity at sending
time and never stored here. Each queued alert is claimed before it is sent (``pending`` →
``sending``) so that two instances never send the same one; a failure puts it back with a growing
pause; after the last attempt it is ``dead`` until an operator replays it. A claim that never
finished (the process died while sending) becomes ``unknown``: it is not sent again on its own,
so a citizen gets at most one e-mail per event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, select, update
from sqlalchemy.orm import Session

from services.notify import postfach
from shared.metrics import MAILS

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECTS = {"de": "Neues in Ihrem Jobcenter-Postfach", "en": "New in your Jobcenter inbox"}
STALE_CLAIM = timedelta(minutes=10)

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def add_table(metadata: MetaData) -> Table:
    return Table(
        "notify_mail_alerts",
        metadata,
        Column("alert_id", String(36), primary_key=True),
        # One alert per event: a redelivered event finds its alert already queued.
        Column("event_id", String(80), nullable=False, unique=True),
        Column("owner_id", String(64), nullable=False),
        Column("message_id", String(36), nullable=True),
        Column("is_bescheid", Integer, nullable=False, default=0),
        Column("state", String(10), nullable=False, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("claimed_at", DateTime(timezone=True), nullable=True),
        Column("last_error", String(60), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
    )


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


ContactLookup = Callable[[str], dict[str, Any] | None]


def render_alert(locale: str, portal_url: str) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the alert in ``locale`` (German unless English)."""
    language = "en" if locale == "en" else "de"
    values = {"portal_url": portal_url.rstrip("/")}
    text = _templates.get_template(f"alert.{language}.txt.j2").render(values)
    html = _templates.get_template(f"alert.{language}.html.j2").render(values)
    return SUBJECTS[language], text, html


class AlertQueue:
    """Queue and send the e-mail alerts of one notify instance."""

    def __init__(self, table: Table, max_attempts: int, portal_url: str) -> None:
        self.table = table
        self.max_attempts = max_attempts
        self.portal_url = portal_url

    def queue(
        self, session: Session, event_id: str, owner_id: str, message_id: str | None, is_bescheid: bool = False
    ) -> None:
        """Queue one alert for an event (call inside the transaction that handles the event)."""
        now = datetime.now(UTC)
        session.execute(
            self.table.insert().values(
                alert_id=str(uuid.uuid4()),
                event_id=event_id,
                owner_id=owner_id,
                message_id=message_id,
                is_bescheid=int(is_bescheid),
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    def send_due(self, engine: Engine, mailer: Mailer, contact_of: ContactLookup, now: datetime | None = None) -> int:
        """Send every alert whose time has come; returns how many were sent."""
        moment = now or datetime.now(UTC)
        self._give_up_stale_claims(engine, moment)
        with Session(engine) as session:
            due = session.execute(
                select(self.table.c.alert_id)
                .where(self.table.c.state == "pending", self.table.c.next_attempt_at <= moment)
                .order_by(self.table.c.created_at)
                .limit(100)
            ).scalars()
            candidates = list(due)
        sent = 0
        for alert_id in candidates:
            if self._claim(engine, alert_id, moment):
                sent += self._send_one(engine, mailer, contact_of, alert_id, moment)
        return sent

    def replay(self, engine: Engine) -> int:
        """Operator action: put dead and unknown alerts back in the queue; returns how many."""
        with engine.begin() as connection:
            result = connection.execute(
                update(self.table)
                .where(self.table.c.state.in_(("dead", "unknown")))
                .values(state="pending", attempts=0, next_attempt_at=datetime.now(UTC), claimed_at=None)
            )
        return int(result.rowcount)

    def counts(self, engine: Engine) -> dict[str, int]:
        with Session(engine) as session:
            rows = session.execute(select(self.table.c.state)).scalars()
            counts: dict[str, int] = {}
            for state in rows:
                counts[state] = counts.get(state, 0) + 1
        return counts

    def _claim(self, engine: Engine, alert_id: str, moment: datetime) -> bool:
        with engine.begin() as connection:
            result = connection.execute(
                update(self.table)
                .where(self.table.c.alert_id == alert_id, self.table.c.state == "pending")
                .values(state="sending", claimed_at=moment)
            )
        return bool(result.rowcount == 1)

    def _send_one(
        self, engine: Engine, mailer: Mailer, contact_of: ContactLookup, alert_id: str, moment: datetime
    ) -> int:
        with Session(engine) as session:
            alert = session.execute(select(self.table).where(self.table.c.alert_id == alert_id)).mappings().one()
        try:
            contact = contact_of(alert["owner_id"])
            if not contact or not contact.get("email"):
                self._finish(engine, alert_id, "dead", alert["attempts"] + 1, "NO_ADDRESS", moment)
                log.warning("alert_without_address", extra={"account_id": alert["owner_id"]})
                return 0
            subject, text, html = render_alert(str(contact.get("locale") or "de"), self.portal_url)
            message = EmailMessage()
            message["To"] = contact["email"]
            message["Subject"] = subject
            message["Message-ID"] = f"<{alert_id}@jobcenter-portal.invalid>"
            message.set_content(text)
            message.add_alternative(html, subtype="html")
            mailer.send(message)
        except Exception as problem:  # the relay or identity is down: try again later
            attempts = alert["attempts"] + 1
            if attempts >= self.max_attempts:
                MAILS.labels("dead").inc()
                self._finish(engine, alert_id, "dead", attempts, type(problem).__name__, moment)
                log.error("alert_dead", extra={"event_id": alert["event_id"], "attempt": attempts})
            else:
                pause = min(timedelta(seconds=30 * 2 ** (attempts - 1)), timedelta(hours=1))
                with engine.begin() as connection:
                    connection.execute(
                        update(self.table)
                        .where(self.table.c.alert_id == alert_id)
                        .values(
                            state="pending",
                            attempts=attempts,
                            next_attempt_at=moment + pause,
                            last_error=type(problem).__name__[:60],
                            claimed_at=None,
                        )
                    )
                MAILS.labels("retry").inc()
                log.warning("alert_retry_scheduled", extra={"event_id": alert["event_id"], "attempt": attempts})
            return 0
        with Session(engine) as session, session.begin():
            session.execute(
                update(self.table)
                .where(self.table.c.alert_id == alert_id)
                .values(state="sent", attempts=alert["attempts"] + 1, sent_at=moment)
            )
            if alert["message_id"]:
                postfach.record_alert(session, alert["message_id"], moment)
        MAILS.labels("sent").inc()
        log.info("alert_sent", extra={"event_id": alert["event_id"]})
        return 1

    def _finish(self, engine: Engine, alert_id: str, state: str, attempts: int, error: str, moment: datetime) -> None:
        with engine.begin() as connection:
            connection.execute(
                update(self.table)
                .where(self.table.c.alert_id == alert_id)
                .values(state=state, attempts=attempts, last_error=error[:60], claimed_at=None)
            )

    def _give_up_stale_claims(self, engine: Engine, moment: datetime) -> None:
        with engine.begin() as connection:
            connection.execute(
                update(self.table)
                .where(self.table.c.state == "sending", self.table.c.claimed_at < moment - STALE_CLAIM)
                .values(state="unknown")
            )
