"""Free text that people type (answers, messages, notes, reasons): what it may hold.

A character that shows nothing or steers the display - a control character such as NUL or ESC, a
format character such as U+202E (right-to-left override) or a zero-width space, a line or paragraph
separator, an unassigned code point - is never part of what someone meant to write; it would reach the
receipt, the caseworker's screen and the Jobcenter's system as it is.
"""

from __future__ import annotations

import unicodedata

from shared.errors import InvalidInput

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
LINE_BREAKS = frozenset("\n\r\t")  # allowed in text of several lines


def has_hidden_characters(text: str, multiline: bool = False) -> bool:
    allowed = LINE_BREAKS if multiline else frozenset()
    return any(unicodedata.category(char) in HIDDEN_CATEGORIES and char not in allowed for char in text)


def checked_text(value: object, field: str, label: str, max_length: int, multiline: bool = True) -> str:
    """``value`` stripped, when it is text with something visible, nothing hidden and at most ``max_length``
    characters; InvalidInput ``FIELD_REQUIRED``, ``HIDDEN_CHARACTERS`` or ``TEXT_TOO_LONG`` naming ``field``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidInput("FIELD_REQUIRED", f"Bitte füllen Sie „{label}“ aus.", {"field": field})
    if has_hidden_characters(text, multiline):
        raise InvalidInput(
            "HIDDEN_CHARACTERS",
            f"„{label}“ enthält unsichtbare Zeichen oder Steuerzeichen. Bitte geben Sie nur Text ein.",
            {"field": field},
        )
    if len(text) > max_length:
        raise InvalidInput(
            "TEXT_TOO_LONG", f"„{label}“ hat höchstens {max_length} Zeichen.", {"field": field, "max": max_length}
        )
    return text
