"""A small kubelet for the container tests: runs the pods of rendered manifests with podman, as Kubernetes would.

Everything a pod gets comes from the manifests: the container's command and args, its environment from
``envFrom`` and ``env`` (ConfigMaps and Secrets of the rendered documents, ``$(VAR)`` expanded), its security
context (user and group, read-only root with only the declared volumes writable, capabilities dropped, no
privilege escalation, the runtime's default seccomp profile), its volumes (``emptyDir`` in memory as a
size-limited tmpfs, ``configMap`` as read-only files), its CPU and memory limits (and CPU request as shares),
its probes and its grace period on stop. A Job's pod is retried up to ``backoffLimit`` within
``activeDeadlineSeconds``. Any field this kubelet does not know makes it refuse the pod, so a manifest change
is never silently left out of the test.

Where it differs from a cluster, and why:

- Each pod gets a network namespace of its own (slirp4netns), as a pod has its own IP: every process listens
  on the metrics port 9100 and two gateway replicas both on 8000, which one shared host network could not
  hold. The machine's loopback, where RabbitMQ, PostgreSQL and the tests' SeaweedFS, clamd and SMTP sink
  listen, is reached from a pod as ``HOST_FROM_POD``; a connection arrives there from 127.0.0.1.
- A pod's ports are published on free loopback ports of the machine; the probes (and the Ingress stand-in)
  reach the pod through them.
- Images are local (built by the test), so ``imagePullPolicy`` is not followed.
- Readiness is probed every ``PROBE_INTERVAL`` seconds while a pod starts, to measure when it gets ready;
  the bound is the one the manifests give (the startup probe's ``failureThreshold`` × ``periodSeconds``).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.container.images import PodmanError, podman

HOST_FROM_POD = "10.0.2.2"
NETWORK = "slirp4netns:allow_host_loopback=true"
PROBE_INTERVAL = 0.25
LABEL_RUN = "jobcenter-portal.test-run"
LABEL_OWNER = "jobcenter-portal.test-owner-pid"

POD_FIELDS = {"automountServiceAccountToken", "enableServiceLinks", "securityContext",
              "terminationGracePeriodSeconds", "containers", "volumes", "restartPolicy"}  # fmt: skip
CONTAINER_FIELDS = {"name", "image", "imagePullPolicy", "command", "args", "env", "envFrom", "ports", "resources",
                    "startupProbe", "livenessProbe", "readinessProbe", "securityContext", "volumeMounts"}  # fmt: skip
SECURITY_FIELDS = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile",
                   "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities"}  # fmt: skip
PROBE_FIELDS = {"httpGet", "periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold",
                "initialDelaySeconds"}  # fmt: skip


class PodRefused(ValueError):
    """The pod spec holds something this kubelet cannot run as Kubernetes would."""


# --- the rendered manifests ---------------------------------------------------------------------------------


class Manifests:
    """The documents of ``kubectl kustomize``, by kind and name."""

    def __init__(self, documents: Iterable[dict[str, Any]]) -> None:
        self.documents = [document for document in documents if document]

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {doc["metadata"]["name"]: doc for doc in self.documents if doc["kind"] == kind}

    def config_map(self, name: str) -> dict[str, str] | None:
        found = self.of_kind("ConfigMap").get(name)
        return None if found is None else {key: str(value) for key, value in found.get("data", {}).items()}

    def secret(self, name: str) -> dict[str, str] | None:
        found = self.of_kind("Secret").get(name)
        if found is None:
            return None
        values = {key: base64.b64decode(value).decode() for key, value in found.get("data", {}).items()}
        return {**values, **{key: str(value) for key, value in found.get("stringData", {}).items()}}

    def workloads(self, kind: str, image: str) -> dict[str, dict[str, Any]]:
        """The workloads of ``kind`` (Deployment, Job, CronJob) whose containers run ``image``."""
        return {
            name: document for name, document in self.of_kind(kind).items()
            if all(container["image"] == image for container in pod_spec(document)["containers"])
        }  # fmt: skip


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def job_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    return dict(spec["jobTemplate"]["spec"] if workload["kind"] == "CronJob" else spec)


# --- quantities and probes ----------------------------------------------------------------------------------

_BINARY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL_SUFFIXES = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def memory_bytes(quantity: str | int) -> int:
    text = str(quantity)
    for suffixes in (_BINARY_SUFFIXES, _DECIMAL_SUFFIXES):
        for suffix, factor in suffixes.items():
            if text.endswith(suffix):
                return int(float(text[: -len(suffix)]) * factor)
    return int(text)


def cpu_cores(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


@dataclass(frozen=True)
class Probe:
    path: str
    container_port: int
    period_seconds: float
    timeout_seconds: float
    failure_threshold: int

    @classmethod
    def of(cls, spec: dict[str, Any], ports: dict[str, int]) -> Probe:
        _only(spec, PROBE_FIELDS, "probe")
        if spec.get("initialDelaySeconds", 0) or spec.get("successThreshold", 1) != 1:
            raise PodRefused("probes with an initial delay or a success threshold are not supported here")
        get = spec["httpGet"]
        _only(get, {"path", "port"}, "httpGet")
        port = get["port"]
        return cls(
            path=get["path"], container_port=ports[port] if isinstance(port, str) else int(port),
            period_seconds=spec.get("periodSeconds", 10), timeout_seconds=spec.get("timeoutSeconds", 1),
            failure_threshold=spec.get("failureThreshold", 3),
        )  # fmt: skip

    @property
    def budget_seconds(self) -> float:
        """How long a kubelet lets this probe fail before it acts."""
        return self.failure_threshold * self.period_seconds


# --- pods ---------------------------------------------------------------------------------------------------


@dataclass
class Pod:
    """One running (or finished) pod: a podman container named like the pod."""

    name: str
    workload: str
    container: dict[str, Any]
    grace_seconds: int
    started_at: float
    host_ports: dict[int, int] = field(default_factory=dict)
    ready_after: float | None = None
    stopped_after: float | None = None
    _started: bool = False
    _state_checked: float = 0.0

    @property
    def ports(self) -> dict[str, int]:
        """Declared container ports by name."""
        return {port["name"]: port["containerPort"] for port in self.container.get("ports", []) if "name" in port}

    def probe(self, kind: str) -> Probe | None:
        spec = self.container.get(f"{kind}Probe")
        return None if spec is None else Probe.of(spec, self.ports)

    def url(self, container_port: int, path: str = "") -> str:
        return f"http://127.0.0.1:{self.host_ports[container_port]}{path}"

    def answers(self, probe: Probe) -> bool:
        """One HTTP probe as a kubelet makes it: success is a status from 200 to 399 within the timeout."""
        try:
            with urllib.request.urlopen(self.url(probe.container_port, probe.path), timeout=probe.timeout_seconds):
                return True
        except urllib.error.HTTPError as answer:
            return 200 <= answer.code < 400
        except OSError:
            return False

    def state(self) -> dict[str, Any]:
        inspected = json.loads(podman("inspect", "--type", "container", self.name))[0]
        return dict(inspected["State"])

    def running(self) -> bool:
        return bool(self.state()["Running"])

    def check_ready(self) -> bool:
        """One round of probing while the pod starts, as the kubelet does: the startup probe until it answers,
        then the readiness probe. True once ready; AssertionError if the pod exits or runs out of the time its
        probes give it (the startup probe's failureThreshold × periodSeconds, then the readiness probe's)."""
        if self.ready_after is not None:
            return True
        startup, readiness = self.probe("startup"), self.probe("readiness")
        if readiness is None:
            raise PodRefused(f"{self.workload} declares no readiness probe")
        if not self._started and (startup is None or self.answers(startup)):
            self._started = True
        if self._started and self.answers(readiness):
            self.ready_after = time.monotonic() - self.started_at
            return True
        budget = (startup or readiness).budget_seconds + readiness.budget_seconds
        now = time.monotonic()
        if now - self._state_checked >= 1:  # podman inspect costs CPU: once a second is enough
            self._state_checked = now
            if not self.running():
                raise AssertionError(f"{self.name} exited with {self.state()['ExitCode']}:\n{self.logs()[-4000:]}")
        if now > self.started_at + budget:
            raise AssertionError(f"{self.name} was not ready within {budget:.0f} s:\n{self.logs()[-4000:]}")
        return False

    def pid(self) -> int:
        """The container's first process, as the machine sees it."""
        return int(self.state()["Pid"])

    def memory_kib(self) -> dict[str, int]:
        """Resident memory of the pod's process now (``VmRSS``) and at its peak so far (``VmHWM``), in KiB."""
        status = Path(f"/proc/{self.pid()}/status").read_text()
        return {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]
                for key in ("VmRSS", "VmHWM")}  # fmt: skip

    def kill(self) -> None:
        """SIGKILL, as when its node dies: no grace period, no clean shutdown."""
        podman("kill", "--signal", "KILL", self.name)
        podman("wait", self.name, timeout=60)

    def exec(self, *command: str, timeout: float = 120, check: bool = True) -> str:
        """``kubectl exec``: a command in the running pod, with its environment; its standard output."""
        return podman("exec", self.name, *command, timeout=timeout, check=check)

    def logs(self) -> str:
        done = podman("logs", self.name, check=False, timeout=60)
        return done


