"""What operators see: health, the schema the migrations make, the operator CLI, the demo seed."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.identity import cli, demo
from services.identity.schema import is_own_table, metadata
from services.identity.tests.support import random_customer_number, random_email


def test_health_reports_the_database_and_the_mail_relay(identity, rpc):
    with rpc() as cluster:
        report = cluster.identity.health()
    assert report["status"] == "ok"
    assert set(report["dependencies"]) == {"database", "smtp"}


def test_the_migrations_make_exactly_the_tables_the_code_declares(identity, operator):
    with operator.db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, type_, _parent: type_ != "table" or is_own_table(name)},
        )
        differences = compare_metadata(context, metadata)
    assert [d[:2] if d[0] == "add_table" else d for d in differences] == []


@pytest.fixture
def cli_environment(identity_env, monkeypatch):
    for name, value in identity_env.items():
        monkeypatch.setenv(name, value)


def test_the_cli_creates_staff_issues_codes_disables_and_rotates_keys(
    identity, operator, cli_environment, tmp_path, capsys
):
    email = random_email("staff")
    assert cli.main(["create-staff", email, "--role", "caseworker", "--institution", "92204"]) == 0
    assert "/konto/passwort-neu?token=" in capsys.readouterr().out

    letter = tmp_path / "letter.pdf"
    assert cli.main(["issue-code", random_customer_number(), "--institution", "92204", "--letter", str(letter)]) == 0
    assert "activation code" in capsys.readouterr().out
    assert letter.read_bytes().startswith(b"%PDF-")

    assert cli.main(["disable", email]) == 0
    assert cli.main(["disable", random_email()]) == 1
    assert cli.main(["rotate-keys"]) == 0
    assert "new signing key" in capsys.readouterr().out


def test_staff_without_a_jobcenter_are_refused_by_the_cli(identity, cli_environment, capsys):
    assert cli.main(["create-staff", random_email("staff"), "--role", "caseworker"]) == 1
    assert "INSTITUTION_REQUIRED" in capsys.readouterr().err


def test_the_demo_has_a_treptow_koepenick_citizen_with_totp_and_a_caseworker(identity, cli_environment, capsys):
    demo.main()
    demo.main()  # a second make run finds them and shows the same secrets
    first, second = capsys.readouterr().out.split("Demo accounts")[1:]
    assert "citizen     erika.mustermann@example.org" in first
    assert "caseworker  sachbearbeitung@jc-treptow-koepenick.example" in first
    assert "Jobcenter jc-0394" in first
    assert "otpauth://totp/Jobcenter-Portal:citizen-" in first
    assert "(exists)" in second
    secret_lines = [line for line in first.splitlines() if "TOTP secret" in line]
    assert [line.split()[2] for line in secret_lines] == [
        line.split()[2] for line in second.splitlines() if "TOTP secret" in line
    ]


def test_notify_learns_where_to_write_only_for_an_active_account(identity, operator, person, rpc):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        assert cluster.identity.get_contact(citizen.account_id) == {"email": citizen.email, "locale": "de"}
        operator.disable_account(citizen.email)
        assert cluster.identity.get_contact(citizen.account_id) is None


def test_the_cli_migrates_before_a_rollout(identity, cli_environment, capsys):
    from services.identity import cli

    assert cli.main(["migrate"]) == 0
    assert "newest revision" in capsys.readouterr().out
