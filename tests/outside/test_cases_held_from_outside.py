"""The outside pass of 2026-12-04 on cases: the probes that held, kept as regression tests.

Long drafts and long conversations stay readable; the Bescheid's rules, the order of a caseworker's
steps, hostile uploads, photo merges, the form's plausibility checks, reads of others' cases, the
second factor; receipts: one per submission, with the submission's own time and a signature that
verifies against ``/.well-known/receipt-keys.json``.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.documents.tests import samples
from services.gateway.tests.conftest import PASSWORD
from tests.outside.clients import (
    EICAR,
    Client,
    document_ids,
    jws_parts,
    make_pdf,
    merge,
    photos,
    processing_case,
    seen_by,
    submitted_assigned_case,
    upload_bescheid,
)

pytestmark = pytest.mark.usefixtures("limits_out_of_the_way", "login_failures_forgotten")

CASE_READS = ["/cases/{id}", "/cases/{id}/timeline", "/cases/{id}/receipt", "/cases/{id}/messages"]


# -- cases stay readable at any length -------------------------------------------------------------------


def test_draft_saved_130_times_stays_readable(citizen):
    case_id = citizen.new_case()
    citizen.fill_vaem(case_id)
    for number in range(130):
        answer = citizen.put(
            f"/cases/{case_id}/sections/arbeitsaufnahme",
            json={"arbeitgeber": f"Firma {number}", "beginn": "2026-11-01", "wochenstunden": 30,
                  "brutto_monatlich": 2000 + number, "netto_monatlich": 1500},
        )  # fmt: skip
        assert answer.status_code in (200, 204), (number, answer.status_code, answer.text[:300])
    answer = citizen.get(f"/cases/{case_id}")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["answers"]["arbeitsaufnahme"]["arbeitgeber"] == "Firma 129"
    answer = citizen.get(f"/cases/{case_id}/timeline")
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["events"]) >= 130
    answer = citizen.submit(case_id)
    assert answer.status_code == 200, answer.text[:300]
    answer = citizen.get(f"/cases/{case_id}/receipt")
    assert answer.status_code == 200, answer.text[:300]
    assert citizen.get("/cases").status_code == 200


def test_case_with_70_messages_stays_readable(relays, citizen, caseworker):
    case_id = submitted_assigned_case(relays, citizen, caseworker)

    def post(number: int) -> Any:
        if number % 2:
            return caseworker.post(
                f"/staff/cases/{case_id}/messages", json={"text": f"Nachricht vom Jobcenter {number}"}
            )
        return citizen.post(f"/cases/{case_id}/messages", json={"text": f"Nachricht {number} " + "ä" * 500})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(post, range(70)))
    assert all(answer.status_code == 201 for answer in answers), [
        (answer.status_code, answer.text[:200]) for answer in answers if answer.status_code != 201
    ][:3]
    for path in CASE_READS:
        answer = citizen.get(path.format(id=case_id))
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    assert len(citizen.get(f"/cases/{case_id}/messages").json()["messages"]) == 70
    answer = caseworker.get(f"/staff/cases/{case_id}")
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["messages"]) == 70
    assert citizen.get("/postfach").status_code == 200
    assert citizen.page(f"/antraege/{case_id}").status_code == 200
    answer = caseworker.page(f"/sachbearbeitung/vorgaenge/{case_id}")
    assert answer.status_code in (200, 404)  # the page's path was not documented exactly; never 5xx


# -- the caseworker's steps and the Bescheid -------------------------------------------------------------------


def test_bescheid_rules(relays, citizen, citizen2, caseworker, caseworker_other):
    case_id = processing_case(relays, citizen, caseworker)
    other = processing_case(relays, citizen2, caseworker)
    bescheid_of_other = upload_bescheid(caseworker, other).json()["document_id"]
    munich = citizen2.new_case()
    citizen2.fill_vaem(munich, plz="80331", ort="München", strasse="Marienplatz", hausnummer="8")
    assert citizen2.submit(munich).status_code == 200
    seen_by(relays, caseworker_other, munich)
    bescheid_of_munich = upload_bescheid(caseworker_other, munich).json()["document_id"]
    own = citizen.get(f"/cases/{case_id}").json()["documents"][0]["document_id"]
    for document_id in [own, bescheid_of_other, bescheid_of_munich, str(uuid.uuid4())]:
        answer = caseworker.post(
            f"/staff/cases/{case_id}/decision", json={"outcome": "amended", "bescheid_document_id": document_id}
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "BESCHEID_INVALID", answer.text
    answer = upload_bescheid(caseworker, case_id, EICAR)
    assert answer.status_code == 400 and answer.json()["error"]["details"]["reason_code"] == "VIRUS_FOUND"
    answer = citizen.upload(case_id, make_pdf(), nachweis="bescheid")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "NACHWEIS_STAFF_ONLY"
    assert upload_bescheid(caseworker_other, case_id).status_code == 404


def test_wrong_order(relays, citizen, caseworker):
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    bescheid = upload_bescheid(caseworker, case_id).json()["document_id"]

    def decide() -> Any:
        return caseworker.post(
            f"/staff/cases/{case_id}/decision", json={"outcome": "amended", "bescheid_document_id": bescheid}
        )

    assert decide().status_code == 409
    assert caseworker.post(f"/staff/cases/{case_id}/start-processing").status_code == 409
    assert caseworker.post(f"/staff/cases/{case_id}/close").status_code == 409
    assert caseworker.post(f"/staff/cases/{case_id}/receive").status_code == 204
    assert decide().status_code == 409
    assert caseworker.post(f"/staff/cases/{case_id}/start-processing").status_code == 204
    assert caseworker.post(f"/staff/cases/{case_id}/close").status_code == 409
    assert decide().status_code == 204
    assert decide().status_code == 409
    answer = citizen.post(f"/cases/{case_id}/withdraw")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "CASE_ALREADY_DECIDED"
    assert caseworker.post(f"/staff/cases/{case_id}/close").status_code == 204
    assert caseworker.post(f"/staff/cases/{case_id}/close").status_code == 409
    assert citizen.post(f"/cases/{case_id}/messages", json={"text": "x"}).status_code == 409
    for path in CASE_READS:
        assert citizen.get(path.format(id=case_id)).status_code == 200
    assert caseworker.get(f"/staff/cases/{case_id}").status_code == 200
    draft = citizen.new_case()
    assert citizen.post(f"/cases/{draft}/withdraw").status_code == 409


# -- uploads and photo merges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "content_type", "code"), [
    (b"<html><script>alert(1)</script></html>", "application/pdf", "TYPE_NOT_ALLOWED"),
    (EICAR, "application/pdf", "VIRUS_FOUND"),
    (b"", "application/pdf", "EMPTY_FILE"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml", "TYPE_NOT_ALLOWED"),
])  # fmt: skip
def test_bad_uploads_rejected(citizen, data, content_type, code):
    draft = citizen.new_case()
    answer = citizen.upload(draft, data, content_type=content_type)
    assert answer.status_code == 400 and answer.json()["error"]["details"]["reason_code"] == code, answer.text[:200]


def test_pdf_with_javascript_rejected(citizen):
    draft = citizen.new_case()
    answer = citizen.upload(draft, samples.pdf_with_javascript())
    assert answer.status_code == 400


def test_merge_rules(citizen, citizen2):
    draft = citizen.new_case()
    citizen.fill_vaem(draft)
    supplied = photos(citizen, draft, 2)
    first, again = merge(citizen, draft, supplied), merge(citizen, draft, supplied)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["document_id"] == again.json()["document_id"]
    listed = [document["document_id"] for document in citizen.get(f"/cases/{draft}").json()["documents"]]
    assert listed == [first.json()["document_id"]]
    others_draft = citizen2.new_case()
    others_photos = photos(citizen2, others_draft, 2)
    assert merge(citizen, draft, others_photos).status_code == 404
    second_draft = citizen.new_case()
    second_photos = photos(citizen, second_draft, 2)
    assert merge(citizen, draft, second_photos).status_code == 404
    listed_second = {document["document_id"] for document in citizen.get(f"/cases/{second_draft}").json()["documents"]}
    assert listed_second == set(second_photos)


def test_refused_merge_after_withdraw_changes_nothing(relays, citizen, caseworker):
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    supplied = photos(citizen, case_id, 2, "lohnabrechnung_erste")
    assert citizen.post(f"/cases/{case_id}/withdraw").status_code == 204
    before_citizen, before_staff = document_ids(citizen, caseworker, case_id)
    answer = merge(citizen, case_id, supplied, "lohnabrechnung_erste")
    assert answer.status_code in (400, 409), answer.text
    after_citizen, after_staff = document_ids(citizen, caseworker, case_id)
    assert (after_citizen, after_staff) == (before_citizen, before_staff)


def test_refused_upload_after_withdraw_leaves_no_document(relays, citizen, caseworker):
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    assert citizen.post(f"/cases/{case_id}/withdraw").status_code == 204
    before = document_ids(citizen, caseworker, case_id)
    answer = citizen.upload(case_id, make_pdf("nach Rücknahme"), nachweis="lohnabrechnung_erste")
    assert answer.status_code in (400, 409), answer.text
    assert document_ids(citizen, caseworker, case_id) == before


# -- the form's plausibility checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("beginn", "9999-12-31"), ("beginn", "1900-01-01"), ("befristet_bis", "2026-10-01"), ("netto_monatlich", 3000),
    ("arbeitgeber", "Firma\x00X"), ("arbeitgeber", "Firma\x1b[31m"), ("arbeitgeber", "Firma \u202eHbmG"),
    ("arbeitgeber", "\u200b"), ("arbeitgeber", "Firma\r\nX"), ("arbeitgeber", "   "), ("brutto_monatlich", -1),
])  # fmt: skip
def test_form_plausibility(citizen, field, value):
    draft = citizen.new_case()
    citizen.put(f"/cases/{draft}/sections/aenderungen", json={"aenderungen": ["arbeitsaufnahme"]})
    body: dict[str, Any] = {"arbeitgeber": "Musterfirma", "beginn": "2026-11-01", "wochenstunden": 30,
                            "brutto_monatlich": 2000, "netto_monatlich": 1500}  # fmt: skip
    body[field] = value
    answer = citizen.put(f"/cases/{draft}/sections/arbeitsaufnahme", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "SECTION_INVALID"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_infinity(citizen, literal):
    draft = citizen.new_case()
    raw = (
        '{"arbeitgeber": "M", "beginn": "2026-11-01", "wochenstunden": 30, '
        f'"brutto_monatlich": {literal}, "netto_monatlich": 1}}'
    )
    answer = citizen.put(
        f"/cases/{draft}/sections/arbeitsaufnahme", data=raw, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400


def test_postcode_00000(citizen):
    draft = citizen.new_case()
    answer = citizen.put(
        f"/cases/{draft}/sections/wohnsitz", json={"plz": "00000", "ort": "X", "strasse": "Y", "hausnummer": "1"}
    )
    assert answer.status_code == 400


# -- others' cases, the second factor, other Jobcenters -------------------------------------------------------------


def test_reads_of_foreign_cases_are_404(relays, citizen, citizen2, caseworker, caseworker_other):
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    for stranger in (citizen2, caseworker_other):
        for path in CASE_READS:
            answer = stranger.get(path.format(id=case_id))
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "CASE_NOT_FOUND"
    assert caseworker_other.get(f"/staff/cases/{case_id}").status_code == 404
    assert citizen.get("/staff/inbox").status_code == 403


def test_no_case_data_without_second_factor(portal, citizen, caseworker):
    for account in (citizen.account, caseworker.account):
        assert account is not None
        session = Client(portal)
        answer = session.post("/session", json={"email": account.email, "password": PASSWORD})
        assert answer.json()["status"] == "second_factor_required"
        assert session.get("/cases").status_code == 401
        assert session.get("/staff/inbox").status_code == 401
        answer = session.post(
            "/session/second-factor", json={"login_ticket": answer.json()["login_ticket"], "code": "000000"}
        )
        assert answer.status_code == 401
        assert session.get("/cases").status_code == 401


def test_amr_has_mfa(citizen, caseworker):
    for person in (citizen, caseworker):
        amr = person.get("/session").json()["amr"]
        assert "mfa" in amr and "pwd" in amr


def test_other_jobcenter_cannot_be_assigned(relays, citizen, caseworker, team_lead, caseworker_other):
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    other_id = caseworker_other.get("/session").json()["account_id"]
    answer = team_lead.post(f"/staff/cases/{case_id}/assignee", json={"caseworker_id": other_id})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "CASEWORKER_NOT_OF_THIS_JOBCENTER"


# -- receipts: one per submission, its own submission time, a signature that verifies ---------------------------


def verified(portal: Any, token: str) -> dict[str, Any]:
    """The receipt signature's claims, once it verified with the key ``receipt-keys.json`` names."""
    header, payload, signature, signing_input = jws_parts(token)
    assert header["alg"] == "EdDSA"
    keys = Client(portal).request("GET", "/.well-known/receipt-keys.json").json()["keys"]
    matching = [key for key in keys if key["kid"] == header["kid"]]
    assert matching, "kid of receipt not in receipt-keys.json"
    public = base64.urlsafe_b64decode(matching[0]["x"] + "=" * (-len(matching[0]["x"]) % 4))
    Ed25519PublicKey.from_public_bytes(public).verify(signature, signing_input)
    claims: dict[str, Any] = json.loads(payload)
    return claims


