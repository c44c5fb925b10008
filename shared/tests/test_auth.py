"""shared.auth: offline token verification with a pinned algorithm, JWKS refresh and scope checks."""

from __future__ import annotations

import base64
import json

import eventlet
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nameko.containers import ServiceContainer
from nameko.rpc import rpc as rpc_entrypoint

from shared.auth import AccessClaims, AccessTokens, TokenVerifier, authorize
from shared.errors import Forbidden, Unauthenticated, Unavailable
from shared.testing.tokens import Issuer, b64url


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def verifier(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(issuer.jwks, refresh_interval=60)


def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    return refused.value.code


def test_a_valid_token_gives_its_claims(verifier, issuer):
    claims = verifier.verify(issuer.token())
    assert (claims.account_id, claims.role, claims.institution_id) == ("account-1", "caseworker", "92204")
    assert claims.amr == ("pwd", "otp", "mfa")
    assert claims.session_id == "session-1"


def test_a_tampered_token_is_refused(verifier, issuer):
    header, payload, signature = issuer.token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["inst"] = "92201"
    assert refusal(verifier, ".".join([header, b64url(json.dumps(claims).encode()), signature])) == "TOKEN_INVALID"


def test_an_expired_token_is_refused(verifier, issuer):
    assert refusal(verifier, issuer.token(lifetime=-60)) == "TOKEN_EXPIRED"


def test_alg_none_is_refused_without_looking_for_a_key(verifier, issuer):
    header = b64url(json.dumps({"alg": "none", "kid": issuer.kid}).encode())
    payload = issuer.token().split(".")[1]
    assert refusal(verifier, f"{header}.{payload}.") == "TOKEN_INVALID"
    assert issuer.fetches == 0


def test_hmac_with_the_public_key_as_secret_is_refused(verifier, issuer):
    public = issuer.jwks()["keys"][0]["x"].encode() * 2
    forged = jwt.encode({"sub": "x"}, public, algorithm="HS256", headers={"kid": issuer.kid})
    assert refusal(verifier, forged) == "TOKEN_INVALID"


@pytest.mark.parametrize("claim", [{"aud": "another-system"}, {"iss": "someone-else"}])
def test_a_token_for_another_audience_or_from_another_issuer_is_refused(verifier, issuer, claim):
    assert refusal(verifier, issuer.token(**claim)) == "TOKEN_INVALID"


def test_a_token_without_a_session_is_refused(verifier, issuer):
    assert refusal(verifier, issuer.token(sid=None)) == "TOKEN_INVALID"


def test_an_unknown_kid_fetches_the_keys_again_but_not_more_than_once_per_interval(verifier, issuer):
    verifier.verify(issuer.token())
    stranger = Ed25519PrivateKey.generate()
    foreign = jwt.encode({"sub": "x"}, stranger, algorithm="EdDSA", headers={"kid": "stranger"})
    assert refusal(verifier, foreign) == "TOKEN_KEY_UNKNOWN"
    assert refusal(verifier, foreign) == "TOKEN_KEY_UNKNOWN"
    assert issuer.fetches == 1


def test_a_rotated_key_is_picked_up_and_the_old_one_keeps_verifying(issuer):
    verifier = TokenVerifier(issuer.jwks, refresh_interval=0)
    old_kid = issuer.kid
    old_token = issuer.token()
    verifier.verify(old_token)
    issuer.rotate()
    assert verifier.verify(issuer.token()).account_id == "account-1"
    assert verifier.verify(old_token).account_id == "account-1"
    del issuer.keys[old_kid]  # identity stops publishing it once its tokens expired
    verifier.refresh()
    assert refusal(verifier, old_token) == "TOKEN_KEY_UNKNOWN"


def test_a_verified_token_is_checked_once_until_it_expires(verifier, issuer, monkeypatch):
    import shared.auth

    decoded = []
    real_decode = jwt.decode

    def counting_decode(*args, **kwargs):
        decoded.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(shared.auth.jwt, "decode", counting_decode)
    token = issuer.token(lifetime=60)
    assert verifier.verify(token) == verifier.verify(token)
    assert len(decoded) == 1
    later = shared.auth.time.time() + 60 + shared.auth.LEEWAY_SECONDS + 1
    monkeypatch.setattr(shared.auth.time, "time", lambda: later)
    verifier.verify(token)  # past its expiry the signature and claims are checked again (PyJWT's own clock)
    assert len(decoded) == 2


def test_requests_arriving_during_the_first_fetch_wait_for_its_keys(issuer):
    def slow_identity() -> dict:
        eventlet.sleep(0.05)  # the RPC to identity takes a while; other requests arrive meanwhile
        return issuer.jwks()

    verifier = TokenVerifier(slow_identity, refresh_interval=60)
    token = issuer.token()
    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: verifier.verify(token).account_id, range(5)))
    assert answers == ["account-1"] * 5
    assert issuer.fetches == 1


