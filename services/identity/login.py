"""Login: password, then the second factor (TOTP, recovery code), or a passkey alone.

Refusals are decided inside a transaction that commits the failed-attempt count and the audit
record, and raised only after it committed. Every refusal of the first step is ``LOGIN_FAILED``
with the same message, whether the address is unknown, the password wrong or the account disabled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.identity import accounts, audit, passkeys, sessions, throttle, tickets, totp
from services.identity.accounts import Status
from services.identity.settings import IdentitySettings
from shared.errors import PortalError, Unauthenticated
from shared.sql import ServiceDatabase

LOGIN_FAILED_MESSAGE = "E-Mail-Adresse oder Passwort ist falsch."
SECOND_FACTOR_FAILED_MESSAGE = "Der Code stimmt nicht. Bitte versuchen Sie es noch einmal."
AMR_PASSWORD_AND_TOTP = ["pwd", "otp", "mfa"]
AMR_PASSWORD_AND_RECOVERY_CODE = ["pwd", "mfa"]
AMR_PASSKEY = ["hwk", "mfa"]
# Who must show a second factor before a session: everyone who can see or change more than their own data.


def name_key(email: str) -> str:
    return throttle.key("login", email.strip().lower())


def address_key(client_address: str) -> str:
    return throttle.key("address", client_address or "unknown")


def _fail(session: Session, settings: IdentitySettings, keys: list[tuple[str, int]]) -> None:
    for key, threshold in keys:
        throttle.fail(session, key, threshold, settings.lock_base_seconds, settings.lock_max_seconds)


def with_password(
    db: ServiceDatabase, settings: IdentitySettings, email: str, password: str, client_address: str
) -> dict[str, Any]:
    """A login ticket for the second factor, or for setting one up at the first login; never a session."""
    keys = [name_key(email), address_key(client_address)]
    with db.transaction() as session:
        throttle.check(session, keys)
    refusal: PortalError | None = None
    with db.transaction() as session:
        account, password_matches = accounts.check_password(session, settings, email, password)
        if account is None or not password_matches or account["status"] == Status.DISABLED:
            _fail(
                session,
                settings,
                [(keys[0], settings.failures_before_lock), (keys[1], settings.address_failures_before_lock)],
            )
            audit.record(
                session,
                "login_failed",
                "refused",
                account["account_id"] if account else None,
                client_address=client_address,
                detail="LOGIN_FAILED",
            )
            refusal = Unauthenticated("LOGIN_FAILED", LOGIN_FAILED_MESSAGE)
        elif account["status"] == Status.PENDING_CONFIRMATION:
            # Only someone who knows the password learns this, so it tells an attacker nothing new.
            refusal = Unauthenticated(
                "EMAIL_NOT_CONFIRMED",
                "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse mit dem Link, den wir Ihnen geschickt haben.",
            )
        else:
            result = _after_password(session, settings, account, client_address)
    if refusal is not None:
        raise refusal
    return result


def _after_password(
    session: Session, settings: IdentitySettings, account: dict[str, Any], client_address: str
) -> dict[str, Any]:
    methods = []
    if totp.is_enrolled(session, account["account_id"]):
        methods.append("totp")
    if passkeys.has_passkey(session, account["account_id"]):
        methods.append("passkey")
    if methods:
        ticket = tickets.issue(session, tickets.Purpose.LOGIN, account["account_id"], {"step": "second_factor"})
        return {"status": "second_factor_required", "login_ticket": ticket, "methods": methods}
    # No session without a second factor, for anyone: the first login sets one up (an authenticator app;
    # a passkey can be added once logged in, and then counts on its own).
    ticket = tickets.issue(session, tickets.Purpose.LOGIN, account["account_id"], {"step": "enrolment"})
    return {"status": "second_factor_setup_required", "login_ticket": ticket, "methods": ["totp"]}


def succeed(
    session: Session, settings: IdentitySettings, account: dict[str, Any], amr: list[str], client_address: str
) -> dict[str, Any]:
    """Start the session of a completed login, clear the account's failures and record it."""
    throttle.clear(session, name_key(account["email"]))
    audit.record(
        session,
        "login_succeeded",
        account_id=account["account_id"],
        client_address=client_address,
        detail="amr=" + "+".join(amr),
    )
    return sessions.start(session, settings, account, amr)


def _ticket_account(session: Session, login_ticket: str, step: str) -> dict[str, Any]:
    pending = tickets.peek(session, tickets.Purpose.LOGIN, login_ticket)
    if (pending["data"] or {}).get("step") != step:
        raise Unauthenticated("TICKET_INVALID", tickets.MESSAGES[tickets.Purpose.LOGIN])
    account = accounts.get(session, str(pending["account_id"]))
    if account["status"] != Status.ACTIVE:
        raise Unauthenticated("TICKET_INVALID", tickets.MESSAGES[tickets.Purpose.LOGIN])
    return account


