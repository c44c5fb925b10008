"""`make test` runs every part even when one fails, and fails when any part failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shared.config import REPOSITORY_ROOT


def make_test(tmp_path: Path, **parts: str) -> subprocess.CompletedProcess[str]:
    """`make test` with its three parts replaced by commands that leave a mark and end as given."""
    overrides = []
    for part in PARTS:
        ending = parts.get(part, "true")
        overrides.append(f"{part}=touch {tmp_path / part} && {ending}")
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "test", *overrides],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


PARTS = ("TEST_LINT", "TEST_SYSTEM", "TEST_SERVICES", "TEST_BROWSER")
NAMES = {"TEST_LINT": "lint", "TEST_SYSTEM": "system-tests", "TEST_SERVICES": "service-tests",
         "TEST_BROWSER": "browser-tests"}  # fmt: skip


def marks(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in tmp_path.iterdir())


def test_every_part_runs_and_make_test_passes_when_all_pass(tmp_path):
    done = make_test(tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    assert marks(tmp_path) == sorted(PARTS)


@pytest.mark.parametrize("failing", PARTS)
def test_a_failing_part_lets_the_others_run_and_fails_make_test(tmp_path, failing):
    done = make_test(tmp_path, **{failing: "false"})
    assert done.returncode != 0
    assert marks(tmp_path) == sorted(PARTS)
    assert f"make test failed: {NAMES[failing]}" in done.stderr


def test_when_every_test_part_fails_each_is_named_and_its_output_shown(tmp_path):
    # The system side says its word late: a side's output that escaped its log would come first.
    done = make_test(
        tmp_path,
        TEST_SYSTEM="sleep 0.5 && echo system said && false",
        TEST_SERVICES="echo services said && false",
        TEST_BROWSER="echo browser said && false",
    )
    assert done.returncode != 0
    assert "make test failed: system-tests service-tests browser-tests" in done.stderr
    assert ["system said", "services said", "browser said"] == [
        line for line in done.stdout.splitlines() if line.endswith(" said")
    ]


def test_the_system_tests_run_beside_the_service_and_browser_tests(tmp_path):
    # Each side waits (10 s at most) for a mark of the other: one after the other, one of them would fail.
    def waits_for(mark: str) -> str:
        return f'timeout 10 sh -c "until [ -e {tmp_path / mark} ]; do sleep 0.1; done"'

    system = f"{waits_for('services-began')} && touch {tmp_path / 'system-saw'}"
    services = f"touch {tmp_path / 'services-began'} && {waits_for('system-saw')}"
    done = make_test(tmp_path, TEST_SYSTEM=system, TEST_SERVICES=services)
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_parts_left_as_they_are_run_lint_pytest_and_the_browser_tests():
    """What `make test` runs when nothing is replaced (GNU make's built-in LINT = lint once took a name's place)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"], cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr + done.stdout
    recipe = done.stdout
    assert "make --no-print-directory lint ||" in recipe
    assert ".venv/bin/python -m pytest tests ||" in recipe
    assert "{ .venv/bin/python -m pytest shared services; } >" in recipe
    assert "{ PORTAL_BROWSER_TESTS=1 .venv/bin/python -m pytest tests/browser; } >" in recipe
