"""Root conftest: eventlet first (as in ``shared.run``), then the shared fixtures for every test.

Browser tests (``tests/browser``) run in a pytest process of their own with ``PORTAL_BROWSER_TESTS=1``:
Playwright's synchronous API hangs under eventlet's monkey patching, and they need none of it, since
they drive the whole system in separate processes. ``make test`` runs them after the service tests,
beside the system tests (Makefile).
"""

import os
from pathlib import Path

# psycopg reads this when it is imported; under eventlet it must wait with select, not block the hub.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

BROWSER_RUN = os.environ.get("PORTAL_BROWSER_TESTS") == "1"
BROWSER_TESTS = Path(__file__).parent / "tests" / "browser"

if not BROWSER_RUN:
    import eventlet

    eventlet.monkey_patch()

import warnings  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")

import signal  # noqa: E402

# `make test` runs some tests in the background of a non-interactive shell, which starts them with SIGINT
# ignored; every process a test starts would inherit that, and a test's Ctrl-C (SIGINT) to a system it
# started (of this code or an older release's) would go unheard. A handler is reset to the default at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

if not BROWSER_RUN:
    from shared.messaging import quick_consumer_stops  # noqa: E402

    # Services started in this process stop as quickly as those of shared.run (seconds per test).
    quick_consumer_stops()

pytest_plugins = ["shared.testing.fixtures", "shared.testing.services", "shared.testing.tokens"]


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Each process collects only its own tests: the browser run the browser tests, the main run the rest."""
    inside = collection_path == BROWSER_TESTS or BROWSER_TESTS in collection_path.parents
    if BROWSER_RUN:
        holds = collection_path in BROWSER_TESTS.parents
        return None if inside or holds else True
    return True if inside else None
