"""Answers that no form can mean are refused, naming the field in German.

Found from outside: a job start on 9999-12-31 or 1900-01-01, an end before the start, net pay above
gross, ``nan`` as weekly hours, postcode 00000, control characters and whitespace-only answers were all
accepted and then reached the receipt PDF and the staff views.
"""

import math
import unicodedata
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.submissions.forms import FormCatalogue
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.dates import german_today

CATALOGUE = FormCatalogue.load()
VAEM = CATALOGUE.current("veraenderungsmitteilung")
WBA = CATALOGUE.current("weiterbewilligungsantrag")
WORK = ARBEITSAUFNAHME["arbeitsaufnahme"]
HOME = ARBEITSAUFNAHME["wohnsitz"]
HIDDEN = ["\x00", "\x1b", "\u202e", "\u200b", "\ufeff", "\x7f", "\x85", "\u2028"]


def problems(section_id: str, data: dict[str, Any], form=VAEM) -> dict[str, str]:
    return {error.field: f"{error.code}: {error.message}" for error in form.validate_section(section_id, data)}


def test_the_scenario_itself_is_plausible():
    assert problems("arbeitsaufnahme", WORK) == {}
    assert problems("wohnsitz", HOME) == {}


@pytest.mark.parametrize("day", ["9999-12-31", "1900-01-01", (german_today() + timedelta(days=3 * 366)).isoformat()])
def test_a_job_start_far_from_today_is_refused(day):
    found = problems("arbeitsaufnahme", {**WORK, "beginn": day})
    assert set(found) == {"beginn"}
    assert "Beginn der Arbeit" in found["beginn"]


def test_a_fixed_term_ending_before_the_start_is_refused():
    found = problems("arbeitsaufnahme", {**WORK, "beginn": "2026-12-01", "befristet_bis": "2026-11-30"})
    assert set(found) == {"befristet_bis"}
    assert "Befristet bis" in found["befristet_bis"] and "Beginn der Arbeit" in found["befristet_bis"]


def test_net_pay_above_gross_pay_is_refused():
    found = problems("arbeitsaufnahme", {**WORK, "brutto_monatlich": 1000.0, "netto_monatlich": 1200.0})
    assert set(found) == {"netto_monatlich"}
    assert "Nettolohn" in found["netto_monatlich"] and "Bruttolohn" in found["netto_monatlich"]


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_no_number_is_refused(number):
    found = problems("arbeitsaufnahme", {**WORK, "wochenstunden": number})
    assert set(found) == {"wochenstunden"}
    assert "Arbeitsstunden pro Woche" in found["wochenstunden"]


@pytest.mark.parametrize("postcode", ["00000", "00999"])
def test_a_postcode_that_does_not_exist_is_refused(postcode):
    assert set(problems("wohnsitz", {**HOME, "plz": postcode})) == {"plz"}


@pytest.mark.parametrize("hidden", HIDDEN)
def test_hidden_and_control_characters_are_refused_in_every_text(hidden):
    found = problems("wohnsitz", {**HOME, "strasse": f"Bahnhof{hidden}straße"})
    assert set(found) == {"strasse"}
    assert "Straße" in found["strasse"]


@pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n"])
def test_a_line_break_in_a_one_line_field_is_refused_but_not_in_a_free_text(line_break):
    assert set(problems("wohnsitz", {**HOME, "ort": f"Berlin{line_break}Köpenick"})) == {"ort"}
    free = {"beschreibung": f"Erste Zeile{line_break}zweite Zeile", "ab": "2026-11-01"}
    assert problems("weitere_aenderungen", free) == {}


@pytest.mark.parametrize("blank", [" ", "   ", "\t", "\u00a0", "\u3000"])
def test_a_whitespace_only_answer_counts_as_missing(blank):
    found = problems("arbeitsaufnahme", {**WORK, "arbeitgeber": blank})
    assert set(found) == {"arbeitgeber"}
    assert found["arbeitgeber"].startswith("REQUIRED")


@settings(max_examples=200, deadline=None, database=None)
@given(text=st.text(min_size=1, max_size=30))
def test_whatever_text_is_accepted_has_something_visible_and_nothing_hidden(text):
    if not problems("wohnsitz", {**HOME, "strasse": text}):
        assert text.strip()
        assert not {unicodedata.category(char) for char in text} & {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def test_an_income_amount_after_no_income_is_refused():
    """Found from outside (2026-12-04): 'no income' with 5,000 € income a month was accepted."""
    found = problems("einkommen", {"hat_einkommen": False, "netto_monatlich": 5000.0}, WBA)
    assert set(found) == {"netto_monatlich"}
    assert found["netto_monatlich"].startswith("ONLY_IF_YES: ") and "Nein" in found["netto_monatlich"]
    assert problems("einkommen", {"hat_einkommen": False}, WBA) == {}
    assert problems("einkommen", {"hat_einkommen": True, "netto_monatlich": 5000.0}, WBA) == {}
