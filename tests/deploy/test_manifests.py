"""The Kubernetes manifests: they render, validate strictly, pass checkov, and give each process its settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from shared.broker_access import PRINCIPALS
from shared.config import _closing_brace, config_path
from shared.migrate import services_with_migrations
from shared.service import SERVICES
from shared.system import RELAYS
from tests.deploy.conftest import K8S, OVERLAYS, load_yaml, portal_workloads, workloads

KUBERNETES_VERSION = "1.32.0"
# Kinds of the operators we configure: kubernetes-validate has no schema for them and only warns.
CUSTOM_KINDS = {
    "RabbitmqCluster",
    "Vhost",
    "Policy",
    "User",
    "Permission",
    "TopicPermission",
    "Exchange",
    "Cluster",
    "Database",
    "ObjectStore",
    "ScheduledBackup",
    "PodMonitor",
    "PrometheusRule",
}


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for document in documents if document["kind"] == kind}


def service_read_by(command: list[str]) -> str:
    """Whose config.yaml a container's command loads."""
    text = " ".join(command)
    for pattern in (r"shared\.(?:run|outbox|migrate) (\w+)", r"-m services\.(\w+)\.", r"load_config\('(\w+)'\)"):
        if match := re.search(pattern, text):
            return match.group(1)
    raise AssertionError(f"cannot tell which service's config {command} reads")


