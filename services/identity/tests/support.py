"""Helpers of identity's tests: random references (the database is shared) and a person with an account."""

from __future__ import annotations

import re
import secrets
import time
from email.message import EmailMessage
from typing import Any

from services.identity.operations import Identity, current_totp

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"
PUBLIC_URL = "https://portal.test"
NAME = ("Erika", "Mustermann")  # given and family name, as registration asks them
RP_ID = "portal.test"


def random_email(kind: str = "person") -> str:
    return f"{kind}.{secrets.token_hex(5)}@example.org"


def random_address() -> str:
    """A client address of the documentation range, fresh for each test (throttles count per address)."""
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


def random_customer_number() -> str:
    return f"922D{secrets.randbelow(10**6):06d}"


def link_token(message: EmailMessage) -> str:
    """The ``token`` of the link in a mail from identity."""
    found = re.search(r"token=(\S+)", message.get_content())
    assert found is not None, "the mail carries no link"
    return found.group(1)


class Person:
    """An account made by the operator, with what its owner knows: address, password, TOTP secret."""

    def __init__(
        self,
        operator: Identity,
        role: str,
        institution_id: str | None = None,
        totp: bool = True,
        customer_number: str | None = None,
        name: tuple[str, str] | None = None,
    ) -> None:
        self.email = random_email(role)
        self.password = PASSWORD
        self.address = random_address()
        created = operator.create_account(
            self.email, role, institution_id, self.password, customer_number, with_totp=totp, name=name
        )
        self.account_id: str = created["account_id"]
        self.totp_secret: str | None = created.get("secret")
        self.recovery_codes: list[str] = created.get("recovery_codes", [])
        self.used_steps: set[int] = set()

    def log_in(self, cluster: Any) -> dict[str, Any]:
        """Password and second factor; the session with its access token.

        The first login sets up the app (nobody gets a session with a password alone). Identity takes each
        30-second TOTP step once, so a second login within the same step uses a recovery code instead.
        """
        first = cluster.identity.login_with_password(self.email, self.password, self.address)
        if first["status"] == "second_factor_setup_required":
            started = cluster.identity.start_totp_enrolment_at_login(first["login_ticket"])
            self.totp_secret = str(started["secret"])
            session = dict(
                cluster.identity.complete_login_with_totp_enrolment(first["login_ticket"], self._code(), self.address)
            )
            self.recovery_codes = list(session.pop("recovery_codes"))
            return session
        assert first["status"] == "second_factor_required", first
        assert self.totp_secret is not None
        if self._step() in self.used_steps:
            return dict(
                cluster.identity.complete_login_with_recovery_code(
                    first["login_ticket"], self.recovery_codes.pop(), self.address
                )
            )
        return dict(cluster.identity.complete_login_with_totp(first["login_ticket"], self._code(), self.address))

    @staticmethod
    def _step() -> int:
        return int(time.time() // 30)

    def _code(self) -> str:
        assert self.totp_secret is not None
        self.used_steps.add(self._step())
        return current_totp(self.totp_secret)
