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

from pathlib import Path

import pytest
import sqlalchemy

from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.sql import make_engine
from shared.testing.waiting import wait_until
from tests.support import DEMO_CITIZEN, RunningSystem, ServiceProcess, processes_of
from tests.upgrade.releases import materialise, releases
from tests.upgrade.story import (
    CASEWORKER,
    CONTRACT,
    SETTLE,
    assert_verifies,
    assigned,
    demo_people,
    filed_arbeitsaufnahme,
    postfach_ids,
    staff_part,
    submitted,
    verified_receipt,
)

# Two system starts and a story: a system start alone took 164 s at load 15 on two cores.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(1200)]


def tables_of(database: str) -> list[str]:
    engine = make_engine(database)
    try:
        return sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()


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
    # The release is the one recorded: its read model is the version releases.toml names.
    assert recorded["read_model"] in tables_of(database)

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


def test_a_release_missing_from_the_history_fails_clearly(tmp_path):
    with pytest.raises(AssertionError, match="not in this clone's history"):
        materialise("0" * 40, tmp_path / "nothing")
