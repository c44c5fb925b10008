"""The Arbeitsaufnahme through the containerized portal; a pod killed mid-story; a second replica; the CronJobs.

All HTTP goes through the Ingress stand-in to the gateway pods, as a citizen's browser would; operator steps
(demo accounts, a back-office client) run in the pods as ``kubectl exec`` would. The tests run in this order
on the one set of pods of ``portal_cluster``; the last one stops every pod as a rollout would.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from http.cookiejar import CookieJar
from typing import Any, TypeVar

import pytest
import requests

from services.documents.tests import samples
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.broker_access import environ_variable
from tests.container.conftest import PortalCluster
from tests.container.kubelet import Pod, memory_bytes, pod_spec, wait_until_ready
from tests.support import DEMO_CITIZEN, DEMO_PASSWORD, ApiCitizen

CASEWORKER = "sachbearbeitung@jc-treptow-koepenick.example"
JOBCENTER = "jc-0394"  # Berlin Treptow-Köpenick, where ARBEITSAUFNAHME's address lies
T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    """``check()``'s first truthy answer; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)
    return answer


@pytest.fixture(scope="module")
def totp_secrets(portal_cluster: PortalCluster) -> dict[str, str]:
    """The demo accounts, made in the identity pod (``kubectl exec deploy/identity -- python -m ...demo``)."""
    printed = portal_cluster.pod("identity").exec("python", "-m", "services.identity.demo")
    found = dict(re.findall(r"(\S+@\S+).*?\n\s+TOTP secret (\w+)", printed))
    assert {DEMO_CITIZEN, CASEWORKER} <= set(found), printed
    return found


def person(cluster: PortalCluster, email: str, secret: str) -> ApiCitizen:
    """Someone with a session through the Ingress (HTTPS: the session cookie is ``Secure``)."""
    someone = ApiCitizen(cluster.ingress.url, email, secret, password=DEMO_PASSWORD)
    someone.http = cluster.ingress.client()
    someone.log_in()
    return someone


@pytest.fixture(scope="module")
def citizen(portal_cluster: PortalCluster, totp_secrets: dict[str, str]) -> ApiCitizen:
    return person(portal_cluster, DEMO_CITIZEN, totp_secrets[DEMO_CITIZEN])


def file_arbeitsaufnahme(citizen: ApiCitizen) -> str:
    """Start a VÄM, answer every section, upload the employment contract; the draft's case id."""
    started = citizen.start_case()
    assert started.status_code == 201, started.text
    case_id = str(started.json()["case_id"])
    for section_id, data in ARBEITSAUFNAHME.items():
        saved = citizen.save_section(case_id, section_id, data)
        assert saved.status_code == 200, saved.text
    uploaded = citizen.upload(case_id, samples.pdf())
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["state"] == "accepted"  # stored in S3, scanned by clamd, checked
    return case_id


def postfach_of(citizen: ApiCitizen, case_id: str) -> list[dict[str, Any]]:
    return [message for message in citizen.postfach() if message["case_id"] == case_id]


def mails_to(cluster: PortalCluster, address: str) -> list[EmailMessage]:
    return [mail for mail in cluster.mailbox.messages() if address in str(mail["To"])]


