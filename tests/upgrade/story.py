"""The story of the upgrade tests over the gateway's JSON API, with routes every recorded release has."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.documents.tests import samples
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.dates import german_today
from shared.testing.waiting import wait_until
from tests.support import DEMO_CITIZEN, DEMO_PASSWORD, ApiCitizen, RunningSystem

CASEWORKER = "sachbearbeitung@jc-treptow-koepenick.example"
JOBCENTER = "jc-0394"  # Berlin Treptow-Köpenick, where ARBEITSAUFNAHME's address lies
REQUESTED = "lohnabrechnung_erste"  # the Nachweis the caseworker asks for
CONTRACT = samples.pdf()  # the uploaded Nachweis, to be read back byte for byte
SETTLE = 60.0  # bound for an event to travel relay, broker and consumer on a busy machine


class Person(ApiCitizen):
    """Someone of the demo accounts with a session through the gateway's JSON API."""

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def draft_of(self, kind: str) -> str:
        started = self.post("/cases", json={"kind": kind})
        assert started.status_code == 201, started.text
        return str(started.json()["case_id"])


def demo_people(system: RunningSystem, base_url: str) -> dict[str, Person]:
    """The demo citizen and caseworker, logged in with the TOTP secrets the first start printed."""
    secrets = dict(re.findall(r"(\S+@\S+).*?\n\s+TOTP secret (\w+)", system.text()))
    people = {}
    for email in (DEMO_CITIZEN, CASEWORKER):
        people[email] = Person(base_url, email, secrets[email], password=DEMO_PASSWORD)
        people[email].log_in()
    return people


def filed_arbeitsaufnahme(citizen: Person) -> tuple[str, str]:
    """A VÄM Arbeitsaufnahme with every section answered and the contract uploaded: (case id, document id)."""
    started = citizen.start_case()
    assert started.status_code == 201, started.text
    case_id = str(started.json()["case_id"])
    for section_id, data in ARBEITSAUFNAHME.items():
        saved = citizen.save_section(case_id, section_id, data)
        assert saved.status_code == 200, saved.text
    uploaded = citizen.upload(case_id, CONTRACT)
    assert uploaded.status_code == 201 and uploaded.json()["state"] == "accepted", uploaded.text
    return case_id, str(uploaded.json()["document_id"])


def submitted(citizen: Person, case_id: str) -> str:
    answer = citizen.submit(case_id, f"submit-{uuid.uuid4()}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["receipt_number"])


def postfach_ids(citizen: Person, case_id: str) -> list[str]:
    return sorted(message["message_id"] for message in citizen.postfach() if message["case_id"] == case_id)


def assigned(caseworker: Person, case_id: str) -> bool:
    answer = caseworker.get(f"/staff/cases/{case_id}")
    return answer.status_code == 200 and answer.json()["case"]["jobcenter_id"] == JOBCENTER


def staff_part(caseworker: Person, citizen: Person, case_id: str) -> None:
    """Receive, ask for a Lohnabrechnung, the citizen supplies it, decide with a Bescheid (routes of both releases)."""
    wait_until(lambda: assigned(caseworker, case_id), SETTLE, "the case in the caseworker's view")
    assert caseworker.post(f"/staff/cases/{case_id}/assignee", json={}).status_code == 200
    for step in ("receive", "start-processing"):
        answer = caseworker.post(f"/staff/cases/{case_id}/{step}")
        assert answer.status_code == 204, answer.text
    due = (german_today() + timedelta(days=14)).isoformat()
    answer = caseworker.post(f"/staff/cases/{case_id}/document-requests", json={"items": [REQUESTED], "due_date": due})
    assert answer.status_code == 204, answer.text
    supplied = citizen.upload(case_id, samples.pdf(), nachweis=REQUESTED)
    assert supplied.status_code == 201, supplied.text
    bescheid = caseworker.post(
        f"/staff/cases/{case_id}/bescheid", params={"filename": "bescheid.pdf"}, data=samples.pdf(),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert bescheid.status_code == 201, bescheid.text
    # A VÄM ends in an Änderungsbescheid since #20; releases before decided it as "approved".
    for outcome in ("amended", "approved"):
        decided = caseworker.post(
            f"/staff/cases/{case_id}/decision",
            json={"outcome": outcome, "bescheid_document_id": bescheid.json()["document_id"]},
        )
        if decided.status_code != 400:
            break
    assert decided.status_code == 204, decided.text


def verified_receipt(base_url: str, person: Person, case_id: str) -> tuple[str, str]:
    """The case's receipt under the running code: (receipt number, signature), the signature checked
    against the published ``/.well-known/receipt-keys.json``."""
    answer = person.get(f"/cases/{case_id}/receipt")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF"), answer.text[:200]
    signature = answer.headers["X-Receipt-Signature"]
    assert_verifies(person, base_url, signature, case_id)
    return answer.headers["X-Receipt-Number"], signature


def assert_verifies(person: Person, base_url: str, token: str, case_id: str) -> None:
    def decoded(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, payload, signature = token.split(".")
    kid = json.loads(decoded(header))["kid"]
    keys = person.http.get(f"{base_url}/.well-known/receipt-keys.json", timeout=30).json()["keys"]
    (key,) = [key for key in keys if key["kid"] == kid]
    Ed25519PublicKey.from_public_bytes(decoded(key["x"])).verify(decoded(signature), f"{header}.{payload}".encode())
    assert json.loads(decoded(payload))["sub"] == case_id
