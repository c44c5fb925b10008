"""Forms as versioned data: section schemas, conditions, German messages, the Nachweis checklist.

A form is a YAML file in ``forms/`` named ``<kind>-<version>.yaml``. Its sections are JSON Schemas
(draft 2020-12) whose fields carry German titles; ``applies_if`` and the ``nachweise`` rules use
conditions ``{"<section>.<field>": value or [values]}`` (a key without a dot names the field of the
section with the same name). A list answer matches when it contains any of the values.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from shared.dates import german_today
from shared.errors import InvalidInput
from shared.text import has_hidden_characters

FORMS_DIR = Path(__file__).resolve().parent / "forms"

_format_checker = FormatChecker(formats=["date"])


@_format_checker.checks("iban", raises=ValueError)
def _is_iban(value: object) -> bool:
    """Structure and ISO 7064 mod-97 check digits; catches nearly every typo."""
    if not isinstance(value, str):
        return True
    compact = value.replace(" ", "").upper()
    if not (15 <= len(compact) <= 34 and compact[:2].isalpha() and compact[2:4].isdigit() and compact.isalnum()):
        return False
    digits = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


@_format_checker.checks("euro", raises=ArithmeticError)
def _is_euro_amount(value: object) -> bool:
    """At most two decimals; checked on the decimal text because 0.01 has no exact binary value."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    exponent = Decimal(str(value)).as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def _german_date(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def _field_title(schema: Any, fallback: str = "Dieses Feld") -> str:
    return str(schema.get("title", fallback)) if isinstance(schema, dict) else fallback


def _checked_type(validator: Any, types: Any, instance: Any, schema: dict[str, Any]) -> Any:
    """The standard ``type`` check, then what JSON Schema cannot say: a number is finite, a text has
    something visible in it and nothing hidden, and a one-line field has one line."""
    yield from Draft202012Validator.VALIDATORS["type"](validator, types, instance, schema)
    title = _field_title(schema)
    if isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError(f"„{title}“ muss eine Zahl sein.", validator="NOT_A_NUMBER")
    if not isinstance(instance, str) or not instance:
        return
    multiline = bool(schema.get("x-multiline"))
    if not instance.strip():
        yield ValidationError(f"Bitte füllen Sie „{title}“ aus.", validator="REQUIRED")
    elif any(char in "\n\r" for char in instance) and not multiline:
        yield ValidationError(f"„{title}“ darf nur eine Zeile haben.", validator="ONE_LINE_ONLY")
    elif has_hidden_characters(instance, multiline):
        yield ValidationError(
            f"„{title}“ enthält unsichtbare Zeichen oder Steuerzeichen. Bitte geben Sie nur Text ein.",
            validator="HIDDEN_CHARACTERS",
        )


def _date_range(validator: Any, bounds: dict[str, int], instance: Any, schema: dict[str, Any]) -> Any:
    """``x-date-range: {past_years, future_years}``: a date no further from today than that."""
    try:
        day = date.fromisoformat(instance) if isinstance(instance, str) else None
    except ValueError:
        return  # the format check says it
    if day is None:
        return
    today = german_today()
    earliest = today.replace(year=today.year - int(bounds.get("past_years", 0)), day=min(today.day, 28))
    latest = today.replace(year=today.year + int(bounds.get("future_years", 0)), day=min(today.day, 28))
    if not earliest <= day <= latest:
        yield ValidationError(
            f"„{_field_title(schema)}“ muss zwischen dem {_german_date(earliest)} und dem "
            f"{_german_date(latest)} liegen.",
            validator="DATE_OUT_OF_RANGE",
        )


def _field_rules(validator: Any, rules: list[dict[str, str]], instance: Any, schema: dict[str, Any]) -> Any:
    """``x-rules`` of a section: ``{field, not_before: other}`` for dates, ``{field, not_above: other}`` for
    amounts, checked when both fields hold valid values; ``{field, only_if_yes: other}``: ``field`` stays
    empty unless ``other`` is answered yes. The error is named at ``field``."""
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for rule in rules:
        field = rule["field"]
        other = rule.get("not_before") or rule.get("not_above") or rule.get("only_if_yes")
        value, bound = instance.get(field), instance.get(other)
        title, other_title = _field_title(properties.get(field)), _field_title(properties.get(other))
        if "only_if_yes" in rule:
            broken = value is not None and bound is False
            message, code = (
                f"Sie haben bei „{other_title}“ Nein gewählt: Bitte lassen Sie „{title}“ leer.",
                "ONLY_IF_YES",
            )
        elif "not_before" in rule and isinstance(value, str) and isinstance(bound, str):
            try:
                broken = date.fromisoformat(value) < date.fromisoformat(bound)
            except ValueError:
                continue
            message, code = f"„{title}“ darf nicht vor „{other_title}“ liegen.", "NOT_BEFORE"
        elif "not_above" in rule and _is_number(value) and _is_number(bound):
            broken = float(value) > float(bound)  # type: ignore[arg-type]
            message, code = f"„{title}“ darf nicht höher sein als „{other_title}“.", "NOT_ABOVE"
        else:
            continue
        if broken:
            yield ValidationError(message, validator=code, path=[field])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