def test_the_arbeitsaufnahme_goes_through_the_containerized_portal(
    portal_cluster: PortalCluster, citizen: ApiCitizen, totp_secrets: dict[str, str]
):
    jar: CookieJar = citizen.http.cookies
    (cookie,) = list(jar)
    assert (cookie.name, cookie.secure) == ("__Host-jc_session", True)  # GATEWAY_SECURE_COOKIES of the ConfigMap
    consent = citizen.request("PUT", "/consents/email_alerts", json={"granted": True})
    assert consent.status_code == 200, consent.text
    mails_before = len(mails_to(portal_cluster, DEMO_CITIZEN))

    case_id = file_arbeitsaufnahme(citizen)
    submitted = citizen.submit(case_id, f"submit-{uuid.uuid4()}")
    assert submitted.status_code == 200, submitted.text
    receipt_number = submitted.json()["receipt_number"]
    receipt = citizen.request("GET", f"/cases/{case_id}/receipt")
    assert (receipt.status_code, receipt.headers["Content-Type"]) == (200, "application/pdf")
    assert receipt.headers["X-Receipt-Number"] == receipt_number

    # The outbox relay publishes the submission; notify posts it to the Postfach and mails an alert whose
    # link is the PORTAL_URL of notify's ConfigMap; routing assigns the case to the Jobcenter of the address.
    (message,) = wait_for(lambda: postfach_of(citizen, case_id), "the receipt in the Postfach")
    assert message["case_id"] == case_id
    mail = wait_for(lambda: mails_to(portal_cluster, DEMO_CITIZEN)[mails_before:], "the e-mail alert")[0]
    links = re.findall(r"https?://[^\s\"<>]+", mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert links and all(link.startswith(portal_cluster.config("notify")["PORTAL_URL"]) for link in links), links

    caseworker = person(portal_cluster, CASEWORKER, totp_secrets[CASEWORKER])

    def assigned() -> dict[str, Any] | None:
        answer = caseworker.request("GET", f"/staff/cases/{case_id}")
        return answer.json() if answer.status_code == 200 and answer.json()["case"]["status"] == "assigned" else None

    assert wait_for(assigned, "the case in the caseworker's view")["case"]["jobcenter_id"] == JOBCENTER

    # The Jobcenter's e-file system: a client made in the backoffice pod, then the API through the Ingress.
    printed = portal_cluster.pod("backoffice").exec("python", "-m", "services.backoffice.cli", "create-client",
                                                    JOBCENTER)  # fmt: skip
    client_id = re.search(r"client_id\s+(\S+)", printed).group(1)  # type: ignore[union-attr]
    client_secret = re.search(r"client_secret\s+(\S+)", printed).group(1)  # type: ignore[union-attr]
    e_file = portal_cluster.ingress.client()
    token = e_file.post(f"{portal_cluster.ingress.url}/backoffice/v1/token", data={"grant_type": "client_credentials"},
                        auth=(client_id, client_secret), timeout=30)  # fmt: skip
    assert token.status_code == 200, token.text
    e_file.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def handed_over() -> bool:
        listed = e_file.get(f"{portal_cluster.ingress.url}/backoffice/v1/cases", timeout=30)
        return listed.status_code == 200 and case_id in {case["case_id"] for case in listed.json()["cases"]}

    wait_for(handed_over, "the case in the back-office list")
    detail = e_file.get(f"{portal_cluster.ingress.url}/backoffice/v1/cases/{case_id}", timeout=30).json()["case"]
    assert (detail["receipt_number"], detail["jobcenter_id"]) == (receipt_number, JOBCENTER)

    portal_cluster.figures["memory_after_story"] = memory_figures(portal_cluster)


def memory_figures(cluster: PortalCluster) -> dict[str, dict[str, int]]:
    """Resident memory of each pod's process (now and its peak) against what its container requests."""
    figures = {}
    for name, pods in cluster.pods.items():
        resources = pod_spec(cluster.manifests.of_kind("Deployment")[name])["containers"][0]["resources"]
        used = pods[0].memory_kib()
        figures[name] = {
            "rss_mib": used["VmRSS"] // 1024, "peak_rss_mib": used["VmHWM"] // 1024,
            "request_mib": memory_bytes(resources["requests"]["memory"]) // 2**20,
            "limit_mib": memory_bytes(resources["limits"]["memory"]) // 2**20,
        }  # fmt: skip
    return figures


def test_a_pod_killed_mid_story_loses_nothing(portal_cluster: PortalCluster, citizen: ApiCitizen):
    case_id = file_arbeitsaufnahme(citizen)
    submitted = citizen.submit(case_id, f"submit-{uuid.uuid4()}")
    assert submitted.status_code == 200, submitted.text
    # The submission's events are on their way now (outbox relay, broker, notify): notify's node dies.
    (notify,) = [pod for pod in portal_cluster.pods["notify"] if pod.running()]
    notify.kill()
    assert notify.state()["ExitCode"] == 137
    # Its Deployment gets a new pod, as on another node.
    (replacement,) = portal_cluster.kubelet.start_deployment("notify", replicas=1)
    portal_cluster.pods["notify"] = [replacement]
    wait_until_ready([replacement])

    # The Postfach gets the receipt once: not lost with the pod, not doubled by a redelivery.
    wait_for(lambda: postfach_of(citizen, case_id), "the receipt in the Postfach after the kill")
    wait_for(lambda: queues_drained(portal_cluster, "notify"), "notify's queues drained")
    assert len(postfach_of(citizen, case_id)) == 1
    detail = citizen.request("GET", f"/cases/{case_id}").json()
    assert detail["case"]["status"] in {"submitted", "assigned"}
    assert detail["answers"]["arbeitsaufnahme"]["arbeitgeber"] == ARBEITSAUFNAHME["arbeitsaufnahme"]["arbeitgeber"]
    assert [document["state"] for document in detail["documents"]] == ["accepted"]


def queues_drained(cluster: PortalCluster, service: str) -> bool:
    """No message waits for or is held by ``service`` in this run's vhost (every queue it consumes is empty)."""
    ours = queues_consumed_by(cluster, service)
    return bool(ours) and all(ready == unacknowledged == 0 for ready, unacknowledged in ours.values())


def queues_consumed_by(cluster: PortalCluster, service: str) -> dict[str, tuple[int, int]]:
    """The queues ``service`` consumes (its RPC queue, its event handlers'): messages ready and unacknowledged."""
    vhost = cluster.config(service)[environ_variable(service)].rsplit("/", 1)[1]
    listed = subprocess.run(
        [shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl", "-q", "list_queues", "-p", vhost,
         "name", "messages_ready", "messages_unacknowledged"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("\t") for line in listed.splitlines() if line.strip() and not line.startswith("name")]
    # nameko's names: rpc-<service>, evt-<source>-<event>--<service>.<handler>
    return {
        row[0]: (int(row[1]), int(row[2])) for row in rows
        if row[0] == f"rpc-{service}" or f"--{service}." in row[0]
    }  # fmt: skip


def entrypoint_calls(pod: Pod) -> float:
    """The sum of ``portal_entrypoint_calls_total`` on the pod's metrics port."""
    metrics = pod.ports["metrics"]
    text = requests.get(pod.url(metrics, "/metrics"), timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("portal_entrypoint_calls_total{"))  # fmt: skip


def test_a_second_replica_serves_requests_too(portal_cluster: PortalCluster, citizen: ApiCitizen):
    added = portal_cluster.kubelet.start_deployment("gateway", replicas=1)
    added += portal_cluster.kubelet.start_deployment("submissions", replicas=1)
    wait_until_ready(added)
    for pod in added:
        portal_cluster.pods[pod.workload].append(pod)
    portal_cluster.ingress.endpoints = portal_cluster.gateway_endpoints()
    assert len(portal_cluster.ingress.endpoints) == 2
    replicas = [pod for name in ("gateway", "submissions") for pod in portal_cluster.pods[name] if pod.running()]
    before = {pod.name: entrypoint_calls(pod) for pod in replicas}

    def every_replica_served() -> bool:
        # A new connection each time: the Ingress balances connections over the ready gateway pods.
        listed = citizen.request("GET", "/cases", headers={"Connection": "close"})
        assert listed.status_code == 200, listed.text
        return all(entrypoint_calls(pod) > before[pod.name] for pod in replicas)

    wait_for(every_replica_served, "requests served by every gateway and submissions replica")


def test_every_cronjob_s_job_runs_to_completion_on_the_story_s_data(portal_cluster: PortalCluster, citizen):
    cronjobs = portal_cluster.manifests.workloads("CronJob", portal_cluster.image.reference)
    # The yearly register check reads next year's Jobcenter list, which the operator loads first
    # (deploy/k8s/README.md); services/routing/tests/test_register_import.py runs that command.
    runnable = {name: job for name, job in cronjobs.items() if not _needs_operator_input(job)}
    assert set(cronjobs) - set(runnable) == {"routing-register-diff"}
    pods = portal_cluster.kubelet.run_jobs(runnable.values())
    assert {pod.workload for pod in pods} == set(runnable)
    # After the jobs (the read model rebuilt among them) the citizen's cases still read the same.
    listed = citizen.request("GET", "/cases")
    assert listed.status_code == 200 and len(listed.json()["cases"]) >= 2, listed.text


def _needs_operator_input(cronjob: dict[str, Any]) -> bool:
    """Whether the job reads a ConfigMap the operator creates before running it (an optional volume)."""
    volumes = pod_spec(cronjob).get("volumes", [])
    return any(volume.get("configMap", {}).get("optional") for volume in volumes)


def test_every_pod_stops_on_sigterm_within_its_grace_period(portal_cluster: PortalCluster):
    running = [pod for pods in portal_cluster.pods.values() for pod in pods if pod.running()]
    assert portal_cluster.kubelet.stop(running) == {pod.name: 0 for pod in running}
    portal_cluster.figures["stop_seconds"] = {pod.name: round(pod.stopped_after or 0, 1) for pod in running}
