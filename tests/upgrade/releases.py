"""The releases named in ``releases.toml``, materialised as source trees an older system runs from."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from shared.config import REPOSITORY_ROOT

RELEASES_FILE = Path(__file__).with_name("releases.toml")


def releases() -> dict[str, dict[str, str]]:
    """Each recorded release by its name (``previous``, ``older_read_model``): its commit and notes."""
    with RELEASES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def materialise(commit: str, destination: Path) -> Path:
    """The tree of ``commit`` in ``destination`` (``git archive``); fails, never skips, when history lacks it.

    CI runs on a full clone of main, so every recorded release is there; a shallow clone is a broken setup.
    """
    found = subprocess.run(
        ["git", "-C", str(REPOSITORY_ROOT), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    if found.returncode != 0:
        raise AssertionError(
            f"release commit {commit} (tests/upgrade/releases.toml) is not in this clone's history; "
            "the upgrade tests need a full clone (git fetch --unshallow)"
        )
    destination.mkdir(parents=True)
    # Through a file, not a pipe: under eventlet (the test process) a pipe between two children breaks.
    archive = destination.with_suffix(".tar")
    subprocess.run(["git", "-C", str(REPOSITORY_ROOT), "archive", "-o", str(archive), commit], check=True)
    subprocess.run(["tar", "-xf", str(archive), "-C", str(destination)], check=True)
    archive.unlink()
    return destination
