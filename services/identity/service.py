"""The identity service: accounts and password login (second factor, tokens and activation follow)."""

from __future__ import annotations

import logging
from typing import Any

from nameko.rpc import rpc

from services.identity import accounts
from shared.service import PortalService
from shared.sql import Database, ServiceDatabase

log = logging.getLogger(__name__)


class IdentityService(PortalService):
    name = "identity"

    db: ServiceDatabase = Database(accounts.metadata)

    @rpc
    def create_account(self, email: str, password: str, role: str, institution_id: str | None = None) -> str:
        """Create an account and return its id; raises InvalidInput or Conflict ``EMAIL_TAKEN``."""
        with self.db.transaction() as session:
            account_id = accounts.create_account(session, email, password, role, institution_id)
        log.info("account_created", extra={"account_id": account_id, "role": role})
        return account_id

    @rpc
    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        """Check e-mail and password; returns account id, role and institution."""
        with self.db.transaction() as session:
            account = accounts.authenticate(session, email, password)
        log.info("password_verified", extra={"account_id": account["account_id"]})
        return account