def test_keys_that_cannot_be_fetched_make_the_check_unavailable(issuer):
    def broken() -> dict:
        raise ConnectionError("identity is down")

    with pytest.raises(Unavailable) as unavailable:
        TokenVerifier(broken).verify(issuer.token())
    assert unavailable.value.code == "KEYS_UNAVAILABLE"


def test_a_valid_token_is_not_refused_while_the_keys_cannot_be_fetched(issuer):
    """After a restart, a failed fetch must answer "try later" to every request of its interval, not send
    citizens with a valid session back to the login (TOKEN_KEY_UNKNOWN)."""
    identity_answers = False

    def identity() -> dict:
        if not identity_answers:
            raise TimeoutError("identity did not answer within 5 s")
        return issuer.jwks()

    clock = [0.0]
    verifier = TokenVerifier(identity, refresh_interval=5, clock=lambda: clock[0])
    token = issuer.token()
    for _ in range(2):  # the failed fetch, then a request within the same interval
        with pytest.raises(Unavailable) as unavailable:
            verifier.verify(token)
        assert unavailable.value.code == "KEYS_UNAVAILABLE"
    identity_answers, clock[0] = True, 5.0
    assert verifier.verify(token).account_id == "account-1"
    foreign = jwt.encode({"sub": "x"}, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "stranger"})
    assert refusal(verifier, foreign) == "TOKEN_KEY_UNKNOWN"  # once identity answered, an unknown key is refused


def claims(role: str, institution_id: str | None) -> AccessClaims:
    return AccessClaims("account-1", role, institution_id, ("pwd",), "session-1", "token-1", 0)


def test_staff_act_only_for_their_own_jobcenter():
    authorize(claims("caseworker", "92204"), ("caseworker",), "92204")
    with pytest.raises(Forbidden) as refused:
        authorize(claims("caseworker", "92204"), ("caseworker",), "92201")
    assert refused.value.code == "INSTITUTION_NOT_ALLOWED"


def test_a_role_not_listed_is_refused_whatever_its_scope():
    with pytest.raises(Forbidden) as refused:
        authorize(claims("citizen", None), ("caseworker", "team_lead"), "92204")
    assert refused.value.code == "ROLE_NOT_ALLOWED"
    with pytest.raises(Forbidden):
        authorize(claims("admin", None), ("caseworker",), "92204")
    authorize(claims("admin", None), ("caseworker", "admin"), "92204")


class Probe:
    """A service that uses the dependency provider as every portal service would."""

    name = "auth_probe"
    tokens = AccessTokens()

    @rpc_entrypoint
    def whoami(self, access_token: str) -> dict:
        caller = self.tokens.verify(access_token)
        authorize(caller, ("citizen",))
        return {"account_id": caller.account_id, "role": caller.role}


def test_a_service_verifies_identitys_tokens_with_keys_fetched_over_rpc(start_services, service_env, amqp_uri, rpc):
    from services.identity.operations import Identity, current_totp
    from shared.config import load_config

    start_services("identity", IDENTITY_ARGON2_TIME_COST="1", IDENTITY_ARGON2_MEMORY_KIB="8192")
    probe = ServiceContainer(Probe, {"AMQP_URI": amqp_uri})
    probe.start()
    operator = Identity.open(load_config("identity", {**service_env, "IDENTITY_ARGON2_MEMORY_KIB": "8192"}))
    try:
        password = "korrekt-Pferd-Batterie-Heftklammer"
        created = operator.create_account("probe.person@example.org", "citizen", password=password, with_totp=True)
        account_id = created["account_id"]
        with rpc() as cluster:
            first = cluster.identity.login_with_password("probe.person@example.org", password, "2001:db8::1")
            session = cluster.identity.complete_login_with_totp(
                first["login_ticket"], current_totp(created["secret"]), "2001:db8::1"
            )
            assert cluster.auth_probe.whoami(session["access_token"]) == {"account_id": account_id, "role": "citizen"}
            foreign = jwt.encode({"sub": "x"}, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "x"})
            with pytest.raises(Unauthenticated) as refused:
                cluster.auth_probe.whoami(foreign)
        assert refused.value.code == "TOKEN_KEY_UNKNOWN"
    finally:
        operator.close()
        probe.stop()
