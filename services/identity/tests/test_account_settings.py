"""What a logged-in account changes about itself: password, e-mail address, authenticator app, passkeys."""

from __future__ import annotations

import pytest

from services.identity.operations import current_totp
from services.identity.tests.authenticator import SoftwareAuthenticator
from services.identity.tests.support import PASSWORD, PUBLIC_URL, link_token, random_address, random_email
from shared.errors import InvalidInput, NotFound, Unauthenticated

NEW_PASSWORD = "ein ganz neues Passwort für Wolke 9"


def actions_of(cluster, token, account_id):
    return [record["action"] for record in cluster.identity.list_audit_records(token, account_id)]


def test_the_password_changes_with_the_current_one_and_other_sessions_end(identity, rpc, person):
    citizen = person("citizen")
    with rpc() as cluster:
        this = citizen.log_in(cluster)
        ticket = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)["login_ticket"]
        other = cluster.identity.complete_login_with_recovery_code(ticket, citizen.recovery_codes[0])
        with pytest.raises(Unauthenticated) as wrong:
            cluster.identity.change_password(this["access_token"], "nicht mein Passwort", NEW_PASSWORD)
        cluster.identity.change_password(this["access_token"], PASSWORD, NEW_PASSWORD, citizen.address)
        cluster.identity.verify_access_token(this["access_token"])
        with pytest.raises(Unauthenticated) as ended:
            cluster.identity.verify_access_token(other["access_token"])
        with pytest.raises(Unauthenticated):
            cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        fresh = cluster.identity.login_with_password(citizen.email, NEW_PASSWORD, citizen.address)
        actions = actions_of(cluster, this["access_token"], citizen.account_id)
    assert wrong.value.code == "CURRENT_PASSWORD_WRONG"
    assert ended.value.code == "SESSION_ENDED"
    assert fresh["status"] == "second_factor_required"
    assert "password_changed" in actions


def test_a_weak_new_password_is_refused(identity, rpc, person):
    citizen = person("citizen")
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        with pytest.raises(InvalidInput) as refused:
            cluster.identity.change_password(token, PASSWORD, "passwort123")
    assert refused.value.code == "PASSWORD_TOO_SHORT"


def test_a_new_email_address_counts_only_after_its_link_is_followed(identity, rpc, person, mailbox):
    citizen = person("citizen")
    new_address = random_email("moved")
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        with pytest.raises(Unauthenticated):
            cluster.identity.request_email_change(token, "falsch falsch falsch", new_address)
        answer = cluster.identity.request_email_change(token, PASSWORD, new_address, citizen.address)
        mails = mailbox.wait_for(2)
        assert cluster.identity.get_security_overview(token)["email"] == citizen.email
        (link_mail,) = [m for m in mails if m["To"] == new_address]
        (notice,) = [m for m in mails if m["To"] == citizen.email]
        cluster.identity.confirm_email_change(link_token(link_mail))
        with pytest.raises(Unauthenticated) as again:
            cluster.identity.confirm_email_change(link_token(link_mail))
        overview = cluster.identity.get_security_overview(token)
        login = cluster.identity.login_with_password(new_address, PASSWORD, citizen.address)
        actions = actions_of(cluster, token, citizen.account_id)
    assert answer["status"] == "confirmation_sent"
    assert "token=" not in notice.get_content()
    assert f"{PUBLIC_URL}/e-mail-aendern/bestaetigen?token=" in link_mail.get_content()
    assert again.value.code == "LINK_INVALID"
    assert overview["email"] == new_address
    assert login["status"] == "second_factor_required"
    assert {"email_change_requested", "email_changed"} <= set(actions)


def test_an_address_that_has_an_account_gets_a_notice_and_no_link(identity, rpc, person, mailbox):
    citizen, neighbour = person("citizen"), person("citizen")
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        answer = cluster.identity.request_email_change(token, PASSWORD, neighbour.email)
        (mail,) = mailbox.wait_for(1)
    assert answer["status"] == "confirmation_sent"
    assert mail["To"] == neighbour.email
    assert "token=" not in mail.get_content()


def test_a_new_authenticator_app_replaces_the_old_one_with_new_recovery_codes(identity, rpc, person):
    citizen = person("citizen")
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        started = cluster.identity.start_totp_replacement(token)
        with pytest.raises(InvalidInput) as wrong:
            cluster.identity.confirm_totp_replacement(token, started["ticket"], "000000")
        assert cluster.identity.get_security_overview(token)["recovery_codes_left"] == 10
        enabled = cluster.identity.confirm_totp_replacement(
            token, started["ticket"], current_totp(started["secret"]), citizen.address
        )
        first = cluster.identity.login_with_password(citizen.email, PASSWORD, citizen.address)
        with pytest.raises(Unauthenticated):
            cluster.identity.complete_login_with_recovery_code(first["login_ticket"], citizen.recovery_codes[0])
        with pytest.raises(Unauthenticated):
            cluster.identity.complete_login_with_totp(first["login_ticket"], current_totp(citizen.totp_secret))
        later = cluster.identity.complete_login_with_recovery_code(first["login_ticket"], enabled["recovery_codes"][0])
    assert wrong.value.code == "TOTP_CODE_WRONG"
    assert len(enabled["recovery_codes"]) == 10
    assert later["status"] == "authenticated"


def test_passkeys_are_listed_and_removed_only_by_their_owner(identity, rpc, person):
    citizen, stranger = person("citizen"), person("citizen")
    authenticator = SoftwareAuthenticator(origin=PUBLIC_URL)
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        other_token = stranger.log_in(cluster)["access_token"]
        started = cluster.identity.start_passkey_registration(token)
        cluster.identity.complete_passkey_registration(
            token, started["ticket"], authenticator.create(started["options"])
        )
        (passkey,) = cluster.identity.list_passkeys(token)
        assert cluster.identity.list_passkeys(other_token) == []
        with pytest.raises(NotFound):
            cluster.identity.remove_passkey(other_token, passkey["credential_id"])
        cluster.identity.remove_passkey(token, passkey["credential_id"], random_address())
        remaining = cluster.identity.list_passkeys(token)
        challenge = cluster.identity.start_passkey_login()
        with pytest.raises(Unauthenticated):
            cluster.identity.complete_passkey_login(challenge["ticket"], authenticator.get(challenge["options"]))
        actions = actions_of(cluster, token, citizen.account_id)
    assert remaining == []
    assert "passkey_removed" in actions
