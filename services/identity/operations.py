"""What operators do directly on identity's database: the operator CLI and the demo seed use it.

This is the root of trust (the first admin account has to come from somewhere), so it runs with the
service's own config and database, on the operator's machine, never behind an RPC.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp

from services.identity import accounts, activation, audit, letter, sessions, signing, tickets, totp
from services.identity.accounts import Status
from services.identity.schema import MIGRATIONS, metadata, totp_secrets
from services.identity.settings import IdentitySettings
from shared.sql import ServiceDatabase, make_engine, migrate, processed_events_table


@dataclass
class Identity:
    """identity's database and settings, opened outside the service (CLI, demo, tests)."""

    db: ServiceDatabase
    settings: IdentitySettings

    @classmethod
    def open(cls, config: dict[str, Any]) -> Identity:
        """Open the database of ``config`` and bring its schema up to date."""
        engine = make_engine(str(config["DATABASE_URL"]))
        migrate(engine, MIGRATIONS, "identity")
        return cls(
            ServiceDatabase(engine, processed_events_table(metadata, "identity")), IdentitySettings.from_config(config)
        )

    def close(self) -> None:
        self.db.engine.dispose()

    def create_account(
        self,
        email: str,
        role: str,
        institution_id: str | None = None,
        password: str | None = None,
        customer_number: str | None = None,
        with_totp: bool = False,
        name: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """An active account; with ``with_totp`` its TOTP is switched on and the secret returned once.
        A citizen's ``name`` is (given name, family name).

        Without a password, a link to set one (1 h) is returned for handing over.
        """
        result: dict[str, Any] = {}
        checked = accounts.checked_name(*name) if name is not None else None
        with self.db.transaction() as session:
            account_id = accounts.create_account(
                session, self.settings, email, password, role, institution_id, customer_number, name=checked
            )
            audit.record(session, "account_created", account_id=account_id, detail=f"role={role};by=operator")
            result["account_id"] = account_id
            if with_totp:
                result.update(self._switch_on_totp(session, account_id, role))
            if password is None:
                token = tickets.issue(session, tickets.Purpose.PASSWORD_RESET, account_id)
                result["set_password_link"] = f"{self.settings.public_url}/konto/passwort-neu?token={token}"
        return result

    def _switch_on_totp(self, session: Any, account_id: str, role: str) -> dict[str, Any]:
        enrolment = totp.start_enrolment(session, self.settings, account_id, f"{role}-{account_id[:8]}")
        session.execute(
            totp_secrets.update().where(totp_secrets.c.account_id == account_id).values(confirmed_at=datetime.now(UTC))
        )
        audit.record(session, "totp_enrolled", account_id=account_id, detail="by=operator")
        return {**enrolment, "recovery_codes": totp.new_recovery_codes(session, account_id)}

    def totp_of(self, email: str) -> dict[str, str] | None:
        """The TOTP secret and URI of an account (demo only: shows an existing demo account again)."""
        with self.db.transaction() as session:
            account = accounts.find_by_email(session, email)
            secret = totp.secret_of(session, self.settings, account["account_id"]) if account else None
        if account is None or secret is None:
            return None
        label = f"{account['role']}-{account['account_id'][:8]}"
        return {
            "secret": secret,
            "otpauth_uri": pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=totp.ISSUER_NAME),
        }

    def issue_activation_code(self, customer_number: str, institution_id: str) -> tuple[dict[str, Any], bytes]:
        """A new activation code and its letter (PDF bytes)."""
        with self.db.transaction() as session:
            issued = activation.issue(session, self.settings, customer_number, institution_id, None)
            audit.record(session, "activation_code_issued", detail=f"institution={institution_id};by=operator")
        pdf = letter.activation_letter(
            issued["code"], issued["customer_number"], institution_id, issued["expires_at"], self.settings.public_url
        )
        return issued, pdf

    def disable_account(self, email: str) -> bool:
        """Disable the account of ``email`` and end its sessions; False when there is none."""
        with self.db.transaction() as session:
            account = accounts.find_by_email(session, email)
            if account is None:
                return False
            accounts.set_status(session, account["account_id"], Status.DISABLED)
            sessions.end_all(session, account["account_id"])
            audit.record(session, "account_disabled", account_id=account["account_id"], detail="by=operator")
        return True

    def rotate_signing_keys(self) -> str:
        """A new signing key signs from now on; the old one verifies until its tokens expired. Returns the kid."""
        with self.db.transaction() as session:
            kid = signing.create_key(session, self.settings)
            audit.record(session, "signing_key_rotated", detail=f"kid={kid}")
        return kid


def current_totp(secret: str) -> str:
    """The code an authenticator app shows now (for the demo and tests)."""
    return pyotp.TOTP(secret).at(int(time.time()))
