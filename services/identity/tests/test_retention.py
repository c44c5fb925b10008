"""identity's retention job: ended sessions, spent one-time tokens and old audit records go, live ones stay."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.identity import account_settings, retention
from services.identity.schema import accounts, audit_records, one_time_tokens, sessions

NOW = datetime.now(UTC)


def a_session(account_id: str, expires_at: datetime, revoked_at: datetime | None = None) -> dict:
    return {"session_id": str(uuid.uuid4()), "token_hash": secrets.token_hex(32), "account_id": account_id,
            "amr": ["pwd", "otp"], "created_at": expires_at - timedelta(hours=12),
            "last_seen_at": expires_at - timedelta(hours=11), "expires_at": expires_at,
            "revoked_at": revoked_at}  # fmt: skip


def a_token(expires_at: datetime, used_at: datetime | None = None) -> dict:
    return {"token_hash": secrets.token_hex(32), "purpose": "email_confirmation", "account_id": str(uuid.uuid4()),
            "data": None, "created_at": expires_at - timedelta(hours=1), "expires_at": expires_at,
            "used_at": used_at}  # fmt: skip


def an_audit_record(occurred_at: datetime) -> dict:
    return {"record_id": str(uuid.uuid4()), "occurred_at": occurred_at, "action": "login_succeeded",
            "outcome": "ok", "account_id": str(uuid.uuid4()), "actor_id": None,
            "client_address": "198.51.100.23", "detail": None}  # fmt: skip


def test_ended_sessions_and_spent_tokens_go_a_day_after_they_ended_live_ones_stay(operator):
    account_id = str(uuid.uuid4())
    expired_long_ago = a_session(account_id, NOW - timedelta(days=2))
    revoked_long_ago = a_session(account_id, NOW + timedelta(hours=6), revoked_at=NOW - timedelta(days=2))
    ended_just_now = a_session(account_id, NOW - timedelta(hours=1))
    live = a_session(account_id, NOW + timedelta(hours=6))
    expired_token, used_token = (
        a_token(NOW - timedelta(days=2)),
        a_token(NOW + timedelta(hours=1), NOW - timedelta(days=2)),
    )
    fresh_token = a_token(NOW + timedelta(hours=1))
    with operator.db.transaction() as session:
        session.execute(sessions.insert(), [expired_long_ago, revoked_long_ago, ended_just_now, live])
        session.execute(one_time_tokens.insert(), [expired_token, used_token, fresh_token])
    with operator.db.transaction() as session:
        report = retention.apply_retention(session)
    with operator.db.transaction() as session:
        left = set(session.scalars(select(sessions.c.session_id).where(sessions.c.account_id == account_id)))
        ours = [expired_token["token_hash"], used_token["token_hash"], fresh_token["token_hash"]]
        tokens = set(
            session.scalars(select(one_time_tokens.c.token_hash).where(one_time_tokens.c.token_hash.in_(ours)))
        )
    assert left == {ended_just_now["session_id"], live["session_id"]}
    assert tokens == {fresh_token["token_hash"]}
    assert report.sessions >= 2 and report.tokens >= 2


def test_audit_records_lose_the_client_address_after_90_days_and_go_after_two_years(operator):
    recent = an_audit_record(NOW - timedelta(days=89))
    older = an_audit_record(NOW - timedelta(days=91))
    oldest = an_audit_record(NOW - timedelta(days=2 * 365 + 1))
    with operator.db.transaction() as session:
        session.execute(audit_records.insert(), [recent, older, oldest])
    with operator.db.transaction() as session:
        retention.apply_retention(session)
    with operator.db.transaction() as session:
        ids = [recent["record_id"], older["record_id"], oldest["record_id"]]
        rows = dict(session.execute(
            select(audit_records.c.record_id, audit_records.c.client_address).where(audit_records.c.record_id.in_(ids))
        ).all())  # fmt: skip
    assert rows == {recent["record_id"]: "198.51.100.23", older["record_id"]: None}


def test_a_deleted_accounts_kept_customer_number_goes_ten_years_after_the_deletion(operator):
    """delete_account keeps the number while the Jobcenter keeps cases; the retention of a case ends it."""
    password = "ein-langes-passwort-1"
    old, recent = (
        operator.create_account(f"k{secrets.token_hex(4)}@example.org", "citizen", None, password, number)
        for number in (f"{secrets.randbelow(900) + 100}D{secrets.randbelow(900000) + 100000}" for _ in range(2))
    )
    for created in (old, recent):
        account_settings.delete_account(operator.db, operator.settings, created["account_id"], password, "", True)
    with operator.db.transaction() as session:
        session.execute(accounts.update().where(accounts.c.account_id == old["account_id"])
                        .values(disabled_at=NOW - timedelta(days=10 * 365 + 3)))  # fmt: skip
    with operator.db.transaction() as session:
        report = retention.apply_retention(session)
    with operator.db.transaction() as session:
        numbers = dict(session.execute(
            select(accounts.c.account_id, accounts.c.customer_number)
            .where(accounts.c.account_id.in_([old["account_id"], recent["account_id"]]))
        ).all())  # fmt: skip
    assert numbers[old["account_id"]] is None and numbers[recent["account_id"]] is not None
    assert report.customer_numbers >= 1


def test_the_retention_command_runs_against_the_configured_database(operator, identity_env, monkeypatch, capsys):
    for name, value in identity_env.items():
        monkeypatch.setenv(name, value)
    stale = a_token(NOW - timedelta(days=3))
    with operator.db.transaction() as session:
        session.execute(one_time_tokens.insert(), [stale])
    assert retention.main([]) == 0
    assert "spent one-time tokens" in capsys.readouterr().out
    with operator.db.transaction() as session:
        wanted = one_time_tokens.c.token_hash == stale["token_hash"]
        assert session.execute(select(one_time_tokens.c.token_hash).where(wanted)).first() is None
