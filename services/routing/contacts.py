"""How citizens reach a Jobcenter: its postal address, a visitors' address, telephone, e-mail, opening hours.

The register (a federal regulation's list) names Jobcenters and their areas but no addresses; each
Jobcenter's team lead or an admin sets them in the back office. Public institutional data, not personal
data: shown in the finder, on "Mein Jobcenter" and in the letterhead of the Eingangsbestätigung. Who set
them and when is kept beside them (``updated_by``, ``updated_at``), never shown to the public.

The answer's shape (``contact``)::

    {"postal_address": {"street", "postcode", "city"}, "visitor_address": {...} or None,
     "phone": str or None, "email": str or None, "opening_hours": str or None, "updated_at": ISO time}
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from nameko.extensions import DependencyProvider
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.routing.schema import jobcenter_contacts
from shared.errors import InvalidInput
from shared.sql import make_engine, migrate, migrations_of
from shared.text import checked_text

STREET_MAX_LENGTH = 100
CITY_MAX_LENGTH = 80
PHONE_MAX_LENGTH = 30
EMAIL_MAX_LENGTH = 254
OPENING_HOURS_MAX_LENGTH = 500
POSTCODE = re.compile(r"[0-9]{5}")
# Digits with the separators German numbers are written with: "030 5555 1234", "+49 (30) 5555-1234".
PHONE = re.compile(r"\+?[0-9 ()/-]+")
# One @, something before it, a domain with a dot after it, nothing invisible or blank anywhere.
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
ADDRESS_FIELDS = ("street", "postcode", "city")
FIELDS = ("postal_address", "visitor_address", "phone", "email", "opening_hours")
ADDRESS_LABELS = {"street": "Straße und Hausnummer", "postcode": "Postleitzahl", "city": "Ort"}
VISITOR_LABELS = {"street": "Besuchsanschrift: Straße und Hausnummer", "postcode": "Besuchsanschrift: Postleitzahl",
                  "city": "Besuchsanschrift: Ort"}  # fmt: skip


def checked_contact(given: Any) -> dict[str, Any]:
    """``given`` as stored: stripped, the optional parts None when left empty.

    Raises InvalidInput naming the field (``details.field``, dotted for an address part:
    ``postal_address.postcode``): ``CONTACT_INVALID`` (not an object, an unknown field, a value that is no
    text), ``FIELD_REQUIRED``, ``POSTCODE_INVALID``, ``PHONE_INVALID``, ``EMAIL_INVALID``, ``TEXT_TOO_LONG``,
    ``HIDDEN_CHARACTERS``.
    """
    if not isinstance(given, dict):
        raise InvalidInput("CONTACT_INVALID", "Diese Angaben können wir nicht lesen.", {"field": "contact"})
    for name in given:
        if name not in FIELDS:
            raise InvalidInput("CONTACT_INVALID", "Diese Angabe gibt es nicht.", {"field": str(name)[:50]})
    postal = _address(given.get("postal_address"), "postal_address", ADDRESS_LABELS)
    visitor = given.get("visitor_address")
    visitor = None if _left_empty(visitor) else _address(visitor, "visitor_address", VISITOR_LABELS)
    phone = _optional(given, "phone", "Telefon", PHONE_MAX_LENGTH, multiline=False)
    if phone is not None and not (PHONE.fullmatch(phone) and sum(char.isdigit() for char in phone) >= 3):
        raise InvalidInput("PHONE_INVALID", "Bitte geben Sie die Telefonnummer mit Ziffern an, getrennt höchstens "
                           "durch Leerzeichen, + / - oder Klammern.", {"field": "phone"})  # fmt: skip
    email = _optional(given, "email", "E-Mail-Adresse", EMAIL_MAX_LENGTH, multiline=False)
    if email is not None and not EMAIL.fullmatch(email):
        raise InvalidInput("EMAIL_INVALID", "Bitte geben Sie eine E-Mail-Adresse wie post@jobcenter.example an.",
                           {"field": "email"})  # fmt: skip
    return {
        "postal_address": postal,
        "visitor_address": visitor,
        "phone": phone,
        "email": email,
        "opening_hours": _optional(given, "opening_hours", "Öffnungszeiten", OPENING_HOURS_MAX_LENGTH),
    }


def _left_empty(value: Any) -> bool:
    """No visitors' address: none given, or every part of it left blank."""
    if value is None:
        return True
    return isinstance(value, dict) and all(not str(value.get(name) or "").strip() for name in ADDRESS_FIELDS)


