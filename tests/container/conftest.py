"""The portal as the dev overlay deploys it, run from the image: one set of pods for the whole folder.

The image is built from ``deploy/Containerfile`` (see ``images.py``); the manifests are those of
``deploy/k8s/overlays/dev``, rendered through a site overlay that says only what an operator says when
installing (README of ``deploy/k8s``, steps 3 to 6): the image built here, the Secrets, and where this
machine's servers are (S3, clamd and the SMTP relay, which speaks no TLS). Everything else a pod gets comes
from the rendered documents; ``kubelet.py`` runs them. RabbitMQ and PostgreSQL are the machine's, with a
vhost and a database of this run; SeaweedFS, clamd and the SMTP sink are the test session's.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared import servers
from shared.config import REPOSITORY_ROOT
from shared.testing.fixtures import Mailbox
from tests.container.images import Image, portal_image
from tests.container.ingress import Ingress
from tests.container.kubelet import HOST_FROM_POD, Kubelet, Manifests, Pod, pod_spec, wait_until_ready
from tests.deploy.conftest import K8S, kubectl

ARTIFACTS = REPOSITORY_ROOT / "test-artifacts" / "container"
LOCAL_IMAGE = "localhost/jobcenter-portal"
# Settings that say where a server of the site is: the site overlay sets them wherever a ConfigMap has them.
SITE_SERVERS = ("S3_ENDPOINT", "CLAMD_HOST", "CLAMD_PORT", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS")


@dataclass
class PortalCluster:
    """The running pods, what they were started from, and the figures measured on the way."""

    image: Image
    manifests: Manifests
    kubelet: Kubelet
    ingress: Ingress
    mailbox: Mailbox
    jobs: dict[str, Pod]
    pods: dict[str, list[Pod]]
    figures: dict[str, Any] = field(default_factory=dict)

    def pod(self, workload: str) -> Pod:
        """The workload's first pod that still runs."""
        return next(pod for pod in self.pods[workload] if pod.running())

    def config(self, workload: str) -> dict[str, str]:
        """The environment the workload's container gets, resolved from the rendered documents."""
        deployment = self.manifests.of_kind("Deployment")[workload]
        return self.kubelet.environment(pod_spec(deployment)["containers"][0])

    def gateway_endpoints(self) -> list[tuple[str, int]]:
        """The gateway Service's endpoints: the HTTP port of every ready gateway pod."""
        http = self.ingress_backend_port()
        return [("127.0.0.1", pod.host_ports[http]) for pod in self.pods["gateway"] if pod.ready_after is not None]

    def ingress_backend_port(self) -> int:
        """The container port the Ingress reaches, through the Service's targetPort."""
        ingress = next(iter(self.manifests.of_kind("Ingress").values()))
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        service = self.manifests.of_kind("Service")[backend["name"]]
        port = next(port for port in service["spec"]["ports"] if port["name"] == backend["port"]["name"])
        return int(self.pods["gateway"][0].ports[port["targetPort"]])