class Kubelet:
    """Runs pods of the rendered manifests with podman; removes every container it made when closed."""

    def __init__(self, manifests: Manifests, run_id: str, log_dir: Path) -> None:
        self.manifests = manifests
        self.run_id = run_id
        self.log_dir = log_dir
        self.pods: list[Pod] = []
        self._scratch = Path(tempfile.mkdtemp(prefix=f"jcp-kubelet-{run_id}-"))
        self._counts: dict[str, int] = {}
        remove_orphans()

    # -- workloads

    def start_deployment(self, name: str, replicas: int | None = None) -> list[Pod]:
        """Start the Deployment's replicas (its own count unless given); they are not ready yet."""
        deployment = self.manifests.of_kind("Deployment")[name]
        count = deployment["spec"].get("replicas", 1) if replicas is None else replicas
        return [self.start_pod(deployment) for _ in range(count)]

    def start_deployments(self, names: Iterable[str]) -> list[Pod]:
        """Start every replica of the named Deployments, one right after the other, as an apply does."""
        return [pod for name in names for pod in self.start_deployment(name)]

    def run_jobs(self, workloads: Iterable[dict[str, Any]]) -> list[Pod]:
        """Run Jobs (or a CronJob's job template, as ``kubectl create job --from``) side by side, each to
        completion: a failed pod is replaced up to ``backoffLimit`` times within ``activeDeadlineSeconds``.
        The pods that succeeded; AssertionError naming every job that did not."""
        running: dict[str, tuple[dict[str, Any], Pod, int, float]] = {}
        for workload in workloads:
            spec = job_spec(workload)
            _only(spec, {"template", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"}, "Job spec")
            deadline = time.monotonic() + spec.get("activeDeadlineSeconds", 3600)
            running[workload["metadata"]["name"]] = (workload, self.start_pod(workload), 0, deadline)
        succeeded, failed = [], []
        while running:
            time.sleep(PROBE_INTERVAL * 4)
            for name, (workload, pod, retries, deadline) in list(running.items()):
                state = pod.state()
                if state["Running"] and time.monotonic() < deadline:
                    continue
                del running[name]
                if not state["Running"] and state["ExitCode"] == 0:
                    succeeded.append(pod)
                elif (
                    not state["Running"]
                    and retries < job_spec(workload).get("backoffLimit", 6)
                    and (time.monotonic() < deadline)
                ):
                    running[name] = (workload, self.start_pod(workload), retries + 1, deadline)
                else:
                    failed.append(f"job {name}: {pod.name} ended with {state['ExitCode']}:\n{pod.logs()[-3000:]}")
        assert not failed, "\n".join(failed)
        return succeeded

    def stop(self, pods: list[Pod]) -> dict[str, int]:
        """SIGTERM to every pod at once, SIGKILL after each one's grace period, as a rollout does; exit codes."""
        grace = max(pod.grace_seconds for pod in pods)
        began = datetime.datetime.now(datetime.UTC)
        podman("stop", "--time", str(grace), *[pod.name for pod in pods], timeout=grace + 120)
        exit_codes = {}
        for pod in pods:
            state = pod.state()
            exit_codes[pod.name] = int(state["ExitCode"])
            pod.stopped_after = (_timestamp(state["FinishedAt"]) - began).total_seconds()
        return exit_codes

    def start_pod(self, workload: dict[str, Any]) -> Pod:
        """Create and start one pod of ``workload`` (detached)."""
        workload_name = workload["metadata"]["name"]
        index = self._counts[workload_name] = self._counts.get(workload_name, 0) + 1
        name = f"jcp-{self.run_id}-{workload_name}-{index}"
        spec = pod_spec(workload)
        arguments, container = self.podman_arguments(name, spec)
        started_at = time.monotonic()
        podman("run", "--detach", *arguments, timeout=120)
        pod = Pod(name, workload_name, container, int(spec.get("terminationGracePeriodSeconds", 30)), started_at)
        published = podman("port", name).splitlines()
        for line in published:  # "9100/tcp -> 127.0.0.1:41234"
            container_side, _, host_side = line.partition(" -> ")
            pod.host_ports[int(container_side.split("/")[0])] = int(host_side.rsplit(":", 1)[1])
        self.pods.append(pod)
        return pod

    # -- the translation of one pod spec

    def podman_arguments(self, name: str, spec: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        """``podman run`` arguments for a pod of one container, and that container's spec."""
        _only(spec, POD_FIELDS, "pod spec")
        if spec.get("automountServiceAccountToken", True) or spec.get("enableServiceLinks", True):
            raise PodRefused("pods are expected without a service account token and service links")
        (container,) = spec["containers"]
        _only(container, CONTAINER_FIELDS, "container")
        pod_security = dict(spec.get("securityContext", {}))
        security = {**pod_security, **container.get("securityContext", {})}
        _only(security, SECURITY_FIELDS, "securityContext")
        environment = self.environment(container)
        arguments = [
            "--name", name, "--hostname", name, "--pull", "never", "--network", NETWORK,
            "--label", f"{LABEL_RUN}={self.run_id}", "--label", f"{LABEL_OWNER}={os.getpid()}",
            "--stop-timeout", str(spec.get("terminationGracePeriodSeconds", 30)),
            *self._security_arguments(security), *self._resource_arguments(container.get("resources", {})),
            *self._volume_arguments(name, spec, container), *self._port_arguments(container),
            "--env-file", str(self._env_file(name, environment)),
        ]  # fmt: skip
        command = [expand(part, environment) for part in container.get("command", [])]
        args = [expand(part, environment) for part in container.get("args", [])]
        if command:
            arguments += ["--entrypoint", json.dumps(command)]
        return [*arguments, container["image"], *args], container

    def environment(self, container: dict[str, Any]) -> dict[str, str]:
        """The container's variables: ``envFrom`` first, then ``env`` (which wins), ``$(VAR)`` expanded."""
        values: dict[str, str] = {}
        for source in container.get("envFrom", []):
            _only(source, {"configMapRef", "secretRef"}, "envFrom")
            kind, reference = next(iter(source.items()))
            found = self._source(kind, reference["name"], reference.get("optional", False))
            values.update(found or {})
        for item in container.get("env", []):
            _only(item, {"name", "value", "valueFrom"}, "env")
            if "value" in item:
                values[item["name"]] = expand(str(item["value"]), values)
                continue
            (kind, reference), *rest = item["valueFrom"].items()
            if rest or kind not in {"secretKeyRef", "configMapKeyRef"}:
                raise PodRefused(f"env {item['name']}: only secretKeyRef and configMapKeyRef are supported")
            found = self._source(kind, reference["name"], reference.get("optional", False))
            if found is not None and reference["key"] in found:
                values[item["name"]] = found[reference["key"]]
            elif not reference.get("optional", False):
                raise PodRefused(f"env {item['name']}: {reference['name']} has no key {reference['key']}")
        return values

    def _source(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        found = self.manifests.config_map(name) if kind.startswith("configMap") else self.manifests.secret(name)
        if found is None and not optional:
            raise PodRefused(f"{kind} {name} is not among the rendered documents")
        return found

    def _security_arguments(self, security: dict[str, Any]) -> list[str]:
        user, group = security.get("runAsUser"), security.get("runAsGroup")
        if security.get("runAsNonRoot") and not user:
            raise PodRefused("runAsNonRoot needs a numeric runAsUser other than 0 here")
        arguments = ["--user", f"{user}:{group}" if group is not None else str(user)] if user is not None else []
        if "fsGroup" in security:
            arguments += ["--group-add", str(security["fsGroup"])]
        if security.get("readOnlyRootFilesystem"):
            # Only the declared volumes are writable: podman's own tmpfs on /tmp, /run and /var/tmp stays off.
            arguments += ["--read-only", "--read-only-tmpfs=false"]
        if security.get("allowPrivilegeEscalation") is False:
            arguments += ["--security-opt", "no-new-privileges"]
        capabilities = security.get("capabilities", {})
        _only(capabilities, {"drop", "add"}, "capabilities")
        arguments += [f"--cap-drop={item}" for item in capabilities.get("drop", [])]
        arguments += [f"--cap-add={item}" for item in capabilities.get("add", [])]
        seccomp = security.get("seccompProfile", {"type": "RuntimeDefault"})
        if seccomp != {"type": "RuntimeDefault"}:
            raise PodRefused(f"seccomp profile {seccomp} is not supported here (the runtime's default is)")
        return arguments

    @staticmethod
    def _resource_arguments(resources: dict[str, Any]) -> list[str]:
        _only(resources, {"requests", "limits"}, "resources")
        limits, requests = resources.get("limits", {}), resources.get("requests", {})
        arguments = []
        if "memory" in limits:
            arguments += ["--memory", str(memory_bytes(limits["memory"]))]
        if "cpu" in limits:
            arguments += ["--cpus", str(cpu_cores(limits["cpu"]))]
        if "cpu" in requests:  # as the kubelet maps a CPU request: 1024 shares per core
            arguments += ["--cpu-shares", str(max(2, int(cpu_cores(requests["cpu"]) * 1024)))]
        return arguments

    def _volume_arguments(self, name: str, spec: dict[str, Any], container: dict[str, Any]) -> list[str]:
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        arguments = []
        for mount in container.get("volumeMounts", []):
            _only(mount, {"name", "mountPath", "readOnly"}, "volumeMount")
            volume = volumes[mount["name"]]
            _only(volume, {"name", "emptyDir", "configMap"}, "volume")
            if "emptyDir" in volume:
                empty_dir = volume["emptyDir"] or {}
                _only(empty_dir, {"medium", "sizeLimit"}, "emptyDir")
                options = ["rw", "mode=1777"]
                if "sizeLimit" in empty_dir:
                    options.append(f"size={memory_bytes(empty_dir['sizeLimit'])}")
                if empty_dir.get("medium") != "Memory":
                    raise PodRefused("only emptyDir volumes in memory are supported here")
                arguments += ["--tmpfs", f"{mount['mountPath']}:{','.join(options)}"]
            else:
                reference = volume["configMap"]
                _only(reference, {"name", "optional"}, "configMap volume")
                files = self._source("configMapRef", reference["name"], reference.get("optional", False)) or {}
                folder = self._scratch / name / mount["name"]
                folder.mkdir(parents=True)
                for key, value in files.items():
                    (folder / key).write_text(value)
                    (folder / key).chmod(0o644)
                folder.chmod(0o755)
                arguments += ["--volume", f"{folder}:{mount['mountPath']}:ro"]
        return arguments

    @staticmethod
    def _port_arguments(container: dict[str, Any]) -> list[str]:
        ports = {port["containerPort"] for port in container.get("ports", [])}
        for kind in ("startup", "liveness", "readiness"):
            port = container.get(f"{kind}Probe", {}).get("httpGet", {}).get("port")
            if isinstance(port, int):
                ports.add(port)
        return [argument for port in sorted(ports) for argument in ("--publish", f"127.0.0.1::{port}")]

    def _env_file(self, name: str, environment: dict[str, str]) -> Path:
        """The variables in a file only root can read (never on a command line, where ``ps`` shows them)."""
        path = self._scratch / f"{name}.env"
        for variable, value in environment.items():
            if "\n" in value:
                raise PodRefused(f"{variable}: a value with a line break cannot go through an env file")
        path.write_text("".join(f"{variable}={value}\n" for variable, value in environment.items()))
        path.chmod(0o600)
        return path

    # -- the end

    def close(self) -> None:
        """Keep every pod's log under ``log_dir``, then remove the pods and the scratch folder."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for pod in self.pods:
            (self.log_dir / f"{pod.name}.log").write_text(pod.logs())
        if self.pods:
            podman("rm", "--force", "--time", "0", *[pod.name for pod in self.pods], check=False, timeout=300)
        shutil.rmtree(self._scratch, ignore_errors=True)


def _timestamp(text: str) -> datetime.datetime:
    """podman's time stamps carry nanoseconds, which datetime does not take."""
    match = re.fullmatch(r"(.+?\.\d{1,6})\d*(Z|[+-]\d\d:\d\d)", text) or re.fullmatch(r"(.+?)(Z|[+-]\d\d:\d\d)", text)
    assert match, text
    zone = "+00:00" if match.group(2) == "Z" else match.group(2)
    return datetime.datetime.fromisoformat(match.group(1) + zone)


def wait_until_ready(pods: list[Pod]) -> None:
    """Probe every starting pod in turn until all are ready (each bounded by its own probes)."""
    pending = list(pods)
    while pending := [pod for pod in pending if not pod.check_ready()]:
        time.sleep(PROBE_INTERVAL)


def expand(text: str, environment: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: a defined variable is replaced, ``$$`` escapes, the rest stays."""
    return re.sub(
        r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda match: "$" if match.group(0) == "$$" else environment.get(match.group(1), match.group(0)),
        text,
    )


def remove_orphans() -> None:
    """Remove the pods of earlier test runs whose pytest process is gone (a run that was killed)."""
    try:
        listed = podman("ps", "--all", "--filter", f"label={LABEL_OWNER}", "--format", "json")
    except PodmanError:
        return
    orphans = [entry["Names"][0] for entry in json.loads(listed or "[]")
               if not Path(f"/proc/{entry['Labels'][LABEL_OWNER]}").exists()]  # fmt: skip
    if orphans:
        podman("rm", "--force", "--time", "0", *orphans, check=False, timeout=300)


def _only(mapping: dict[str, Any], known: set[str], what: str) -> None:
    unknown = set(mapping) - known
    if unknown:
        raise PodRefused(f"{what} has fields this kubelet does not run as Kubernetes would: {sorted(unknown)}")
