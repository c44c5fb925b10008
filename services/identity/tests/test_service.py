"""The identity service over real RPC, with its SQLite store."""

import pytest

from shared.errors import Conflict, InvalidInput, Unauthenticated

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"


@pytest.fixture
def identity(start_services):
    return start_services("identity")["identity"]


def test_a_new_account_can_log_in_with_its_password(identity, rpc):
    with rpc() as cluster:
        account_id = cluster.identity.create_account("Erika.Muster@example.org", PASSWORD, "citizen")
        account = cluster.identity.authenticate("erika.muster@example.org", PASSWORD)
    assert account == {"account_id": account_id, "role": "citizen", "institution_id": None}


def test_a_wrong_password_is_refused_with_a_stable_code(identity, rpc):
    with rpc() as cluster:
        cluster.identity.create_account("erika@example.org", PASSWORD, "citizen")
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.authenticate("erika@example.org", PASSWORD + "x")
    assert refused.value.code == "LOGIN_FAILED"


def test_an_address_registers_only_once(identity, rpc):
    with rpc() as cluster:
        cluster.identity.create_account("erika@example.org", PASSWORD, "citizen")
        with pytest.raises(Conflict) as taken:
            cluster.identity.create_account("ERIKA@example.org", PASSWORD, "citizen")
    assert taken.value.code == "EMAIL_TAKEN"


def test_staff_accounts_need_their_jobcenter(identity, rpc):
    with rpc() as cluster, pytest.raises(InvalidInput) as refused:
        cluster.identity.create_account("sb@jobcenter.example", PASSWORD, "caseworker")
    assert refused.value.code == "INSTITUTION_REQUIRED"


def test_short_passwords_are_refused_in_german(identity, rpc):
    with rpc() as cluster, pytest.raises(InvalidInput) as refused:
        cluster.identity.create_account("erika@example.org", "kurz", "citizen")
    assert refused.value.code == "PASSWORD_TOO_SHORT"
    assert "mindestens 12 Zeichen" in refused.value.message


def test_no_email_address_reaches_the_logs(identity, rpc, captured_logs):
    with rpc() as cluster:
        cluster.identity.create_account("marker.person@example.org", PASSWORD, "citizen")
        cluster.identity.authenticate("marker.person@example.org", PASSWORD)
        with pytest.raises(Unauthenticated):
            cluster.identity.authenticate("marker.person@example.org", "falsches-passwort-123")
    assert captured_logs.named("account_created")
    assert "marker.person" not in captured_logs.text()
    assert PASSWORD not in captured_logs.text()


def test_health_reports_the_database(identity, rpc):
    with rpc() as cluster:
        report = cluster.identity.health()
    assert report == {
        "service": "identity",
        "status": "ok",
        "dependencies": {
            "database": {"status": "ok", "duration_ms": report["dependencies"]["database"]["duration_ms"]}
        },
    }
