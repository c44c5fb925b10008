"""The outside pass of 2026-12-04 on cases: what it found, each a test asserting the right behaviour.

A tester who had read only the README and the OpenAPI document drove a ``make run`` portal over HTTP:
access to others' cases, documents of decided cases, hidden characters in citizens' and caseworkers'
input, the caseworker's actions and the Weiterbewilligungsantrag. Each test fails while its defect exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from services.documents.tests import samples
from shared.dates import german_today
from tests.outside.clients import (
    OTHER_JOBCENTER,
    Client,
    Relays,
    document_ids,
    make_pdf,
    merge,
    photos,
    processing_case,
    seen_by,
    submitted_assigned_case,
    upload_bescheid,
)

pytestmark = pytest.mark.usefixtures("limits_out_of_the_way", "login_failures_forgotten")

# -- access: the existence of others' cases is not revealed, and errors are never 5xx ----------------

SOON = (german_today() + timedelta(days=30)).isoformat()  # a due date the Jobcenter may set
WRITE_ROUTES = [
    ("POST", "/cases/{id}/messages", {"json": {"text": "Hallo"}}),
    ("POST", "/cases/{id}/withdraw", {}),
    ("POST", "/cases/{id}/submit", {"headers": {"Idempotency-Key": "probe-key-123"}}),
    ("PUT", "/cases/{id}/sections/erklaerung", {"json": {"wahrheitsgemaess": True}}),
]
ACTORS = {"CITIZEN2": "citizen2", "CW_OTHER": "caseworker_other", "ADMIN": "admin"}


@pytest.fixture(scope="module")
def submitted(relays: Relays, citizen: Client, caseworker: Client) -> str:
    return submitted_assigned_case(relays, citizen, caseworker)


@pytest.fixture(scope="module")
def draft(citizen: Client) -> str:
    return citizen.new_case()


def signature(answer: requests.Response) -> tuple[int, Any]:
    code = answer.json().get("error", {}).get("code") if answer.status_code >= 400 else None
    return answer.status_code, code


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize(("method", "path", "kwargs"), WRITE_ROUTES, ids=[p for _, p, _ in WRITE_ROUTES])
@pytest.mark.parametrize("which", ["submitted", "draft"])
def test_foreign_case_answers_like_missing_case(request, actor, method, path, kwargs, which):
    """Outside pass of 2026-12-04: a write on an existing case that is not one's own (another citizen,
    another Jobcenter's caseworker, an admin) answered differently from the same write on a case id that
    does not exist, which tells that the case exists."""
    other: Client = request.getfixturevalue(ACTORS[actor])
    case_id = request.getfixturevalue(which)
    missing = str(uuid.uuid4())
    existing_answer = other.api(method, path.format(id=case_id), **kwargs)
    missing_answer = other.api(method, path.format(id=missing), **kwargs)
    assert signature(existing_answer) == signature(missing_answer), (
        f"existing foreign case: {existing_answer.status_code} {existing_answer.text[:160]} / "
        f"missing: {missing_answer.status_code} {missing_answer.text[:160]}"
    )


def test_staff_inbox_huge_page_number_is_not_500(caseworker):
    """Outside pass of 2026-12-04: the staff inbox answered a page number of 20 digits with a 5xx."""
    answer = caseworker.get("/staff/inbox", params={"page": "99999999999999999999"})
    assert answer.status_code < 500, answer.text[:300]


def test_caseworker_cannot_post_on_draft_existence(citizen, caseworker, draft):
    """Outside pass of 2026-12-04: a caseworker of the same Jobcenter writing to a citizen's *draft* through
    the citizen route learnt that the draft exists (403 NOT_ASSIGNED_TO_YOUR_JOBCENTER), while GET said 404."""
    posted = caseworker.post(f"/cases/{draft}/messages", json={"text": "x"})
    read = caseworker.get(f"/cases/{draft}")
    assert signature(posted)[0] == 404 and signature(read)[0] == 404, (posted.text[:200], read.text[:200])


# -- documents of decided cases -----------------------------------------------------------------------


def decided_case(relays: Relays, citizen: Client, caseworker: Client, before_decision: Any = None) -> tuple[str, Any]:
    """A case approved with a Bescheid; ``before_decision(case_id)`` runs once it is assigned."""
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    extra = before_decision(case_id) if before_decision else None
    caseworker.post(f"/staff/cases/{case_id}/assignee", json={})
    assert caseworker.post(f"/staff/cases/{case_id}/receive").status_code == 204
    assert caseworker.post(f"/staff/cases/{case_id}/start-processing").status_code == 204
    answer = upload_bescheid(caseworker, case_id, filename="bescheid.pdf")
    assert answer.status_code == 201, answer.text
    answer = caseworker.post(
        f"/staff/cases/{case_id}/decision",
        json={"outcome": "amended", "bescheid_document_id": answer.json()["document_id"]},
    )
    assert answer.status_code == 204, answer.text
    return case_id, extra


def test_refused_upload_after_decision_leaves_no_document(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: POST /cases/{id}/documents on a decided case answered 409
    CASE_ALREADY_DECIDED, yet the refused file showed up in the case's documents (citizen and staff view)."""
    case_id, _ = decided_case(relays, citizen, caseworker)
    before_citizen, before_staff = document_ids(citizen, caseworker, case_id)
    answer = citizen.upload(case_id, make_pdf("zu spät"), nachweis="lohnabrechnung_erste", filename="spaet.pdf")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "CASE_ALREADY_DECIDED", answer.text
    after_citizen, after_staff = document_ids(citizen, caseworker, case_id)
    assert after_citizen == before_citizen, f"refused upload listed to citizen: {after_citizen - before_citizen}"
    assert after_staff == before_staff, f"refused upload listed to staff: {after_staff - before_staff}"


