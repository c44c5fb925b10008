"""`make test` runs every part even when one fails, and fails when any part failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.config import REPOSITORY_ROOT


def make_test(tmp_path: Path, **parts: str) -> subprocess.CompletedProcess[str]:
    """`make test` with its three parts replaced by commands that leave a mark and end as given."""
    overrides = []
    for part in ("TEST_LINT", "TEST_MAIN", "TEST_BROWSER"):
        ending = parts.get(part, "true")
        overrides.append(f"{part}=touch {tmp_path / part} && {ending}")
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "test", *overrides],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def marks(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in tmp_path.iterdir())


def test_every_part_runs_and_make_test_passes_when_all_pass(tmp_path):
    done = make_test(tmp_path)
    assert done.returncode == 0, done.stderr
    assert marks(tmp_path) == ["TEST_BROWSER", "TEST_LINT", "TEST_MAIN"]


@pytest.mark.parametrize("failing", ["TEST_LINT", "TEST_MAIN", "TEST_BROWSER"])
def test_a_failing_part_lets_the_others_run_and_fails_make_test(tmp_path, failing):
    done = make_test(tmp_path, **{failing: "false"})
    assert done.returncode != 0
    assert marks(tmp_path) == ["TEST_BROWSER", "TEST_LINT", "TEST_MAIN"]
    named = {"TEST_LINT": "lint", "TEST_MAIN": "main-tests", "TEST_BROWSER": "browser-tests"}[failing]
    assert f"make test failed: {named}" in done.stderr


def test_when_the_main_tests_and_the_browser_tests_fail_both_are_named(tmp_path):
    done = make_test(tmp_path, TEST_MAIN="false", TEST_BROWSER="false")
    assert done.returncode != 0
    assert "make test failed: main-tests browser-tests" in done.stderr


def test_the_parts_left_as_they_are_run_lint_pytest_and_the_browser_tests():
    """What `make test` runs when nothing is replaced (GNU make's built-in LINT = lint once took a name's place)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    recipe = done.stdout
    assert "make --no-print-directory lint ||" in recipe
    assert ".venv/bin/python -m pytest ||" in recipe
    assert "PORTAL_BROWSER_TESTS=1 .venv/bin/python -m pytest tests/browser ||" in recipe
