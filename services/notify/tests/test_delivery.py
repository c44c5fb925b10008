"""The day a Bescheid in the Postfach counts as delivered (§ 37 (2a) SGB X)."""

from datetime import date

import pytest

from services.notify.delivery import legal_delivery_date


@pytest.mark.parametrize(
    ("alert_sent", "delivered"),
    [
        (date(2026, 11, 23), date(2026, 11, 27)),  # Monday → Friday
        (date(2026, 11, 26), date(2026, 11, 30)),  # Thursday → Monday (the 4th day is a Monday)
        (date(2026, 11, 25), date(2026, 11, 30)),  # Wednesday → Sunday → Monday
        (date(2026, 11, 24), date(2026, 11, 30)),  # Tuesday → Saturday → Monday, and a month end
        (date(2027, 2, 25), date(2027, 3, 1)),  # across the end of February
        (date(2028, 2, 25), date(2028, 2, 29)),  # a leap day is a Tuesday, a working day
        (date(2026, 12, 22), date(2026, 12, 28)),  # Saturday 26th is also a holiday; Sunday; → Monday
        (date(2026, 12, 28), date(2027, 1, 4)),  # 1 January (holiday), weekend → Monday 4th, new year
        (date(2027, 3, 24), date(2027, 3, 30)),  # Easter Sunday 28 March 2027 → Easter Monday → Tuesday
        (date(2027, 3, 22), date(2027, 3, 30)),  # Good Friday → Saturday → Sunday → Easter Monday → Tuesday
    ],
)
def test_the_fourth_day_after_the_alert_moved_to_a_working_day(alert_sent, delivered):
    assert legal_delivery_date(alert_sent) == delivered
