"""Login with password and second factor, passkeys, locks, enumeration resistance and reset, on PostgreSQL."""

from __future__ import annotations

import statistics
import time

import jwt
import pytest

from services.identity.operations import current_totp
from services.identity.tests.authenticator import SoftwareAuthenticator
from services.identity.tests.support import PASSWORD, PUBLIC_URL, link_token, random_address, random_email
from shared.errors import Unauthenticated


def test_password_and_totp_code_give_a_session_with_a_signed_token(identity, rpc, person):
    citizen = person("citizen")
    with rpc() as cluster:
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        assert first["status"] == "second_factor_required"
        assert first["methods"] == ["totp"]
        assert "access_token" not in first
        session = cluster.identity.complete_login_with_totp(
            first["login_ticket"], current_totp(citizen.totp_secret), citizen.address
        )
        claims = cluster.identity.verify_access_token(session["access_token"])
    assert session["status"] == "authenticated"
    assert session["expires_in"] <= 600
    assert claims["account_id"] == citizen.account_id
    assert claims["amr"] == ["pwd", "otp", "mfa"]


def test_a_wrong_totp_code_is_refused_and_the_ticket_stays_usable(identity, rpc, person):
    citizen = person("citizen")
    with rpc() as cluster:
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.complete_login_with_totp(first["login_ticket"], "000000", citizen.address)
        session = cluster.identity.complete_login_with_totp(
            first["login_ticket"], current_totp(citizen.totp_secret), citizen.address
        )
    assert refused.value.code == "SECOND_FACTOR_FAILED"
    assert session["status"] == "authenticated"


def test_the_same_totp_code_does_not_work_twice(identity, rpc, person):
    citizen = person("citizen")
    code = current_totp(citizen.totp_secret)
    with rpc() as cluster:
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        cluster.identity.complete_login_with_totp(first["login_ticket"], code, citizen.address)
        second = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        with pytest.raises(Unauthenticated) as replayed:
            cluster.identity.complete_login_with_totp(second["login_ticket"], code, citizen.address)
    assert replayed.value.code == "SECOND_FACTOR_FAILED"


def test_a_recovery_code_replaces_the_phone_once(identity, rpc, person):
    citizen = person("citizen")
    recovery_code = citizen.recovery_codes[0]
    with rpc() as cluster:
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        session = cluster.identity.complete_login_with_recovery_code(first["login_ticket"], recovery_code)
        second = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        with pytest.raises(Unauthenticated):
            cluster.identity.complete_login_with_recovery_code(second["login_ticket"], recovery_code)
    assert session["status"] == "authenticated"


def test_a_citizen_without_second_factor_gets_no_session_but_sets_up_the_app_first(identity, rpc, person):
    """Found from outside: a password alone gave a citizen a token with amr ["pwd"] and full access."""
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        assert first["status"] == "second_factor_setup_required" and "access_token" not in first
        enrolment = cluster.identity.start_totp_enrolment_at_login(first["login_ticket"])
        assert enrolment["otpauth_uri"].startswith("otpauth://totp/Jobcenter-Portal:")
        assert citizen.email not in enrolment["otpauth_uri"]
        session = cluster.identity.complete_login_with_totp_enrolment(
            first["login_ticket"], current_totp(enrolment["secret"]), citizen.address
        )
        next_login = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
    assert session["status"] == "authenticated" and len(session["recovery_codes"]) == 10
    assert jwt.decode(session["access_token"], options={"verify_signature": False})["amr"] == ["pwd", "otp", "mfa"]
    assert next_login["status"] == "second_factor_required"


def test_staff_must_set_up_a_second_factor_before_their_first_session(identity, rpc, person):
    caseworker = person("caseworker", "92204", totp=False)
    with rpc() as cluster:
        first = cluster.identity.login_with_password(caseworker.email, PASSWORD, caseworker.address)
        assert first["status"] == "second_factor_setup_required"
        assert "access_token" not in first
        with pytest.raises(Unauthenticated):
            # A ticket for setting up the factor is no ticket for logging in with one.
            cluster.identity.complete_login_with_totp(first["login_ticket"], "123456", caseworker.address)
        enrolment = cluster.identity.start_totp_enrolment_at_login(first["login_ticket"])
        session = cluster.identity.complete_login_with_totp_enrolment(
            first["login_ticket"], current_totp(enrolment["secret"]), caseworker.address
        )
        claims = cluster.identity.verify_access_token(session["access_token"])
    assert len(session["recovery_codes"]) == 10
    assert claims["role"] == "caseworker"
    assert claims["institution_id"] == "92204"


