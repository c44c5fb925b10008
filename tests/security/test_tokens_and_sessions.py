"""Access tokens that are forged, stale or revoked are refused by every service and by the gateway;
CSRF; a session cookie is never one an attacker chose or planted before the login.

Forged tokens are signed with identity's own signing key (read as the operator can), so each differs
from a good token in exactly the one thing under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.standalone.rpc import ClusterRpcProxy

from services.identity import signing
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.errors import Unauthenticated
from tests.security.conftest import API, Person, logged_in

COOKIE = "jc_session"


@pytest.fixture(scope="module")
def cluster(portal) -> Callable[[], Any]:
    @contextmanager
    def proxy() -> Iterator[Any]:
        with ClusterRpcProxy({"AMQP_URI": portal.env["AMQP_URI"]}, timeout=15) as services:
            yield services

    return proxy


@pytest.fixture(scope="module")
def citizen(portal) -> Person:
    return logged_in(portal, "citizen_a")


@pytest.fixture(scope="module")
def good_token(portal, citizen) -> str:
    """The access token the gateway holds for the citizen's session (browsers never see it)."""
    token = portal.gateway_state().tokens.get(citizen.http.cookies[COOKIE])
    assert token
    return str(token)


@pytest.fixture(scope="module")
def case_id(citizen) -> str:
    answer = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"})
    return str(answer.json()["case_id"])


def identity_key(portal) -> tuple[str, Ed25519PrivateKey]:
    with portal.operator.db.transaction() as session:
        return signing._signing_key(session, portal.operator.settings)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def signed(portal, claims: dict[str, Any], **header: Any) -> str:
    kid, key = identity_key(portal)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, **header})


def tampered(portal, token: str) -> str:
    """The same signature over claims naming another account."""
    head, _, signature = token.split(".")
    claims = {**claims_of(token), "sub": str(uuid.uuid4())}
    return f"{head}.{b64(json.dumps(claims).encode())}.{signature}"


def expired(portal, token: str) -> str:
    now = int(time.time())
    return signed(portal, {**claims_of(token), "iat": now - 900, "exp": now - 60})


def wrong_audience(portal, token: str) -> str:
    return signed(portal, {**claims_of(token), "aud": "some-other-system"})


def wrong_issuer(portal, token: str) -> str:
    return signed(portal, {**claims_of(token), "iss": "https://attacker.example"})


def alg_none(portal, token: str) -> str:
    kid, _ = identity_key(portal)
    head = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{head}.{b64(json.dumps(claims_of(token)).encode())}."


def hmac_with_public_key(portal, token: str) -> str:
    kid, key = identity_key(portal)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims_of(token)).encode())
    mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"


def another_key_same_kid(portal, token: str) -> str:
    kid, _ = identity_key(portal)
    return jwt.encode(claims_of(token), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})


def unknown_kid(portal, token: str) -> str:
    return jwt.encode(claims_of(token), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "k-evil"})


def garbage(portal, token: str) -> str:
    return "not.a.token"


FORGERIES = [tampered, expired, wrong_audience, wrong_issuer, alg_none, hmac_with_public_key,
             another_key_same_kid, unknown_kid, garbage]  # fmt: skip
# One call of each service that takes a token, as the gateway makes it.
CALLS: dict[str, Callable[[Any, str, str], Any]] = {
    "identity.verify_access_token": lambda services, token, case_id: services.identity.verify_access_token(token),
    "submissions.list_my_cases": lambda services, token, case_id: services.submissions.list_my_cases(token),
    "submissions.view_case": lambda services, token, case_id: services.submissions.view_case(case_id, token),
    "submissions.save_section": lambda services, token, case_id: services.submissions.save_section(
        case_id, token, "aenderungen", ARBEITSAUFNAHME["aenderungen"]
    ),
    "documents.list_documents": lambda services, token, case_id: services.documents.list_documents(token, case_id),
    "notify.list_postfach": lambda services, token, case_id: services.notify.list_postfach(token),
}


@pytest.mark.parametrize("call", CALLS, ids=str)
def test_every_service_accepts_the_good_token(cluster, good_token, case_id, call):
    with cluster() as services:
        CALLS[call](services, good_token, case_id)


@pytest.mark.parametrize("call", CALLS, ids=str)
@pytest.mark.parametrize("forge", FORGERIES, ids=lambda forge: forge.__name__)
def test_every_service_refuses_a_forged_or_stale_token(portal, cluster, good_token, case_id, forge, call):
    token = forge(portal, good_token)
    with cluster() as services, pytest.raises(Unauthenticated) as refused:
        CALLS[call](services, token, case_id)
    assert refused.value.code in {"TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_KEY_UNKNOWN"}


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda forge: forge.__name__)
def test_the_gateway_answers_401_and_ends_the_session_when_its_token_is_refused(portal, forge):
    """Even if the gateway held a forged token for a session, the services refuse it."""
    person = logged_in(portal, "citizen_a")
    cache = portal.gateway_state().tokens
    session = person.http.cookies[COOKIE]
    cache.remember(session, forge(portal, str(cache.get(session))), 600)
    answer = person.request("GET", f"{API}/cases")
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] in {"TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_KEY_UNKNOWN"}


# -- revoked: logout, disabled account --------------------------------------------------------------


