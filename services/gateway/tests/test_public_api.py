"""Public, unauthenticated routes of the gateway: postcode lookup for forms, receipt keys."""

import pytest

from services.submissions.receipt import verify_receipt
from services.submissions.tests.scenarios import submit_over_rpc
from shared.testing.http import get_json
from shared.testing.services import IN_PROCESS_RPC_TIMEOUTS
from shared.testing.tokens import FakeIdentity


@pytest.fixture
def gateway(start_services):
    services = start_services(FakeIdentity, "submissions", "routing", "gateway", **IN_PROCESS_RPC_TIMEOUTS)
    return services["gateway"]


def url(gateway, path):
    return f"http://{gateway.config['WEB_SERVER_ADDRESS']}{path}"


def test_a_postcode_gives_its_places_and_jobcenters_for_type_ahead(gateway):
    status, headers, body = get_json(url(gateway, "/api/v1/postcodes/15711"))
    assert status == 200, body
    assert "max-age" in headers["Cache-Control"]
    assert {place["ort"] for place in body["places"]} == {"Königs Wusterhausen"}
    assert {place["jobcenter"]["name"] for place in body["places"]} == {"Dahme-Spreewald"}


def test_a_malformed_postcode_is_a_clear_error_in_german(gateway):
    status, _, body = get_json(url(gateway, "/api/v1/postcodes/12a45"))
    assert status == 400
    assert body["error"]["code"] == "POSTCODE_INVALID"
    assert "Postleitzahl" in body["error"]["message"]


def test_a_receipt_verifies_with_the_keys_the_gateway_publishes(gateway, rpc, issue_token):
    with rpc() as cluster:
        case = submit_over_rpc(cluster, "owner-public")
        receipt = cluster.submissions.get_receipt(case["case_id"], issue_token("owner-public"))
    status, _, keys = get_json(url(gateway, "/.well-known/receipt-keys.json"))
    assert status == 200
    assert verify_receipt(receipt["jws"], keys)["receipt_number"] == case["receipt_number"]
