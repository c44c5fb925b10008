"""Growing, always temporary locks after failed attempts, per login name, per client address, per purpose.

After ``failures_before_lock`` failures the key is locked for ``lock_base_seconds``, and each
further failure doubles that, up to ``lock_max_seconds``: guessing becomes slow, yet a real user is
never locked out for longer than the cap, and a success clears the count. Keys are hashed, so the
table holds no e-mail or IP address, and an unknown address is throttled exactly like a known one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.identity.schema import throttles
from services.identity.settings import fingerprint
from shared.errors import Unauthenticated

# Failures older than this are forgotten, so that the occasional typo never adds up to a lock.
QUIET_PERIOD = timedelta(hours=24)


def key(kind: str, value: str) -> str:
    return f"{kind}:{fingerprint(kind + ':' + value)}"


def check(session: Session, keys: list[str]) -> None:
    """Raises Unauthenticated ``TOO_MANY_ATTEMPTS`` while any of ``keys`` is locked."""
    now = datetime.now(UTC)
    rows = session.execute(select(throttles).where(throttles.c.throttle_key.in_(keys))).mappings()
    waits = [_aware(row["locked_until"]) - now for row in rows if row["locked_until"] is not None]
    longest = max((wait for wait in waits if wait.total_seconds() > 0), default=None)
    if longest is not None:
        minutes = max(1, math.ceil(longest.total_seconds() / 60))
        raise Unauthenticated(
            "TOO_MANY_ATTEMPTS",
            f"Zu viele Fehlversuche. Bitte versuchen Sie es in {minutes} Minute(n) noch einmal.",
            {"retry_after_seconds": math.ceil(longest.total_seconds())},
        )


def fail(session: Session, throttle_key: str, threshold: int, base_seconds: int, max_seconds: int) -> None:
    """Count one failure against ``throttle_key`` and lock it once ``threshold`` failures are reached."""
    now = datetime.now(UTC)
    row = (
        session.execute(select(throttles).where(throttles.c.throttle_key == throttle_key).with_for_update())
        .mappings()
        .first()
    )
    failures = 1
    if row is not None and now - _aware(row["last_failure_at"]) < QUIET_PERIOD:
        failures = int(row["failures"]) + 1
    locked_until = None
    if failures >= threshold:
        seconds = min(max_seconds, base_seconds * 2 ** min(failures - threshold, 20))
        locked_until = now + timedelta(seconds=seconds)
    values = {"failures": failures, "last_failure_at": now, "locked_until": locked_until}
    if row is None:
        try:
            with session.begin_nested():
                session.execute(throttles.insert().values(throttle_key=throttle_key, **values))
        except IntegrityError:  # a concurrent first failure of the same key: count on top of it
            session.execute(
                throttles.update()
                .where(throttles.c.throttle_key == throttle_key)
                .values(failures=throttles.c.failures + 1, last_failure_at=now)
            )
    else:
        session.execute(throttles.update().where(throttles.c.throttle_key == throttle_key).values(**values))


def clear(session: Session, throttle_key: str) -> None:
    """Forget the failures of ``throttle_key`` (after a success, or when an operator releases it)."""
    session.execute(throttles.delete().where(throttles.c.throttle_key == throttle_key))


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