def test_refused_merge_after_decision_changes_nothing(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: photos supplied after submit, the case decided, then POST
    .../documents/merge answered 409 CASE_ALREADY_DECIDED, yet the photos were replaced by a merged PDF."""
    case_id, supplied = decided_case(
        relays, citizen, caseworker, before_decision=lambda case: photos(citizen, case, 2, "lohnabrechnung_erste")
    )
    before_citizen, before_staff = document_ids(citizen, caseworker, case_id)
    assert set(supplied) <= before_citizen
    answer = merge(citizen, case_id, supplied, "lohnabrechnung_erste")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "CASE_ALREADY_DECIDED", answer.text
    after_citizen, after_staff = document_ids(citizen, caseworker, case_id)
    assert after_citizen == before_citizen, (
        f"citizen view changed by refused merge: +{after_citizen - before_citizen} -{before_citizen - after_citizen}"
    )
    assert after_staff == before_staff, (
        f"staff view changed by refused merge: +{after_staff - before_staff} -{before_staff - after_staff}"
    )


# -- citizens' and caseworkers' input -------------------------------------------------------------------


@pytest.fixture(scope="module")
def case(relays: Relays, citizen: Client, caseworker: Client) -> str:
    return submitted_assigned_case(relays, citizen, caseworker)


@pytest.mark.parametrize(("text", "why"), [
    ("Hallo\x00Welt", "NUL"),
    ("Hallo \x1b[2J\x1b[31mrot", "ESC sequences"),
    ("Betrag \u202e0001 EUR", "U+202E right-to-left override"),
    ("\u200b\u200b", "zero-width only (blank)"),
    ("\u200b \u00a0 \u2060", "invisible/whitespace only"),
])  # fmt: skip
def test_citizen_message_rejects_hidden_characters(citizen, case, text, why):
    """Outside pass of 2026-12-04: form fields refuse these (SECTION_INVALID / HIDDEN_CHARACTERS); a
    citizen's message to the Jobcenter accepted them."""
    answer = citizen.post(f"/cases/{case}/messages", json={"text": text})
    assert answer.status_code == 400, f"{why}: {answer.status_code} {answer.text[:200]}"


@pytest.mark.parametrize("text", ["Hallo\x00Welt", "\u202eabc", "\u200b"])
def test_staff_message_rejects_hidden_characters(caseworker, case, text):
    """Outside pass of 2026-12-04: a caseworker's message to the citizen accepted NUL, U+202E and a text
    of a zero-width space only."""
    answer = caseworker.post(f"/staff/cases/{case}/messages", json={"text": text})
    assert answer.status_code == 400, f"{answer.status_code} {answer.text[:200]}"


def test_upload_with_unknown_nachweis_is_refused(citizen):
    """Outside pass of 2026-12-04: nachweis=../x and ARBEITSVERTRAG were refused (NACHWEIS_INVALID), but a
    well-formed unknown name was accepted and the document attached with a Nachweis the form does not know."""
    draft_id = citizen.new_case()
    citizen.fill_vaem(draft_id)
    answer = citizen.upload(draft_id, make_pdf(), nachweis="gibt_es_nicht")
    assert answer.status_code == 400, f"{answer.status_code} {answer.text[:200]}"


def test_chunked_upload_is_not_called_empty(citizen):
    """Outside pass of 2026-12-04: a valid PDF sent with Transfer-Encoding: chunked got 400 DOCUMENT_REJECTED
    'Die Datei ist leer.' (EMPTY_FILE), and a rejected document was left in the case."""
    draft_id = citizen.new_case()
    big = samples.large_pdf(200_000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    answer = citizen.post(
        f"/cases/{draft_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "gross.pdf"},
        data=chunks(), headers={"Content-Type": "application/pdf"},
    )  # fmt: skip
    code = answer.json().get("error", {}).get("details", {}).get("reason_code") if answer.status_code >= 400 else None
    assert answer.status_code == 201 or (answer.status_code in (411, 400) and code != "EMPTY_FILE"), answer.text[:300]


def test_pages_do_not_carry_raw_control_characters(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: citizens' messages with NUL / ESC / U+202E were accepted and then written
    raw into the staff case page /sachbearbeitung/faelle/{id} and the citizen's page /antraege/{id}."""
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    for text in ["Hallo\x00Welt", "A\x1b[2J", "Betrag \u202e0001 EUR"]:
        citizen.post(f"/cases/{case_id}/messages", json={"text": text})
    staff = caseworker.page(f"/sachbearbeitung/faelle/{case_id}")
    own = citizen.page(f"/antraege/{case_id}")
    assert staff.status_code == 200 and own.status_code == 200
    for name, page in [("staff", staff.text), ("citizen", own.text)]:
        bad = [character for character in ["\x00", "\x1b", "\u202e"] if character in page]
        assert not bad, f"{name} page contains raw {bad!r}"


# -- the caseworker's actions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "why"), [
    ({"items": [], "note": "  ", "due_date": SOON}, "no documents and no note"),
    ({"items": ["gibt_es_nicht"], "note": "x", "due_date": SOON}, "unknown Nachweis"),
    ({"items": ["bescheid"], "note": "x", "due_date": SOON}, "Bescheid, which a citizen may not upload"),
    ({"items": ["lohnabrechnung_erste"], "note": "x", "due_date": "9999-12-31"}, "due date in year 9999"),
    ({"items": ["lohnabrechnung_erste"], "note": "Bitte\x00 \x1b[2J \u202e nachreichen", "due_date": SOON},
     "NUL/ESC/RLO in note"),
])  # fmt: skip
def test_document_request_rejects_implausible_input(relays, citizen, caseworker, body, why):
    """Outside pass of 2026-12-04: a document request was accepted with an unknown Nachweis,
    the Bescheid, a due date in 9999 and a note with NUL, ESC and U+202E."""
    case_id = processing_case(relays, citizen, caseworker)
    answer = caseworker.post(f"/staff/cases/{case_id}/document-requests", json=body)
    assert answer.status_code == 400, (
        f"{why}: accepted with {answer.status_code}; "
        f"checklist now {citizen.get(f'/cases/{case_id}').json()['case']['checklist'].keys()}"
    )


def test_requested_unknown_nachweis_does_not_enter_checklist(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: a requested Nachweis the form does not know entered the citizen's checklist."""
    case_id = processing_case(relays, citizen, caseworker)
    caseworker.post(
        f"/staff/cases/{case_id}/document-requests",
        json={"items": ["gibt_es_nicht"], "note": "x", "due_date": SOON},
    )
    assert "gibt_es_nicht" not in citizen.get(f"/cases/{case_id}").json()["case"]["checklist"]


def test_citizen_can_supply_every_requested_nachweis(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: the caseworker could request 'bescheid'; the citizen was then told to supply
    it but got 400 NACHWEIS_STAFF_ONLY when trying: a request that can never be fulfilled."""
    case_id = processing_case(relays, citizen, caseworker)
    answer = caseworker.post(
        f"/staff/cases/{case_id}/document-requests", json={"items": ["bescheid"], "note": "x", "due_date": SOON}
    )
    if answer.status_code >= 400:
        return  # refused up front: fine
    supplied = citizen.upload(case_id, make_pdf("Nachweis"), nachweis="bescheid")
    assert supplied.status_code == 201, (
        f"request accepted (204) but citizen cannot supply it: {supplied.status_code} {supplied.text[:200]}"
    )


@pytest.mark.parametrize("state", ["withdrawn", "decided", "closed"])
def test_waiver_refused_on_finished_case(relays, citizen, caseworker, state):
    """Outside pass of 2026-12-04: a caseworker could waive a Nachweis of a withdrawn, decided or closed case,
    and the citizen's checklist changed."""
    case_id = processing_case(relays, citizen, caseworker)
    if state == "withdrawn":
        assert citizen.post(f"/cases/{case_id}/withdraw").status_code == 204
    else:
        bescheid = upload_bescheid(caseworker, case_id, make_pdf("B")).json()["document_id"]
        decided = caseworker.post(
            f"/staff/cases/{case_id}/decision", json={"outcome": "amended", "bescheid_document_id": bescheid}
        )
        assert decided.status_code == 204
        if state == "closed":
            assert caseworker.post(f"/staff/cases/{case_id}/close").status_code == 204
    before = citizen.get(f"/cases/{case_id}").json()["case"]["checklist"]
    answer = caseworker.post(f"/staff/cases/{case_id}/waivers", json={"nachweis": "anlage_ek"})
    assert answer.status_code == 409, f"waiver on {state} case: {answer.status_code} {answer.text[:200]}"
    assert citizen.get(f"/cases/{case_id}").json()["case"]["checklist"] == before


def test_bescheid_not_listed_to_citizen_before_decision(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: an uploaded but not yet issued Bescheid was listed in the citizen's
    GET /cases/{id} documents (name, size, sha256) before any decision existed."""
    case_id = processing_case(relays, citizen, caseworker)
    bescheid = upload_bescheid(caseworker, case_id, make_pdf("Entwurf"), filename="entwurf-bescheid.pdf")
    documents = citizen.get(f"/cases/{case_id}").json()["documents"]
    assert bescheid.json()["document_id"] not in [d["document_id"] for d in documents], (
        "undecided Bescheid visible to citizen"
    )


def test_reassignment_reason_rejects_hidden_characters(relays, citizen, caseworker, team_lead):
    """Outside pass of 2026-12-04: a team lead's reason for handing a case to another Jobcenter was accepted
    with NUL and U+202E."""
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    answer = team_lead.post(
        f"/staff/cases/{case_id}/reassignment", json={"jobcenter_id": OTHER_JOBCENTER, "reason": "Umzug\x00\u202e"}
    )
    assert answer.status_code == 400, f"reason with NUL and U+202E accepted: {answer.status_code} {answer.text[:200]}"


# -- the Weiterbewilligungsantrag and its decision ---------------------------------------------------------

SECTIONS: dict[str, dict[str, Any]] = {
    "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": "Müggelheimer Straße", "hausnummer": "12",
                 "berlin_bezirk": "09"},
    "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "Erika Mustermann"},
    "bedarfsgemeinschaft": {"unveraendert": True, "personen": []},
    "einkommen": {"hat_einkommen": False}, "vermoegen": {"ueber_grenze": False},
    "wohnkosten": {"unveraendert": True, "miete_kalt": 500}, "krankenversicherung": {"krankenkasse": "AOK"},
    "mehrbedarf": {"arten": []}, "erklaerung": {"wahrheitsgemaess": True},
}  # fmt: skip


def weiterbewilligung(citizen: Client, overrides: dict[str, Any] | None = None) -> tuple[str, Any]:
    """A WBA filled with SECTIONS (and ``overrides``); the first refused save, if any."""
    case_id = citizen.new_case("weiterbewilligungsantrag")
    for section_id, data in {**SECTIONS, **(overrides or {})}.items():
        answer = citizen.put(f"/cases/{case_id}/sections/{section_id}", json=data)
        if answer.status_code >= 400:
            return case_id, answer
    return case_id, None


def test_a_wba_of_someone_living_alone_is_submitted(citizen):
    """Outside pass of 2026-12-04 reported as a defect: bedarfsgemeinschaft {unveraendert: true, personen: []}
    was saved and the Weiterbewilligungsantrag submitted "with a household of nobody". Not a defect: the
    section asks "Wer lebt mit Ihnen zusammen?", and nobody is the answer of everyone who lives alone (the
    applicant is never in the list). Kept so that a rule against it would be a decision, not an accident."""
    case_id, refused = weiterbewilligung(citizen)
    assert refused is None
    answer = citizen.submit(case_id)
    assert answer.status_code == 200, answer.text


def test_no_income_with_income_amount_is_refused(citizen):
    """Outside pass of 2026-12-04: 'no income' with a net income of 5000 EUR was saved."""
    case_id = citizen.new_case("weiterbewilligungsantrag")
    answer = citizen.put(f"/cases/{case_id}/sections/einkommen", json={"hat_einkommen": False, "netto_monatlich": 5000})
    assert answer.status_code == 400, f"'no income' plus 5000 EUR net saved: {answer.status_code}"


def test_wba_decision_refuses_absurd_approval_period(relays, citizen, caseworker):
    """Outside pass of 2026-12-04: a Weiterbewilligung was approved for 1900-01-01 to 9999-12-31."""
    case_id, refused = weiterbewilligung(citizen, {"bedarfsgemeinschaft": {"unveraendert": True, "personen": []}})
    assert refused is None and citizen.submit(case_id).status_code == 200
    seen_by(relays, caseworker, case_id)
    caseworker.post(f"/staff/cases/{case_id}/assignee", json={})
    caseworker.post(f"/staff/cases/{case_id}/receive")
    caseworker.post(f"/staff/cases/{case_id}/start-processing")
    bescheid = upload_bescheid(caseworker, case_id, make_pdf("B")).json()["document_id"]
    answer = caseworker.post(
        f"/staff/cases/{case_id}/decision",
        json={"outcome": "approved", "bescheid_document_id": bescheid, "approval_from": "1900-01-01",
              "approval_to": "9999-12-31"},
    )  # fmt: skip
    assert answer.status_code == 400, f"approval period 1900-01-01..9999-12-31 accepted: {answer.status_code}"