def test_a_passkey_registered_after_login_logs_in_on_its_own(identity, rpc, person):
    caseworker = person("caseworker", "92204")
    authenticator = SoftwareAuthenticator(origin=PUBLIC_URL)
    with rpc() as cluster:
        token = caseworker.log_in(cluster)["access_token"]
        registration = cluster.identity.start_passkey_registration(token)
        assert registration["options"]["authenticatorSelection"]["userVerification"] == "required"
        cluster.identity.complete_passkey_registration(
            token, registration["ticket"], authenticator.create(registration["options"])
        )
        challenge = cluster.identity.start_passkey_login()
        session = cluster.identity.complete_passkey_login(
            challenge["ticket"], authenticator.get(challenge["options"]), random_address()
        )
        claims = cluster.identity.verify_access_token(session["access_token"])
    assert claims["account_id"] == caseworker.account_id
    assert claims["amr"] == ["hwk", "mfa"]
    assert claims["institution_id"] == "92204"


def test_a_passkey_answer_for_another_origin_or_challenge_is_refused(identity, rpc, person):
    citizen = person("citizen", totp=False)
    phishing_site = SoftwareAuthenticator(origin="https://portal.test.example")
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        registration = cluster.identity.start_passkey_registration(token)
        with pytest.raises(Unauthenticated) as wrong_origin:
            cluster.identity.complete_passkey_registration(
                token, registration["ticket"], phishing_site.create(registration["options"])
            )
        honest = SoftwareAuthenticator(origin=PUBLIC_URL)
        registration = cluster.identity.start_passkey_registration(token)
        cluster.identity.complete_passkey_registration(
            token, registration["ticket"], honest.create(registration["options"])
        )
        old_challenge = cluster.identity.start_passkey_login()
        new_challenge = cluster.identity.start_passkey_login()
        with pytest.raises(Unauthenticated) as replayed:
            cluster.identity.complete_passkey_login(new_challenge["ticket"], honest.get(old_challenge["options"]))
    assert wrong_origin.value.code == "PASSKEY_REFUSED"
    assert replayed.value.code == "PASSKEY_REFUSED"


