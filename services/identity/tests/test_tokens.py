"""Access tokens, sessions, key rotation and Jobcenter scope, on PostgreSQL."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity import signing
from services.identity.tests.support import random_customer_number, random_email
from shared.auth import AUDIENCE, ISSUER
from shared.errors import Forbidden, Unauthenticated


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def refused_code(cluster, token):
    with pytest.raises(Unauthenticated) as refused:
        cluster.identity.verify_access_token(token)
    return refused.value.code


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_an_access_token_carries_the_portal_claims_and_lives_at_most_ten_minutes(identity, rpc, person):
    caseworker = person("caseworker", "92204")
    with rpc() as cluster:
        session = caseworker.log_in(cluster)
    header = jwt.get_unverified_header(session["access_token"])
    claims = claims_of(session["access_token"])
    assert header["alg"] == "EdDSA"
    assert header["kid"]
    assert {"sub", "role", "inst", "amr", "sid", "exp", "jti", "iat", "iss", "aud"} <= set(claims)
    assert (claims["sub"], claims["role"], claims["inst"]) == (caseworker.account_id, "caseworker", "92204")
    assert claims["sid"] == session["session_id"]
    assert 0 < claims["exp"] - claims["iat"] <= 600


def test_a_tampered_token_is_refused(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        header, payload, signature = token.split(".")
        claims = claims_of(token)
        claims["role"] = "admin"
        forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])
        assert refused_code(cluster, forged) == "TOKEN_INVALID"


def test_an_expired_token_is_refused(identity, rpc, person, operator):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        claims = claims_of(citizen.log_in(cluster)["access_token"])
        with operator.db.transaction() as session:
            kid, key = signing._signing_key(session, operator.settings)
        claims.update(iat=int(time.time()) - 700, exp=int(time.time()) - 60)
        expired = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
        assert refused_code(cluster, expired) == "TOKEN_EXPIRED"


def test_a_token_signed_by_an_unknown_key_is_refused(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        claims = claims_of(citizen.log_in(cluster)["access_token"])
        foreign = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "unknown-kid"})
        assert refused_code(cluster, foreign) == "TOKEN_KEY_UNKNOWN"
        # A known kid does not make a foreign signature valid.
        kid = jwt.get_unverified_header(citizen.log_in(cluster)["access_token"])["kid"]
        impostor = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
        assert refused_code(cluster, impostor) == "TOKEN_INVALID"


def test_a_token_with_alg_none_or_hmac_is_refused(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        claims, kid = claims_of(token), jwt.get_unverified_header(token)["kid"]
        unsigned = ".".join(
            [b64url(json.dumps({"alg": "none", "kid": kid}).encode()), b64url(json.dumps(claims).encode()), ""]
        )
        public_jwk = next(key for key in cluster.identity.get_jwks()["keys"] if key["kid"] == kid)
        # The classic confusion: HS256 with the public key as the shared secret.
        hmac = jwt.encode(claims, public_jwk["x"].encode() * 2, algorithm="HS256", headers={"kid": kid})
        assert refused_code(cluster, unsigned) == "TOKEN_INVALID"
        assert refused_code(cluster, hmac) == "TOKEN_INVALID"
        assert refused_code(cluster, "not-a-token") == "TOKEN_INVALID"


def test_after_logout_the_token_and_the_session_are_refused(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        session = citizen.log_in(cluster)
        refreshed = cluster.identity.refresh_access_token(session["session_token"])
        assert cluster.identity.verify_access_token(refreshed["access_token"])["account_id"] == citizen.account_id
        cluster.identity.logout(session["session_token"], citizen.address)
        assert refused_code(cluster, session["access_token"]) == "SESSION_ENDED"
        assert refused_code(cluster, refreshed["access_token"]) == "SESSION_ENDED"
        with pytest.raises(Unauthenticated) as ended:
            cluster.identity.refresh_access_token(session["session_token"])
        with pytest.raises(Unauthenticated):
            cluster.identity.start_totp_enrolment(session["access_token"])
    assert ended.value.code == "SESSION_ENDED"


def test_an_idle_session_ends(identity, rpc, person, operator):
    from sqlalchemy import update

    from services.identity.schema import sessions

    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        session = citizen.log_in(cluster)
        with operator.db.transaction() as db:
            db.execute(
                update(sessions)
                .where(sessions.c.session_id == session["session_id"])
                .values(last_seen_at=sessions.c.last_seen_at - __import__("datetime").timedelta(minutes=31))
            )
        with pytest.raises(Unauthenticated) as ended:
            cluster.identity.refresh_access_token(session["session_token"])
    assert ended.value.code == "SESSION_ENDED"


def test_after_key_rotation_old_tokens_still_verify_and_new_ones_use_the_new_key(identity, rpc, person, operator):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        old_token = citizen.log_in(cluster)["access_token"]
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        new_kid = operator.rotate_signing_keys()
        time.sleep(1.1)  # identity re-reads its own keys at most once a second
        new_token = citizen.log_in(cluster)["access_token"]
        published = {key["kid"] for key in cluster.identity.get_jwks()["keys"]}
        assert cluster.identity.verify_access_token(old_token)["account_id"] == citizen.account_id
        assert cluster.identity.verify_access_token(new_token)["account_id"] == citizen.account_id
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert {old_kid, new_kid} <= published


def test_a_caseworker_of_one_jobcenter_cannot_act_for_another(identity, rpc, person):
    treptow = person("caseworker", "92204")
    with rpc() as cluster:
        token = treptow.log_in(cluster)["access_token"]
        issued = cluster.identity.issue_activation_code(token, random_customer_number(), "92204")
        with pytest.raises(Forbidden) as refused:
            cluster.identity.issue_activation_code(token, random_customer_number(), "92201")
    assert issued["institution_id"] == "92204"
    assert refused.value.code == "INSTITUTION_NOT_ALLOWED"


def test_only_admins_disable_accounts_or_change_roles(identity, rpc, person, admin_token):
    caseworker = person("caseworker", "92204")
    other = person("caseworker", "92204")
    with rpc() as cluster:
        token = caseworker.log_in(cluster)["access_token"]
        with pytest.raises(Forbidden):
            cluster.identity.disable_account(token, other.account_id)
        with pytest.raises(Forbidden):
            cluster.identity.change_role(token, caseworker.account_id, "team_lead", "92204")
        cluster.identity.change_role(admin_token, other.account_id, "team_lead", "92204")
        assert cluster.identity.get_account(other.account_id)["role"] == "team_lead"


def test_audit_records_say_who_what_when_where_without_secrets(identity, rpc, person, admin_token):
    citizen = person("citizen")
    with rpc() as cluster:
        with pytest.raises(Unauthenticated):
            cluster.identity.login_with_password(citizen.email, "falsches-Passwort-123", citizen.address)
        session = citizen.log_in(cluster)
        cluster.identity.logout(session["session_token"], citizen.address)
        records = cluster.identity.list_audit_records(admin_token, citizen.account_id)
    actions = [record["action"] for record in records]
    assert actions == ["account_created", "totp_enrolled", "login_failed", "login_succeeded", "logout"]
    assert all(record["occurred_at"] for record in records)
    assert records[2]["client_address"] == citizen.address
    text = json.dumps(records)
    assert "falsches-Passwort" not in text
    assert citizen.email not in text
    assert session["session_token"] not in text


def test_no_email_address_or_secret_reaches_the_logs(identity, rpc, person, captured_logs):
    citizen = person("citizen")
    with rpc() as cluster:
        citizen.log_in(cluster)
        with pytest.raises(Unauthenticated):
            cluster.identity.login_with_password(citizen.email, "falsches-Passwort-123", citizen.address)
        cluster.identity.request_password_reset(citizen.email, citizen.address)
    text = captured_logs.text()
    assert captured_logs.named("password_accepted")
    assert citizen.email.split("@")[0] not in text
    assert "falsches-Passwort" not in text
    assert citizen.totp_secret not in text


def test_get_jwks_publishes_only_public_ed25519_keys(identity, rpc):
    with rpc() as cluster:
        keys = cluster.identity.get_jwks()["keys"]
    assert keys
    for key in keys:
        assert set(key) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert str(uuid.UUID(int=0)) not in json.dumps(keys)
    assert ISSUER and AUDIENCE


def test_a_team_lead_adds_caseworkers_to_their_own_jobcenter_only(identity, rpc, person, mailbox):
    lead = person("team_lead", "92204")
    with rpc() as cluster:
        token = lead.log_in(cluster)["access_token"]
        account_id = cluster.identity.create_staff_account(token, random_email("caseworker"), "caseworker", "92204")
        with pytest.raises(Forbidden) as other_jobcenter:
            cluster.identity.create_staff_account(token, random_email("caseworker"), "caseworker", "92201")
        with pytest.raises(Forbidden) as admin:
            cluster.identity.create_staff_account(token, random_email("admin"), "admin", "")
        account = cluster.identity.get_account(account_id)
    assert (account["role"], account["institution_id"]) == ("caseworker", "92204")
    assert other_jobcenter.value.code == "INSTITUTION_NOT_ALLOWED"
    assert admin.value.code == "ROLE_NOT_ALLOWED"
    assert "/konto/passwort-neu?token=" in mailbox.wait_for(1)[0].get_content()
