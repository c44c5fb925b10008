"""What ``make test`` needs from Debian besides Python: ``python -m shared.testing.machine`` installs what is missing.

As root it installs the missing packages with apt (once; nothing when all are there). Otherwise it names
the command to run and fails, so that no test fails later for a reason that has nothing to do with it.
PostgreSQL is not among them: the tests expect the machine's server with trust on 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shared.servers import apt_install

# Debian package → a file it installs, by which we see that it is there.
PACKAGES = {
    "chromium": "/usr/bin/chromium",  # the browser tests (Playwright drives Debian's Chromium)
    "clamav-daemon": "/usr/sbin/clamd",  # the virus scanner the documents service talks to
    "rabbitmq-server": "/usr/sbin/rabbitmq-server",  # the broker, when the machine has none
    "podman": "/usr/bin/podman",  # tests/container: the image built and run
    "runc": "/usr/sbin/runc",  # podman's runtime there (crun fails on hybrid cgroups)
    "slirp4netns": "/usr/bin/slirp4netns",  # a network namespace per pod that reaches the host's loopback
    "debootstrap": "/usr/sbin/debootstrap",  # the Debian base of the image when no registry is reachable
    "poppler-utils": "/usr/bin/pdftotext",  # what a PDF reads as text (receipts, letters) in the tests
}


def missing() -> list[str]:
    return [package for package, path in PACKAGES.items() if not Path(path).exists()]


def main() -> int:
    lacking = missing()
    if not lacking:
        return 0
    if os.geteuid() != 0:
        print(f"make test needs: apt-get install {' '.join(lacking)}  (run it as root, or make test as root)")
        return 1
    print(f"[machine] installing {' '.join(lacking)}", flush=True)
    apt_install(*lacking)
    return 0


if __name__ == "__main__":
    sys.exit(main())
