"""The dev overlay's workloads run from the image as the manifests say: settings, hardening, probes, jobs."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.container.conftest import PortalCluster
from tests.container.images import Image, ca_bundle, podman
from tests.container.kubelet import pod_spec


# The first run on a machine makes the Debian base and builds every layer: minutes, not the usual limit.
@pytest.mark.timeout(1800)
def test_the_image_is_built_from_the_containerfile_and_runs_as_its_user(image: Image):
    (inspected,) = json.loads(podman("image", "inspect", image.reference))
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["python", "-m", "shared.run", "gateway"]
    assert {"8000/tcp", "9100/tcp"} <= set(config["ExposedPorts"])
    # The image's Python is the project's, with its runtime dependencies only.
    listed = podman("run", "--rm", "--pull", "never", image.reference, "python", "-m", "pip", "--version", check=False)
    assert "pip" not in listed  # no installer left in the image
    versions = podman("run", "--rm", "--pull", "never", image.reference, "python", "-c", _VERSIONS)
    assert json.loads(versions) == {"python": "3.11", "nameko": "2.14.1", "pytest": None, "weed": False}


_VERSIONS = """
import importlib.metadata as m, json, shutil, sys
def version(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({"python": "%d.%d" % sys.version_info[:2], "nameko": version("nameko"), "pytest": version("pytest"),
                  "weed": shutil.which("weed") is not None}))
"""


def test_every_deployment_of_the_overlay_runs_from_the_image_and_answers_its_probes(portal_cluster: PortalCluster):
    deployments = portal_cluster.manifests.workloads("Deployment", portal_cluster.image.reference)
    assert set(deployments) == set(portal_cluster.pods)
    for name, pods in portal_cluster.pods.items():
        assert len(pods) == deployments[name]["spec"]["replicas"], name
        for pod in pods:
            for kind in ("startup", "liveness", "readiness"):
                probe = pod.probe(kind)
                assert probe is not None, f"{name} declares no {kind} probe"
                assert pod.answers(probe), f"{name}: the {kind} probe {probe.path} does not answer"


def test_each_process_runs_as_the_manifests_say_non_root_read_only_without_capabilities(
    portal_cluster: PortalCluster,
):
    for name, pods in portal_cluster.pods.items():
        pod = pods[0]
        context = pod_spec(portal_cluster.manifests.of_kind("Deployment")[name])["containers"][0]["securityContext"]
        status = pod.exec("cat", "/proc/1/status")
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        gids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Gid:"))
        assert set(uids) == {str(context["runAsUser"])}, name
        assert set(gids) == {str(context["runAsGroup"])}, name
        effective = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:"))
        assert int(effective, 16) == 0, f"{name} keeps capabilities {effective}"
        assert next(line.split()[1] for line in status.splitlines() if line.startswith("NoNewPrivs:")) == "1", name
        # The root filesystem refuses writes; the declared in-memory /tmp takes them.
        refused = pod.exec("python", "-c", _TRY_WRITES)
        assert json.loads(refused) == {"/app/x": False, "/opt/venv/x": False, "/x": False, "/tmp/x": True}, name


_TRY_WRITES = """
import json, os
result = {}
for path in ("/app/x", "/opt/venv/x", "/x", "/tmp/x"):
    try:
        open(path, "w").close(); os.unlink(path); result[path] = True
    except OSError:
        result[path] = False
print(json.dumps(result))
"""


def test_each_process_gets_its_config_map_and_its_secrets_as_rendered(portal_cluster: PortalCluster):
    manifests = portal_cluster.manifests
    for name, pods in portal_cluster.pods.items():
        container = pod_spec(manifests.of_kind("Deployment")[name])["containers"][0]
        expected: dict[str, str] = {}
        for source in container["envFrom"]:
            expected.update(manifests.config_map(source["configMapRef"]["name"]) or {})
        for item in container["env"]:
            reference = item["valueFrom"]["secretKeyRef"]
            expected[item["name"]] = (manifests.secret(reference["name"]) or {})[reference["key"]]
        raw = pods[0].exec("cat", "/proc/1/environ").split("\0")
        environ = dict(item.split("=", 1) for item in raw if "=" in item)
        assert {key: environ.get(key) for key in expected} == expected, name
        assert environ["HOSTNAME"] == pods[0].name  # as a pod's name is its host name


def test_the_jobs_of_the_overlay_ran_to_completion_before_the_services_started(portal_cluster: PortalCluster):
    jobs = portal_cluster.manifests.workloads("Job", portal_cluster.image.reference)
    assert set(portal_cluster.jobs) == set(jobs)
    first_service_start = min(pod.started_at for pods in portal_cluster.pods.values() for pod in pods)
    for name, pod in portal_cluster.jobs.items():
        assert pod.state()["ExitCode"] == 0, name
        assert pod.started_at < first_service_start, name


def test_the_gateway_reports_every_service_ready_through_the_ingress(portal_cluster: PortalCluster):
    with urllib.request.urlopen(  # noqa: S310 - our own test endpoint
        portal_cluster.ingress.url + "/readyz", context=_client_context(portal_cluster), timeout=20
    ) as answer:
        report = json.load(answer)
    assert answer.status == 200, report
    assert report["broker"] == {"status": "ok"}
    assert {service for service, item in report["services"].items() if item["status"] == "ok"} >= {
        "identity", "submissions", "documents", "routing", "notify", "backoffice",
    }  # fmt: skip


def _client_context(cluster: PortalCluster):  # noqa: ANN202 - ssl.SSLContext
    import ssl

    return ssl.create_default_context(cafile=str(cluster.ingress.certificate))


def test_the_image_keeps_no_certificate_that_only_the_build_machine_trusts(portal_cluster: PortalCluster):
    """The build reads the host's CA bundle (with a TLS proxy's CA in it) from a secret mount only.

    The machine's own additions are the certificates of its bundle that Debian's ca-certificates package
    does not ship (on our machines: the proxy's CA); none of them may be anywhere in the image.
    """
    public = {certificate for path in Path("/usr/share/ca-certificates").rglob("*.crt")
              for certificate in certificates(path.read_text())}  # fmt: skip
    added_here = certificates(ca_bundle().read_text()) - public
    in_image = certificates(portal_cluster.pod("gateway").exec("python", "-c", _READ_BUNDLES, timeout=120))
    assert len(in_image) > 100, "the image has no CA bundle of public roots"
    assert added_here & in_image == set()
    assert portal_cluster.pod("gateway").exec("ls", "-A", "/run/secrets", check=False).strip() == ""


def certificates(text: str) -> set[str]:
    """The PEM certificates in ``text``, whitespace removed."""
    return {re.sub(r"\s", "", found) for found in re.findall(PEM, text)}


PEM = r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"
# Every file of the image that holds PEM certificates (the system's bundle, certifi's, any other).
_READ_BUNDLES = """
import os
for top in ("/etc", "/usr", "/opt", "/app"):
    for folder, _, files in os.walk(top):
        for name in files:
            path = os.path.join(folder, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read(4_000_000)
            except OSError:
                continue
            if b"-----BEGIN CERTIFICATE-----" in data:
                print(data.decode("ascii", "replace"))
"""
