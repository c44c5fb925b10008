"""schemathesis over the whole ``/api/v1/openapi.json`` with a logged-in citizen's session and CSRF token.

It runs as ``schemathesis run`` in a subprocess against the portal serving in this process (its Python
API and eventlet's monkeypatching do not mix); this process keeps serving while it waits.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.tests.conftest import limits_lifted
from tests.security.conftest import Person, logged_in, new_case

COOKIE = "jc_session"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
BUDGET_SECONDS = 25  # per session; the whole folder must stay under ~3 minutes


@pytest.fixture(scope="module", autouse=True)
def limits_out_of_the_way(portal) -> Iterator[None]:
    """The fuzzer logs in and uploads far more often than the per-minute limits allow one address."""
    with limits_lifted(portal):
        yield


@pytest.fixture(scope="module")
def citizen(portal) -> Person:
    person = logged_in(portal, "citizen_a")
    new_case(person, submitted=False)
    return person


@pytest.fixture(scope="module")
def caseworker(portal) -> Person:
    return logged_in(portal, "caseworker")


def run_schemathesis(portal, citizen: Person, tmp_path: Path) -> tuple[int, str]:
    command = [
        str(SCHEMATHESIS), "run", portal.url("/api/v1/openapi.json"),
        "--url", portal.base,
        "--checks", CHECKS,
        "--header", f"Cookie: {COOKIE}={citizen.http.cookies[COOKIE]}",
        "--header", f"X-CSRF-Token: {citizen.csrf}",
        # Logging out would end the session the rest of the run needs.
        "--exclude-operation-id", "logout",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "10",
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
        deadline = time.monotonic() + BUDGET_SECONDS + 60
        while process.poll() is None:  # a green sleep: the portal in this process keeps answering
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("schemathesis did not finish in time")
            time.sleep(0.2)
    return process.returncode, output.read_text(errors="replace")


@pytest.mark.parametrize("who", ["citizen", "caseworker"])
def test_the_whole_api_answers_without_server_errors_and_as_its_schema_says(request, portal, who, tmp_path):
    person: Person = request.getfixturevalue(who)
    code, report = run_schemathesis(portal, person, tmp_path)
    assert code == 0, report[-15000:]
    assert " passed" in report, report[-3000:]
    # The session stayed alive the whole run, so the routes behind it were really tried.
    assert person.request("GET", "/api/v1/session").status_code == 200


@pytest.mark.parametrize("path", ["/forms/a%0Ab", "/postcodes/1%0A2", "/cases/x%0Ay/timeline", "/nowhere%0A"])
def test_a_newline_in_an_api_path_gets_the_api_s_json_error_not_an_html_page(citizen, path):
    """Found by schemathesis: werkzeug's ``<path:>`` stopped at a newline and answered with HTML."""
    answer = citizen.request("GET", f"/api/v1{path}")
    assert answer.status_code in (400, 404)
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]["code"]
