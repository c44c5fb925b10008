"""When a Bescheid delivered through the Postfach counts as delivered (Bekanntgabe).

§ 37 (2a) SGB X: an administrative act provided for retrieval counts as made known on the fourth
day after the notice that it is ready was sent. Following the social courts' reading of § 26 (3)
SGB X, a date that falls on a Saturday, Sunday or a public holiday moves to the next working day.
Only nationwide holidays are used, because the Land of each Jobcenter is not known here yet.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays

DAYS_AFTER_NOTICE = 4


@cache
def _nationwide_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _nationwide_holidays(day.year)


def legal_delivery_date(notice_sent_on: date) -> date:
    """The day a Bescheid counts as delivered, given the day its alert was sent."""
    day = notice_sent_on + timedelta(days=DAYS_AFTER_NOTICE)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