def test_after_logout_the_session_cookie_and_the_access_token_are_refused(portal, cluster):
    person = logged_in(portal, "citizen_a")
    session = person.http.cookies[COOKIE]
    token = str(portal.gateway_state().tokens.get(session))
    assert person.request("DELETE", f"{API}/session").status_code == 204
    replay = Person(portal)
    replay.http.cookies.set(COOKIE, session)
    answer = replay.request("GET", f"{API}/cases")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "SESSION_ENDED"
    with cluster() as services, pytest.raises(Unauthenticated):
        services.identity.verify_access_token(token)
    with cluster() as services, pytest.raises(Unauthenticated):
        services.identity.refresh_access_token(session)


def test_a_disabled_account_is_refused_by_identity_at_once_and_by_the_gateway_when_its_token_is_due(portal, cluster):
    """Revocation reaches the services within one access-token lifetime (≤ 300 s here), by design:
    the gateway keeps a session's access token until shortly before it expires."""
    person = logged_in(portal, "citizen_a")
    assert person.account is not None
    session = person.http.cookies[COOKIE]
    cache = portal.gateway_state().tokens
    token = str(cache.get(session))
    assert person.request("GET", f"{API}/cases").status_code == 200
    assert portal.operator.disable_account(person.account.email)
    with cluster() as services, pytest.raises(Unauthenticated):
        services.identity.verify_access_token(token)
    with cluster() as services, pytest.raises(Unauthenticated):
        services.identity.refresh_access_token(session)
    lifetime = portal.operator.settings.access_token_seconds
    real_clock = cache.clock
    cache.clock = lambda: real_clock() + lifetime
    try:
        answer = person.request("GET", f"{API}/cases")
    finally:
        cache.clock = real_clock
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "SESSION_ENDED"


# -- CSRF ---------------------------------------------------------------------------------------------


def test_a_state_change_without_a_csrf_token_is_refused_and_changes_nothing(citizen):
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    answer = citizen.request("PUT", f"{API}/cases/{case_id}/sections/aenderungen", csrf=False,
                             json=ARBEITSAUFNAHME["aenderungen"])  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"
    assert citizen.request("GET", f"{API}/cases/{case_id}").json()["answers"] == {}


@pytest.mark.parametrize("token", ["", "x", "A" * 64], ids=["empty", "short", "made-up"])
def test_a_wrong_csrf_token_is_refused(citizen, token):
    answer = citizen.request("POST", f"{API}/cases", csrf=False, headers={"X-CSRF-Token": token},
                             json={"kind": "veraenderungsmitteilung"})  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"


def test_the_csrf_token_of_another_session_is_refused(portal, citizen):
    other = logged_in(portal, "citizen_b")
    answer = citizen.request("POST", f"{API}/cases", csrf=False, headers={"X-CSRF-Token": other.csrf},
                             json={"kind": "veraenderungsmitteilung"})  # fmt: skip
    assert answer.status_code == 403


def test_a_cross_site_form_post_with_the_session_cookie_is_refused(citizen, case_id):
    """What a foreign page can send without asking: a simple form post, with the cookie."""
    answer = citizen.request("POST", f"{API}/cases/{case_id}/messages", csrf=False, data="text=Hallo",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"


def test_the_csrf_token_of_an_ended_session_is_refused_in_another(portal):
    person = logged_in(portal, "citizen_a")
    assert person.account is not None
    old = person.csrf
    assert person.request("DELETE", f"{API}/session").status_code == 204
    fresh = logged_in(portal, "citizen_b")
    answer = fresh.request("POST", f"{API}/cases", csrf=False, headers={"X-CSRF-Token": old},
                           json={"kind": "veraenderungsmitteilung"})  # fmt: skip
    assert answer.status_code == 403


# -- session fixation ---------------------------------------------------------------------------------


def test_a_cookie_planted_before_login_is_replaced_by_a_new_session(portal):
    planted = "attacker-chosen-" + uuid.uuid4().hex
    person = Person(portal)
    person.http.cookies.set(COOKIE, planted, path="/")
    # The client asks who is logged in first (as the web client does): the unknown cookie is cleared.
    first = person.request("GET", f"{API}/session")
    assert first.status_code == 401
    assert first.headers["Set-Cookie"].startswith(f'{COOKIE}=""') or first.headers["Set-Cookie"].startswith(
        f"{COOKIE}=;"
    ), first.headers["Set-Cookie"]
    person.http.cookies.clear()  # as a browser obeys that answer
    person.log_in(portal.account())
    assert person.http.cookies[COOKIE] != planted
    assert person.request("GET", f"{API}/session").status_code == 200
    victim_session = Person(portal)
    victim_session.http.cookies.set(COOKIE, planted, path="/")
    assert victim_session.request("GET", f"{API}/session").status_code == 401


def test_a_login_with_a_planted_cookie_still_logs_in_and_replaces_it(portal):
    planted = "attacker-chosen-" + uuid.uuid4().hex
    person = Person(portal)
    person.http.cookies.set(COOKIE, planted, domain="127.0.0.1", path="/")  # as the gateway's own cookie
    person.log_in(portal.account())  # JSON login routes rely on the JSON rule, not the stale cookie
    assert person.http.cookies[COOKIE] != planted
    assert person.request("GET", f"{API}/session").status_code == 200


@pytest.mark.parametrize("value", ["0" * 43, "' OR 1=1 --", "a" * 4000, "%00", "../../etc/passwd"])
def test_an_attacker_chosen_cookie_value_never_becomes_a_session(portal, value):
    person = Person(portal)
    person.http.cookies.set(COOKIE, value, path="/")
    answer = person.request("GET", f"{API}/cases")
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] in {"SESSION_ENDED", "SESSION_REQUIRED"}
    assert value not in answer.headers.get("Set-Cookie", "").split(";")[0].split("=", 1)[-1] or value == ""
