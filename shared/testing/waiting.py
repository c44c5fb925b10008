"""Waiting in tests: poll, bounded, for exactly what is about to be asserted (never sleep and hope)."""

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shared.servers import log_tail

T = TypeVar("T")

# A net under the CPU budget of ``wait_for_process``, for a child that hangs without using the CPU.
PROCESS_WALL_LIMIT = 600.0


def wait_until(condition: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1) -> T:
    """The first truthy answer of ``condition``; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (answer := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
    assert answer is not None  # truthy, so never None: for the type checker
    return answer


def wait_for_process(
    process: "subprocess.Popen[bytes]",
    condition: Callable[[], T | None],
    cpu_seconds: float,
    what: str,
    log_path: Path | None = None,
    interval: float = 0.2,
) -> T:
    """The first truthy answer of ``condition`` while ``process`` works towards it.

    The bound is the CPU time the process (with its children) has used, not the wall clock: on a loaded
    machine a child that needs 5 s of CPU to import and start may take a minute to get them.
    AssertionError, with the tail of ``log_path``, if the process exits first, uses ``cpu_seconds``
    without getting there, or hangs idle for ``PROCESS_WALL_LIMIT`` seconds.
    """
    started = time.monotonic()
    while not (answer := condition()):
        returncode = process.poll()
        if returncode is not None:
            raise AssertionError(f"the process exited with code {returncode} before {what}{_tail(log_path)}")
        used = cpu_time(process.pid)
        if used > cpu_seconds or time.monotonic() - started > PROCESS_WALL_LIMIT:
            raise AssertionError(
                f"gave up waiting for {what} after {used:.1f} s of the process's CPU time and "
                f"{time.monotonic() - started:.0f} s on the clock{_tail(log_path)}"
            )
        time.sleep(interval)
    assert answer is not None  # truthy, so never None: for the type checker
    return answer


def cpu_time(pid: int) -> float:
    """CPU seconds (user and system) of a process and all its children, live or ended; 0 once it is gone.

    A child that ended counts once its parent has waited for it (``cutime``); a live one by its own entry.
    """
    table = _process_table()
    if pid not in table:
        return 0.0
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    family, ticks = [pid], 0
    while family:
        member = family.pop()
        ticks += table[member][1]
        family.extend(children.get(member, []))
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, clock ticks of its own and its waited-for children's CPU time), from ``/proc``."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        # After the command name: ppid is field 4, utime, stime, cutime and cstime fields 14 to 17 (proc(5)).
        table[int(entry.name)] = (int(fields[1]), sum(int(ticks) for ticks in fields[11:15]))
    return table


def _tail(log_path: Path | None) -> str:
    return "" if log_path is None else f"; last lines of {log_path}:\n{log_tail(log_path, 30)}"
