"""Hunt flaky tests: run the suite again and again, under load if asked, and keep what each run said.

``make soak`` runs ``make test`` ``--full`` times, then each timing-sensitive folder ``--times`` times, with
``--load`` busy processes beside them (one per core: the machine as loaded as a shared CI runner). Each run's
output is kept under ``run/soak/<start>/``; ``summary.md`` there lists every run with its result, its
duration and the tests that failed, so a failure seen once can be read in full afterwards.

    make soak                                              # 5 full runs, then 10 of each folder, loaded
    .venv/bin/python -m shared.testing.soak --full 0 --folders tests/browser --times 3 --load 0
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

FOLDERS = ("tests/reliability", "tests/e2e", "tests/security", "tests/browser")
FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)", re.MULTILINE)


def _busy() -> None:
    while True:
        pass


@contextmanager
def load(processes: int) -> Iterator[None]:
    """``processes`` processes that keep a core busy each, for as long as the block runs."""
    hogs = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(processes)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.terminate()
            hog.join()


def command_for(target: str) -> list[str]:
    if target == "make test":
        return ["make", "--no-print-directory", "test"]
    python = sys.executable
    if target == "tests/browser":
        return ["env", "PORTAL_BROWSER_TESTS=1", python, "-m", "pytest", "-q", "-p", "no:cacheprovider", target]
    return [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", target]


def run_once(target: str, log: Path) -> tuple[bool, float, list[str]]:
    """Run ``target`` once, its output into ``log``; (green, seconds, failed test ids)."""
    started = time.monotonic()
    with log.open("w") as out:
        finished = subprocess.run(command_for(target), stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    failed = FAILED_LINE.findall(log.read_text(errors="replace"))
    return finished.returncode == 0, seconds, [f"{kind} {test}" for kind, test in failed]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=int, default=5, help="full `make test` runs (default 5)")
    parser.add_argument("--folders", nargs="*", default=list(FOLDERS), help="timing-sensitive folders")
    parser.add_argument("--times", type=int, default=10, help="runs of each folder (default 10)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 2, help="busy processes beside the runs")
    parser.add_argument("--out", type=Path, default=Path("run/soak"))
    options = parser.parse_args(argv)

    folder = options.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True)
    summary = folder / "summary.md"
    summary.write_text(
        f"# Soak of {folder.name}\n\nbusy processes beside the folder runs: {options.load}\n\n"
        "| run | result | seconds | failed |\n|---|---|---|---|\n"
    )
    plan = [("make test", number, 0) for number in range(1, options.full + 1)]
    plan += [(target, number, options.load) for target in options.folders for number in range(1, options.times + 1)]
    red = 0
    for target, number, busy in plan:
        name = f"{target.replace('/', '_').replace(' ', '_')}-{number}"
        with load(busy):
            green, seconds, failed = run_once(target, folder / f"{name}.log")
        red += not green
        line = f"| {name} | {'green' if green else 'RED'} | {seconds:.0f} | {'; '.join(failed)} |"
        with summary.open("a") as out:
            out.write(line + "\n")
        print(line, flush=True)
    print(f"{len(plan) - red} of {len(plan)} runs green; details in {summary}")
    return 1 if red else 0


if __name__ == "__main__":
    sys.exit(main())
