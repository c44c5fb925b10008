"""A double for what lies outside notify: submissions, who owns a case (identity: shared/testing/tokens.py)."""

from typing import Any, ClassVar

from nameko.rpc import rpc


class FakeSubmissions:
    name = "submissions"
    cases: ClassVar[dict[str, dict[str, Any]]] = {}

    asked: ClassVar[list[str]] = []  # the case ids notify asked about (events stored before they carried it)

    @rpc
    def get_case_parties(self, case_id: str) -> dict[str, Any]:
        self.asked.append(case_id)
        case = self.cases.get(case_id) or {
            "case_id": case_id,
            "owner_id": "owner-1",
            "kind": "veraenderungsmitteilung",
            "jobcenter_id": "jc-1",
        }
        return dict(case)


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
