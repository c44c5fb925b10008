"""The first customer's story through the JSON API: TOTP login, Arbeitsaufnahme, upload, submit, receipt."""

import io
import uuid

import pytest
from pypdf import PdfReader

from services.documents.tests import samples
from services.gateway.tests.conftest import API, Browser, wait_until
from services.submissions.receipt import verify_receipt
from services.submissions.tests.scenarios import ARBEITSAUFNAHME


@pytest.fixture(scope="module")
def story(portal):
    """One citizen's session and submitted case, shared by the tests that read what followed."""
    browser = Browser(portal)
    account = portal.account()
    login = browser.log_in(account)
    case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, data in ARBEITSAUFNAHME.items():
        saved = browser.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data)
        assert saved.status_code == 200, saved.text
    uploaded = browser.request(
        "POST",
        f"{API}/cases/{case_id}/documents",
        params={"nachweis": "arbeitsvertrag", "filename": "Arbeitsvertrag.pdf"},
        data=samples.pdf(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert uploaded.status_code == 201, uploaded.text
    key = f"submit-{uuid.uuid4()}"
    first = browser.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": key})
    again = browser.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": key})
    portal.relay()
    return {"browser": browser, "account": account, "login": login, "case_id": case_id,
            "document": uploaded.json(), "first": first, "again": again}  # fmt: skip


def test_login_with_password_and_totp_opens_a_session_in_an_httponly_cookie(story):
    browser = story["browser"]
    assert story["login"]["status"] == "authenticated"
    assert "session_token" not in story["login"] and "access_token" not in story["login"]
    (cookie,) = browser.http.cookies
    assert cookie.name == "jc_session"
    assert cookie.has_nonstandard_attr("HttpOnly")
    me = browser.request("GET", f"{API}/session").json()
    assert me["account_id"] == story["account"].account_id
    assert me["role"] == "citizen"
    assert "otp" in me["amr"]


def test_the_uploaded_contract_is_accepted_and_listed_with_the_case(story):
    assert story["document"]["state"] == "accepted"
    detail = story["browser"].request("GET", f"{API}/cases/{story['case_id']}").json()
    assert [d["document_id"] for d in detail["documents"]] == [story["document"]["document_id"]]
    assert "arbeitsvertrag" in {n["kind"] for n in detail["nachweise"]}
    assert detail["answers"]["arbeitsaufnahme"]["arbeitgeber"] == "Muster GmbH"


def test_submitting_twice_with_the_same_idempotency_key_gives_the_same_receipt(story):
    first, again = story["first"], story["again"]
    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert first.json()["receipt_number"] == again.json()["receipt_number"]
    assert first.json()["receipt_number"].startswith("JC-")


def test_submit_without_an_idempotency_key_is_refused(story, portal):
    browser = story["browser"]
    case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    answer = browser.request("POST", f"{API}/cases/{case_id}/submit")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"


def test_the_receipt_downloads_as_a_pdf_with_its_number(story):
    answer = story["browser"].request("GET", f"{API}/cases/{story['case_id']}/receipt")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["X-Receipt-Number"] == story["first"].json()["receipt_number"]
    assert "attachment" in answer.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert story["first"].json()["receipt_number"] in text
    assert "/.well-known/receipt-keys.json" in text


def test_a_client_that_reads_only_the_openapi_document_finds_how_to_verify_the_receipt(story, portal):
    """Found from outside: the receipt keys were nowhere in the OpenAPI document, and a client concluded
    that receipts could not be verified; one receipt number also had two different signatures."""
    browser = story["browser"]
    document = browser.request("GET", f"{API}/openapi.json").json()
    receipt_route = document["paths"][f"{API}/cases/{{case_id}}/receipt"]["get"]
    assert "/.well-known/receipt-keys.json" in receipt_route["description"]
    assert "X-Receipt-Signature" in receipt_route["responses"]["200"]["headers"]
    keys_path = next(path for path in document["paths"] if path.endswith("receipt-keys.json"))
    keys = browser.request("GET", keys_path).json()

    signatures = {
        browser.request("GET", f"{API}/cases/{story['case_id']}/receipt").headers["X-Receipt-Signature"]
        for _ in range(2)
    }
    (signature,) = signatures
    claims = verify_receipt(signature, keys)
    assert claims["receipt_number"] == story["first"].json()["receipt_number"]
    assert claims["sub"] == story["case_id"]


def test_the_postfach_shows_the_receipt_message_and_it_can_be_marked_read(story):
    browser = story["browser"]

    def messages():
        return browser.request("GET", f"{API}/postfach").json()["messages"]

    (message,) = wait_until(messages)
    assert message["case_id"] == story["case_id"]
    assert browser.request("POST", f"{API}/postfach/{message['message_id']}/read").status_code == 204
    assert browser.request("GET", f"{API}/postfach").json()["unread"] == 0


def test_cases_timeline_and_messages_tell_the_case(story):
    browser, case_id = story["browser"], story["case_id"]
    cases = browser.request("GET", f"{API}/cases").json()["cases"]
    assert case_id in {case["case_id"] for case in cases}
    events = [e["event"] for e in browser.request("GET", f"{API}/cases/{case_id}/timeline").json()["events"]]
    assert events[0] != events[-1] and "Submitted" in events


def test_mein_jobcenter_resolves_the_address_of_my_last_case(story):
    answer = story["browser"].request("GET", f"{API}/my-jobcenter")
    assert answer.status_code == 200, answer.text
    resolution = answer.json()["resolution"]
    assert resolution["outcome"] == "assigned"
    assert resolution["jobcenter"]["jobcenter_id"] == "jc-0394"


def test_consents_are_read_and_changed(story):
    browser = story["browser"]
    changed = browser.request("PUT", f"{API}/consents/email_alerts", json={"granted": True})
    assert changed.status_code == 200, changed.text
    consents = browser.request("GET", f"{API}/consents").json()["consents"]
    assert consents["email_alerts"]["granted"] is True


def test_logout_ends_the_session_for_every_later_request(portal):
    browser = Browser(portal)
    browser.log_in(portal.account())
    assert browser.request("DELETE", f"{API}/session").status_code == 204
    answer = browser.request("GET", f"{API}/cases")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "SESSION_REQUIRED"


def test_a_login_with_a_recovery_code_works_too(portal):
    account = portal.account()
    browser = Browser(portal)
    first = browser.request(
        "POST", f"{API}/session", json={"email": account.email, "password": "korrekt-Pferd-Batterie-Heftklammer"}
    )
    second = browser.request(
        "POST", f"{API}/session/second-factor",
        json={"login_ticket": first.json()["login_ticket"], "recovery_code": account.recovery_codes[0]},
    )  # fmt: skip
    assert second.status_code == 200, second.text
    assert browser.request("GET", f"{API}/cases").status_code == 200


def test_the_form_of_a_kind_is_public_with_its_section_schemas(portal):
    answer = Browser(portal).request("GET", f"{API}/forms/veraenderungsmitteilung")
    assert answer.status_code == 200
    assert "arbeitsaufnahme" in {section["id"] for section in answer.json()["sections"]}
    unknown = Browser(portal).request("GET", f"{API}/forms/antrag-auf-alles")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "CASE_KIND_UNKNOWN")


def test_a_nachweis_uploaded_after_submitting_is_supplied_to_the_case(story):
    browser, case_id = story["browser"], story["case_id"]
    answer = browser.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "lohnabrechnung_erste"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    events = [e["event"] for e in browser.request("GET", f"{API}/cases/{case_id}/timeline").json()["events"]]
    assert events[-1] == "DocumentSupplied"


def test_a_file_that_is_not_a_document_is_rejected_with_its_reason(story):
    browser = story["browser"]
    case_id = browser.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    answer = browser.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "x.pdf"},
        data=b"MZ this is not a PDF at all", headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "DOCUMENT_REJECTED"
    assert answer.json()["error"]["details"]["reason_code"] == "TYPE_NOT_ALLOWED"
    assert browser.request("GET", f"{API}/cases/{case_id}").json()["documents"][0]["state"] == "rejected"