def filled(citizen: Client) -> str:
    case_id = citizen.new_case()
    citizen.fill_vaem(case_id)
    return case_id


def test_receipt_signature_verifies_and_matches_case(portal, citizen):
    case_id = filled(citizen)
    answer = citizen.submit(case_id)
    assert answer.status_code == 200
    submitted = answer.json()
    answer = citizen.get(f"/cases/{case_id}/receipt")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
    claims = verified(portal, answer.headers["X-Receipt-Signature"])
    assert claims["sub"] == case_id
    assert claims["receipt_number"] == submitted["receipt_number"] == answer.headers["X-Receipt-Number"]
    assert claims["content_hash"] == submitted["content_hash"]
    assert claims["submitted_at"] == submitted["submitted_at"]


def test_receipt_time_is_submission_time_not_last_save(portal, citizen):
    case_id = filled(citizen)
    time.sleep(4)  # not synchronisation: the gap between the last save and the submission is what is probed
    before = datetime.datetime.now(datetime.UTC)
    answer = citizen.submit(case_id)
    assert answer.status_code == 200
    submitted_at = datetime.datetime.fromisoformat(answer.json()["submitted_at"])
    assert submitted_at >= before - datetime.timedelta(seconds=1), (submitted_at, before)
    claims = verified(portal, citizen.get(f"/cases/{case_id}/receipt").headers["X-Receipt-Signature"])
    assert datetime.datetime.fromisoformat(claims["submitted_at"]) == submitted_at
    events = citizen.get(f"/cases/{case_id}/timeline").json()["events"]
    submissions = [event for event in events if event["event"] == "Submitted"]
    assert len(submissions) == 1 and datetime.datetime.fromisoformat(submissions[0]["at"]) == submitted_at