def _address(value: Any, field: str, labels: dict[str, str]) -> dict[str, str]:
    if value is None:
        value = {}
    if not isinstance(value, dict) or any(name not in ADDRESS_FIELDS for name in value):
        raise InvalidInput("CONTACT_INVALID", "Diese Anschrift können wir nicht lesen.", {"field": field})
    for name in ADDRESS_FIELDS:
        if value.get(name) is not None and not isinstance(value[name], str):
            raise InvalidInput("CONTACT_INVALID", "Diese Angabe können wir nicht lesen.", {"field": f"{field}.{name}"})
    street = checked_text(value.get("street"), f"{field}.street", labels["street"], STREET_MAX_LENGTH, False)
    postcode = checked_text(value.get("postcode"), f"{field}.postcode", labels["postcode"], 20, False)
    if not POSTCODE.fullmatch(postcode):
        raise InvalidInput("POSTCODE_INVALID", "Die Postleitzahl hat 5 Ziffern.", {"field": f"{field}.postcode"})
    city = checked_text(value.get("city"), f"{field}.city", labels["city"], CITY_MAX_LENGTH, False)
    return {"street": street, "postcode": postcode, "city": city}


def _optional(given: dict[str, Any], field: str, label: str, max_length: int, multiline: bool = True) -> str | None:
    """A field that may be left out or empty (None); else text as ``checked_text`` allows it."""
    value = given.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidInput("CONTACT_INVALID", "Diese Angabe können wir nicht lesen.", {"field": field})
    return checked_text(value, field, label, max_length, multiline)


class JobcenterContacts:
    """The contact details of the Jobcenters, in ``routing_jobcenter_contacts``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = jobcenter_contacts

    def get(self, jobcenter_id: str) -> dict[str, Any] | None:
        """The Jobcenter's contact details as the public sees them; None while nobody has set them."""
        with self.engine.connect() as connection:
            row = connection.execute(select(self.table).where(self.table.c.jobcenter_id == jobcenter_id)).first()
        return None if row is None else as_contact(row._mapping)

    def set(self, jobcenter_id: str, contact: dict[str, Any], actor_id: str) -> dict[str, Any]:
        """Store checked contact details (``checked_contact``) with who set them and when; returns them."""
        visitor = contact["visitor_address"] or {}
        values = {
            "jobcenter_id": jobcenter_id,
            **{f"postal_{name}": contact["postal_address"][name] for name in ADDRESS_FIELDS},
            **{f"visitor_{name}": visitor.get(name) for name in ADDRESS_FIELDS},
            "phone": contact["phone"],
            "email": contact["email"],
            "opening_hours": contact["opening_hours"],
            "updated_by": actor_id,
            "updated_at": datetime.now(UTC),
        }
        dialect_insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = dialect_insert(self.table).values(**values)
        changed = {name: statement.excluded[name] for name in values if name != "jobcenter_id"}
        with self.engine.begin() as connection:
            connection.execute(statement.on_conflict_do_update(index_elements=["jobcenter_id"], set_=changed))
        stored = self.get(jobcenter_id)
        assert stored is not None
        return stored


def as_contact(row: Any) -> dict[str, Any]:
    visitor = {name: row[f"visitor_{name}"] for name in ADDRESS_FIELDS}
    updated_at = row["updated_at"]
    if updated_at.tzinfo is None:  # SQLite keeps no offset: the time was stored in UTC
        updated_at = updated_at.replace(tzinfo=UTC)
    return {
        "postal_address": {name: row[f"postal_{name}"] for name in ADDRESS_FIELDS},
        "visitor_address": visitor if visitor["street"] else None,
        "phone": row["phone"],
        "email": row["email"],
        "opening_hours": row["opening_hours"],
        "updated_at": updated_at.isoformat(),
    }


class ContactStore(DependencyProvider):
    """The contact details in routing's database (``DATABASE_URL``), whose schema routing's history owns."""

    def setup(self) -> None:
        engine = make_engine(str(self.container.config["DATABASE_URL"]))
        migrate(engine, migrations_of("routing"), "routing")  # a no-op after the migrate step
        self.contacts = JobcenterContacts(engine)

    def stop(self) -> None:
        self.contacts.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> JobcenterContacts:
        return self.contacts
