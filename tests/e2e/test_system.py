"""The whole system as ``make run`` starts it: separate processes, real servers, real HTTP."""

import re
import time

import jwt
import pytest
import requests

from services.gateway.security import CSRF_FIELD
from services.submissions.tests.scenarios import submit_over_rpc
from shared.migrate import services_with_migrations
from shared.testing.fixtures import Mailbox
from shared.testing.waiting import wait_until
from tests.support import (
    DEMO_CITIZEN,
    RunningSystem,
    json_lines,
    log_in_as_demo_citizen,
    processes_of,
    wait_for_postfach,
)

SERVICES = ("identity", "submissions", "documents", "routing", "notify", "backoffice", "gateway")
CORRELATION_ID = "e2e-corr-5e7a11d0"

# Starts the whole system twice (at load 15: 164 s on the clock for 95 s of CPU each), so more than the default 300 s.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture
def run_dir(tmp_path):
    path = tmp_path / "run"
    yield path
    for command in processes_of(path):  # never leave a process behind, even when a test failed
        print("left behind:", command)


def test_the_system_starts_serves_and_stops_without_leaving_a_process(run_dir, amqp_uri, rpc):
    system = RunningSystem(run_dir, amqp_uri)
    try:
        status, _, body = system.get("/healthz")
        assert (status, body) == (200, {"status": "ok"})

        status, headers, report = system.get("/readyz", {"X-Correlation-ID": CORRELATION_ID})
        assert status == 200, report
        assert headers["X-Correlation-ID"] == CORRELATION_ID
        assert report["broker"] == {"status": "ok"}
        dependencies = {
            (service, name) for service, item in report["services"].items() for name in item["dependencies"]
        }
        assert {("documents", "s3"), ("documents", "clamd"), ("notify", "smtp"), ("submissions", "event_store")} <= (
            dependencies
        )
        assert "erika.mustermann@example.org" in system.text()
        assert "Back-office client of Jobcenter jc-0394" in system.text()

        with rpc(CORRELATION_ID) as cluster:
            assert [cluster[name].health()["service"] for name in SERVICES] == list(SERVICES)
            token = log_in_as_demo_citizen(cluster, system.text())
            account_id = jwt.decode(token, options={"verify_signature": False})["sub"]
            case_id = submit_over_rpc(cluster, account_id, token=token)["case_id"]
            assert [m["case_id"] for m in wait_for_postfach(cluster, token)] == [case_id]
            cluster.identity.request_password_reset(DEMO_CITIZEN)

        # Links in mails point at the port this run serves (not the default 8000).
        (reset_mail,) = Mailbox(run_dir / "mail").wait_for(1)
        body = reset_mail.get_body(("plain",))
        assert body is not None
        links = re.findall(r"https?://[^\s\"<>]+", body.get_content())
        assert links and all(link.startswith(f"http://127.0.0.1:{system.port}/") for link in links), links

        submitted = [
            line for line in json_lines(run_dir / "logs" / "submissions.log") if line.get("case_id") == case_id
        ]

        def posted_lines():
            # Only the Postfach line: the staff alert of the assignment may come before or after it.
            return [
                line for line in json_lines(run_dir / "logs" / "notify.log")
                if line.get("case_id") == case_id and line["message"] == "postfach_message_posted"
            ]  # fmt: skip

        # The message is committed a moment before notify logs that it posted it.
        deadline = time.monotonic() + 10
        while not (posted := posted_lines()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {line["correlation_id"] for line in submitted} == {CORRELATION_ID}
        assert [line["message"] for line in posted] == ["postfach_message_posted"]
        assert posted[0]["correlation_id"] == CORRELATION_ID
        assert posted[0]["service"] == "notify"

        # A login form left open in a browser across the restart below.
        browser = requests.Session()
        form = browser.get(f"http://127.0.0.1:{system.port}/anmelden", timeout=30)
        csrf = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', form.text)
        assert csrf, form.text
    finally:
        exit_code = system.interrupt()
    assert exit_code == 0
    assert "[run] stopped" in system.text()
    wait_until(lambda: processes_of(run_dir) == [], 30, "every process of the run to end")

    # A second run on the same folder keeps the state: accounts exist, the stored case still reads.
    again = RunningSystem(run_dir, amqp_uri)
    try:
        assert "(exists)" in again.text()
        with rpc() as cluster:
            case = cluster.submissions.get_case(case_id)
        # Routing assigned the case of a Treptow-Köpenick resident to that Bezirk's Jobcenter.
        assert (case["status"], case["jobcenter_id"]) == ("assigned", "jc-0394")
        # The open form can still be sent: the CSRF key is the run folder's, not the process's.
        sent = browser.post(
            f"http://127.0.0.1:{again.port}/anmelden",
            data={CSRF_FIELD: csrf[1], "email": DEMO_CITIZEN, "password": "nicht-das-passwort"},
            timeout=30,
        )
        assert sent.status_code == 401, sent.text  # the password is what is wrong, not the form
    finally:
        assert again.interrupt() == 0
    wait_until(lambda: processes_of(run_dir) == [], 30, "every process of the run to end")
    # Each run brought every service's schema to its newest revision before starting the services.
    migrated = (run_dir / "logs" / "migrate.log").read_text()
    for service in services_with_migrations():
        assert migrated.count(f"{service}: schema at the newest revision") == 2, service
