"""wait_for_process: bounded by the child's own CPU time, and telling why it gave up."""

import subprocess
import sys

import pytest

from shared.testing.waiting import cpu_time, wait_for_process


def start(code: str, log_path) -> "subprocess.Popen[bytes]":
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)


def test_the_answer_of_the_condition_is_returned_once_it_holds(tmp_path):
    flag = tmp_path / "ready"
    child = start(
        f"import pathlib, time; pathlib.Path({str(flag)!r}).write_text('yes'); time.sleep(60)", tmp_path / "log"
    )
    try:
        answer = wait_for_process(child, lambda: flag.exists() and flag.read_text(), cpu_seconds=30, what="the flag")
        assert answer == "yes"
    finally:
        child.kill()
        child.wait()


def test_a_child_that_exits_first_is_reported_with_its_exit_code_and_output(tmp_path):
    child = start("import sys; print('port already in use'); sys.exit(3)", tmp_path / "log")
    with pytest.raises(AssertionError, match=r"(?s)exited with code 3 before the flag.*port already in use"):
        wait_for_process(child, lambda: False, cpu_seconds=30, what="the flag", log_path=tmp_path / "log")


def test_a_child_that_spends_its_cpu_budget_without_getting_there_is_given_up(tmp_path):
    child = start("while True: pass", tmp_path / "log")
    try:
        with pytest.raises(
            AssertionError, match=r"gave up waiting for the flag after \d+\.\d s of the process's CPU time"
        ):
            wait_for_process(child, lambda: False, cpu_seconds=0.5, what="the flag")
        assert cpu_time(child.pid) > 0.5
    finally:
        child.kill()
        child.wait()


def test_a_gone_process_has_used_no_cpu():
    assert cpu_time(2**22 + 1) == 0.0


def test_the_cpu_time_of_a_child_that_ended_still_counts():
    busy_child = "import time; end = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {busy_child!r}]); "
            "print('ended', flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == b"ended\n"
        assert cpu_time(parent.pid) > 0.5  # the parent alone used a tenth of that
    finally:
        parent.kill()
        parent.wait()
