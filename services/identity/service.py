"""The identity service: accounts, activation codes, login with a second factor, sessions and tokens.

Entrypoints check the caller's token and scope themselves (defence in depth, not only the gateway),
delegate to the domain modules and send mail after the transaction committed. ``client_address``
is the address the gateway saw the request come from; it feeds the throttles and the audit trail.
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from typing import Any

from nameko.rpc import rpc

from services.identity import (
    account_settings,
    accounts,
    activation,
    audit,
    letter,
    login,
    mail,
    passkeys,
    registration,
    sessions,
    signing,
    tickets,
    totp,
)
from services.identity.accounts import Role, Status
from services.identity.schema import MIGRATIONS, metadata
from services.identity.settings import IdentitySettings, Settings
from shared.auth import ADMIN, CASEWORKER, CITIZEN, TEAM_LEAD, AccessClaims, TokenVerifier, authorize
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from shared.service import PortalService
from shared.smtp import SmtpRelay
from shared.sql import Database, ServiceDatabase

log = logging.getLogger(__name__)
MAX_DESCRIBED_ACCOUNTS = 200  # two inbox pages of owners and assignees


class IdentityService(PortalService):
    name = "identity"

    db: ServiceDatabase = Database(metadata, migrations=MIGRATIONS)
    settings: IdentitySettings = Settings()
    smtp: SmtpRelay = SmtpRelay()

    # --- keys and tokens ---------------------------------------------------------------------------

    @rpc
    def get_jwks(self) -> dict[str, Any]:
        """The public keys that verify access tokens now (JWKS, one entry per ``kid``)."""
        with self.db.transaction() as session:
            return signing.jwks(session, self.settings)

    @rpc
    def verify_access_token(self, access_token: str) -> dict[str, Any]:
        """The token's claims when it is valid and its session still open; raises Unauthenticated."""
        claims = self._caller(access_token)
        return {
            "account_id": claims.account_id,
            "role": claims.role,
            "institution_id": claims.institution_id,
            "amr": list(claims.amr),
            "session_id": claims.session_id,
            "expires_at": claims.expires_at,
        }

    @rpc
    def refresh_access_token(self, session_token: str) -> dict[str, Any]:
        """A new access token for a live session; raises Unauthenticated ``SESSION_ENDED``."""
        with self.db.transaction() as session:
            return sessions.refresh(session, self.settings, session_token)

    @rpc
    def logout(self, session_token: str, client_address: str = "") -> None:
        """End the session; its access tokens are refused by identity at once. Idempotent."""
        with self.db.transaction() as session:
            account_id = sessions.end(session, session_token)
            if account_id is not None:
                audit.record(session, "logout", account_id=account_id, client_address=client_address)
        log.info("logged_out", extra={"account_id": account_id})

    # --- registration and passwords ----------------------------------------------------------------

    @rpc
    def register_citizen(
        self,
        email: str,
        password: str,
        activation_code: str,
        client_address: str = "",
        given_name: str | None = None,
        family_name: str | None = None,
    ) -> dict[str, str]:
        """Register with an activation code and the citizen's name; a confirmation link is mailed. See
        ``registration.register``. Raises InvalidInput ``NAME_INVALID`` for a name that is none.

        Without both names (the previous release's gateway, for one release) the account has none, as the
        accounts made before names were asked; the gateway of this release always sends them.
        """
        name = None if given_name is None and family_name is None else accounts.checked_name(given_name, family_name)
        answer, message = registration.register(
            self.db, self.settings, email, password, activation_code, client_address, name
        )
        self._send(message)
        log.info("registration_answered", extra={"status": answer["status"]})
        return answer

    @rpc
    def confirm_email(self, token: str) -> dict[str, str]:
        """Confirm the address of a new account with the mailed link; raises Unauthenticated ``LINK_INVALID``."""
        account_id = registration.confirm_email(self.db, token)
        log.info("email_confirmed", extra={"account_id": account_id})
        return {"status": "confirmed"}

    @rpc
    def request_password_reset(self, email: str, client_address: str = "") -> dict[str, str]:
        """Mail a reset link if the address has an account; the same answer either way."""
        answer, message = registration.request_reset(self.db, self.settings, email, client_address)
        self._send(message, quietly=True)
        return answer

    @rpc
    def reset_password(self, token: str, new_password: str, client_address: str = "") -> dict[str, str]:
        """Set a new password with a reset link; every session of the account ends."""
        account_id = registration.reset_password(self.db, self.settings, token, new_password, client_address)
        log.info("password_changed", extra={"account_id": account_id})
        return {"status": "password_changed"}

    # --- login -------------------------------------------------------------------------------------

    @rpc
    def login_with_password(self, email: str, password: str, client_address: str = "") -> dict[str, Any]:
        """First step of a login; see ``login.with_password`` for the three possible answers."""
        result = login.with_password(self.db, self.settings, email, password, client_address)
        log.info("password_accepted", extra={"status": result["status"]})
        return result

    @rpc
    def complete_login_with_totp(self, login_ticket: str, code: str, client_address: str = "") -> dict[str, Any]:
        """Second step with a code of the authenticator app: a session and an access token."""
        return login.with_second_factor(self.db, self.settings, login_ticket, code, client_address)

    @rpc
    def complete_login_with_recovery_code(
        self, login_ticket: str, recovery_code: str, client_address: str = ""
    ) -> dict[str, Any]:
        """Second step with one of the recovery codes (each works once)."""
        return login.with_second_factor(self.db, self.settings, login_ticket, recovery_code, client_address, True)

    @rpc
    def start_totp_enrolment_at_login(self, login_ticket: str) -> dict[str, str]:
        """For staff without a second factor: the TOTP secret and otpauth URI to scan."""
        return login.start_enrolment(self.db, self.settings, login_ticket)

    @rpc
    def complete_login_with_totp_enrolment(
        self, login_ticket: str, code: str, client_address: str = ""
    ) -> dict[str, Any]:
        """Confirm the first code of the new authenticator; a session plus the recovery codes."""
        return login.with_enrolment(self.db, self.settings, login_ticket, code, client_address)

    @rpc
    def start_passkey_login(self) -> dict[str, Any]:
        """``{ticket, options}`` for ``navigator.credentials.get``."""
        with self.db.transaction() as session:
            return passkeys.start_login(session, self.settings)

    @rpc
    def complete_passkey_login(
        self, ticket: str, credential: dict[str, Any], client_address: str = ""
    ) -> dict[str, Any]:
        """A session for the owner of the passkey; raises Unauthenticated ``PASSKEY_REFUSED``."""
        return login.with_passkey(self.db, self.settings, ticket, credential, client_address)

    # --- second factors of a logged-in account ----------------------------------------------------

    @rpc
    def start_totp_enrolment(self, access_token: str) -> dict[str, str]:
        """A new TOTP secret for the caller, to be confirmed with its first code."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            account = accounts.get(session, claims.account_id)
            return totp.start_enrolment(session, self.settings, claims.account_id, login.enrolment_label(account))

    @rpc
    def confirm_totp_enrolment(self, access_token: str, code: str, client_address: str = "") -> dict[str, Any]:
        """Switch TOTP on with its first code; returns the ten recovery codes (shown once)."""
        claims = self._caller(access_token)
        codes: list[str] | None = None
        with self.db.transaction() as session:
            if totp.verify(session, self.settings, claims.account_id, code, confirming=True):
                codes = totp.new_recovery_codes(session, claims.account_id)
                audit.record(session, "totp_enrolled", account_id=claims.account_id, client_address=client_address)
        if codes is None:
            raise InvalidInput("TOTP_CODE_WRONG", login.SECOND_FACTOR_FAILED_MESSAGE)
        log.info("totp_enrolled", extra={"account_id": claims.account_id})
        return {"status": "enabled", "recovery_codes": codes}

    @rpc
    def start_passkey_registration(self, access_token: str) -> dict[str, Any]:
        """``{ticket, options}`` for ``navigator.credentials.create``."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            return passkeys.start_registration(session, self.settings, accounts.get(session, claims.account_id))

    @rpc
    def complete_passkey_registration(
        self, access_token: str, ticket: str, credential: dict[str, Any], client_address: str = ""
    ) -> dict[str, str]:
        """Store the caller's new passkey after verifying the authenticator's answer."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            passkeys.complete_registration(session, self.settings, claims.account_id, ticket, credential)
            audit.record(session, "passkey_registered", account_id=claims.account_id, client_address=client_address)
        log.info("passkey_registered", extra={"account_id": claims.account_id})
        return {"status": "registered"}

    # --- the account's own settings ------------------------------------------------------------------

    @rpc
    def get_security_overview(self, access_token: str) -> dict[str, Any]:
        """The caller's own address, whether TOTP is on, recovery codes left and passkeys."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            return account_settings.overview(session, claims.account_id)

    @rpc
    def get_my_name(self, access_token: str) -> dict[str, str | None]:
        """The caller's name: ``{given_name, family_name}``, each None when not given (citizens only)."""
        claims = self._caller(access_token)
        authorize(claims, (CITIZEN,))
        with self.db.transaction() as session:
            return accounts.name_of(accounts.get(session, claims.account_id))

    @rpc
    def change_my_name(
        self, access_token: str, given_name: str, family_name: str, client_address: str = ""
    ) -> dict[str, str | None]:
        """Give the caller's account a new name (citizens only); answers it as ``get_my_name``.

        Raises InvalidInput ``NAME_INVALID`` naming the field, Forbidden for staff.
        """
        claims = self._caller(access_token)
        authorize(claims, (CITIZEN,))
        name = accounts.checked_name(given_name, family_name)
        with self.db.transaction() as session:
            accounts.set_name(session, claims.account_id, name)
            audit.record(session, "name_changed", account_id=claims.account_id, client_address=client_address)
        log.info("name_changed", extra={"account_id": claims.account_id})
        return {"given_name": name.given_name, "family_name": name.family_name}

    @rpc
    def list_passkeys(self, access_token: str) -> list[dict[str, Any]]:
        """The caller's passkeys: ``[{credential_id, created_at, last_used_at}]``, oldest first."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            return account_settings.list_passkeys(session, claims.account_id)

    @rpc
    def remove_passkey(self, access_token: str, credential_id: str, client_address: str = "") -> None:
        """Delete one of the caller's passkeys; raises NotFound ``PASSKEY_NOT_FOUND``."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            account_settings.remove_passkey(session, claims.account_id, credential_id)
            audit.record(session, "passkey_removed", account_id=claims.account_id, client_address=client_address)
        log.info("passkey_removed", extra={"account_id": claims.account_id})

    @rpc
    def change_password(
        self, access_token: str, current_password: str, new_password: str, client_address: str = ""
    ) -> dict[str, str]:
        """A new password after the current one; the caller's other sessions end."""
        claims = self._caller(access_token)
        account_settings.change_password(
            self.db, self.settings, claims.account_id, claims.session_id, current_password, new_password,
            client_address,
        )  # fmt: skip
        log.info("password_changed", extra={"account_id": claims.account_id})
        return {"status": "password_changed"}

    @rpc
    def request_email_change(
        self, access_token: str, current_password: str, new_email: str, client_address: str = ""
    ) -> dict[str, str]:
        """Mail a confirmation link to the new address; the old one stays until it is followed."""
        claims = self._caller(access_token)
        answer, messages = account_settings.request_email_change(
            self.db, self.settings, claims.account_id, current_password, new_email, client_address
        )
        for message in messages:
            self._send(message)
        log.info("email_change_answered", extra={"account_id": claims.account_id})
        return answer

    @rpc
    def confirm_email_change(self, token: str) -> dict[str, str]:
        """Make the new address of a mailed link the account's; raises ``LINK_INVALID``, ``EMAIL_TAKEN``."""
        account_id = account_settings.confirm_email_change(self.db, token)
        log.info("email_changed", extra={"account_id": account_id})
        return {"status": "email_changed"}

    @rpc
    def start_totp_replacement(self, access_token: str) -> dict[str, str]:
        """``{ticket, secret, otpauth_uri}`` for a new authenticator app (also the first one)."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            return account_settings.start_totp_replacement(session, self.settings, claims.account_id)

    @rpc
    def confirm_totp_replacement(
        self, access_token: str, ticket: str, code: str, client_address: str = ""
    ) -> dict[str, Any]:
        """Switch to the new authenticator app with its first code; new recovery codes (shown once)."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            codes = account_settings.confirm_totp_replacement(session, self.settings, claims.account_id, ticket, code)
            if codes is not None:
                audit.record(
                    session, "totp_enrolled", account_id=claims.account_id, client_address=client_address,
                    detail="replaced",
                )  # fmt: skip
        if codes is None:
            raise InvalidInput("TOTP_CODE_WRONG", login.SECOND_FACTOR_FAILED_MESSAGE)
        log.info("totp_replaced", extra={"account_id": claims.account_id})
        return {"status": "enabled", "recovery_codes": codes}

    @rpc
    def renew_recovery_codes(self, access_token: str, client_address: str = "") -> dict[str, Any]:
        """Ten new recovery codes; the old ones stop working. Raises Conflict ``TOTP_NOT_ENROLLED``."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            codes = account_settings.renew_recovery_codes(session, claims.account_id)
            audit.record(session, "recovery_codes_renewed", account_id=claims.account_id, client_address=client_address)
        log.info("recovery_codes_renewed", extra={"account_id": claims.account_id})
        return {"recovery_codes": codes}

    # --- what a Jobcenter and the operators do --------------------------------------------------------

    @rpc
    def find_customer(self, access_token: str, customer_number: str) -> str | None:
        """The account id of the citizen with this Kundennummer, or None; caseworkers and team leads only.

        Staff filter their own Jobcenter's inbox with it; the id never leaves the gateway. Raises
        Forbidden, InvalidInput ``CUSTOMER_NUMBER_INVALID``.
        """
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD), claims.institution_id or "")
        number = activation.normalise_customer_number(str(customer_number))
        with self.db.transaction() as session:
            return accounts.find_citizen_by_customer_number(session, number)

    @rpc
    def find_customers_by_name(self, access_token: str, name: str) -> list[str]:
        """Up to 200 account ids of citizens one of whose given or family names starts with each word of
        ``name`` ("muller" finds "Müller"; case and accents ignored), those of the caller's Jobcenter's
        activation codes first; caseworkers and team leads only.

        As ``find_customer``: staff filter their own Jobcenter's inbox with the ids, which never leave the
        gateway. Raises Forbidden, InvalidInput ``NAME_INVALID`` (what cannot be part of a name, or fewer
        than 2 letters).
        """
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD), claims.institution_id or "")
        wanted = accounts.one_line(name)
        if not accounts.is_name_text(wanted) or sum(c.isalpha() for c in wanted) < 2:
            raise InvalidInput("NAME_INVALID", "Suchen Sie nach mindestens 2 Buchstaben eines Namens, ohne Ziffern.",
                               {"field": "name"})  # fmt: skip
        with self.db.transaction() as session:
            return accounts.citizens_named(session, wanted, claims.institution_id or "")

    @rpc
    def describe_accounts(self, access_token: str, account_ids: list[str]) -> dict[str, dict[str, str | None]]:
        """Caseworkers and team leads: for each of up to 200 account ids the customer's Kundennummer and name
        (``given_name``, ``family_name``; None where not given) or the colleague's display name (same Jobcenter
        only); ids of anyone else are left out.

        The gateway asks only for the owners and assignees of cases submissions just listed for the same
        token (the own Jobcenter's), as with ``find_customer``. Raises Forbidden, InvalidInput
        ``ACCOUNT_IDS_INVALID``.
        """
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD), claims.institution_id or "")
        if (
            not isinstance(account_ids, list)
            or len(account_ids) > MAX_DESCRIBED_ACCOUNTS
            or not all(isinstance(account_id, str) for account_id in account_ids)
        ):
            raise InvalidInput("ACCOUNT_IDS_INVALID", "Bis zu 200 Konten auf einmal.")
        if not account_ids:
            return {}
        with self.db.transaction() as session:
            return accounts.described_for_staff(session, sorted(set(account_ids)), claims.institution_id or "")

    @rpc
    def list_jobcenter_staff(self, access_token: str, institution_id: str | None = None) -> list[dict[str, str]]:
        """The active caseworkers and team leads of the caller's own Jobcenter (``account_id``, work
        ``email``, ``role``), for a team lead handing a case to a colleague or managing the team; admins
        name the Jobcenter with ``institution_id``. Anyone else: Forbidden."""
        claims = self._caller(access_token)
        authorize(claims, (TEAM_LEAD, ADMIN))
        scope = activation.check_institution_id(str(institution_id or "")) if claims.role == ADMIN else None
        with self.db.transaction() as session:
            return accounts.staff_of(session, scope or claims.institution_id or "")

    @rpc
    def issue_activation_code(
        self,
        access_token: str,
        customer_number: str,
        institution_id: str,
        institution_name: str | None = None,
        institution_address: list[str] | None = None,
    ) -> dict[str, Any]:
        """A new activation code and its letter (PDF, base64) for a customer of ``institution_id``.

        ``institution_name`` is the Jobcenter's name for the letter's head, as the caller found it in routing's
        register (public data; plain text of up to 120 characters, else the letter names the id);
        ``institution_address`` its postal address as lines (``["Musterstraße 1", "12345 Musterstadt"]``, as
        the Jobcenter set it in routing; left out unless every line is such plain text, at most 4).
        Caseworkers and team leads only for their own Jobcenter, admins for any; raises Forbidden.
        """
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD, ADMIN), institution_id)
        with self.db.transaction() as session:
            issued = activation.issue(session, self.settings, customer_number, institution_id, claims.account_id)
            audit.record(
                session, "activation_code_issued", actor_id=claims.account_id, detail=f"institution={institution_id}"
            )
        plain = isinstance(institution_name, str) and letter.is_plain_name(institution_name)
        sender = str(institution_name) if plain else None
        pdf = letter.activation_letter(
            issued["code"], issued["customer_number"], institution_id, issued["expires_at"], self.settings.public_url,
            sender, letter.plain_lines(institution_address) if sender else (),
        )  # fmt: skip
        log.info("activation_code_issued", extra={"institution_id": institution_id, "account_id": claims.account_id})
        return {**issued, "letter_pdf": base64.b64encode(pdf).decode()}

    @rpc
    def list_activation_codes(self, access_token: str, institution_id: str | None = None) -> list[dict[str, Any]]:
        """The activation codes of the caller's Jobcenter, newest first, with ``state`` (open, used, revoked,
        expired) and never the code itself; admins see all, or one Jobcenter's with ``institution_id``."""
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD, ADMIN))
        scope = institution_id or None if claims.role == ADMIN else claims.institution_id or ""
        with self.db.transaction() as session:
            return activation.codes_of(session, scope)

    @rpc
    def revoke_activation_code(self, access_token: str, code_id: str) -> None:
        """Revoke an unused code of the caller's Jobcenter (admins: any) so it can never be redeemed.

        Raises NotFound ``ACTIVATION_CODE_NOT_FOUND`` (also for another Jobcenter's code), Conflict
        ``ACTIVATION_CODE_CLOSED`` when it was used or revoked already.
        """
        claims = self._caller(access_token)
        authorize(claims, (CASEWORKER, TEAM_LEAD, ADMIN))
        with self.db.transaction() as session:
            code = activation.get(session, str(code_id))
            if claims.role != ADMIN and code["institution_id"] != claims.institution_id:
                raise NotFound("ACTIVATION_CODE_NOT_FOUND", "Diesen Freischaltcode gibt es nicht.")
            if not activation.revoke(session, code["code_id"], claims.account_id):
                raise Conflict("ACTIVATION_CODE_CLOSED", "Dieser Freischaltcode ist schon benutzt oder widerrufen.")
            audit.record(
                session, "activation_code_revoked", actor_id=claims.account_id,
                detail=f"institution={code['institution_id']}",
            )  # fmt: skip
        log.info("activation_code_revoked", extra={"code_id": code_id, "account_id": claims.account_id})

    @rpc
    def create_staff_account(
        self, access_token: str, email: str, role: str, institution_id: str, display_name: str | None = None
    ) -> str:
        """Create a caseworker or team lead (admin: any Jobcenter; team lead: caseworkers of their own).

        The new colleague gets a link to set a password; the second factor is set up at first login.
        """
        claims = self._caller(access_token)
        if role == Role.CASEWORKER:
            authorize(claims, (TEAM_LEAD, ADMIN), institution_id)
        else:
            authorize(claims, (ADMIN,))
        with self.db.transaction() as session:
            account_id = accounts.create_account(
                session, self.settings, email, None, role, institution_id or None, display_name=display_name
            )
            audit.record(
                session, "account_created", account_id=account_id, actor_id=claims.account_id, detail=f"role={role}"
            )
            token = tickets.issue(session, tickets.Purpose.PASSWORD_RESET, account_id)
        self._send(mail.staff_invitation(accounts.normalise_email(email), self.settings.public_url, token))
        log.info("account_created", extra={"account_id": account_id, "role": role})
        return account_id

    @rpc
    def disable_account(self, access_token: str, account_id: str) -> None:
        """Disable an account and end its sessions (admins any; team leads a caseworker of their own Jobcenter).

        Raises Forbidden, NotFound ``ACCOUNT_NOT_FOUND``, Conflict ``OWN_ACCOUNT`` (nobody disables themselves).
        """
        claims = self._caller(access_token)
        authorize(claims, (ADMIN, TEAM_LEAD))
        if account_id == claims.account_id:
            # Else the last admin could lock everyone out of the administration (only the CLI would help).
            raise Conflict("OWN_ACCOUNT", "Ihr eigenes Konto können Sie nicht sperren.")
        with self.db.transaction() as session:
            target = accounts.get(session, account_id)
            if claims.role == TEAM_LEAD and (target["role"], target["institution_id"]) != (
                Role.CASEWORKER,
                claims.institution_id,
            ):
                raise Forbidden("ROLE_NOT_ALLOWED", "Dafür fehlt Ihnen die Berechtigung.")
            accounts.set_status(session, account_id, Status.DISABLED)
            sessions.end_all(session, account_id)
            audit.record(session, "account_disabled", account_id=account_id, actor_id=claims.account_id)
        log.info("account_disabled", extra={"account_id": account_id})

    @rpc
    def change_role(self, access_token: str, account_id: str, role: str, institution_id: str | None = None) -> None:
        """Give a staff account another role or Jobcenter (admins only); its sessions end."""
        claims = self._caller(access_token)
        authorize(claims, (ADMIN,))
        with self.db.transaction() as session:
            accounts.change_role(session, account_id, role, institution_id)
            sessions.end_all(session, account_id)
            audit.record(
                session, "role_changed", account_id=account_id, actor_id=claims.account_id, detail=f"role={role}"
            )
        log.info("role_changed", extra={"account_id": account_id, "role": role})

    @rpc
    def get_account(self, account_id: str) -> dict[str, Any]:
        """Role, Jobcenter, customer number and status of an account; never its address."""
        with self.db.transaction() as session:
            return accounts.public_view(accounts.get(session, account_id))

    @rpc
    def get_contact(self, account_id: str) -> dict[str, Any] | None:
        """Where notify sends an alert: the confirmed address of an active account, else None.

        For notify only (it asks when sending and stores nothing); never exposed by the gateway.
        """
        with self.db.transaction() as session:
            row = accounts.get(session, account_id)
        if row["status"] != "active" or row["email_confirmed_at"] is None:
            return None
        return {"email": row["email"], "locale": "de"}

    @rpc
    def delete_my_account(
        self, access_token: str, password: str, client_address: str = "", keep_customer_number: bool = False
    ) -> None:
        """A citizen deletes their own account, giving the password again; see account_settings.delete_account.
        ``keep_customer_number``: the citizen has cases the Jobcenter keeps, which it must still tell apart.

        Raises Unauthenticated ``CURRENT_PASSWORD_WRONG`` (counted like a failed login), Conflict
        ``STAFF_ACCOUNT`` for staff.
        """
        claims = self._caller(access_token)
        account_settings.delete_account(
            self.db, self.settings, claims.account_id, str(password or ""), client_address, keep_customer_number is True
        )
        log.info("account_deleted", extra={"account_id": claims.account_id})

    @rpc
    def export_my_account(self, access_token: str) -> dict[str, Any]:
        """Everything identity holds about the caller (Art. 15/20 DSGVO): account, second factors, sessions,
        audit trail - never a password hash or secret. Recorded in the audit trail itself."""
        claims = self._caller(access_token)
        with self.db.transaction() as session:
            audit.record(session, "data_exported", account_id=claims.account_id, actor_id=claims.account_id)
            exported: dict[str, Any] = account_settings.export(session, claims.account_id)
        log.info("account_exported", extra={"account_id": claims.account_id})
        return exported

    @rpc
    def list_audit_records(self, access_token: str, account_id: str) -> list[dict[str, Any]]:
        """The audit trail of one account, oldest first (admins, or the account itself)."""
        claims = self._caller(access_token)
        if claims.account_id != account_id:
            authorize(claims, (ADMIN,))
        with self.db.transaction() as session:
            return audit.records_of(session, account_id)

    # --- helpers -----------------------------------------------------------------------------------

    def _caller(self, access_token: str) -> AccessClaims:
        """The verified claims of a token whose session is still open (identity knows about logouts)."""
        claims = self._verifier().verify(access_token)
        with self.db.transaction() as session:
            sessions.live(session, self.settings, claims.session_id)
        return claims

    def _verifier(self) -> TokenVerifier:
        settings, db = self.settings, self.db
        if settings.verifier is None:

            def own_jwks() -> dict[str, Any]:
                with db.transaction() as session:
                    return signing.jwks(session, settings)

            # Its own keys, read from its own database: a rotation is seen within a second.
            settings.verifier = TokenVerifier(own_jwks, refresh_interval=1.0)
        return settings.verifier

    def _send(self, message: EmailMessage | None, quietly: bool = False) -> None:
        if message is None:
            return
        try:
            self.smtp.send(message)
        except OSError:
            log.exception("mail_not_sent")
            if not quietly:
                raise Unavailable(
                    "MAIL_UNAVAILABLE", "Die E-Mail konnte gerade nicht verschickt werden. Bitte später noch einmal."
                ) from None
