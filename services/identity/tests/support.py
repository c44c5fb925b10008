"""Helpers of identity's tests: random references (the database is shared) and a person with an account."""

from __future__ import annotations

import re
import secrets
from email.message import EmailMessage
from typing import Any

from services.identity.operations import Identity, current_totp

PASSWORD = "korrekt-Pferd-Batterie-Heftklammer"
PUBLIC_URL = "https://portal.test"
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

    def __init__(self, operator: Identity, role: str, institution_id: str | None = None, totp: bool = True) -> None:
        self.email = random_email(role)
        self.password = PASSWORD
        self.address = random_address()
        created = operator.create_account(self.email, role, institution_id, self.password, with_totp=totp)
        self.account_id: str = created["account_id"]
        self.totp_secret: str | None = created.get("secret")
        self.recovery_codes: list[str] = created.get("recovery_codes", [])

    def log_in(self, cluster: Any) -> dict[str, Any]:
        """Password and TOTP code; the session with its access token."""
        first = cluster.identity.login_with_password(self.email, self.password, self.address)
        if first["status"] == "authenticated":
            return dict(first)
        assert first["status"] == "second_factor_required", first
        assert self.totp_secret is not None
        return dict(
            cluster.identity.complete_login_with_totp(
                first["login_ticket"], current_totp(self.totp_secret), self.address
            )
        )
