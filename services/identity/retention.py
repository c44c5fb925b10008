"""Retention of identity's records, run daily (a Kubernetes CronJob in production); docs/retention.md has why.

``python -m services.identity.retention`` deletes

- sessions ended (expired or revoked) more than ``ENDED_SESSION_DAYS`` ago: an ended session is never
  used again, the day's margin only lets a support question about "why was I logged out" be answered;
- one-time tokens (e-mailed links, login tickets, WebAuthn challenges) expired or used that long ago;
- the client address of audit records older than ``AUDIT_ADDRESS_DAYS`` (what happened stays, from where
  goes), and audit records older than ``AUDIT_RECORD_YEARS`` altogether;
- the customer number a deleted account kept for its kept cases (``account_settings.delete_account``),
  ``KEPT_CUSTOMER_NUMBER_YEARS`` after the deletion: the retention of a case (10 years after its last change).

Accounts themselves end when the citizen deletes theirs (``account_settings.delete_account``). Idempotent.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.orm import Session

from services.identity.account_settings import DELETED_DOMAIN
from services.identity.operations import Identity
from services.identity.schema import accounts, audit_records, one_time_tokens, sessions
from shared.config import load_config

ENDED_SESSION_DAYS = 1
SPENT_TOKEN_DAYS = 1
# Client addresses serve to trace an attack on an account: a quarter covers noticing and reporting one.
AUDIT_ADDRESS_DAYS = 90
# What happened to an account (logins, changes, deletion) stays as long as the staff access record.
AUDIT_RECORD_YEARS = 2
# A deleted account's customer number serves the cases kept of it; they are erased 10 years after their
# last change (submissions' CASE_RETENTION_YEARS), the Jobcenter's own e-file keeps its own record.
KEPT_CUSTOMER_NUMBER_YEARS = 10


@dataclass(frozen=True)
class RetentionReport:
    sessions: int
    tokens: int
    addresses: int  # audit records whose client address was removed
    audit_records: int
    customer_numbers: int = 0  # kept by deleted accounts, now removed


def apply_retention(session: Session, now: datetime | None = None) -> RetentionReport:
    """Delete what identity no longer needs (see the module's docstring); returns how much went."""
    now = now or datetime.now(UTC)
    connection = session.connection()  # its results count rows, a Session's do not say so
    session_cutoff = now - timedelta(days=ENDED_SESSION_DAYS)
    ended = or_(sessions.c.expires_at < session_cutoff, sessions.c.revoked_at < session_cutoff)
    removed_sessions = connection.execute(delete(sessions).where(ended)).rowcount
    token_cutoff = now - timedelta(days=SPENT_TOKEN_DAYS)
    spent = or_(one_time_tokens.c.expires_at < token_cutoff, one_time_tokens.c.used_at < token_cutoff)
    removed_tokens = connection.execute(delete(one_time_tokens).where(spent)).rowcount
    address_cutoff = now - timedelta(days=AUDIT_ADDRESS_DAYS)
    addresses = connection.execute(
        update(audit_records)
        .where(and_(audit_records.c.occurred_at < address_cutoff, audit_records.c.client_address.is_not(None)))
        .values(client_address=None)
    ).rowcount
    record_cutoff = now - timedelta(days=365 * AUDIT_RECORD_YEARS + AUDIT_RECORD_YEARS // 4)
    removed_records = connection.execute(
        delete(audit_records).where(audit_records.c.occurred_at < record_cutoff)
    ).rowcount
    kept_cutoff = now - timedelta(days=365 * KEPT_CUSTOMER_NUMBER_YEARS + KEPT_CUSTOMER_NUMBER_YEARS // 4)
    deleted_long_ago = and_(
        accounts.c.email.like(f"%@{DELETED_DOMAIN}"),
        accounts.c.disabled_at < kept_cutoff,
        accounts.c.customer_number.is_not(None),
    )
    numbers = connection.execute(update(accounts).where(deleted_long_ago).values(customer_number=None)).rowcount
    return RetentionReport(removed_sessions, removed_tokens, addresses, removed_records, numbers)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m services.identity.retention", description=__doc__.splitlines()[0]
    ).parse_args(argv)
    identity = Identity.open(load_config("identity"))
    try:
        with identity.db.transaction() as session:
            report = apply_retention(session)
    finally:
        identity.close()
    print(
        f"deleted {report.sessions} ended sessions, {report.tokens} spent one-time tokens, "
        f"{report.audit_records} audit records; removed {report.addresses} client addresses and "
        f"{report.customer_numbers} customer numbers of accounts deleted long ago"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
