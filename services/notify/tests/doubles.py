"""A double for what lies outside notify: submissions, who owns a case (identity: shared/testing/tokens.py)."""

from typing import Any, ClassVar

from nameko.rpc import rpc

from shared.testing.tokens import CONTACT_NAME

# Seeded social data: none of it may ever appear in an e-mail.
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
        return {**case, "answers": {"name": CONTACT_NAME, "netto_monatlich": NET_PAY}}


class FakeRouting:
    """Answers submissions' question at the submit (every residence: Treptow-Köpenick), and nothing else."""

    name = "routing"

    @rpc
    def resolve_residence(self, residence: dict[str, Any], on_date: str | None = None) -> dict[str, Any]:
        jobcenter = {"jobcenter_id": "jc-0394", "traeger_nummer": "92204", "form": "gE", "name": "Treptow-Köpenick"}
        return {
            "outcome": "assigned",
            "code": "MATCHED_BERLIN_BEZIRK",
            "message": "Für Ihren Bezirk ist dieses Jobcenter zuständig.",
            "jobcenter": jobcenter,
            "matched_key": "berlin_bezirk:09",
            "register_version": "test",
        }