def test_repeated_wrong_passwords_lock_the_login_for_a_while_then_release_it(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        seen = []
        for _ in range(5):
            with pytest.raises(Unauthenticated) as refused:
                cluster.identity.login_with_password(citizen.email, "falsches-Passwort-123", citizen.address)
            seen.append(refused.value.code)
        # The right password does not help while the lock lasts ...
        with pytest.raises(Unauthenticated) as locked:
            cluster.identity.login_with_password(citizen.email, PASSWORD, random_address())
        # ... and the lock ends by itself (2 s here, 30 s doubling up to 15 min by default).
        time.sleep(int(locked.value.details["retry_after_seconds"]) + 0.2)
        session = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
    assert seen == ["LOGIN_FAILED"] * 5
    assert locked.value.code == "TOO_MANY_ATTEMPTS"
    assert session["status"] == "second_factor_setup_required"  # the password is taken again


def test_one_client_address_failing_on_many_accounts_is_locked(identity, rpc, identity_env):
    address = random_address()
    threshold = 50  # IDENTITY_ADDRESS_FAILURES_BEFORE_LOCK's default
    with rpc() as cluster:
        for _ in range(threshold):
            with pytest.raises(Unauthenticated):
                cluster.identity.login_with_password(random_email(), "irgendein-Passwort-1", address)
        with pytest.raises(Unauthenticated) as locked:
            cluster.identity.login_with_password(random_email(), "irgendein-Passwort-1", address)
    assert locked.value.code == "TOO_MANY_ATTEMPTS"


def test_unknown_and_known_addresses_get_the_same_answer_in_similar_time(identity, rpc, person):
    citizen = person("citizen", totp=False)

    def attempt(cluster, email):
        started = time.perf_counter()
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.login_with_password(email, "falsches-Passwort-123", random_address())
        return (refused.value.code, refused.value.message), time.perf_counter() - started

    known, unknown = [], []
    with rpc() as cluster:
        answers = set()
        for _ in range(4):  # below the lock threshold of the known account
            answer, seconds = attempt(cluster, citizen.email)
            answers.add(answer)
            known.append(seconds)
            answer, seconds = attempt(cluster, random_email())
            answers.add(answer)
            unknown.append(seconds)
    assert answers == {("LOGIN_FAILED", "E-Mail-Adresse oder Passwort ist falsch.")}
    print(
        f"\nlogin refusal time, median of 4: known address {statistics.median(known) * 1000:.1f} ms, "
        f"unknown address {statistics.median(unknown) * 1000:.1f} ms"
    )


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(identity, rpc, person, mailbox):
    citizen = person("citizen", totp=False)
    new_password = "neues Passwort für die Wolke 7"
    with rpc() as cluster:
        session = citizen.log_in(cluster)
        unknown = cluster.identity.request_password_reset(random_email(), citizen.address)
        answer = cluster.identity.request_password_reset(citizen.email, citizen.address)
        assert answer == unknown
        (mail,) = [m for m in mailbox.wait_for(1) if m["To"] == citizen.email]
        token = link_token(mail)
        cluster.identity.reset_password(token, new_password, citizen.address)
        with pytest.raises(Unauthenticated) as again:
            cluster.identity.reset_password(token, "noch ein anderes Passwort 8", citizen.address)
        with pytest.raises(Unauthenticated) as ended:
            cluster.identity.verify_access_token(session["access_token"])
        with pytest.raises(Unauthenticated):
            cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        fresh = cluster.identity.login_with_password(citizen.email, new_password, citizen.address)
    assert again.value.code == "LINK_INVALID"
    assert ended.value.code == "SESSION_ENDED"
    assert fresh["status"] == "second_factor_required"  # the new password is taken; the app comes next


def test_a_disabled_account_cannot_log_in(identity, rpc, person, admin_token):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        session = citizen.log_in(cluster)
        cluster.identity.disable_account(admin_token, citizen.account_id)
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        with pytest.raises(Unauthenticated) as ended:
            cluster.identity.refresh_access_token(session["session_token"])
    assert refused.value.code == "LOGIN_FAILED"
    assert ended.value.code == "SESSION_ENDED"


def test_a_reset_link_sent_before_the_account_was_disabled_sets_no_password(
    identity, rpc, person, admin_token, mailbox
):
    """A staff invitation is such a link: the account disabled before its first use stays without a password."""
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        cluster.identity.request_password_reset(citizen.email, citizen.address)
        (mail,) = [m for m in mailbox.wait_for(1) if m["To"] == citizen.email]
        cluster.identity.disable_account(admin_token, citizen.account_id)
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.reset_password(link_token(mail), "neues Passwort für die Wolke 7", citizen.address)
    assert refused.value.code == "LINK_INVALID"


def test_a_hash_made_with_other_argon2_parameters_is_redone_at_login(identity, rpc, identity_env):
    from services.identity.operations import Identity
    from services.identity.schema import accounts
    from shared.config import load_config

    stronger = Identity.open(load_config("identity", {**identity_env, "IDENTITY_ARGON2_TIME_COST": "2"}))
    try:
        email = random_email()
        account_id = stronger.create_account(email, "citizen", password=PASSWORD)["account_id"]

        def stored_hash():
            with stronger.db.transaction() as session:
                return session.execute(accounts.select().where(accounts.c.account_id == account_id)).one().password_hash

        assert "t=2" in stored_hash()
        with rpc() as cluster:
            cluster.identity.login_with_password(email, PASSWORD, random_address())
        assert stored_hash().startswith("$argon2id$") and "t=1" in stored_hash()
    finally:
        stronger.close()