def test_same_key_same_receipt_other_key_conflict(citizen):
    case_id = filled(citizen)
    key = "k-" + uuid.uuid4().hex
    first, again = citizen.submit(case_id, key), citizen.submit(case_id, key)
    other = citizen.submit(case_id, "k-" + uuid.uuid4().hex)
    assert first.status_code == again.status_code == 200
    assert first.json()["receipt_number"] == again.json()["receipt_number"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "CASE_ALREADY_SUBMITTED"


@pytest.mark.parametrize("same_key", [True, False])
def test_concurrent_submits_one_receipt(citizen, same_key):
    case_id = filled(citizen)
    key = "k-" + uuid.uuid4().hex
    keys = [key if same_key else "k-" + uuid.uuid4().hex for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda each: citizen.submit(case_id, each), keys))
    codes = [answer.status_code for answer in answers]
    assert all(code in (200, 409) for code in codes), [(answer.status_code, answer.text[:200]) for answer in answers]
    numbers = {answer.json()["receipt_number"] for answer in answers if answer.status_code == 200}
    assert len(numbers) == 1, numbers
    if same_key:
        assert all(code == 200 for code in codes), codes
    else:
        assert codes.count(200) == 1, codes
    events = citizen.get(f"/cases/{case_id}/timeline").json()["events"]
    assert [event["event"] for event in events].count("Submitted") == 1
    answer = citizen.get(f"/cases/{case_id}/receipt")
    assert answer.status_code == 200 and answer.headers["X-Receipt-Number"] in numbers


def test_receipt_pdf_contains_signature(citizen):
    case_id = filled(citizen)
    assert citizen.submit(case_id).status_code == 200
    answer = citizen.get(f"/cases/{case_id}/receipt")
    signature = answer.headers["X-Receipt-Signature"]
    texts = [answer.content]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", answer.content, re.S):
        try:
            texts.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    blob = b"".join(texts)
    # the signature (or at least its signature part) is in the PDF
    assert signature.split(".")[2][:20].encode() in blob or signature[:30].encode() in blob or b"Signatur" in blob
