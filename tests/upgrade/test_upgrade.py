"""The upgrade test (issue #22): a recorded release runs the story, stops, and the current code takes over.

Each release of ``releases.toml`` is materialised with ``git archive`` and started as ``make run`` starts it
(``python -m shared.system run`` from its tree) on a PostgreSQL database, a vhost and a run folder (S3
objects, keys, broker passwords) of this test. The story runs over HTTP only, with routes both releases
have: the demo citizen files the Arbeitsaufnahme with a Nachweis and gets a receipt, the caseworker asks for
a document, the citizen supplies it, the caseworker decides with a Bescheid (the older release has no staff
API yet: there the staff part runs on the current code, on the old data); a Weiterbewilligungsantrag stays
a draft. Before the last submission the old submissions outbox relay is killed, so that case's events are
stored but not relayed when the old release stops. Then the current code starts on the same database,
S3 and broker, and everything is still there and works: the events left behind are delivered once.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.documents.tests import samples
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared import servers
from shared.dates import german_today
from shared.testing.waiting import wait_until
from tests.support import DEMO_CITIZEN, DEMO_PASSWORD, ApiCitizen, RunningSystem, ServiceProcess, processes_of
from tests.upgrade.releases import materialise, releases

pytestmark = pytest.mark.postgres

CASEWORKER = "sachbearbeitung@jc-treptow-koepenick.example"
JOBCENTER = "jc-0394"  # Berlin Treptow-Köpenick, where ARBEITSAUFNAHME's address lies
REQUESTED = "lohnabrechnung_erste"  # the Nachweis the caseworker asks for
CONTRACT = samples.pdf()  # the uploaded Nachweis, to be read back byte for byte
SETTLE = 60.0  # bound for an event to travel relay, broker and consumer on a busy machine


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database all services share (table prefixes), as in production."""
    name = f"jc_test_upgrade_{uuid.uuid4().hex[:10]}"
    url = servers.create_postgres_database(name)
    yield url
    servers.drop_postgres_database(name)


@pytest.fixture
def vhost() -> Iterator[str]:
    """A vhost of this test with every service's and relay's own broker user; kept across the upgrade."""
    servers.ensure_rabbitmq()
    name = f"jc_test_upgrade_{uuid.uuid4().hex[:10]}"
    yield servers.create_rabbit_vhost(name)
    servers.delete_rabbit_vhost(name)


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
    decided = caseworker.post(
        f"/staff/cases/{case_id}/decision",
        json={"outcome": "approved", "bescheid_document_id": bescheid.json()["document_id"]},
    )
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


def stopped(system: RunningSystem, run_dir: Path) -> None:
    assert system.interrupt() == 0, system.text()[-3000:]
    wait_until(lambda: processes_of(run_dir) == [], 30, "every process of the old release to end")


@pytest.mark.parametrize("release", ["previous", "older_read_model"])
def test_the_current_code_takes_over_the_data_of_a_release(release, tmp_path, database, vhost):
    recorded = releases()[release]
    old_tree = materialise(recorded["commit"], tmp_path / "release")
    run_dir = tmp_path / "run"
    settings = {"DATABASE_URL": database}
    has_staff_api = release == "previous"  # the older release had no staff routes in its JSON API

    # -- the story on the old release -----------------------------------------------------------------
    old = RunningSystem(run_dir, vhost, settings, root=old_tree)
    try:
        old_url = f"http://127.0.0.1:{old.port}"
        people = demo_people(old, old_url)
        citizen, caseworker = people[DEMO_CITIZEN], people[CASEWORKER]
        decided_case, contract = filed_arbeitsaufnahme(citizen)
        decided_number = submitted(citizen, decided_case)
        wait_until(lambda: postfach_ids(citizen, decided_case), SETTLE, "the receipt in the Postfach")
        old_signature = ""
        if has_staff_api:
            old_number, old_signature = verified_receipt(old_url, citizen, decided_case)
            assert old_number == decided_number
            staff_part(caseworker, citizen, decided_case)
            # receipt, document request, decision: each in the Postfach
            wait_until(lambda: len(postfach_ids(citizen, decided_case)) >= 3, SETTLE, "the decision in the Postfach")
        draft = citizen.draft_of("weiterbewilligungsantrag")
        postfach_before = postfach_ids(citizen, decided_case)

        # The last case's events are stored, not relayed: the old relay is gone before it is submitted.
        ServiceProcess.find(run_dir, "shared.outbox", "submissions").kill()
        pending_case, pending_document = filed_arbeitsaufnahme(citizen)
        pending_number = submitted(citizen, pending_case)
        assert postfach_ids(citizen, pending_case) == []
    finally:
        stopped(old, run_dir)

    # -- the current code on the same database, S3, keys and broker --------------------------------------
    new = RunningSystem(run_dir, vhost, settings)
    try:
        url = f"http://127.0.0.1:{new.port}"
        for person in (citizen, caseworker):
            person.base_url = url
            # A session of the old release may go on or may have to log in again; both work.
            assert person.get("/session").status_code in (200, 401)
            person.log_in()

        # The events left behind are relayed now, once: the receipt reaches the Postfach, the case its Jobcenter.
        wait_until(lambda: postfach_ids(citizen, pending_case), SETTLE, "the pending receipt in the Postfach")
        wait_until(lambda: assigned(caseworker, pending_case), SETTLE, "the pending case at its Jobcenter")
        # Nothing of the old release is delivered again, nothing is lost.
        assert postfach_ids(citizen, decided_case) == postfach_before
        assert len(postfach_ids(citizen, pending_case)) == 1

        # Cases (the read model of the current code), drafts and answers are all there.
        listed = citizen.get("/cases")
        assert listed.status_code == 200, listed.text
        statuses = {case["case_id"]: case["status"] for case in listed.json()["cases"]}
        assert statuses[draft] == "draft"
        assert set(statuses) >= {decided_case, pending_case, draft}
        detail = citizen.get(f"/cases/{pending_case}").json()
        assert detail["answers"]["arbeitsaufnahme"]["arbeitgeber"] == ARBEITSAUFNAHME["arbeitsaufnahme"]["arbeitgeber"]

        # Receipts issued by the old release still verify, unchanged.
        for case_id, number in ((decided_case, decided_number), (pending_case, pending_number)):
            assert verified_receipt(url, citizen, case_id)[0] == number
        if old_signature:
            assert verified_receipt(url, citizen, decided_case)[1] == old_signature
            assert_verifies(citizen, url, old_signature, decided_case)

        # The documents stored in S3 by the old release are read back byte for byte.
        for case_id, document_id in ((decided_case, contract), (pending_case, pending_document)):
            if not has_staff_api and case_id == decided_case:
                continue  # not assigned yet: the staff part below takes it
            read = caseworker.get(f"/staff/cases/{case_id}/documents/{document_id}")
            assert read.status_code == 200 and read.content == CONTRACT, read.status_code

        # The staff work goes on under the current code: on the old release's case, or the whole of it.
        if has_staff_api:
            answer = caseworker.post(f"/staff/cases/{decided_case}/close")
            assert answer.status_code == 204, answer.text
        else:
            staff_part(caseworker, citizen, decided_case)
            wait_until(lambda: len(postfach_ids(citizen, decided_case)) >= 3, SETTLE, "the decision in the Postfach")
        inbox = caseworker.get("/staff/inbox")
        assert inbox.status_code == 200 and pending_case in {case["case_id"] for case in inbox.json()["cases"]}
    finally:
        assert new.interrupt() == 0, new.text()[-3000:]
    wait_until(lambda: processes_of(run_dir) == [], 30, "every process of the current code to end")
