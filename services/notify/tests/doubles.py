"""Doubles for what lies outside notify: submissions (who owns a case) and identity (where to write)."""

from typing import Any, ClassVar

from nameko.rpc import rpc

# Seeded social data: none of it may ever appear in an e-mail.
CITIZEN_NAME = "Erika Mustermann"
CITIZEN_EMAIL = "erika.mustermann@example.org"
NET_PAY = "1710.55"


class FakeSubmissions:
    name = "submissions"
    cases: ClassVar[dict[str, dict[str, Any]]] = {}

    @rpc
    def get_case(self, case_id: str) -> dict[str, Any]:
        case = self.cases.get(case_id) or {
            "case_id": case_id,
            "owner_id": "owner-1",
            "kind": "veraenderungsmitteilung",
            "jobcenter_id": "jc-1",
        }
        return {**case, "answers": {"name": CITIZEN_NAME, "netto_monatlich": NET_PAY}}


class FakeIdentity:
    name = "identity"

    @rpc
    def get_contact(self, account_id: str) -> dict[str, Any]:
        return {"email": CITIZEN_EMAIL, "locale": "de", "display_name": CITIZEN_NAME}
