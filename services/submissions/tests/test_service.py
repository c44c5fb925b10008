"""The submissions service over real RPC."""

import pytest

from shared.errors import Conflict, NotFound


@pytest.fixture
def submissions(start_services):
    return start_services("submissions")["submissions"]


def test_a_draft_is_submitted_once_over_rpc(submissions, rpc):
    with rpc() as cluster:
        case_id = cluster.submissions.start_draft("owner-1", "weiterbewilligungsantrag")
        case = cluster.submissions.submit_case(case_id)
        with pytest.raises(Conflict) as refused:
            cluster.submissions.submit_case(case_id)
    assert case["status"] == "submitted"
    assert refused.value.code == "CASE_ALREADY_SUBMITTED"


def test_an_unknown_case_is_not_found_over_rpc(submissions, rpc):
    with rpc() as cluster, pytest.raises(NotFound) as missing:
        cluster.submissions.get_case("7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11")
    assert missing.value.code == "CASE_NOT_FOUND"


def test_health_reports_the_event_store(submissions, rpc):
    with rpc() as cluster:
        report = cluster.submissions.health()
    assert report["status"] == "ok"
    assert set(report["dependencies"]) == {"event_store"}
