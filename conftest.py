"""Root conftest: eventlet first (as in ``shared.run``), then the shared fixtures for every test."""

import os

# psycopg reads this when it is imported; under eventlet it must wait with select, not block the hub.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import warnings  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning, module="eventlet")

pytest_plugins = ["shared.testing.fixtures", "shared.testing.services", "shared.testing.tokens"]
