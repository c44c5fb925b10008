"""Doubles for what lies outside notify: submissions, who owns a case; routing, the register's Jobcenters
(identity: shared/testing/tokens.py)."""

from typing import Any, ClassVar

from nameko.rpc import rpc

from shared.errors import NotFound


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
    """Answers submissions' question at the submit (every residence: Treptow-Köpenick) and names three
    Jobcenters of the register as routing's ``get_jobcenter`` does."""

    name = "routing"
    # As services/routing/data has them: two gE and a zkT.
    JOBCENTERS: ClassVar[dict[str, dict[str, Any]]] = {
        "jc-0394": {"form": "gE", "display_name": "Jobcenter Berlin Treptow-Köpenick"},
        "jc-0012": {"form": "gE", "display_name": "Jobcenter Dahme-Spreewald"},
        "jc-0202": {"form": "zkT", "display_name": "Jobcenter Main-Kinzig-Kreis"},
    }

    @rpc
    def get_jobcenter(self, jobcenter_id: str, on_date: str | None = None) -> dict[str, Any]:
        if jobcenter_id not in self.JOBCENTERS:
            raise NotFound("JOBCENTER_NOT_FOUND", "Dieses Jobcenter gibt es zu diesem Datum nicht.")
        return {"jobcenter_id": jobcenter_id, **self.JOBCENTERS[jobcenter_id]}

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
