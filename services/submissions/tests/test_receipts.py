"""One submission, one receipt: signed once, at the submission, and verifiable for good.

Found from outside: one receipt number got two different signed receipts (right after submit with
``jobcenter_id: null``, later with the Jobcenter), and after a key change old receipts could not be
verified any more.
"""

import base64
import hashlib
import os
import subprocess

import pytest

from services.submissions import receipt
from services.submissions.receipt import ReceiptSigner, verify_receipt
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CASEWORKER, CITIZEN, JOBCENTER, ROUTED, fill


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def signer():
    return ReceiptSigner(new_key())


def submitted(cases):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    fill(cases, case_id, ARBEITSAUFNAHME)
    cases.submit(case_id, CITIZEN, "key-1", ROUTED)
    return case_id


def test_the_receipt_is_the_same_before_and_after_the_assignment(cases, signer):
    case_id = submitted(cases)
    first = cases.issue_receipt(case_id, signer.sign)
    cases.assign(case_id, JOBCENTER, "bezirk", "2026-1")
    cases.receive(case_id, CASEWORKER)
    assert cases.issue_receipt(case_id, signer.sign) == first
    claims = verify_receipt(first, signer.jwks())
    assert claims["submitted_at"] == cases.get_case(case_id)["submitted_at"]
    assert "jobcenter_id" not in claims  # unknown at the submission; the receipt attests the submission


def test_a_receipt_signed_before_a_key_change_is_kept_and_still_verifies(cases, signer):
    case_id = submitted(cases)
    before = cases.issue_receipt(case_id, signer.sign)
    rotated = ReceiptSigner(new_key(), retired_public_keys=[signer.public_jwk["x"]])
    assert cases.issue_receipt(case_id, rotated.sign) == before
    assert {key["kid"] for key in rotated.jwks()["keys"]} == {signer.kid, rotated.kid}
    assert verify_receipt(before, rotated.jwks())["sub"] == case_id
    assert verify_receipt(cases.issue_receipt(submitted(cases), rotated.sign), rotated.jwks())


def test_a_draft_has_no_receipt(cases, signer):
    case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
    with pytest.raises(Exception, match="CASE_NOT_SUBMITTED"):
        cases.issue_receipt(case_id, signer.sign)


def test_the_receipt_is_not_an_entry_of_the_citizens_timeline(cases, signer):
    case_id = submitted(cases)
    cases.issue_receipt(case_id, signer.sign)
    assert "ReceiptIssued" not in [entry["event"] for entry in cases.timeline(case_id)]


def test_the_receipt_pdf_is_made_without_a_unicode_font_too(cases, signer, monkeypatch):
    """The image has no DejaVu font: the PDF falls back to Helvetica, which knows Latin-1 only."""
    from services.submissions import receipt

    monkeypatch.setattr(receipt, "UNICODE_FONTS", ())
    case_id = submitted(cases)
    jws = cases.issue_receipt(case_id, signer.sign)
    form, content = cases.submitted_form_and_content(case_id)
    document = receipt.receipt_pdf(
        receipt.receipt_claims(cases.get_case(case_id)), form, content, jws, receipt.Letter()
    )
    assert document.startswith(b"%PDF-")


def pdf_text(document: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=document, capture_output=True, check=True).stdout.decode()


def test_the_receipt_reads_as_a_letter_with_the_jobcenter_the_nachweise_and_how_to_verify(cases, signer):
    case_id = submitted(cases)
    jws = cases.issue_receipt(case_id, signer.sign)
    form, content = cases.submitted_form_and_content(case_id)
    claims = receipt.receipt_claims(cases.get_case(case_id))
    sha = hashlib.sha256(b"Arbeitsvertrag").hexdigest()
    contract = receipt.SubmittedDocument("Arbeitsvertrag", "Arbeitsvertrag Muster GmbH.pdf", sha)
    payslip = receipt.SubmittedDocument("Erste Lohnabrechnung", "Lohn.pdf", sha, state="checking")
    letter = receipt.Letter(
        "Jobcenter Berlin Treptow-Köpenick", (contract, payslip), "https://portal.example/keys.json"
    )
    text = pdf_text(receipt.receipt_pdf(claims, form, content, jws, letter))
    assert "Wir haben Ihre Veränderungsmitteilung am " in text
    assert "Zuständiges Jobcenter: Jobcenter Berlin Treptow-Köpenick" in text
    assert "weitergeleitet" not in text
    assert "1. Arbeitsvertrag: Arbeitsvertrag Muster GmbH.pdf" in text
    assert f"SHA-256: {sha}" in text
    assert "2. Erste Lohnabrechnung: Lohn.pdf (wird noch geprüft)" in text
    assert "So prüfen Sie diese Bestätigung" in text and "https://portal.example/keys.json" in text
    assert f"Eingangsnummer: {claims['receipt_number']}" in text


def test_before_the_assignment_the_receipt_says_the_case_is_being_forwarded(cases, signer):
    case_id = submitted(cases)
    jws = cases.issue_receipt(case_id, signer.sign)
    form, content = cases.submitted_form_and_content(case_id)
    claims = receipt.receipt_claims(cases.get_case(case_id))
    text = pdf_text(receipt.receipt_pdf(claims, form, content, jws, receipt.Letter()))
    assert "Zuständiges Jobcenter: wird weitergeleitet" in text
    assert "Ihre Angaben werden an das zuständige Jobcenter weitergeleitet." in text
    assert "Mit diesem Antrag haben Sie keine Nachweise hochgeladen." in text


def letterhead(text: str) -> list[str]:
    """The receipt's first lines up to its title, blank lines left out."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[: lines.index("Eingangsbestätigung")]


def test_the_letterhead_gives_the_jobcenter_s_name_and_postal_address(cases, signer):
    case_id = submitted(cases)
    jws = cases.issue_receipt(case_id, signer.sign)
    form, content = cases.submitted_form_and_content(case_id)
    claims = receipt.receipt_claims(cases.get_case(case_id))
    contact = {"postal_address": {"street": "Groß-Berliner Damm 73", "postcode": "12487", "city": "Berlin"},
               "visitor_address": None, "phone": None, "email": None, "opening_hours": None}  # fmt: skip
    address = receipt.postal_address_lines(contact)
    with_address = receipt.Letter("Jobcenter Berlin Treptow-Köpenick", jobcenter_address=address)
    name_alone = receipt.Letter(
        "Jobcenter Berlin Treptow-Köpenick", jobcenter_address=receipt.postal_address_lines(None)
    )
    assert letterhead(pdf_text(receipt.receipt_pdf(claims, form, content, jws, with_address))) == [
        "Jobcenter-Portal · Eingangsbestätigung", "Jobcenter Berlin Treptow-Köpenick", "Groß-Berliner Damm 73",
        "12487 Berlin",
    ]  # fmt: skip
    assert letterhead(pdf_text(receipt.receipt_pdf(claims, form, content, jws, name_alone))) == [
        "Jobcenter-Portal · Eingangsbestätigung",
        "Jobcenter Berlin Treptow-Köpenick",
    ]
    forwarded = pdf_text(receipt.receipt_pdf(claims, form, content, jws, receipt.Letter()))
    assert letterhead(forwarded) == ["Jobcenter-Portal · Eingangsbestätigung"]
    assert "Zuständiges Jobcenter: wird weitergeleitet" in forwarded