def site_overlay(folder: Path, rendered_dev: Manifests, image: Image, secrets_of: dict[str, dict[str, str]],
                 servers_at: dict[str, str]) -> Manifests:  # fmt: skip
    """The dev overlay as this site deploys it: our image, our Secrets, our servers; rendered by kubectl."""
    current_image = next(
        container["image"] for deployment in rendered_dev.of_kind("Deployment").values()
        for container in pod_spec(deployment)["containers"] if "jobcenter-portal" in container["image"]
    )  # fmt: skip
    name, tag = image.reference.rsplit(":", 1)
    config_maps = [
        {"name": config_map, "behavior": "merge",
         "literals": [f"{key}={servers_at[key]}" for key in SITE_SERVERS if key in data.get("data", {})]}
        for config_map, data in _generated_names(rendered_dev.of_kind("ConfigMap")).items()
        if set(SITE_SERVERS) & set(data.get("data", {}))
    ]  # fmt: skip
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # The overlay's namespace: kustomize rewrites references to generated objects within one namespace only.
        "namespace": next(iter(rendered_dev.of_kind("Deployment").values()))["metadata"]["namespace"],
        "resources": [os.path.relpath(K8S / "overlays" / "dev", folder)],  # kustomize takes no absolute path
        "images": [{"name": current_image.rsplit(":", 1)[0], "newName": name, "newTag": tag}],
        "configMapGenerator": config_maps,
        "secretGenerator": [
            {"name": secret, "type": "Opaque", "literals": [f"{key}={value}" for key, value in sorted(values.items())]}
            for secret, values in secrets_of.items()
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return Manifests(yaml.safe_load_all(kubectl("kustomize", str(folder))))


def _generated_names(config_maps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ConfigMaps by the name their generator gave (without the content hash kustomize appends)."""
    return {name.rsplit("-", 1)[0]: data for name, data in config_maps.items()}


def secret_references(manifests: Manifests, image: str) -> dict[str, set[str]]:
    """Every Secret key the portal's workloads reference, by Secret."""
    wanted: dict[str, set[str]] = {}
    for kind in ("Deployment", "Job", "CronJob"):
        for workload in manifests.workloads(kind, image).values():
            for container in pod_spec(workload)["containers"]:
                for item in container.get("env", []):
                    reference = item.get("valueFrom", {}).get("secretKeyRef")
                    if reference:
                        wanted.setdefault(reference["name"], set()).add(reference["key"])
    return wanted


def make_secrets(wanted: dict[str, set[str]], amqp_uris: dict[str, str], database_url: str, s3: dict[str, str]) -> dict:
    """A value for each referenced Secret key: this run's broker and database, the session's S3, new keys.

    ``amqp_uris``: each principal's own broker user (shared.broker_access); Secret ``portal-<principal>``
    gets that principal's, as an operator sets them up (deploy/k8s/README.md).
    """

    def new_key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    values = {
        "amqp-uri": lambda: "",  # replaced below by the principal's own, per Secret
        "database-url": lambda: database_url,
        "s3-access-key": lambda: s3["S3_ACCESS_KEY"],
        "s3-secret-key": lambda: s3["S3_SECRET_KEY"],
        "smtp-username": lambda: "",  # the SMTP sink takes mail without a login
        "smtp-password": lambda: "",
        "cipher-key": new_key,
        "receipt-signing-key": new_key,
        "signing-key": new_key,
        "secrets-key": new_key,
        "gateway-secret": lambda: secrets.token_urlsafe(32),
    }
    unknown = {key for keys in wanted.values() for key in keys} - set(values)
    assert not unknown, f"the container tests do not know what to put in the Secret keys {sorted(unknown)}"
    secrets_made = {secret: {key: values[key]() for key in keys} for secret, keys in wanted.items()}
    for secret, keys in secrets_made.items():
        if "amqp-uri" in keys:
            keys["amqp-uri"] = amqp_uris[secret.removeprefix("portal-")]
    return secrets_made


def podman_ready() -> None:
    for tool in ("podman", "runc", "slirp4netns"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed for the container tests (make test installs it: apt-get install {tool})")


@pytest.fixture(scope="package")
def image() -> Image:
    """The image of the current sources (built now unless podman's storage has it from an earlier run)."""
    podman_ready()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return portal_image(ARTIFACTS)


@pytest.fixture(scope="package")
def portal_cluster(
    image: Image, tmp_path_factory: pytest.TempPathFactory, seaweedfs: servers.RunningServer,
    clamd: servers.RunningServer, smtp_sink: servers.RunningServer, smtp_maildir: Path,
) -> Iterator[PortalCluster]:  # fmt: skip
    began = time.monotonic()
    figures: dict[str, Any] = {}

    run_id = secrets.token_hex(4)
    servers.ensure_rabbitmq()
    servers.ensure_postgres()
    name = f"jc_test_{secrets.token_hex(6)}"
    amqp_uris = {
        principal: uri.replace(servers.LOOPBACK, HOST_FROM_POD)
        for principal, uri in servers.principal_uris(servers.create_rabbit_vhost(name)).items()
    }
    database_url = servers.create_postgres_database(name).replace(servers.LOOPBACK, HOST_FROM_POD)
    folder = tmp_path_factory.mktemp("site-overlay")
    dev = Manifests(yaml.safe_load_all(kubectl("kustomize", str(K8S / "overlays" / "dev"))))
    dev_image = next(iter(dev.of_kind("Deployment").values()))
    wanted = secret_references(dev, pod_spec(dev_image)["containers"][0]["image"])
    site_servers = {
        "S3_ENDPOINT": seaweedfs.settings["S3_ENDPOINT"].replace(servers.LOOPBACK, HOST_FROM_POD),
        "CLAMD_HOST": HOST_FROM_POD, "CLAMD_PORT": clamd.settings["CLAMD_PORT"],
        "SMTP_HOST": HOST_FROM_POD, "SMTP_PORT": smtp_sink.settings["SMTP_PORT"], "SMTP_STARTTLS": "false",
    }  # fmt: skip
    manifests = site_overlay(folder, dev, image, make_secrets(wanted, amqp_uris, database_url, seaweedfs.settings),
                             site_servers)  # fmt: skip
    (ARTIFACTS / "manifests.yaml").write_text(yaml.safe_dump_all(_without_secrets(manifests.documents)))

    kubelet = Kubelet(manifests, run_id, ARTIFACTS / "pods")
    ingress_doc = next(iter(manifests.of_kind("Ingress").values()))
    ingress = Ingress(ingress_doc["spec"]["rules"][0]["host"], folder)
    try:
        jobs = {pod.workload: pod for pod in kubelet.run_jobs(manifests.workloads("Job", image.reference).values())}
        started = kubelet.start_deployments(manifests.workloads("Deployment", image.reference))
        wait_until_ready(started)
        pods: dict[str, list[Pod]] = {}
        for pod in started:
            pods.setdefault(pod.workload, []).append(pod)
        cluster = PortalCluster(image, manifests, kubelet, ingress, Mailbox(smtp_maildir), jobs, pods, figures)
        ingress.endpoints = cluster.gateway_endpoints()
        figures["image"] = {"reference": image.reference, "size_bytes": image.size_bytes, "built_now": image.built_now}
        figures["start_to_ready_seconds"] = {pod.workload: round(pod.ready_after or 0, 1) for pod in started}
        yield cluster
    finally:
        ingress.close()
        kubelet.close()
        servers.delete_rabbit_vhost(name)
        servers.drop_postgres_database(name)
        figures["total_seconds"] = round(time.monotonic() - began, 1)
        (ARTIFACTS / "figures.json").write_text(json.dumps(figures, indent=2))


def _without_secrets(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["kind"] != "Secret"]