def with_second_factor(
    db: ServiceDatabase,
    settings: IdentitySettings,
    login_ticket: str,
    code: str,
    client_address: str,
    recovery: bool = False,
) -> dict[str, Any]:
    """Finish a login with a TOTP code (or a recovery code); wrong codes count like wrong passwords."""
    with db.transaction() as session:
        account = _ticket_account(session, login_ticket, "second_factor")
        throttle.check(session, [name_key(account["email"]), address_key(client_address)])
    refusal: PortalError | None = None
    with db.transaction() as session:
        if recovery:
            accepted = totp.use_recovery_code(session, account["account_id"], code)
        else:
            accepted = totp.verify(session, settings, account["account_id"], code)
        if not accepted:
            _fail(
                session,
                settings,
                [
                    (name_key(account["email"]), settings.failures_before_lock),
                    (address_key(client_address), settings.address_failures_before_lock),
                ],
            )
            audit.record(
                session,
                "login_failed",
                "refused",
                account["account_id"],
                client_address=client_address,
                detail="SECOND_FACTOR_FAILED",
            )
            refusal = Unauthenticated("SECOND_FACTOR_FAILED", SECOND_FACTOR_FAILED_MESSAGE)
        else:
            tickets.redeem(session, tickets.Purpose.LOGIN, login_ticket)
            if recovery:
                audit.record(
                    session, "recovery_code_used", account_id=account["account_id"], client_address=client_address
                )
            amr = AMR_PASSWORD_AND_RECOVERY_CODE if recovery else AMR_PASSWORD_AND_TOTP
            result = succeed(session, settings, account, amr, client_address)
    if refusal is not None:
        raise refusal
    return result


def start_enrolment(db: ServiceDatabase, settings: IdentitySettings, login_ticket: str) -> dict[str, str]:
    """The TOTP secret for a first login (``second_factor_setup_required``)."""
    with db.transaction() as session:
        account = _ticket_account(session, login_ticket, "enrolment")
        return totp.start_enrolment(session, settings, account["account_id"], enrolment_label(account))


def with_enrolment(
    db: ServiceDatabase, settings: IdentitySettings, login_ticket: str, code: str, client_address: str
) -> dict[str, Any]:
    """Confirm the first TOTP code at the first login and finish it; adds the recovery codes."""
    refusal: PortalError | None = None
    with db.transaction() as session:
        account = _ticket_account(session, login_ticket, "enrolment")
        throttle.check(session, [name_key(account["email"])])
    with db.transaction() as session:
        if not totp.verify(session, settings, account["account_id"], code, confirming=True):
            _fail(session, settings, [(name_key(account["email"]), settings.failures_before_lock)])
            refusal = Unauthenticated("SECOND_FACTOR_FAILED", SECOND_FACTOR_FAILED_MESSAGE)
        else:
            tickets.redeem(session, tickets.Purpose.LOGIN, login_ticket)
            codes = totp.new_recovery_codes(session, account["account_id"])
            audit.record(session, "totp_enrolled", account_id=account["account_id"], client_address=client_address)
            result = {
                **succeed(session, settings, account, AMR_PASSWORD_AND_TOTP, client_address),
                "recovery_codes": codes,
            }
    if refusal is not None:
        raise refusal
    return result


def with_passkey(
    db: ServiceDatabase, settings: IdentitySettings, ticket: str, credential: dict[str, Any], client_address: str
) -> dict[str, Any]:
    """A session for the owner of a passkey whose assertion verifies."""
    with db.transaction() as session:
        throttle.check(session, [address_key(client_address)])
    refusal: PortalError | None = None
    with db.transaction() as session:
        account_id = passkeys.complete_login(session, settings, ticket, credential)
        account = accounts.get(session, account_id) if account_id else None
        if account is None or account["status"] != Status.ACTIVE:
            _fail(session, settings, [(address_key(client_address), settings.address_failures_before_lock)])
            audit.record(
                session, "login_failed", "refused", account_id, client_address=client_address, detail="PASSKEY_REFUSED"
            )
            refusal = Unauthenticated("PASSKEY_REFUSED", passkeys.PASSKEY_REFUSED_MESSAGE)
        else:
            result = succeed(session, settings, account, AMR_PASSKEY, client_address)
    if refusal is not None:
        raise refusal
    return result


def enrolment_label(account: dict[str, Any]) -> str:
    """The name the authenticator app shows: the role and a short id, not the e-mail address."""
    return f"{account['role']}-{account['account_id'][:8]}"