def variables_read(service: str, provided: set[str]) -> set[str]:
    """The variables resolving ``services/<service>/config.yaml`` reads when ``provided`` are set.

    A nested placeholder is read only when the one around it is not set: with IDENTITY_DATABASE_URL
    given, DATABASE_URL and RUN_DIR are never read.
    """
    read: set[str] = set()

    def walk(text: str) -> None:
        position = 0
        while (start := text.find("${", position)) >= 0:
            end = _closing_brace(text, start, "config")
            variable, _, default = text[start + 2 : end].partition(":")
            read.add(variable)
            if variable not in provided:
                walk(default)
            position = end + 1

    def leaves(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                leaves(value)
        elif isinstance(node, str):
            walk(node)

    leaves(load_yaml(config_path(service)))
    return read


def provided_settings(container: dict[str, Any], config_maps: dict[str, dict[str, Any]]) -> set[str]:
    provided = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "secrets are referenced key by key, so that the test sees them"
        provided |= set(config_maps[source["configMapRef"]["name"]].get("data", {}))
    return provided


def test_every_overlay_has_a_deployment_per_service_and_outbox_relay(resources):
    for overlay in OVERLAYS:
        deployments = by_kind(resources[overlay], "Deployment")
        expected = set(SERVICES) | {f"{service}-outbox" for service in RELAYS} | {"clamav"}
        assert set(deployments) == expected, overlay


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_core_resource_validates_strictly_against_the_kubernetes_schemas(resources, overlay):
    unvalidated = set()
    for document in resources[overlay]:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.add(document["kind"])
        except kubernetes_validate.ValidationError as problem:
            pytest.fail(f"{document['kind']}/{document['metadata']['name']}: {problem.message} at {problem.path}")
    assert unvalidated <= CUSTOM_KINDS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_process_gets_exactly_the_settings_its_config_reads(resources, overlay):
    config_maps = by_kind(resources[overlay], "ConfigMap")
    for resource, spec in portal_workloads(resources[overlay]):
        container = spec["containers"][0]
        provided = provided_settings(container, config_maps)
        read = variables_read(service_read_by(container["command"]), provided)
        name = resource["metadata"]["name"]
        assert read - provided == set(), (
            f"{name} does not get {sorted(read - provided)}: add them to deploy/k8s/base/portal/config/<service>.env,"
            " or as a secretKeyRef in the workload when they are secret"
        )
        assert provided - read == set(), f"{name} gets settings it never reads: {sorted(provided - read)}"


def test_every_service_config_has_its_config_map():
    configs = {path.stem for path in (K8S / "base" / "portal" / "config").glob("*.env")}
    assert configs == set(SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_value_is_in_the_manifests(resources, overlay):
    assert by_kind(resources[overlay], "Secret") == {}
    for _resource, spec in portal_workloads(resources[overlay]):
        for item in spec["containers"][0].get("env", []):
            assert "secretKeyRef" in item.get("valueFrom", {}), item["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_hardened(resources, overlay):
    for resource, spec in workloads(resources[overlay]):
        name = resource["metadata"]["name"]
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, name
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}, name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            volumes = {volume["name"]: volume for volume in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_long_running_processes_are_probed_on_their_health_endpoints_and_expose_metrics(resources, overlay):
    config_maps = by_kind(resources[overlay], "ConfigMap")
    for resource, spec in portal_workloads(resources[overlay]):
        if resource["kind"] != "Deployment":
            continue
        container = spec["containers"][0]
        name = resource["metadata"]["name"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        config_map = container["envFrom"][0]["configMapRef"]["name"]
        assert str(ports["metrics"]) == config_maps[config_map]["data"]["METRICS_PORT"], name
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_outbox_relay_runs_as_one_replica(resources, overlay):
    deployments = by_kind(resources[overlay], "Deployment")
    for service, application in RELAYS.items():
        relay = deployments[f"{service}-outbox"]
        assert relay["spec"]["replicas"] == 1
        assert relay["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [service, application]
    assert not {f"{service}-outbox" for service in RELAYS} & set(by_kind(resources[overlay], "HorizontalPodAutoscaler"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_with_a_migration_history_has_its_migrate_job_with_its_own_credentials(resources, overlay):
    cron_jobs = by_kind(resources[overlay], "CronJob")
    deployments = by_kind(resources[overlay], "Deployment")
    migrating = services_with_migrations()
    assert {name for name in cron_jobs if name.endswith("-migrate")} == {f"{service}-migrate" for service in migrating}
    for service in migrating:
        job = cron_jobs[f"{service}-migrate"]
        assert job["spec"]["suspend"] is True, service  # a template: run before a rollout, never on a schedule
        pod = job["spec"]["jobTemplate"]["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", "shared.migrate", service]
        assert pod["metadata"]["labels"]["egress.jobcenter-portal/database"] == "true", service
        # The database the service itself uses, with its credentials (its own Secret), and its settings.
        served = deployments[service]["spec"]["template"]["spec"]["containers"][0]
        assert container["env"] == served["env"], service
        assert container["envFrom"] == served["envFrom"], service
        secrets = {item["valueFrom"]["secretKeyRef"]["name"] for item in container["env"]}
        assert secrets == {f"portal-{service}"}, service


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_a_disruption_budget_and_the_busy_ones_an_autoscaler(resources, overlay):
    budgets = by_kind(resources[overlay], "PodDisruptionBudget")
    assert set(SERVICES) <= set(budgets)
    autoscalers = by_kind(resources[overlay], "HorizontalPodAutoscaler")
    assert {"gateway", "identity", "submissions", "documents"} <= set(autoscalers)


def test_production_spreads_services_over_zones_with_more_than_one_replica(resources):
    deployments = by_kind(resources["production"], "Deployment")
    for service in SERVICES:
        spec = deployments[service]["spec"]
        assert spec["replicas"] >= 2, service
        keys = {item["topologyKey"] for item in spec["template"]["spec"]["topologySpreadConstraints"]}
        assert "topology.kubernetes.io/zone" in keys, service
    for budget in by_kind(resources["production"], "PodDisruptionBudget").values():
        assert budget["spec"].get("minAvailable") == 1 or "maxUnavailable" in budget["spec"]


def test_dev_runs_one_replica_of_everything(resources):
    for deployment in by_kind(resources["dev"], "Deployment").values():
        assert deployment["spec"]["replicas"] == 1, deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_traffic_is_denied_by_default_and_the_gateway_is_reached_through_a_tls_ingress(resources, overlay):
    policies = by_kind(resources[overlay], "NetworkPolicy")
    deny = policies["portal-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    ingress = by_kind(resources[overlay], "Ingress")["gateway"]["spec"]
    assert ingress["tls"][0]["secretName"]
    assert ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "gateway"


def checkov_skips() -> dict[str, dict[str, Any]]:
    skips: dict[str, dict[str, Any]] = load_yaml(K8S / "checkov-skips.yaml")
    for check, entry in skips.items():
        assert entry.get("reason"), f"{check} is skipped without a reason"
    return skips


def test_checkov_fails_no_check_except_those_skipped_with_a_reason(rendered, checkov, tmp_path: Path):
    skips = checkov_skips()
    failed: list[tuple[str, str]] = []
    for overlay, text in rendered.items():
        manifest = tmp_path / f"{overlay}.yaml"
        manifest.write_text(text)
        result = subprocess.run(
            [str(checkov), "--skip-download", "--quiet", "--compact", "-o", "json", "--framework", "kubernetes"]
            + ["-f", str(manifest)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
            check=False,
        )
        report = json.loads(result.stdout)
        report = report[0] if isinstance(report, list) else report
        assert report["summary"]["parsing_errors"] == 0
        for check in report["results"]["failed_checks"]:
            kind, _namespace, name = check["resource"].split(".", 2)
            failed.append((check["check_id"], f"{kind}.{name}"))
    unexplained = sorted(
        {
            (check, resource)
            for check, resource in failed
            if check not in skips or ("resources" in skips[check] and resource not in skips[check]["resources"])
        }
    )
    assert unexplained == []
    assert set(skips) <= {check for check, _ in failed}, "a listed skip is no longer needed: remove it"


def test_the_image_is_multi_stage_pinned_and_runs_as_a_user_without_build_tools():
    text = (K8S.parent / "Containerfile").read_text()
    stages = re.findall(r"^FROM (\S+) AS (\w+)$", text, flags=re.MULTILINE)
    assert [name for _, name in stages] == ["build", "runtime"]
    # Both stages stand on one base, an argument whose default is the official slim image, pinned.
    assert {image for image, _ in stages} == {"${BASE_IMAGE}"}
    (default,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, flags=re.MULTILINE)
    assert re.fullmatch(r"docker\.io/library/python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", default), default
    runtime = text.split("AS runtime", 1)[1]
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.MULTILINE)
    assert "pip install" not in runtime and "uv " not in runtime and "apt-get" not in runtime
    # A proxy's CA reaches the build as a secret mount only, never as a file of a layer.
    assert "--mount=type=secret,id=ca-bundle" in text
    assert not re.search(r"^(COPY|ADD) .*ca-", text, flags=re.MULTILINE | re.IGNORECASE)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_and_relay_talks_to_the_broker_as_its_own_user(resources, overlay):
    """The rendered Users and Permissions are shared/broker_access.py's, and each workload uses its own (#18)."""
    documents = resources[overlay]
    users = by_kind(documents, "User")
    permissions = by_kind(documents, "Permission")
    for principal in PRINCIPALS:
        user = f"portal-{principal.name}"
        assert users[user]["spec"]["importCredentialsSecret"]["name"] == f"portal-broker-{principal.name}"
        assert permissions[user]["spec"]["permissions"] == principal.permissions()
    topics = {
        (d["spec"]["userReference"]["name"], d["spec"]["permissions"]["exchange"]): d["spec"]["permissions"]
        for d in documents
        if d["kind"] == "TopicPermission"
    }
    expected = {
        (f"portal-{p.name}", exchange): {"exchange": exchange, **patterns}
        for p in PRINCIPALS
        for exchange, patterns in p.topic_permissions().items()
    }
    assert topics == expected
    deployments = by_kind(documents, "Deployment")
    for principal in PRINCIPALS:
        container = deployments[principal.name]["spec"]["template"]["spec"]["containers"][0]
        secrets_of_broker = {
            item["valueFrom"]["secretKeyRef"]["name"]
            for item in container.get("env", [])
            if item["name"].endswith("_AMQP_URI")
        }
        assert secrets_of_broker == {f"portal-{principal.name}"}, principal.name
