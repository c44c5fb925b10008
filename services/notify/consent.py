"""Consent per channel: each on its own, changeable at any time, every change recorded.

When the citizen deletes their account, every consent is withdrawn (``ACCOUNT_DELETED`` records who
changed it). The record is then the proof that Bescheide were delivered through the Postfach with
consent (§ 37 Absatz 2a SGB X, Art. 7 Absatz 1 DSGVO), needed as long as a case of the account is kept:
it is deleted as soon as the account has no kept case, at once or when its last case is erased.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from shared.errors import InvalidInput

# ``changed_by`` of the withdrawals made when the account was deleted.
ACCOUNT_DELETED = "account_deleted"


class Channel(StrEnum):
    # Bescheide delivered digitally through the Postfach (otherwise: on paper, with a Postfach copy).
    POSTFACH_BESCHEIDE = "postfach_bescheide"
    # "There is something new in your Postfach" by e-mail.
    EMAIL_ALERTS = "email_alerts"
    # Letters on paper as well.
    PAPER = "paper"


def parse_channel(channel: str) -> Channel:
    try:
        return Channel(channel)
    except ValueError:
        raise InvalidInput("CHANNEL_UNKNOWN", "Diesen Weg der Zustellung gibt es nicht.") from None


def add_tables(metadata: MetaData) -> tuple[Table, Table]:
    current = Table(
        "notify_consents",
        metadata,
        Column("owner_id", String(64), primary_key=True),
        Column("channel", String(40), primary_key=True),
        Column("granted", Boolean, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False),
    )
    history = Table(
        "notify_consent_changes",
        metadata,
        Column("change_id", Integer, primary_key=True, autoincrement=True),
        Column("owner_id", String(64), nullable=False, index=True),
        Column("channel", String(40), nullable=False),
        Column("granted", Boolean, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False),
        Column("changed_by", String(64), nullable=False),
    )
    return current, history


class Consents:
    """Reads and changes consents; no consent recorded means not granted."""

    def __init__(self, current: Table, history: Table) -> None:
        self.current = current
        self.history = history

    def set(self, session: Session, owner_id: str, channel: str, granted: bool, changed_by: str) -> None:
        which = parse_channel(channel)
        now = datetime.now(UTC)
        existing = session.execute(
            select(self.current.c.granted).where(self.current.c.owner_id == owner_id, self.current.c.channel == which)
        ).first()
        if existing is None:
            session.execute(
                self.current.insert().values(owner_id=owner_id, channel=which, granted=granted, changed_at=now)
            )
        else:
            session.execute(
                self.current.update()
                .where(self.current.c.owner_id == owner_id, self.current.c.channel == which)
                .values(granted=granted, changed_at=now)
            )
        session.execute(
            self.history.insert().values(
                owner_id=owner_id, channel=which, granted=granted, changed_at=now, changed_by=changed_by
            )
        )

    def granted(self, session: Session, owner_id: str, channel: Channel) -> bool:
        row = session.execute(
            select(self.current.c.granted).where(self.current.c.owner_id == owner_id, self.current.c.channel == channel)
        ).first()
        return bool(row and row[0])

    def all_of(self, session: Session, owner_id: str) -> dict[str, Any]:
        rows = session.execute(select(self.current).where(self.current.c.owner_id == owner_id)).mappings()
        found = {row["channel"]: row for row in rows}
        return {
            channel.value: {
                "granted": bool(found[channel.value]["granted"]) if channel.value in found else False,
                "changed_at": found[channel.value]["changed_at"].isoformat() if channel.value in found else None,
            }
            for channel in Channel
        }

    def changes_of(self, session: Session, owner_id: str) -> list[dict[str, Any]]:
        rows = session.execute(
            select(self.history).where(self.history.c.owner_id == owner_id).order_by(self.history.c.change_id)
        ).mappings()
        return [
            {
                "channel": row["channel"],
                "granted": row["granted"],
                "changed_at": row["changed_at"].isoformat(),
                "changed_by": row["changed_by"],
            }
            for row in rows
        ]

    def withdraw_for_deleted_account(self, session: Session, owner_id: str) -> None:
        """Withdraw every consent of a deleted account (idempotent), recorded as ``ACCOUNT_DELETED``."""
        if self.account_deleted(session, owner_id):
            return
        for channel in Channel:
            self.set(session, owner_id, channel, False, changed_by=ACCOUNT_DELETED)

    def account_deleted(self, session: Session, owner_id: str) -> bool:
        """Whether the owner's last recorded change is the withdrawal at the account's deletion."""
        last = session.execute(
            select(self.history.c.changed_by)
            .where(self.history.c.owner_id == owner_id)
            .order_by(self.history.c.change_id.desc())
            .limit(1)
        ).first()
        return last is not None and last[0] == ACCOUNT_DELETED

    def forget(self, session: Session, owner_id: str) -> None:
        """Delete the owner's consents and their whole history."""
        session.execute(delete(self.current).where(self.current.c.owner_id == owner_id))
        session.execute(delete(self.history).where(self.history.c.owner_id == owner_id))
