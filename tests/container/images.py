"""The portal's image for the container tests: built from ``deploy/Containerfile``, kept in podman's storage.

No container registry is reachable from our machines, so the Containerfile's default base
(``python:3.11-slim``) cannot be pulled. The tests build a base of their own from Debian packages instead:
``debootstrap --variant=minbase bookworm`` (whose Python is 3.11), ``python3.11``, ``python3.11-venv`` and
``ca-certificates`` installed in the chroot, imported with ``podman import``. Both images are tagged with a
digest of their inputs, so a later run (or CI on the same machine) builds only when an input changed.
Package downloads may pass a TLS-intercepting proxy: the host's CA bundle is handed to the build as a
secret (``--secret id=ca-bundle``), which no layer keeps.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shared.config import REPOSITORY_ROOT

CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
CONTAINERFILE = REPOSITORY_ROOT / "deploy" / "Containerfile"
IMAGE_REPOSITORY = "localhost/jobcenter-portal"
BASE_REPOSITORY = "localhost/jobcenter-portal-base"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_PACKAGES = ("python3.11", "python3.11-venv", "ca-certificates")
# What the base drops after installing: package caches, documentation, translations (as slim images do).
BASE_CLEANUP = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info",
                "usr/share/locale", "etc/resolv.conf", "debootstrap")  # fmt: skip
# The parts of the repository the Containerfile copies; a change anywhere else keeps the image.
IMAGE_INPUTS = ("deploy/Containerfile", ".containerignore", "pyproject.toml", "requirements.lock", "shared", "services")
SKIPPED_FOLDERS = {"__pycache__", "tests", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
KEEP_IMAGES = 4
BUILD_LOCK = Path(tempfile.gettempdir()) / "jobcenter-portal-image-build.lock"


class PodmanError(RuntimeError):
    """A podman command failed; the message holds its output."""


def podman(*arguments: str, timeout: float = 120, check: bool = True, input_bytes: bytes | None = None) -> str:
    """Run ``podman`` with the tests' settings (runc, no ulimit changes); its standard output."""
    done = subprocess.run(
        ["podman", *arguments], input=input_bytes, capture_output=True, timeout=timeout, check=False,
        env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
    )  # fmt: skip
    if check and done.returncode != 0:
        raise PodmanError(
            f"podman {' '.join(arguments[:3])} ... failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
        )
    return done.stdout.decode(errors="replace")


def image_exists(reference: str) -> bool:
    return subprocess.run(
        ["podman", "image", "exists", reference], env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
        capture_output=True, check=False, timeout=60,
    ).returncode == 0  # fmt: skip


@dataclass(frozen=True)
class Image:
    reference: str
    size_bytes: int
    built_now: bool


def portal_image(log_dir: Path) -> Image:
    """The portal's image for the current sources, built (on the Debian base) only if podman lacks it."""
    with _build_lock():
        base = base_image(log_dir)
        reference = f"{IMAGE_REPOSITORY}:test-{_inputs_digest(base)}"
        built_now = not image_exists(reference)
        if built_now:
            log = podman(
                "build", "--file", str(CONTAINERFILE), "--build-arg", f"BASE_IMAGE={base}",
                "--secret", f"id=ca-bundle,src={ca_bundle()}", "--tag", reference, str(REPOSITORY_ROOT),
                timeout=1800,
            )  # fmt: skip
            (log_dir / "image-build.log").write_text(log)
            _remove_older_images(IMAGE_REPOSITORY, keep=reference)
    inspected = json.loads(podman("image", "inspect", reference))[0]
    return Image(reference, int(inspected["Size"]), built_now)


def base_image(log_dir: Path) -> str:
    """A Python 3.11 base made from Debian packages; debootstrapped only when its recipe changed."""
    recipe = json.dumps([DEBIAN_SUITE, BASE_PACKAGES, BASE_CLEANUP]).encode()
    reference = f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-{hashlib.sha256(recipe).hexdigest()[:12]}"
    if image_exists(reference):
        return reference
    for tool in ("debootstrap", "chroot", "tar"):
        if shutil.which(tool) is None:
            raise PodmanError(f"{tool} is needed to make the base image (make test installs debootstrap)")
    workdir = Path(tempfile.mkdtemp(prefix="jobcenter-portal-base-", dir="/var/tmp"))
    root = workdir / "root"
    log_path = log_dir / "base-image.log"
    try:
        with log_path.open("wb") as log:
            _run_logged(["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(root), DEBIAN_MIRROR], log)
            _run_logged(
                ["chroot", str(root), "apt-get", "install", "-y", "-q", "--no-install-recommends", *BASE_PACKAGES], log,
                env={"DEBIAN_FRONTEND": "noninteractive"},
            )  # fmt: skip
        for relative in BASE_CLEANUP:
            target = root / relative
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
                target.mkdir()
            else:
                target.unlink(missing_ok=True)
        shutil.rmtree(root / "debootstrap", ignore_errors=True)
        # The Containerfile calls `python`, as the official images name it.
        (root / "usr" / "bin" / "python").symlink_to("python3.11")
        archive = subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], capture_output=True, check=True, timeout=600
        ).stdout
        podman("import", "--change", 'CMD ["python3"]', "-", reference, input_bytes=archive, timeout=600)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _remove_older_images(BASE_REPOSITORY, keep=reference)
    return reference


def ca_bundle() -> Path:
    """The host's CA bundle (it holds the TLS proxy's CA where there is one)."""
    for candidate in (os.environ.get("SSL_CERT_FILE", ""), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise PodmanError("no CA bundle found (SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt)")


def _inputs_digest(base: str) -> str:
    digest = hashlib.sha256(base.encode())
    for relative in IMAGE_INPUTS:
        path = REPOSITORY_ROOT / relative
        files = [path] if path.is_file() else sorted(_image_files(path))
        for file in files:
            digest.update(str(file.relative_to(REPOSITORY_ROOT)).encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _image_files(folder: Path) -> Iterator[Path]:
    for entry in folder.iterdir():
        if entry.is_dir():
            if entry.name not in SKIPPED_FOLDERS:
                yield from _image_files(entry)
        elif entry.suffix != ".pyc":
            yield entry


def _remove_older_images(repository: str, keep: str) -> None:
    """Untag all but the newest few images of ``repository``; one still used by a container stays."""
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--sort", "created", repository)  # newest first
    references = [line for line in listed.split() if line != keep and not line.endswith(":<none>")]
    for reference in references[KEEP_IMAGES - 1 :]:
        podman("rmi", reference, check=False)
    # Builds leave their build stage untagged: the newest holds the dependency layers the next build reuses.
    podman("image", "prune", "--force", "--filter", "until=1h", check=False, timeout=600)


def _run_logged(command: list[str], log: BinaryIO, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        command, stdout=log, stderr=subprocess.STDOUT, timeout=1800, check=False, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise PodmanError(f"{' '.join(command[:3])} ... failed ({done.returncode}); see {log.name}")


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time on this machine: parallel test runs wait for each other's image."""
    with BUILD_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
