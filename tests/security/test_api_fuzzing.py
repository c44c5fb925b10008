"""schemathesis over the three OpenAPI documents, each as its caller, with real data to find.

``/api/v1`` as a logged-in citizen (a draft, a submitted case assigned to Treptow-Köpenick, an uploaded
document), the staff routes as a caseworker of that Jobcenter, ``/backoffice/v1`` as an e-file client of it
(bearer token). The ids of that data are offered to the generator as a dictionary beside random values, so
the routes behind an existing case are really reached. Every answer is checked against its document: no
5xx, a documented status, the documented content type and a body of the documented schema (which names
every field and, per status, every error code).

It runs as ``schemathesis run`` in a subprocess against the portal serving in this process (its Python
API and eventlet's monkeypatching do not mix); this process keeps serving while it waits.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from services.backoffice.cli import open_clients
from services.documents.tests import samples
from services.gateway.tests.conftest import limits_lifted, wait_until
from tests.security.conftest import API, ASSIGNED_JOBCENTER, Person, World, logged_in, new_case

COOKIE = "jc_session"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
# Per API: each run stops after this long (two shared cores), so that the three take under two minutes
# of the 25-minute `make test`.
BUDGET_SECONDS = 35
MAX_EXAMPLES = 10


@pytest.fixture(scope="module", autouse=True)
def limits_out_of_the_way(portal) -> Iterator[None]:
    """The fuzzer logs in and uploads far more often than the per-minute limits allow one address."""
    with limits_lifted(portal):
        yield


@dataclass
class Data:
    """What the fuzzer may find: a citizen's draft, a submitted and assigned case and a document of it."""

    citizen: Person
    draft: str
    case_id: str
    document_id: str


@pytest.fixture
def data(world: World) -> Data:
    """New for each run: a run may withdraw, discard or take the cases it finds, and the next needs them as new."""
    citizen = logged_in(world.portal, "citizen_a")  # an account of its own: the matrix's A stays untouched
    draft = new_case(citizen, submitted=False)
    case_id = world.assigned_case(citizen)
    uploaded = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "Vertrag.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    return Data(citizen, draft, case_id, str(uploaded.json()["document_id"]))


def config_with(tmp_path: Path, data: Data) -> Path:
    """A schemathesis.toml that offers this test's ids (half of the time) for the path parameters that take them."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f"""
[dictionaries.case_ids]
values = ["{data.case_id}", "{data.draft}"]
[dictionaries.document_ids]
values = ["{data.document_id}"]
[dictionaries.sections]
values = ["aenderungen", "wohnsitz", "arbeitsaufnahme", "erklaerung"]
[dictionaries.kinds]
values = ["veraenderungsmitteilung", "weiterbewilligungsantrag"]
[parameters]
"path.case_id" = {{ dictionary = "case_ids", probability = 0.5 }}
"path.document_id" = {{ dictionary = "document_ids", probability = 0.5 }}
"path.section_id" = {{ dictionary = "sections", probability = 0.5 }}
"path.kind" = {{ dictionary = "kinds", probability = 0.5 }}
# Not the ids other answers show (the inbox, the back office's list): they include the cases of the
# authorization matrix's world, which a run would otherwise take, process or hand over.
[phases.fuzzing.extra-data-sources]
responses = false
"""
    )
    return config


def run_schemathesis(portal, document: str, headers: list[str], selection: list[str], tmp_path: Path,
                     data: Data) -> tuple[int, str]:  # fmt: skip
    command = [
        str(SCHEMATHESIS), "--config-file", str(config_with(tmp_path, data)), "run", portal.url(document),
        "--url", portal.base,
        "--checks", CHECKS,
        *[option for header in headers for option in ("--header", header)],
        *selection,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(BUDGET_SECONDS),
        "--workers", "1",  # two workers tripped a race in hypothesis's source inspection (SystemError)
        "--seed", "20261125",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    output = tmp_path / "schemathesis.txt"
    with output.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + BUDGET_SECONDS + 90
        while process.poll() is None:  # a green sleep: the portal in this process keeps answering
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("schemathesis did not finish in time")
            time.sleep(0.2)
    return process.returncode, output.read_text(errors="replace")


def session_headers(person: Person) -> list[str]:
    return [f"Cookie: {COOKIE}={person.http.cookies[COOKIE]}", f"X-CSRF-Token: {person.csrf}"]


def assert_clean(code: int, report: str) -> None:
    assert code == 0, report[-15000:]
    assert " passed" in report, report[-3000:]


def test_the_citizen_api_answers_as_its_document_says(portal, data, tmp_path):
    # Logging out would end the session the rest of the run needs.
    selection = ["--exclude-operation-id", "logout", "--exclude-path-regex", "^/api/v1/staff/"]
    code, report = run_schemathesis(portal, f"{API}/openapi.json", session_headers(data.citizen), selection,
                                    tmp_path, data)  # fmt: skip
    assert_clean(code, report)
    # The session stayed alive the whole run, so the routes behind it were really tried.
    assert data.citizen.request("GET", f"{API}/session").status_code == 200


def test_the_staff_api_answers_as_its_document_says(portal, data, tmp_path):
    caseworker = logged_in(portal, "caseworker")
    assert caseworker.request("GET", f"{API}/staff/cases/{data.case_id}").status_code == 200
    selection = ["--include-path-regex", "^/api/v1/staff/"]
    code, report = run_schemathesis(portal, f"{API}/openapi.json", session_headers(caseworker), selection,
                                    tmp_path, data)  # fmt: skip
    assert_clean(code, report)
    assert caseworker.request("GET", f"{API}/session").status_code == 200


def test_the_back_office_api_answers_as_its_document_says(portal, world, data, tmp_path):
    with open_clients(portal.containers["backoffice"].config) as clients:
        client = clients.create(ASSIGNED_JOBCENTER, None)
    granted = requests.post(
        portal.url("/backoffice/v1/token"), data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]), timeout=20,
    )  # fmt: skip
    assert granted.status_code == 200, granted.text
    bearer = {"Authorization": f"Bearer {granted.json()['access_token']}"}

    def case_is_new() -> bool:
        world.relay()  # submissions publishes the assignment the back office learns the case from
        listed = requests.get(portal.url("/backoffice/v1/cases"), headers=bearer, timeout=20).json()["cases"]
        return data.case_id in {case["case_id"] for case in listed}

    wait_until(case_is_new)
    authorization = [f"Authorization: {bearer['Authorization']}"]
    code, report = run_schemathesis(portal, "/backoffice/v1/openapi.json", authorization, [], tmp_path, data)
    assert_clean(code, report)


@pytest.mark.parametrize("path", ["/forms/a%0Ab", "/postcodes/1%0A2", "/cases/x%0Ay/timeline", "/nowhere%0A"])
def test_a_newline_in_an_api_path_gets_the_api_s_json_error_not_an_html_page(data, path):
    """Found by schemathesis: werkzeug's ``<path:>`` stopped at a newline and answered with HTML."""
    answer = data.citizen.request("GET", f"/api/v1{path}")
    assert answer.status_code in (400, 404)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"]
