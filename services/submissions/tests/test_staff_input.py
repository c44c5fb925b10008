"""What staff type and choose is checked as the citizen's answers are (found by the outside pass of
2026-12-04): requested Nachweise come from the catalogue, notes, messages and reasons hold no hidden
characters, dates and the Bewilligungszeitraum are plausible, and a finished case changes no more."""

from datetime import date, timedelta

import pytest

from services.submissions.domainmodel import check_approval_period
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill
from shared.dates import german_today
from shared.errors import Conflict, InvalidInput

TODAY = german_today()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()
HIDDEN = ("Hallo\x00Welt", "Bitte \x1b[31m", "Umzug\u202egnuztiB", "\u200b\u200b")


def in_progress(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    cases.start_processing(case_id, CASEWORKER)
    return case_id


@pytest.mark.parametrize("items", [["gibt_es_nicht"], ["bescheid"], ["arbeitsvertrag", "../x"]])
def test_only_nachweise_of_the_catalogue_can_be_requested(cases, items):
    """'bescheid' is the Jobcenter's own upload: a citizen could never supply it."""
    case_id = in_progress(cases)
    with pytest.raises(InvalidInput, match="NACHWEIS_UNKNOWN"):
        cases.request_documents(case_id, CASEWORKER, items, "", TOMORROW)
    assert cases.get_case(case_id)["status"] == "in_progress"


def test_a_request_names_a_due_date_within_a_year(cases):
    case_id = in_progress(cases)
    with pytest.raises(InvalidInput, match="DUE_DATE_TOO_FAR"):
        cases.request_documents(case_id, CASEWORKER, ["arbeitsvertrag"], "", "9999-12-31")
    with pytest.raises(InvalidInput, match="DUE_DATE_IN_PAST"):
        cases.request_documents(case_id, CASEWORKER, ["arbeitsvertrag"], "", TODAY.isoformat())
    cases.request_documents(case_id, CASEWORKER, ["arbeitsvertrag"], "", (TODAY + timedelta(days=366)).isoformat())


@pytest.mark.parametrize("text", HIDDEN)
def test_notes_and_messages_hold_no_hidden_characters(cases, text):
    case_id = in_progress(cases)
    with pytest.raises(InvalidInput, match="HIDDEN_CHARACTERS"):
        cases.request_documents(case_id, CASEWORKER, [], text, TOMORROW)
    for author in (CITIZEN, CASEWORKER):
        with pytest.raises(InvalidInput, match="HIDDEN_CHARACTERS|MESSAGE_LENGTH"):
            cases.post_message(case_id, author, text)
    assert cases.messages(case_id, CITIZEN) == []
    cases.post_message(case_id, CITIZEN, "Zwei Zeilen:\nund ein\tTab")  # line breaks belong to a message


def test_a_waiver_changes_no_finished_case(cases):
    withdrawn = in_progress(cases)
    cases.withdraw(withdrawn, CITIZEN)
    with pytest.raises(Conflict, match="CASE_CLOSED"):
        cases.waive_nachweis(withdrawn, CASEWORKER, "anlage_ek")
    assert cases.get_case(withdrawn)["checklist"]["anlage_ek"]["status"] == "missing"


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (date(1900, 1, 1), date(9999, 12, 31), "approval_to"),  # longer than a year
        (TODAY, TODAY, "approval_to"),
        (TODAY, TODAY - timedelta(days=1), "approval_to"),
        (TODAY, TODAY + timedelta(days=366), "approval_to"),
        (TODAY - timedelta(days=3 * 365), TODAY - timedelta(days=3 * 365 - 100), "approval_from"),
        (TODAY + timedelta(days=400), TODAY + timedelta(days=500), "approval_from"),
    ],
)
def test_a_bewilligungszeitraum_is_at_most_a_year_near_today(start, end, field):
    with pytest.raises(InvalidInput, match="APPROVAL_PERIOD_INVALID") as refused:
        check_approval_period(start, end)
    assert refused.value.details == {"field": field}


def test_a_year_from_the_first_of_a_month_is_a_bewilligungszeitraum():
    start = date(TODAY.year + 1, 1, 1)
    check_approval_period(start, date(TODAY.year + 1, 12, 31))