PortalValidator = validators.extend(
    Draft202012Validator, {"type": _checked_type, "x-date-range": _date_range, "x-rules": _field_rules}
)
# Codes whose message the check above wrote itself.
OWN_MESSAGES = frozenset({"NOT_A_NUMBER", "ONE_LINE_ONLY", "HIDDEN_CHARACTERS", "DATE_OUT_OF_RANGE", "NOT_BEFORE",
                          "NOT_ABOVE", "ONLY_IF_YES"})  # fmt: skip


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, for the citizen."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    schema: dict[str, Any]
    applies_if: dict[str, Any] | None

    @cached_property
    def validator(self) -> Draft202012Validator:
        return PortalValidator(self.schema, format_checker=_format_checker)


class Form:
    """One version of one kind of form."""

    def __init__(self, definition: dict[str, Any], common: dict[str, Any], labels: dict[str, str]) -> None:
        self.kind: str = definition["form"]
        self.version: str = str(definition["version"])
        self.valid_from = date.fromisoformat(str(definition["valid_from"]))
        self.title: str = definition["title"]
        self.labels = labels
        self.sections = [
            Section(raw["id"], raw["title"], _inline_refs(raw["schema"], common), raw.get("applies_if"))
            for raw in definition["sections"]
        ]
        self._by_id = {section.id: section for section in self.sections}
        prefill = definition.get("prefill") or {}
        self.prefill_sections: list[str] = list(prefill.get("sections", []))
        self.prefill_skipped: set[str] = set(prefill.get("not_taken_over", []))
        self.prefill_from_changes: list[dict[str, Any]] = list(prefill.get("from_changes", []))
        self.nachweis_rules: list[dict[str, Any]] = list(definition.get("nachweise", []))
        self.categories: dict[str, Any] = dict(definition.get("categories", {}))
        self.categories_from: dict[str, str] | None = definition.get("categories_from")

    def describe(self) -> dict[str, Any]:
        """The form as a client renders it: its sections with their JSON Schemas and conditions."""
        return {
            "kind": self.kind,
            "version": self.version,
            "title": self.title,
            "categories": self.categories,
            "nachweise": dict(self.labels),  # every kind of Nachweis a case of this form takes: its name
            "sections": [
                {"id": s.id, "title": s.title, "schema": s.schema, "applies_if": s.applies_if} for s in self.sections
            ],
        }

    def category_codes(self, section_id: str, data: Any) -> list[str] | None:
        """The changes a saved section reports, each with its category (``arbeitsaufnahme``, ``einkommen``).

        None when this section does not hold the changes (or the form has no categories).
        """
        source = self.categories_from
        if not source or section_id != source["section"]:
            return None
        chosen = data.get(source["field"]) if isinstance(data, dict) else None
        changes = [str(change) for change in chosen] if isinstance(chosen, list) else []
        groups = [name for name, group in self.categories.items() if set(group.get("changes", [])) & set(changes)]
        return sorted({*changes, *groups})

    def section(self, section_id: str) -> Section:
        """The section ``section_id``; raises InvalidInput ``SECTION_UNKNOWN``."""
        try:
            return self._by_id[section_id]
        except KeyError:
            raise InvalidInput("SECTION_UNKNOWN", "Diesen Abschnitt gibt es in diesem Formular nicht.") from None

    def applicable_sections(self, answers: dict[str, Any]) -> list[Section]:
        """The sections that apply given the answers so far, in form order."""
        return [s for s in self.sections if s.applies_if is None or _matches(s.applies_if, answers)]

    def validate_section(self, section_id: str, data: Any) -> list[FieldError]:
        """Every problem of ``data`` for one section, with German messages; empty when valid."""
        section = self.section(section_id)
        if not isinstance(data, dict):
            return [FieldError("", "SECTION_NOT_AN_OBJECT", "Die Angaben zu diesem Abschnitt fehlen.")]
        errors = sorted(section.validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        return [_field_error(section, error) for error in errors]

    def problems_before_submit(self, answers: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        """Per applicable section, what is missing or invalid; empty when the form can be submitted."""
        problems: dict[str, list[dict[str, str]]] = {}
        for section in self.applicable_sections(answers):
            if section.id not in answers:
                message = f"Bitte füllen Sie den Abschnitt „{section.title}“ aus."
                problems[section.id] = [FieldError("", "SECTION_MISSING", message).as_dict()]
                continue
            errors = self.validate_section(section.id, answers[section.id])
            if errors:
                problems[section.id] = [error.as_dict() for error in errors]
        return problems

    def submitted_content(self, answers: dict[str, Any]) -> dict[str, Any]:
        """The answers of the applicable sections only: what the citizen actually submits."""
        return {s.id: answers[s.id] for s in self.applicable_sections(answers) if s.id in answers}

    def required_nachweise(self, answers: dict[str, Any]) -> list[str]:
        """The kinds of Nachweis the answers call for, each once, in rule order."""
        kinds: list[str] = []
        for rule in self.nachweis_rules:
            if _matches(rule["when"], answers):
                kinds.extend(kind for kind in rule["require"] if kind not in kinds)
        return kinds

    def residence(self, answers: dict[str, Any]) -> dict[str, Any] | None:
        """Where the citizen lives for routing: the address of the ``wohnsitz`` section.

        A VÄM reporting a move is routed by this address too, the one before the move: that Jobcenter
        decides on the time up to the move (§ 36 SGB II, docs/moves.md); :meth:`move` gives the new one.
        """
        return _residence_of(answers.get("wohnsitz"))

    def move(self, answers: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A reported move: its date and the new address; None unless the answers report one."""
        section = answers.get("umzug")
        if not (_matches({"aenderungen": "umzug"}, answers) and isinstance(section, dict)):
            return None
        residence = _residence_of(section)
        if residence is None or not section.get("umzugsdatum"):
            return None
        return str(section["umzugsdatum"]), residence

    def prefill_from(self, sources: list[dict[str, Any]]) -> dict[str, Any]:
        """Answers for a new form from earlier submitted cases (``{"kind", "answers"}``, oldest first).

        A case of this same kind gives its ``prefill`` sections as they were (without the ``not_taken_over``
        fields) and replaces what came before; every other case (a VÄM) changes them as its reported changes
        say (``from_changes``). Only fields this form knows, and only sections left with an answer.
        """
        answers: dict[str, dict[str, Any]] = {}
        for source in sources:
            previous = source["answers"]
            if source["kind"] == self.kind:
                answers = {
                    section_id: {
                        key: copy.deepcopy(value)
                        for key, value in previous[section_id].items()
                        if f"{section_id}.{key}" not in self.prefill_skipped
                    }
                    for section_id in self.prefill_sections
                    if isinstance(previous.get(section_id), dict)
                }
                continue
            for rule in self.prefill_from_changes:
                when = rule.get("when")
                if when is not None and not _matches({"aenderungen": when}, previous):
                    continue
                if "drop" in rule:
                    answers.pop(rule["drop"], None)
                    continue
                given = previous.get(rule["from"])
                if not isinstance(given, dict):
                    continue
                taken = {field: copy.deepcopy(given[other]) for field, other in rule["set"].items() if other in given}
                section = {} if rule.get("replace") else answers.get(rule["section"], {})
                answers[rule["section"]] = {**section, **rule.get("values", {}), **taken}
        known = {section_id: self.section(section_id).schema.get("properties", {}) for section_id in answers}
        kept = {
            section_id: {key: value for key, value in data.items() if key in known[section_id]}
            for section_id, data in answers.items()
            if section_id in self.prefill_sections
        }
        return {section_id: data for section_id, data in kept.items() if data}


class FormCatalogue:
    """Every version of every form; the current one is the newest valid on a date."""

    def __init__(self, forms: list[Form]) -> None:
        self.forms = {(form.kind, form.version): form for form in forms}

    @classmethod
    def load(cls, directory: Path = FORMS_DIR) -> FormCatalogue:
        common = yaml.safe_load((directory / "common.yaml").read_text(encoding="utf-8"))
        labels = nachweis_labels(directory)
        forms = []
        for path in sorted(directory.glob("*-*.yaml")):
            forms.append(Form(yaml.safe_load(path.read_text(encoding="utf-8")), common, labels))
        return cls(forms)

    def current(self, kind: str, on: date | None = None) -> Form:
        """The newest version of ``kind`` valid on ``on`` (today); raises InvalidInput for an unknown kind."""
        day = on or german_today()
        versions = [f for (k, _), f in self.forms.items() if k == kind and f.valid_from <= day]
        if not versions:
            raise InvalidInput("CASE_KIND_UNKNOWN", "Diese Art von Antrag gibt es nicht.")
        return max(versions, key=lambda form: form.valid_from)

    def version(self, kind: str, version: str) -> Form:
        """The exact version a case was filled with; old cases stay readable."""
        return self.forms[(kind, version)]


@lru_cache(maxsize=4)
def nachweis_labels(directory: Path = FORMS_DIR) -> dict[str, str]:
    """Every kind of Nachweis with the name a citizen reads (public data, also for notify's Postfach texts)."""
    return {
        str(kind): str(label)
        for kind, label in yaml.safe_load((directory / "nachweise.yaml").read_text(encoding="utf-8")).items()
    }


def _residence_of(section: Any) -> dict[str, Any] | None:
    """The routing keys of an address section (no name, nothing else); None for no section."""
    if not isinstance(section, dict):
        return None
    keys = ("ags", "plz", "ort", "strasse", "hausnummer", "berlin_bezirk")
    residence: dict[str, Any] = {key: section.get(key) for key in keys}
    residence["kreis"] = residence["ags"][:5] if residence.get("ags") else None
    return residence


def _inline_refs(node: Any, common: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            reference = str(node["$ref"])
            if not reference.startswith("common#/"):
                raise ValueError(f"unsupported reference {reference}")
            merged = {**copy.deepcopy(common[reference.removeprefix("common#/")])}
            merged.update({key: value for key, value in node.items() if key != "$ref"})
            return _inline_refs(merged, common)
        return {key: _inline_refs(value, common) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(value, common) for value in node]
    return node


def _matches(condition: dict[str, Any], answers: dict[str, Any]) -> bool:
    for key, expected in condition.items():
        section_id, _, field = key.partition(".")
        section = answers.get(section_id)
        if not isinstance(section, dict):
            return False
        actual = section.get(field or section_id)
        wanted = expected if isinstance(expected, list) else [expected]
        values = actual if isinstance(actual, list) else [actual]
        if not any(value in wanted for value in values):
            return False
    return True


def _title(section: Section, path: list[Any]) -> str:
    schema: Any = section.schema
    title = section.title
    for step in path:
        if isinstance(step, int):
            schema = schema.get("items", {})
            continue
        schema = schema.get("properties", {}).get(step, {})
        title = schema.get("title", str(step))
    return str(title)


def _field_error(section: Section, error: ValidationError) -> FieldError:
    path = list(error.absolute_path)
    validator = str(error.validator)
    if validator == "required":
        missing = str(error.message).split("'")[1]
        path = [*path, missing]
        title = _title(section, path)
        return FieldError(_dotted(path), "REQUIRED", f"Bitte füllen Sie „{title}“ aus.")
    if validator in OWN_MESSAGES:
        return FieldError(_dotted(path), validator, str(error.message))
    if validator == "REQUIRED":  # a text of blanks only
        return FieldError(_dotted(path), "REQUIRED", str(error.message))
    if validator == "additionalProperties":
        known = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(str(key) for key in (error.instance or {}) if key not in known)
        field = _dotted([*path, extra[0]] if extra else path)
        return FieldError(field, "UNKNOWN_FIELD", "Dieses Feld gibt es in diesem Formular nicht.")
    title = _title(section, path)
    hint = error.schema.get("x-hint") if isinstance(error.schema, dict) else None
    messages = {
        "type": f"„{title}“ hat nicht das richtige Format.",
        "format": f"„{title}“ hat nicht das richtige Format.",
        "pattern": f"„{title}“ hat nicht das richtige Format.",
        "enum": f"Bitte wählen Sie bei „{title}“ eine der Möglichkeiten.",
        "const": f"Bitte bestätigen Sie: {title}.",
        "minimum": f"„{title}“ muss mindestens {error.validator_value} sein.",
        "maximum": f"„{title}“ darf höchstens {error.validator_value} sein.",
        "minLength": f"Bitte füllen Sie „{title}“ aus.",
        "maxLength": f"„{title}“ ist zu lang (höchstens {error.validator_value} Zeichen).",
        "minItems": f"Bitte wählen Sie bei „{title}“ mindestens {error.validator_value} aus.",
        "maxItems": f"Bei „{title}“ sind höchstens {error.validator_value} Einträge möglich.",
        "uniqueItems": f"Bei „{title}“ steht etwas doppelt.",
    }
    message = messages.get(validator, f"„{title}“ ist nicht richtig ausgefüllt.")
    if hint and validator in ("type", "format", "pattern"):
        message = f"{message} Zum Beispiel: {hint}"
    return FieldError(_dotted(path), validator.upper(), message)


def _dotted(path: list[Any]) -> str:
    return ".".join(str(step) for step in path)
