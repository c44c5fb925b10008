"""The day a Bescheid provided in the Postfach counts as made known, and the last day to appeal it.

§ 37 (2a) SGB X (as in force since 1 January 2025), § 84 (1) and § 64 SGG; see services/notify/delivery.py.
"""

from datetime import date

import pytest

from services.notify.delivery import (
    RETRIEVAL_EXPECTED_WITHIN,
    Basis,
    Provision,
    appeal_deadline,
    assess,
    notice_fiction,
)

PROVIDED = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("notice_sent", "made_known"),
    [
        (date(2026, 11, 23), date(2026, 11, 27)),  # Monday -> Friday
        (date(2026, 11, 24), date(2026, 11, 28)),  # Tuesday -> Saturday: stays a Saturday
        (date(2026, 11, 25), date(2026, 11, 29)),  # Wednesday -> Sunday: stays a Sunday
        (date(2026, 12, 22), date(2026, 12, 26)),  # -> 2nd Christmas day, a Saturday: stays
        (date(2026, 12, 28), date(2027, 1, 1)),  # -> New Year's day, into the next year
        (date(2027, 2, 25), date(2027, 3, 1)),  # across the end of February
        (date(2028, 2, 25), date(2028, 2, 29)),  # to a leap day
        (date(2027, 3, 22), date(2027, 3, 26)),  # -> Good Friday: stays
    ],
)
def test_section_37_2a_sentence_4_the_fourth_day_after_the_notice_even_on_a_weekend_or_holiday(notice_sent, made_known):
    # The fourth day is a fiction, not a time limit of § 26 SGB X (BSG B 8/9b SO 13/07 R).
    assert notice_fiction(notice_sent) == made_known
    known = assess(Provision(provided_on=notice_sent, digital=True, notice_sent_on=notice_sent), notice_sent)
    assert (known.basis, known.made_known_on, known.needs_other_delivery) == (Basis.NOTICE, made_known, False)


@pytest.mark.parametrize(
    ("made_known", "last_day"),
    [
        (date(2026, 11, 27), date(2026, 12, 28)),  # 27 December 2026 is a Sunday -> Monday (§ 64 (3) SGG)
        (date(2026, 11, 24), date(2026, 12, 24)),  # Christmas Eve is a working day
        (date(2026, 11, 28), date(2026, 12, 28)),  # made known on a Saturday: counting starts the same
        (date(2027, 1, 31), date(2027, 3, 1)),  # no 31 February: 28 February (§ 64 (2) SGG), a Sunday -> Monday
        (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year's last day of February, a Tuesday
        (date(2027, 2, 26), date(2027, 3, 30)),  # Good Friday, Saturday, Easter Sunday and Monday -> Tuesday
        (date(2027, 4, 1), date(2027, 5, 3)),  # 1 May 2027, a Saturday and a holiday -> Monday
        (date(2026, 12, 1), date(2027, 1, 4)),  # 1 January 2027 is a Friday and a holiday; then the weekend
        (date(2026, 12, 26), date(2027, 1, 26)),  # across the year
    ],
)
def test_the_month_to_appeal_ends_on_a_working_day_section_84_and_64_sgg(made_known, last_day):
    assert appeal_deadline(made_known) == last_day


def test_section_37_2a_an_earlier_retrieval_does_not_move_the_fourth_day():
    provision = Provision(PROVIDED, True, notice_sent_on=PROVIDED, retrieved_on=PROVIDED)
    assert assess(provision, PROVIDED).made_known_on == date(2026, 11, 27)


def test_section_37_2a_without_a_notice_the_day_of_retrieval_counts():
    retrieved = date(2026, 11, 29)  # a Sunday: the day of retrieval is what it is
    known = assess(Provision(PROVIDED, True, retrieved_on=retrieved), date(2026, 12, 1))
    assert (known.basis, known.made_known_on, known.appeal_until) == (Basis.RETRIEVAL, retrieved, date(2026, 12, 29))


def test_section_37_2a_sentences_6_7_a_denied_notice_leaves_the_day_of_retrieval():
    retrieved = date(2026, 12, 2)
    denied = Provision(PROVIDED, True, notice_sent_on=PROVIDED, retrieved_on=retrieved, notice_denied=True)
    assert assess(denied, date(2026, 12, 10)).made_known_on == retrieved
    not_retrieved = Provision(PROVIDED, True, notice_sent_on=PROVIDED, notice_denied=True)
    known = assess(not_retrieved, date(2026, 12, 10))
    assert (known.basis, known.made_known_on, known.needs_other_delivery) == (Basis.PENDING, None, True)


def test_section_37_2a_a_bescheid_neither_retrieved_nor_notified_goes_to_the_caseworker_after_a_week():
    provision = Provision(PROVIDED, True)
    day_before = PROVIDED + RETRIEVAL_EXPECTED_WITHIN - (date(2026, 1, 2) - date(2026, 1, 1))
    assert assess(provision, day_before).needs_other_delivery is False
    assert assess(provision, day_before).made_known_on is None
    assert assess(provision, PROVIDED + RETRIEVAL_EXPECTED_WITHIN).needs_other_delivery is True


def test_a_bescheid_on_paper_is_made_known_outside_the_portal():
    known = assess(Provision(PROVIDED, digital=False, retrieved_on=PROVIDED), date(2027, 1, 1))
    assert (known.basis, known.made_known_on, known.needs_other_delivery) == (Basis.PAPER, None, False)
