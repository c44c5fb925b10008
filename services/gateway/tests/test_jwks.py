"""The gateway publishes identity's token keys at /.well-known/jwks.json."""

from shared.testing.http import get_json


def test_the_jwks_of_identity_is_served_as_json(start_services):
    containers = start_services("gateway", "identity", IDENTITY_ARGON2_MEMORY_KIB="8192")
    status, headers, body = get_json(
        f"http://{containers['gateway'].config['WEB_SERVER_ADDRESS']}/.well-known/jwks.json"
    )
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["keys"]
    assert {(key["kty"], key["crv"], key["alg"]) for key in body["keys"]} == {("OKP", "Ed25519", "EdDSA")}
    assert all("d" not in key for key in body["keys"])  # never the private part


def test_the_jwks_answer_is_503_while_identity_does_not_answer(start_services):
    gateway = start_services("gateway")["gateway"]
    status, _, body = get_json(f"http://{gateway.config['WEB_SERVER_ADDRESS']}/.well-known/jwks.json")
    assert status == 503
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
