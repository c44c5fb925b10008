"""Registration with an activation code, the e-mail confirmation link, and password reset by link.

Each function returns the e-mail to send (or None); the service sends it after the transaction
committed, so a link in a mail always exists in the database.
"""

from __future__ import annotations

from email.message import EmailMessage

from services.identity import accounts, activation, audit, mail, sessions, throttle, tickets
from services.identity.accounts import Role, Status
from services.identity.login import name_key
from services.identity.settings import IdentitySettings
from shared.errors import PortalError, Unauthenticated
from shared.sql import ServiceDatabase

REGISTERED = {
    "status": "confirmation_sent",
    "message": "Fast geschafft: Wir haben Ihnen eine E-Mail mit einem Bestätigungslink geschickt.",
}
RESET_REQUESTED = {
    "status": "reset_link_sent",
    "message": "Wenn es ein Konto mit dieser Adresse gibt, haben wir einen Link zum Zurücksetzen geschickt.",
}
# Reset mails per address before further requests are quietly dropped for a while.
RESET_MAILS_BEFORE_PAUSE = 3


def register(
    db: ServiceDatabase,
    settings: IdentitySettings,
    email: str,
    password: str,
    activation_code: str,
    client_address: str,
    name: accounts.PersonName | None,
) -> tuple[dict[str, str], EmailMessage | None]:
    """Create a citizen account linked by a valid activation code; its address must then be confirmed.

    ``name`` is checked by the caller (``accounts.checked_name``); None only from the previous release's
    gateway, which does not ask it. Raises InvalidInput for a bad address or password, Unauthenticated
    ``ACTIVATION_CODE_INVALID`` for a wrong, expired or used code (counted per client address) and
    ``TOO_MANY_ATTEMPTS``. An address that already has an account gets the same answer and a notice by mail.
    """
    address = accounts.normalise_email(email)
    accounts.check_password_policy(password, [address])
    code_key = throttle.key("activation", client_address or "unknown")
    with db.transaction() as session:
        throttle.check(session, [code_key])
    refusal: PortalError | None = None
    message: EmailMessage | None = None
    with db.transaction() as session:
        code = activation.find_redeemable(session, activation_code)
        if code is None:
            throttle.fail(
                session, code_key, settings.failures_before_lock, settings.lock_base_seconds, settings.lock_max_seconds
            )
            audit.record(session, "activation_code_refused", "refused", client_address=client_address)
            refusal = Unauthenticated("ACTIVATION_CODE_INVALID", activation.CODE_REFUSED_MESSAGE)
        elif accounts.find_by_email(session, address) is not None:
            # Hash anyway: the answer must take as long as a real registration.
            settings.hasher.hash(password)
            message = mail.already_registered(address, settings.public_url)
        else:
            account_id = accounts.create_account(
                session,
                settings,
                address,
                password,
                Role.CITIZEN,
                code["institution_id"],
                code["customer_number"],
                Status.PENDING_CONFIRMATION,
                name=name,
            )
            if not activation.mark_used(session, code["code_id"], account_id):
                raise Unauthenticated("ACTIVATION_CODE_INVALID", activation.CODE_REFUSED_MESSAGE)
            throttle.clear(session, code_key)
            audit.record(
                session, "account_created", account_id=account_id, client_address=client_address, detail="role=citizen"
            )
            audit.record(session, "activation_code_redeemed", account_id=account_id, client_address=client_address)
            token = tickets.issue(session, tickets.Purpose.EMAIL_CONFIRMATION, account_id)
            message = mail.confirmation(address, settings.public_url, token)
    if refusal is not None:
        raise refusal
    return dict(REGISTERED), message


def confirm_email(db: ServiceDatabase, token: str) -> str:
    """Activate the account of a confirmation link; returns its id. Raises Unauthenticated ``LINK_INVALID``."""
    with db.transaction() as session:
        pending = tickets.redeem(session, tickets.Purpose.EMAIL_CONFIRMATION, token)
        account_id = str(pending["account_id"])
        accounts.confirm_email(session, account_id)
        audit.record(session, "email_confirmed", account_id=account_id)
    return account_id


def request_reset(
    db: ServiceDatabase, settings: IdentitySettings, email: str, client_address: str
) -> tuple[dict[str, str], EmailMessage | None]:
    """Send a single-use reset link (1 h) when the address has an account; the answer is the same either way."""
    key = throttle.key("reset", email.strip().lower())
    with db.transaction() as session:
        try:
            throttle.check(session, [key])
        except Unauthenticated:
            return dict(RESET_REQUESTED), None
        throttle.fail(
            session, key, RESET_MAILS_BEFORE_PAUSE, settings.lock_base_seconds * 10, settings.lock_max_seconds
        )
        account = accounts.find_by_email(session, email)
        if account is None or account["status"] == Status.DISABLED:
            return dict(RESET_REQUESTED), None
        token = tickets.issue(session, tickets.Purpose.PASSWORD_RESET, account["account_id"])
        audit.record(
            session, "password_reset_requested", account_id=account["account_id"], client_address=client_address
        )
        return dict(RESET_REQUESTED), mail.password_reset(account["email"], settings.public_url, token)


def reset_password(
    db: ServiceDatabase, settings: IdentitySettings, token: str, new_password: str, client_address: str
) -> str:
    """Set a new password from a reset link; ends every session and lifts a login lock. Returns the account id.

    A disabled account's link (a staff invitation not yet used, say) is refused like a spent one.
    """
    with db.transaction() as session:
        pending = tickets.peek(session, tickets.Purpose.PASSWORD_RESET, token)
        account = accounts.get(session, str(pending["account_id"]))
        if account["status"] == Status.DISABLED:
            raise Unauthenticated("LINK_INVALID", tickets.MESSAGES[tickets.Purpose.PASSWORD_RESET])
        accounts.check_password_policy(new_password, [account["email"]])
        tickets.redeem(session, tickets.Purpose.PASSWORD_RESET, token)
        accounts.set_password(session, settings, account["account_id"], new_password)
        sessions.end_all(session, account["account_id"])
        throttle.clear(session, name_key(account["email"]))
        audit.record(
            session,
            "password_changed",
            account_id=account["account_id"],
            client_address=client_address,
            detail="reset_link",
        )
    return str(account["account_id"])
