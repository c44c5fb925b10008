"""The staff API refuses an inbox filter it does not know; the page forgets it (an old bookmark opens).

Found from outside (2026-12-04): ``page=99999999999999999999`` answered 500, and ``status=foo``,
``page=abc`` or ``assignee=someone`` were ignored without a word.
"""

import pytest

from services.gateway.tests.test_staff_api import STAFF, staff_browser


@pytest.fixture(scope="module")
def caseworker(portal):
    return staff_browser(portal)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": "99999999999999999999"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "١"}, "page"),  # an Arabic-Indic one: a digit to Python, not to the API
        ({"status": "foo"}, "status"),
        ({"kind": "antrag"}, "kind"),
        ({"assignee": "someone"}, "assignee"),
        ({"category": "Ümlaut!"}, "category"),
    ],
)
def test_the_api_names_the_filter_it_does_not_know(caseworker, query, field):
    answer = caseworker.request("GET", f"{STAFF}/inbox", params=query)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "FILTER_INVALID"
    assert answer.json()["error"]["details"] == {"field": field}


def test_known_filters_and_the_last_page_answer(caseworker):
    for query in ({"page": "2"}, {"page": "100000"}, {"status": "assigned", "assignee": "me", "overdue": "1"}):
        answer = caseworker.request("GET", f"{STAFF}/inbox", params=query)
        assert answer.status_code == 200, (query, answer.text)


def test_the_page_forgets_what_it_does_not_know(caseworker):
    answer = caseworker.request("GET", "/sachbearbeitung", params={"page": "99999999999999999999", "status": "foo"})
    assert answer.status_code == 200, answer.text[:300]
