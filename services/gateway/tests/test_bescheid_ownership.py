"""Only a Bescheid that staff of the assigned Jobcenter uploaded for this very case can record a decision.

Found from outside: a decision took any document id as its Bescheid - the citizen's own upload, a file the
citizen uploaded as ``nachweis=bescheid``, another citizen's Bescheid from another case (whose owner's
Postfach then pointed at a document they could not open).
"""

import pytest

from services.documents.tests import samples
from services.gateway.tests.conftest import API, wait_until
from services.gateway.tests.test_staff_api import STAFF, assigned, relay_routing, staff_browser, submitted_case

__all__ = ["relay_routing"]  # the module fixture, used by name below


def in_progress(portal, relay_routing, caseworker):
    """A submitted Arbeitsaufnahme of a new citizen, assigned, received and in progress."""
    citizen, _account, case_id, _receipt = submitted_case(portal)
    assigned(portal, relay_routing, caseworker, case_id)
    for step in ("receive", "start-processing"):
        answer = caseworker.request("POST", f"{STAFF}/cases/{case_id}/{step}")
        assert answer.status_code == 204, answer.text
    return citizen, case_id


def upload_bescheid(caseworker, case_id):
    answer = caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/bescheid", params={"filename": "Bescheid.pdf"}, data=samples.pdf(),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return answer.json()["document_id"]


def decide(caseworker, case_id, document_id):
    return caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/decision", json={"outcome": "amended", "bescheid_document_id": document_id}
    )


@pytest.fixture(scope="module")
def two_cases(portal, relay_routing):
    caseworker = staff_browser(portal)
    citizen, case_id = in_progress(portal, relay_routing, caseworker)
    other_citizen, other_case_id = in_progress(portal, relay_routing, caseworker)
    return {
        "caseworker": caseworker, "citizen": citizen, "case_id": case_id,
        "other_citizen": other_citizen, "other_case_id": other_case_id,
    }  # fmt: skip


def test_a_citizen_cannot_upload_under_a_staff_only_kind(two_cases):
    answer = two_cases["citizen"].request(
        "POST", f"{API}/cases/{two_cases['case_id']}/documents", params={"nachweis": "bescheid", "filename": "B.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "NACHWEIS_STAFF_ONLY"
    assert "Jobcenter" in answer.json()["error"]["message"]


def test_the_citizens_own_upload_is_no_bescheid(two_cases):
    caseworker, case_id = two_cases["caseworker"], two_cases["case_id"]
    documents = caseworker.request("GET", f"{STAFF}/cases/{case_id}").json()["documents"]
    citizen_upload = documents[0]["document_id"]
    answer = decide(caseworker, case_id, citizen_upload)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "BESCHEID_INVALID"


def test_another_cases_bescheid_is_refused_and_an_unknown_id_too(two_cases):
    caseworker = two_cases["caseworker"]
    elsewhere = upload_bescheid(caseworker, two_cases["other_case_id"])
    for document_id in (elsewhere, "00000000-0000-4000-8000-000000000000", "kein-dokument"):
        answer = decide(caseworker, two_cases["case_id"], document_id)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "BESCHEID_INVALID"
    case = caseworker.request("GET", f"{STAFF}/cases/{two_cases['case_id']}").json()["case"]
    assert case["status"] == "in_progress"


def test_the_bescheid_uploaded_for_the_case_records_the_decision(two_cases):
    caseworker, case_id = two_cases["caseworker"], two_cases["case_id"]
    answer = decide(caseworker, case_id, upload_bescheid(caseworker, case_id))
    assert answer.status_code == 204, answer.text


def test_a_refused_staff_upload_is_neither_in_the_citizens_list_nor_in_their_postfach(two_cases):
    """Found from outside: a Bescheid upload the checks refused (a virus) showed up among the citizen's
    documents and sent them a Postfach message about "your" document."""
    # The other case: still in progress (the first one is decided by now and takes no more Nachweise).
    caseworker, citizen, case_id = two_cases["caseworker"], two_cases["other_citizen"], two_cases["other_case_id"]
    refused = caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/bescheid", params={"filename": "Bescheid.pdf"}, data=samples.eicar(),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert refused.status_code in (400, 422), refused.text
    rows = citizen.request("GET", f"{API}/cases/{case_id}").json()["documents"]
    assert all(row["nachweis"] != "bescheid" or row["state"] == "accepted" for row in rows), rows

    # The citizen's own infected upload afterwards is told: once that message is there, the staff's
    # refusal (published before it) has been handled too.
    own = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "V.pdf"},
        data=samples.eicar(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert own.status_code in (400, 422), own.text

    def refusals():
        messages = citizen.request("GET", f"{API}/postfach").json()["messages"]
        return [m for m in messages if m["kind"] == "document_rejected" and m["case_id"] == case_id]

    assert len(wait_until(refusals, timeout=30)) == 1


def test_a_decided_case_takes_no_more_nachweise_and_keeps_none_of_a_refused_upload(two_cases):
    """After the decision the citizen cannot add a Nachweis, and the refused file is not kept: the
    documents list and the case's record must not disagree about it."""
    citizen, case_id = two_cases["citizen"], two_cases["case_id"]
    before = citizen.request("GET", f"{API}/cases/{case_id}").json()["documents"]
    late = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "kontoauszug", "filename": "K.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert late.status_code == 409, late.text
    assert late.json()["error"]["code"] == "CASE_ALREADY_DECIDED"
    assert citizen.request("GET", f"{API}/cases/{case_id}").json()["documents"] == before
