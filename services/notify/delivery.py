"""When a Bescheid provided in the Postfach counts as made known (Bekanntgabe), and until when it can be appealed.

The rules of § 37 (2a) SGB X for an administrative act provided for retrieval through a portal, as in
force since 1 January 2025 (the Postrechtsmodernisierungsgesetz moved the fiction from the third to the
fourth day):

- Sentence 4: with an electronic notice that it is ready, the act counts as made known on the
  **fourth day after the notice was sent**.
- Sentences 5 to 7: if the citizen denies having received the notice (credibly, or not within the
  days the fiction allows) and the Jobcenter cannot prove its receipt, the act counts as made known
  on the **day it was retrieved**.
- Without any notice there is nothing for the fiction to run from: the act is made known when it is
  retrieved. Until then it is not made known at all, and the Jobcenter has to make it known another
  way (sentence 8: a new provision or another way of Bekanntgabe stays possible) - such a Bescheid
  is shown to its caseworkers once ``RETRIEVAL_EXPECTED_WITHIN`` has passed.

The fourth day is a fiction, not a time limit in the sense of § 26 SGB X, so it is not moved off a
Saturday, Sunday or public holiday (BSG, 9 December 2008, B 8/9b SO 13/07 R; Bayerisches LSG,
11 May 2022, L 2 U 140/13). What moves is the end of the one-month time limit for a Widerspruch
(§ 84 (1) SGG), computed by § 64 SGG: a month after the day of Bekanntgabe, at the latest on the last
day of a shorter month, and to the next working day when it ends on a Saturday, Sunday or public
holiday (§ 64 (3) SGG). Only nationwide holidays are used: the Land of the Jobcenter is not known here.

Every rule of the portal about these dates lives in this module.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

import holidays

# § 37 (2a) sentence 4 SGB X: the fourth day after the notice was sent.
DAYS_AFTER_NOTICE = 4
# After how many days without a retrieval (and without a notice the fiction can run from) the
# Jobcenter is shown that the Bescheid needs another way of Bekanntgabe.
RETRIEVAL_EXPECTED_WITHIN = timedelta(days=7)


class Basis(StrEnum):
    """Why a Bescheid counts as made known on its date - or why it does not yet."""

    NOTICE = "notice"  # § 37 (2a) sentence 4: the fourth day after the notice
    RETRIEVAL = "retrieval"  # § 37 (2a) sentences 6 and 7, or no notice: the day of retrieval
    PAPER = "paper"  # not provided digitally: made known by the letter, outside the portal
    PENDING = "pending"  # not retrieved and no notice to run from: not made known yet


@dataclass(frozen=True)
class Provision:
    """What is known about one Bescheid provided in a citizen's Postfach."""

    provided_on: date
    digital: bool  # the citizen consented to Bescheide in the Postfach (§ 37 (2a) sentence 1)
    notice_sent_on: date | None = None  # the e-mail telling that it is ready
    retrieved_on: date | None = None  # the first download by the citizen
    notice_denied: bool = False  # the Jobcenter recorded that the notice's receipt is denied


@dataclass(frozen=True)
class Bekanntgabe:
    basis: Basis
    made_known_on: date | None
    appeal_until: date | None
    # True when the Jobcenter must make it known another way: not retrieved, nothing to run from.
    needs_other_delivery: bool


def assess(provision: Provision, today: date) -> Bekanntgabe:
    """The day of Bekanntgabe of one provided Bescheid as far as it is known ``today``."""
    if not provision.digital:
        return Bekanntgabe(Basis.PAPER, None, None, needs_other_delivery=False)
    if provision.notice_sent_on is not None and not provision.notice_denied:
        day = notice_fiction(provision.notice_sent_on)
        # Before the fourth day an earlier retrieval changes nothing: the fiction's day counts.
        return Bekanntgabe(Basis.NOTICE, day, appeal_deadline(day), needs_other_delivery=False)
    if provision.retrieved_on is not None:
        day = provision.retrieved_on
        return Bekanntgabe(Basis.RETRIEVAL, day, appeal_deadline(day), needs_other_delivery=False)
    overdue = today - provision.provided_on >= RETRIEVAL_EXPECTED_WITHIN
    return Bekanntgabe(Basis.PENDING, None, None, needs_other_delivery=overdue)


def notice_fiction(notice_sent_on: date) -> date:
    """§ 37 (2a) sentence 4 SGB X: the fourth day after the notice, whatever day of the week it is."""
    return notice_sent_on + timedelta(days=DAYS_AFTER_NOTICE)


def appeal_deadline(made_known_on: date) -> date:
    """The last day for a Widerspruch: one month (§ 84 (1) SGG), counted and moved as § 64 SGG says."""
    year, month = (made_known_on.year, made_known_on.month + 1)
    if month == 13:
        year, month = year + 1, 1
    # § 64 (2) SGG: the day of the next month with the same number, or that month's last day.
    day = date(year, month, min(made_known_on.day, calendar.monthrange(year, month)[1]))
    while not is_working_day(day):  # § 64 (3) SGG
        day += timedelta(days=1)
    return day


@cache
def _nationwide_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _nationwide_holidays(day.year)
