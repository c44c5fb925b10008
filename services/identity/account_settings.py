"""What a logged-in account changes about itself: password, e-mail address, authenticator app,
recovery codes and passkeys. Each change is audited in the transaction that makes it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.identity import accounts, audit, login, mail, throttle, tickets, totp
from services.identity.schema import accounts as accounts_table
from services.identity.schema import passkeys, recovery_codes, totp_secrets
from services.identity.schema import sessions as sessions_table
from services.identity.settings import IdentitySettings
from shared.errors import Conflict, InvalidInput, NotFound, PortalError, Unauthenticated
from shared.sql import ServiceDatabase

CURRENT_PASSWORD_WRONG = "Ihr jetziges Passwort stimmt nicht."  # noqa: S105 - a message
EMAIL_CHANGE_SENT = {
    "status": "confirmation_sent",
    "message": "Wir haben einen Bestätigungslink an die neue Adresse geschickt. Erst danach gilt sie.",
}
_TOTP_PURPOSE = "totp-replacement"


def overview(session: Session, account_id: str) -> dict[str, Any]:
    """The account's own view of its security: address, second factor, recovery codes left, passkeys."""
    account = accounts.get(session, account_id)
    left = session.execute(
        select(func.count())
        .select_from(recovery_codes)
        .where(recovery_codes.c.account_id == account_id, recovery_codes.c.used_at.is_(None))
    ).scalar_one()
    return {
        "email": account["email"],
        "totp_enabled": totp.is_enrolled(session, account_id),
        "recovery_codes_left": int(left),
        "passkeys": list_passkeys(session, account_id),
    }


def list_passkeys(session: Session, account_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(passkeys.c.credential_id, passkeys.c.created_at, passkeys.c.last_used_at)
        .where(passkeys.c.account_id == account_id)
        .order_by(passkeys.c.created_at)
    ).mappings()
    return [
        {
            "credential_id": row["credential_id"],
            "created_at": _iso(row["created_at"]),
            "last_used_at": _iso(row["last_used_at"]) if row["last_used_at"] else None,
        }
        for row in rows
    ]


