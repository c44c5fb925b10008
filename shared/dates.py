"""The calendar day in Germany: deadlines, due dates and "today" follow German time, not the server's zone.

Containers run in UTC: between midnight in Germany and midnight UTC, ``date.today()`` is still
yesterday there (docs/traps.md).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

GERMANY = ZoneInfo("Europe/Berlin")


def german_today() -> date:
    return datetime.now(GERMANY).date()
