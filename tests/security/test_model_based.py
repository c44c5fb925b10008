"""A model-based test: random sequences of what citizens and staff do, through the public API only.

Two citizens, caseworkers of two Jobcenters and a team lead start, save (again and again, well past the
event store's snapshot interval), submit (twice, with the same and with another key), withdraw and write
messages, staff read, receive and write, while the outbox relays run between the steps. Every answer is
checked against a small model: who may see and do what, one receipt per submission carrying the
submission's own time, every case readable at any length, never a 5xx.

``make test`` runs a short budget; ``MODEL_PROFILE=long`` runs the longer one by hand (figures printed).
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from tests.security.conftest import API, ASSIGNED_JOBCENTER, Person, World, staff_account

CITIZENS = ("citizen_a", "citizen_b")
CASEWORKERS = ("caseworker", "caseworker_other")
SECTIONS = tuple(ARBEITSAUFNAHME)
PROFILES = {  # examples x steps
    "short": settings(max_examples=8, stateful_step_count=50),
    "long": settings(max_examples=25, stateful_step_count=100),
}
LONG_CASE = 110  # saves: past two snapshot intervals of 50 events
# What "submitted" looks like to the citizen as the Jobcenter takes the case up.
IN_THE_JOBCENTERS_HANDS = {"submitted", "assigned", "received", "in_progress", "waiting_for_documents"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COVERED: Counter[str] = Counter()  # what the runs did, printed by the long profile


@dataclass
class CaseModel:
    owner: str
    status: str = "draft"
    saved: set[str] = field(default_factory=set)
    saves: int = 0
    messages: int = 0
    key: str | None = None
    receipt_number: str | None = None
    submitted_at: str | None = None


class Portal(RuleBasedStateMachine):
    world: World
    people: dict[str, Person]

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, CaseModel] = {}

    # -- helpers -------------------------------------------------------------------------------------

    def call(self, actor: str, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.people[actor].request(method, f"{API}{path}", **kwargs)
        assert answer.status_code < 500, f"{actor} {method} {path}: {answer.status_code} {answer.text}"
        COVERED[f"{method} {UUID.sub('{id}', path)}"] += 1
        return answer

    def expect(self, answer: Any, *statuses: int) -> None:
        assert answer.status_code in statuses, (
            f"{answer.request.method} {answer.url}: {answer.status_code} {answer.text}"
        )

    def read_case(self, case_id: str) -> dict[str, Any]:
        """The owner's view: readable at any length; what the model knows agrees with it."""
        case = self.model[case_id]
        answer = self.call(case.owner, "GET", f"/cases/{case_id}")
        self.expect(answer, 200)
        timeline = self.call(case.owner, "GET", f"/cases/{case_id}/timeline")
        self.expect(timeline, 200)
        shown = answer.json()["case"]
        COVERED["most events of one case"] = max(COVERED["most events of one case"], int(shown["version"]))
        assert shown["receipt_number"] == case.receipt_number
        if case.submitted_at is not None:
            assert shown["submitted_at"] == case.submitted_at
            submitted = [e for e in timeline.json()["events"] if e["event"] == "Submitted"]
            assert len(submitted) == 1 and submitted[0]["at"] == case.submitted_at  # the submission's own time
        return dict(shown)

    # -- citizens ------------------------------------------------------------------------------------

    @initialize()
    def relay_first(self) -> None:
        self.world.relay()

    @rule(target=cases, owner=st.sampled_from(CITIZENS))
    def start(self, owner: str) -> str:
        answer = self.call(owner, "POST", "/cases", json={"kind": "veraenderungsmitteilung"})
        self.expect(answer, 201)
        case_id = str(answer.json()["case_id"])
        self.model[case_id] = CaseModel(owner)
        COVERED["cases"] += 1
        return case_id

    @rule(case_id=cases, actor=st.sampled_from(CITIZENS), section=st.sampled_from(SECTIONS),
          times=st.integers(1, 10))  # fmt: skip
    def save(self, case_id: str, actor: str, section: str, times: int) -> None:
        case = self.model[case_id]
        for _ in range(times):
            answer = self.call(actor, "PUT", f"/cases/{case_id}/sections/{section}", json=ARBEITSAUFNAHME[section])
            if actor != case.owner:
                self.expect(answer, 403)
                return
            if case.status != "draft":
                self.expect(answer, 409)
                return
            self.expect(answer, 200)
            case.saved.add(section)
            case.saves += 1
        self.read_case(case_id)

    @rule(case_id=cases)
    def save_past_snapshots(self, case_id: str) -> None:
        """A citizen who saves as they go: one draft well past two snapshot intervals (50 events each)."""
        case = self.model[case_id]
        if case.status == "draft" and case.saves < LONG_CASE:
            self.save(case_id, case.owner, "arbeitsaufnahme", LONG_CASE - case.saves)

    @rule(case_id=cases)
    def fill(self, case_id: str) -> None:
        """The owner answers every section (the common way to a complete draft)."""
        for section in SECTIONS:
            self.save(case_id, self.model[case_id].owner, section, 1)

    @rule(case_id=cases, actor=st.sampled_from(CITIZENS), same_key=st.booleans())
    def submit(self, case_id: str, actor: str, same_key: bool) -> None:
        case = self.model[case_id]
        key = case.key if same_key and case.key else f"k-{uuid.uuid4()}"
        answer = self.call(actor, "POST", f"/cases/{case_id}/submit", headers={"Idempotency-Key": key})
        if actor != case.owner:
            self.expect(answer, 403)
        elif case.status == "draft" and case.saved != set(SECTIONS):
            self.expect(answer, 400)
            assert answer.json()["error"]["code"] == "CASE_INCOMPLETE"
        elif case.status == "draft":
            self.expect(answer, 200)
            body = answer.json()
            case.status, case.key = "submitted", key
            case.receipt_number, case.submitted_at = body["receipt_number"], body["submitted_at"]
            assert case.receipt_number and case.submitted_at
        elif key == case.key:
            self.expect(answer, 200)  # the same submission again: the same receipt, the same time
            assert (answer.json()["receipt_number"], answer.json()["submitted_at"]) == (
                case.receipt_number, case.submitted_at
            )  # fmt: skip
        else:
            self.expect(answer, 409)
        self.read_case(case_id)

    @rule(case_id=cases, actor=st.sampled_from(CITIZENS))
    def withdraw(self, case_id: str, actor: str) -> None:
        case = self.model[case_id]
        answer = self.call(actor, "POST", f"/cases/{case_id}/withdraw")
        if actor != case.owner:
            self.expect(answer, 403)
        elif case.status == "submitted":
            self.expect(answer, 204)
            case.status = "withdrawn"
        else:
            self.expect(answer, 409)
        shown = self.read_case(case_id)["status"]
        assert shown in IN_THE_JOBCENTERS_HANDS if case.status == "submitted" else shown == case.status

    @rule(case_id=cases, actor=st.sampled_from(CITIZENS), times=st.integers(1, 10))
    def write(self, case_id: str, actor: str, times: int) -> None:
        case = self.model[case_id]
        for number in range(times):
            answer = self.call(actor, "POST", f"/cases/{case_id}/messages", json={"text": f"Frage {number}"})
            if actor != case.owner:
                self.expect(answer, 403)
                return
            if case.status != "submitted":
                self.expect(answer, 409)
                return
            self.expect(answer, 201)
            case.messages += 1
        thread = self.call(case.owner, "GET", f"/cases/{case_id}/messages")
        self.expect(thread, 200)
        from_citizen = [m for m in thread.json()["messages"] if m["author_role"] == "citizen"]
        assert len(from_citizen) == case.messages
        self.read_case(case_id)

    # -- staff ---------------------------------------------------------------------------------------

    @rule()
    def relay(self) -> None:
        self.world.relay()

    @rule(case_id=cases, actor=st.sampled_from(CASEWORKERS))
    def staff_read(self, case_id: str, actor: str) -> None:
        case = self.model[case_id]
        listed = {row["case_id"]: row for row in self.call(case.owner, "GET", "/cases").json()["cases"]}
        jobcenter = listed[case_id]["jobcenter_id"]
        answer = self.call(actor, "GET", f"/staff/cases/{case_id}")
        if case.status == "draft" or jobcenter is None or actor == "caseworker_other":
            self.expect(answer, 404)  # another Jobcenter's case, or one no Jobcenter has yet, does not exist
        else:
            assert jobcenter == ASSIGNED_JOBCENTER
            self.expect(answer, 200)
            assert answer.json()["case"]["receipt_number"] == case.receipt_number

    @rule(case_id=cases)
    def staff_write(self, case_id: str) -> None:
        case = self.model[case_id]
        answer = self.call("caseworker", "POST", f"/staff/cases/{case_id}/messages", json={"text": "Bitte melden"})
        self.expect(answer, 201, 404, 409)  # 404: not (yet) this Jobcenter's; 409: not in a state to write
        if answer.status_code == 201:
            thread = self.call(case.owner, "GET", f"/cases/{case_id}/messages").json()["messages"]
            assert any(m["author_role"] != "citizen" and m["text"] == "Bitte melden" for m in thread)

    @rule(case_id=cases)
    def team_lead_gives_the_case_to_a_caseworker(self, case_id: str) -> None:
        colleagues = self.call("team_lead", "GET", "/staff/colleagues")
        self.expect(colleagues, 200)
        self.expect(self.call("caseworker", "GET", "/staff/colleagues"), 403)
        worker = self.people["caseworker"].account
        assert worker is not None
        answer = self.call("team_lead", "POST", f"/staff/cases/{case_id}/assignee",
                           json={"caseworker_id": worker.account_id})  # fmt: skip
        self.expect(answer, 200, 404, 409)  # 404: not (yet) this Jobcenter's case
        if answer.status_code == 200:
            shown = self.call("caseworker", "GET", f"/staff/cases/{case_id}")
            self.expect(shown, 200)
            assert shown.json()["case"]["assignee_id"] == worker.account_id


@pytest.fixture(scope="module")
def people(world: World) -> dict[str, Person]:
    lead = Person(world.portal)
    lead.account = staff_account(world.portal, "team_lead", ASSIGNED_JOBCENTER)
    lead.log_in(lead.account)
    return {**world.browsers, "team_lead": lead}


def test_random_sequences_of_citizens_and_staff_keep_every_promise(world: World, people: dict[str, Person]) -> None:
    profile = os.environ.get("MODEL_PROFILE", "short")
    Portal.world, Portal.people = world, people
    COVERED.clear()
    chosen = settings(PROFILES[profile], deadline=None, suppress_health_check=list(HealthCheck))
    run_state_machine_as_test(Portal, settings=chosen)
    if profile != "short" or os.environ.get("MODEL_REPORT"):
        requests = sum(count for name, count in COVERED.items() if name.split(" ")[0] in ("GET", "POST", "PUT"))
        print(f"\nmodel-based test, profile {profile}: {requests} requests", dict(COVERED))