def remove_passkey(session: Session, account_id: str, credential_id: str) -> None:
    """Delete one of the account's passkeys; raises NotFound ``PASSKEY_NOT_FOUND`` for any other."""
    result = session.execute(
        passkeys.delete().where(passkeys.c.account_id == account_id, passkeys.c.credential_id == credential_id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise NotFound("PASSKEY_NOT_FOUND", "Diesen Passkey gibt es in Ihrem Konto nicht.")


def change_password(
    db: ServiceDatabase,
    settings: IdentitySettings,
    account_id: str,
    session_id: str,
    current_password: str,
    new_password: str,
    client_address: str,
) -> None:
    """Set a new password after checking the current one; every other session of the account ends.

    A wrong current password counts like a wrong login (same throttle), so a forgotten open
    session cannot be used to guess the password.
    """
    with db.transaction() as session:
        account = accounts.get(session, account_id)
        throttle.check(session, [login.name_key(account["email"])])
    accounts.check_password_policy(new_password, [account["email"]])
    refusal: PortalError | None = None
    with db.transaction() as session:
        _, matches = accounts.check_password(session, settings, account["email"], current_password)
        if not matches:
            throttle.fail(
                session,
                login.name_key(account["email"]),
                settings.failures_before_lock,
                settings.lock_base_seconds,
                settings.lock_max_seconds,
            )
            audit.record(
                session, "login_failed", "refused", account_id, client_address=client_address, detail="PASSWORD_CHANGE"
            )
            refusal = Unauthenticated("CURRENT_PASSWORD_WRONG", CURRENT_PASSWORD_WRONG)
        else:
            accounts.set_password(session, settings, account_id, new_password)
            session.execute(
                sessions_table.update()
                .where(
                    sessions_table.c.account_id == account_id,
                    sessions_table.c.session_id != session_id,
                    sessions_table.c.revoked_at.is_(None),
                )
                .values(revoked_at=datetime.now(UTC))
            )
            audit.record(
                session, "password_changed", account_id=account_id, client_address=client_address, detail="settings"
            )
    if refusal is not None:
        raise refusal


def request_email_change(
    db: ServiceDatabase,
    settings: IdentitySettings,
    account_id: str,
    current_password: str,
    new_email: str,
    client_address: str,
) -> tuple[dict[str, str], list[EmailMessage]]:
    """Mail a confirmation link to the new address (and a notice to the old one).

    The same answer whether or not the new address already has an account; its owner then gets
    the "already registered" notice instead of a link.
    """
    address = accounts.normalise_email(new_email)
    with db.transaction() as session:
        account = accounts.get(session, account_id)
        throttle.check(session, [login.name_key(account["email"])])
    if address == account["email"]:
        raise InvalidInput("EMAIL_UNCHANGED", "Das ist schon Ihre E-Mail-Adresse.")
    refusal: PortalError | None = None
    messages: list[EmailMessage] = []
    with db.transaction() as session:
        _, matches = accounts.check_password(session, settings, account["email"], current_password)
        if not matches:
            throttle.fail(
                session,
                login.name_key(account["email"]),
                settings.failures_before_lock,
                settings.lock_base_seconds,
                settings.lock_max_seconds,
            )
            refusal = Unauthenticated("CURRENT_PASSWORD_WRONG", CURRENT_PASSWORD_WRONG)
        elif accounts.find_by_email(session, address) is not None:
            messages.append(mail.already_registered(address, settings.public_url))
        else:
            token = tickets.issue(session, tickets.Purpose.EMAIL_CHANGE, account_id, {"email": address})
            audit.record(session, "email_change_requested", account_id=account_id, client_address=client_address)
            messages.append(mail.email_change(address, settings.public_url, token))
            messages.append(mail.email_change_requested(account["email"], settings.public_url))
    if refusal is not None:
        raise refusal
    return dict(EMAIL_CHANGE_SENT), messages


def confirm_email_change(db: ServiceDatabase, token: str) -> str:
    """Make the link's new address the account's; raises Unauthenticated ``LINK_INVALID``, Conflict ``EMAIL_TAKEN``."""
    with db.transaction() as session:
        pending = tickets.redeem(session, tickets.Purpose.EMAIL_CHANGE, token)
        account_id = str(pending["account_id"])
        address = str(pending["data"]["email"])
        if accounts.find_by_email(session, address) is not None:
            raise Conflict("EMAIL_TAKEN", "Für diese E-Mail-Adresse gibt es schon ein Konto.")
        session.execute(
            accounts_table.update()
            .where(accounts_table.c.account_id == account_id)
            .values(email=address, email_confirmed_at=datetime.now(UTC))
        )
        audit.record(session, "email_changed", account_id=account_id)
    return account_id


def start_totp_replacement(session: Session, settings: IdentitySettings, account_id: str) -> dict[str, str]:
    """``{ticket, secret, otpauth_uri}`` of a new authenticator app; the old one works until it is confirmed."""
    account = accounts.get(session, account_id)
    secret = pyotp.random_base32()
    sealed = settings.box.seal(secret.encode(), f"{_TOTP_PURPOSE}:{account_id}")
    ticket = tickets.issue(session, tickets.Purpose.TOTP_REPLACEMENT, account_id, {"sealed": sealed})
    uri = pyotp.TOTP(secret).provisioning_uri(name=login.enrolment_label(account), issuer_name=totp.ISSUER_NAME)
    return {"ticket": ticket, "secret": secret, "otpauth_uri": uri}


def confirm_totp_replacement(
    session: Session, settings: IdentitySettings, account_id: str, ticket: str, code: str
) -> list[str] | None:
    """Replace the account's TOTP secret when ``code`` fits the new one; the new recovery codes, else None."""
    pending = tickets.peek(session, tickets.Purpose.TOTP_REPLACEMENT, ticket)
    if pending["account_id"] != account_id:
        raise Unauthenticated("TICKET_INVALID", tickets.MESSAGES[tickets.Purpose.TOTP_REPLACEMENT])
    secret = settings.box.open(pending["data"]["sealed"], f"{_TOTP_PURPOSE}:{account_id}").decode()
    candidate = "".join(code.split())
    now_step = int(time.time()) // totp.STEP_SECONDS
    steps = (now_step, now_step - 1, now_step + 1)
    matched = [step for step in steps if pyotp.TOTP(secret).at(step * totp.STEP_SECONDS) == candidate]
    if not matched:
        return None
    tickets.redeem(session, tickets.Purpose.TOTP_REPLACEMENT, ticket)
    now = datetime.now(UTC)
    values = {
        "secret_encrypted": settings.box.seal(secret.encode(), f"totp-secret:{account_id}"),
        "created_at": now,
        "confirmed_at": now,
        # The confirming code must not log in again.
        "last_used_step": matched[0],
    }
    exists = session.execute(select(totp_secrets.c.account_id).where(totp_secrets.c.account_id == account_id)).first()
    if exists:
        session.execute(totp_secrets.update().where(totp_secrets.c.account_id == account_id).values(**values))
    else:
        session.execute(totp_secrets.insert().values(account_id=account_id, **values))
    return totp.new_recovery_codes(session, account_id)


def renew_recovery_codes(session: Session, account_id: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working); only with an authenticator app set up."""
    if not totp.is_enrolled(session, account_id):
        raise Conflict("TOTP_NOT_ENROLLED", "Richten Sie zuerst eine Authenticator-App ein.")
    return totp.new_recovery_codes(session, account_id)


def _iso(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def export(session: Session, account_id: str) -> dict[str, Any]:
    """Everything identity holds about an account, for its owner (Art. 15 and 20 DSGVO): the account,
    its second factors (never a secret), its sessions and its audit trail. Hashes and secrets are
    not data about the person but locks on their data, and stay out."""
    account = accounts.get(session, account_id)
    session_rows = session.execute(
        select(sessions_table.c.created_at, sessions_table.c.last_seen_at, sessions_table.c.expires_at,
               sessions_table.c.revoked_at)
        .where(sessions_table.c.account_id == account_id)
        .order_by(sessions_table.c.created_at)
    ).mappings()  # fmt: skip
    return {
        "account": {
            "account_id": account["account_id"],
            "email": account["email"],
            "customer_number": account.get("customer_number"),
            **accounts.name_of(account),
            "role": account["role"],
            "institution_id": account.get("institution_id"),
            "status": account["status"],
            "created_at": _iso(account["created_at"]),
            "email_confirmed_at": _iso_or_none(account.get("email_confirmed_at")),
        },
        "security": overview(session, account_id),
        "sessions": [{key: _iso_or_none(value) for key, value in row.items()} for row in session_rows],
        "audit": audit.records_of(session, account_id),
    }


def _iso_or_none(moment: datetime | None) -> str | None:
    return _iso(moment) if moment is not None else None


DELETED_DOMAIN = "geloescht.invalid"


def delete_account(
    db: ServiceDatabase,
    settings: IdentitySettings,
    account_id: str,
    password: str,
    client_address: str,
    keep_customer_number: bool = False,
) -> None:
    """The citizen deletes their account after giving their password again (throttled like a login).

    What identifies the person goes: the e-mail address (replaced by a placeholder that cannot
    receive mail), the name (also when the customer number is kept), the customer number, the password,
    every second factor and every session. The account id stays, because the cases the Jobcenter must
    keep (§ 84 SGB X, retention of its files) name it as their owner, and so does the audit trail (the
    record of what happened to the account, kept for the security of all). Nobody can log in to it again.

    With ``keep_customer_number`` (the citizen has submitted cases the Jobcenter keeps) the customer
    number stays too: it is the Jobcenter's own number for the person, without which caseworkers could
    not tell whose open case it is. It goes with the account's other rest (identity's retention job).
    """
    with db.transaction() as session:
        account = accounts.get(session, account_id)
        if account["role"] != "citizen":
            raise Conflict("STAFF_ACCOUNT", "Konten von Mitarbeitenden löscht die Administration.")
        throttle.check(session, [login.name_key(account["email"])])
    refusal: PortalError | None = None
    with db.transaction() as session:
        _, matches = accounts.check_password(session, settings, account["email"], password)
        if not matches:
            throttle.fail(session, login.name_key(account["email"]), settings.failures_before_lock,
                          settings.lock_base_seconds, settings.lock_max_seconds)  # fmt: skip
            audit.record(
                session, "login_failed", "refused", account_id, client_address=client_address, detail="DELETION"
            )
            refusal = Unauthenticated("CURRENT_PASSWORD_WRONG", CURRENT_PASSWORD_WRONG)
        else:
            session.execute(
                accounts_table.update()
                .where(accounts_table.c.account_id == account_id)
                .values(email=f"{account_id}@{DELETED_DOMAIN}", password_hash=None,
                        customer_number=account["customer_number"] if keep_customer_number else None,
                        status=accounts.Status.DISABLED.value, disabled_at=datetime.now(UTC),
                        **accounts.name_columns(None))
            )  # fmt: skip
            for table in (totp_secrets, recovery_codes, passkeys):
                session.execute(table.delete().where(table.c.account_id == account_id))
            session.execute(
                sessions_table.update()
                .where(sessions_table.c.account_id == account_id, sessions_table.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            audit.record(session, "account_deleted", account_id=account_id, client_address=client_address)
    if refusal is not None:
        raise refusal
