"""A submissions instance whose read-model version is not built yet builds it before it serves."""

import base64
import os
import time
from pathlib import Path

import pytest

from services.submissions.application import Cases
from services.submissions.tests.scenarios import ARBEITSAUFNAHME, CITIZEN, ROUTED, fill
from shared.errors import Unavailable
from shared.testing.tokens import FakeIdentity


def file_cases(database_url: str, cipher_key: str, count: int) -> list[str]:
    """Cases stored before the service starts, with no read model built (no prepare ran)."""
    cases = Cases.from_settings(database_url, cipher_key)
    filed = []
    for _ in range(count):
        case_id = str(cases.start_draft(CITIZEN.account_id, "veraenderungsmitteilung"))
        fill(cases, case_id, ARBEITSAUFNAHME)
        cases.submit(case_id, CITIZEN, f"key-{case_id}", ROUTED)
        filed.append(case_id)
    cases.close()
    return filed


def store_of(service_env) -> str:
    return f"sqlite:///{Path(service_env['RUN_DIR']) / 'data' / 'submissions.sqlite'}"


def test_an_instance_answers_building_or_every_case_never_a_partial_list(
    start_services, rpc, issue_token, service_env, cipher_key
):
    filed = file_cases(store_of(service_env), cipher_key, 30)
    start_services(FakeIdentity, "submissions")
    token = issue_token(CITIZEN.account_id)
    answers = []
    deadline = time.monotonic() + 60
    with rpc() as cluster:
        while time.monotonic() < deadline:
            try:
                listed = cluster.submissions.list_my_cases(token)
            except Unavailable as building:
                answers.append(building.code)
                continue
            answers.append("listed")
            break
        health = cluster.submissions.health()
    assert answers[-1] == "listed", answers
    assert set(answers[:-1]) <= {"READ_MODEL_BUILDING"}
    assert sorted(case["case_id"] for case in listed) == sorted(filed)
    assert health["dependencies"]["read_model"]["status"] == "ok"


def test_an_instance_whose_build_cannot_finish_reports_building_and_serves_nothing(
    start_services, rpc, issue_token, service_env, cipher_key
):
    # Cases stored under another master key: this instance cannot read them, so its build cannot finish.
    file_cases(store_of(service_env), base64.b64encode(os.urandom(32)).decode(), 2)
    start_services(FakeIdentity, "submissions")
    with rpc() as cluster:
        health = cluster.submissions.health()
        with pytest.raises(Unavailable) as refused:
            cluster.submissions.list_my_cases(issue_token(CITIZEN.account_id))
    read_model = health["dependencies"]["read_model"]
    assert (read_model["status"], read_model["error"]) == ("failing", "ReadModelBuilding")
    assert health["status"] == "failing"
    assert refused.value.code == "READ_MODEL_BUILDING"
