"""How submitted answers read for people - the one place for the receipt PDF and the staff case page.

Every answer is shown with the form's own words: the field's ``title`` as its label, a coded option
by its ``x-option-titles`` entry (``09`` reads "Treptow-Köpenick", ``arbeitsaufnahme`` "Ich habe eine
Arbeit aufgenommen"), dates as ``01.01.2027``, amounts (``format: euro``) as ``1.850,00 €``, other
numbers with a decimal comma (``38,5``), yes and no as "Ja" and "Nein". A list of people or other
objects becomes one numbered entry per item, each with its own labelled fields. A value the schema
does not describe (a form changed since) is shown as it is, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

MISSING = "-"


@dataclass(frozen=True)
class Shown:
    """One answer as people read it: a label and its text, or entries (one per item of a list of objects)."""

    name: str  # the field's key in the form
    label: str
    text: str
    entries: tuple[tuple[Shown, ...], ...] = ()


def present_section(schema: dict[str, Any], values: dict[str, Any]) -> list[Shown]:
    """The answers of one section in the order of the form, then any the form no longer describes."""
    properties: dict[str, Any] = schema.get("properties", {})
    ordered = [name for name in properties if name in values] + [name for name in values if name not in properties]
    return [present_field(name, properties.get(name, {}), values[name]) for name in ordered]


def present_field(name: str, schema: dict[str, Any], value: Any) -> Shown:
    label = str(schema.get("title") or name)
    items = _items(schema)
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        entries = tuple(tuple(present_section(items, item)) for item in value)
        return Shown(name, label, f"{len(value)} {'Eintrag' if len(value) == 1 else 'Einträge'}", entries)
    if isinstance(value, dict):
        return Shown(name, label, "", (tuple(present_section(schema, value)),))
    return Shown(name, label, present_value(schema, value))


def present_value(schema: dict[str, Any], value: Any) -> str:
    """One value as text, formatted as its schema says."""
    if value is None or value == "" or value == []:
        return MISSING
    if value is True:
        return "Ja"
    if value is False:
        return "Nein"
    if isinstance(value, list):
        return ", ".join(present_value(_items(schema), item) for item in value)
    titles = schema.get("x-option-titles") or {}
    if str(value) in titles:
        return str(titles[str(value)])
    if isinstance(value, int | float):
        return euro(value) if schema.get("format") == "euro" else german_number(value)
    if isinstance(value, str) and schema.get("format") == "date":
        return german_date(value)
    return str(value)


def _items(schema: dict[str, Any]) -> dict[str, Any]:
    items = schema.get("items")
    return items if isinstance(items, dict) else {}


def german_date(iso: str) -> str:
    """``2027-01-01`` -> ``01.01.2027``; anything else stays as it is."""
    try:
        return date.fromisoformat(iso).strftime("%d.%m.%Y")
    except ValueError:
        return iso


def euro(amount: float | int | str) -> str:
    """``1850.0`` -> ``1.850,00 €`` (rounded half up to the cent)."""
    try:
        cents = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(amount)
    return f"{_grouped(cents, 2)} €"


def german_number(number: float | int) -> str:
    """``38.5`` -> ``38,5``, ``40.0`` -> ``40``, ``12000`` -> ``12.000``."""
    value = Decimal(str(number))
    if value == value.to_integral_value():
        return _grouped(value.to_integral_value(), 0)
    return _grouped(value.normalize(), max(0, -int(value.normalize().as_tuple().exponent)))


def _grouped(value: Decimal, places: int) -> str:
    english = f"{value:,.{places}f}"  # 1,850.00
    return english.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def option_titles_by_field(schemas: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Every field's ``x-option-titles`` found in ``schemas`` (and their nested objects and lists), by field name.

    For the pages that show a coded option outside a form (the finder's Bezirk, the inbox's filter by
    what a VÄM reports). A field of the same name means the same codes in every form.
    """
    found: dict[str, dict[str, str]] = {}

    def walk(name: str, schema: Any) -> None:
        if not isinstance(schema, dict):
            return
        titles = schema.get("x-option-titles") or (schema.get("items") or {}).get("x-option-titles")
        if titles:
            found.setdefault(name, {}).update({str(code): str(title) for code, title in titles.items()})
        for child, child_schema in (schema.get("properties") or {}).items():
            walk(child, child_schema)
        if isinstance(schema.get("items"), dict):
            for child, child_schema in (schema["items"].get("properties") or {}).items():
                walk(child, child_schema)

    for schema in schemas:
        walk("", schema)
    return found
