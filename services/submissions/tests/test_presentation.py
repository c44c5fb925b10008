"""Answers as people read them: the form's labels and option titles, German dates, amounts and numbers.

The receipt PDF (checked as text after pdftotext) and the staff case page use the same module.
"""

import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.submissions import receipt
from services.submissions.forms import FormCatalogue
from services.submissions.presentation import euro, german_date, german_number, present_section, present_value
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CITIZEN, ROUTED, fill
from services.submissions.tests.test_receipts import signer  # noqa: F401 - fixture

FORMS = FormCatalogue.load()


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(1850.0, "1.850,00 €"), (1710.55, "1.710,55 €"), (0, "0,00 €"), (1000000, "1.000.000,00 €"), (0.005, "0,01 €")],
)
def test_amounts_read_in_euro_with_a_decimal_comma(amount, shown):
    assert euro(amount) == shown


@pytest.mark.parametrize(("number", "shown"), [(30, "30"), (38.5, "38,5"), (40.0, "40"), (12000, "12.000")])
def test_numbers_read_with_a_decimal_comma_and_no_trailing_zero(number, shown):
    assert german_number(number) == shown


@given(st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False))
def test_every_amount_of_the_forms_range_reads_back_to_the_same_cents(amount):
    shown = euro(float(amount))
    assert shown.endswith(" €")
    assert float(shown[:-2].replace(".", "").replace(",", ".")) == pytest.approx(float(amount), abs=0.001)


def test_dates_options_and_yes_no_read_as_on_the_form():
    form = FORMS.version("veraenderungsmitteilung", "2026-1")
    shown = {item.label: item.text for s in form.sections if s.id in ARBEITSAUFNAHME
             for item in present_section(s.schema, ARBEITSAUFNAHME[s.id])}  # fmt: skip
    assert shown["Änderungen"] == "Ich habe eine Arbeit aufgenommen"
    assert shown["Bezirk in Berlin"] == "Treptow-Köpenick"
    assert shown["Beginn der Arbeit"] == "01.12.2026"
    assert shown["Voraussichtlicher Bruttolohn im Monat"] == "2.400,00 €"
    assert shown["Voraussichtlicher Nettolohn im Monat"] == "1.710,55 €"
    assert shown["Arbeitsstunden pro Woche"] == "30"
    assert "Ja" in shown.values()
    assert german_date("2027-01-01") == "01.01.2027"


def test_a_list_of_people_reads_as_numbered_entries_with_their_own_labels():
    form = FORMS.current("weiterbewilligungsantrag")
    (section,) = [s for s in form.sections if "personen" in s.schema.get("properties", {})]
    people = [
        {"vorname": "Mia", "geburtsdatum": "2015-03-04", "beziehung": "kind"},
        {"vorname": "Alex", "geburtsdatum": "1990-07-08", "beziehung": "partner"},
    ]
    (shown,) = [item for item in present_section(section.schema, {"personen": people}) if item.name == "personen"]
    assert shown.text == "2 Einträge"
    first = {part.label: part.text for part in shown.entries[0]}
    assert first["Beziehung zu Ihnen"] == "Kind"
    assert "04.03.2015" in first.values()
    assert "{" not in repr([part.text for entry in shown.entries for part in entry])


def test_a_value_the_form_no_longer_describes_is_shown_not_dropped():
    assert [(i.label, i.text) for i in present_section({"properties": {}}, {"alt": 1.5})] == [("alt", "1,5")]
    assert present_value({}, None) == "-"


def test_the_receipt_pdf_reads_like_the_form(cases, signer):  # noqa: F811 - the fixture imported above
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    jws = cases.issue_receipt(case_id, signer.sign)
    form, content = cases.submitted_form_and_content(case_id)
    document = receipt.receipt_pdf(
        receipt.receipt_claims(cases.get_case(case_id)), form, content, jws, receipt.Letter()
    )
    shown = subprocess.run(["pdftotext", "-layout", "-", "-"], input=document, capture_output=True, check=True)
    text = shown.stdout.decode()
    for expected in ("Änderungen: Ich habe eine Arbeit aufgenommen", "Bezirk in Berlin: Treptow-Köpenick",
                     "Beginn der Arbeit: 01.12.2026", "Voraussichtlicher Bruttolohn im Monat: 2.400,00 €",
                     "Voraussichtlicher Nettolohn im Monat: 1.710,55 €"):  # fmt: skip
        assert expected in text, text
    for raw in ("arbeitsaufnahme", "2400.0", "2026-12-01", ": 09"):
        assert raw not in text
