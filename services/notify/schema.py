"""Every SQL table of the notify service in one ``metadata``, owned by the Alembic history in ``migrations/``.

Each module declares its own table (``postfach.py``, ``consent.py``, ...); this module gathers them,
with the record of processed events, so that the migrations and the check that they match the code
(``tests/upgrade``) see the whole schema. A change to a table goes with a new revision (docs/migrations.md).
"""

from __future__ import annotations

from services.notify import alerts, consent, feedback, postfach, reminders, staff
from shared.sql import processed_events_table

metadata = postfach.metadata
consent_table, consent_history = consent.add_tables(metadata)
alert_table = alerts.add_table(metadata)
reminder_table = reminders.add_table(metadata)
staff_alert_table = staff.add_table(metadata)
feedback_table = feedback.add_table(metadata)
processed_events = processed_events_table(metadata, "notify")
