"""Browser tests: Debian's Chromium, driven by Playwright, against the whole system as ``make run`` starts it.

This package runs in a pytest process of its own (``PORTAL_BROWSER_TESTS=1``, see the root conftest).
One system serves the whole package; each test gets a fresh browser context (no cookies) and keeps a
screenshot of every step under ``test-artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from shared.config import REPOSITORY_ROOT
from tests.browser.portal import PHONE, Portal, Screenshots
from tests.support import LogMark, RunningSystem, processes_of

CHROMIUM = "/usr/bin/chromium"
# How long a step may take the loaded system: actions and locators (the context's default timeout) and the
# assertions of ``expect``, which have a default of their own (5 s): an upload of two photos, scanned and made
# one PDF, took longer once on a loaded machine, while the click before it would have waited 20 s.
STEP_TIMEOUT_MS = 20_000
expect.set_options(timeout=STEP_TIMEOUT_MS)
# The flags DESIGN.md gives: no sandbox as root, and nothing that reaches out to the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPOSITORY_ROOT / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory, amqp_uri: str) -> Iterator[Portal]:
    run_dir = tmp_path_factory.mktemp("browser") / "run"
    # Every browser logs in from 127.0.0.1: the package's logins would hit the per-address limit of
    # production (gateway's own tests check the limit).
    system = RunningSystem(run_dir, amqp_uri, {"GATEWAY_LOGIN_RATE_PER_MINUTE": "1000"})
    try:
        yield Portal(system, run_dir)
    finally:
        system.interrupt()
        for command in processes_of(run_dir):
            print("left behind:", command)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test's report ends with what the system logged at WARNING or worse while it ran."""
    report = yield
    mark = getattr(item, "log_mark", None)
    if report.failed and mark is not None:
        report.sections.append(("system log, WARNING and worse, during the test", mark.problems_since() or "(nothing)"))
    return report


@pytest.fixture(autouse=True)
def log_mark(request: pytest.FixtureRequest, portal: Portal) -> None:
    request.node.log_mark = LogMark(portal.run_dir)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def context(chromium: Browser, portal: Portal) -> Iterator[BrowserContext]:
    """A phone-sized browser with German settings and no cookies (mobile first)."""
    created = chromium.new_context(base_url=portal.base_url, locale="de-DE", accept_downloads=True, **PHONE)
    created.set_default_timeout(STEP_TIMEOUT_MS)
    yield created
    created.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    created = context.new_page()
    # File choosers are intercepted from the start. Playwright turns the interception on when the first
    # listener is added, without waiting for the browser to confirm it: a key pressed right after
    # expect_file_chooser() could reach the field first and open no chooser to wait for (#23).
    created.on("filechooser", lambda _chooser: None)
    return created


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    folder: Path = SCREENSHOTS / name
    return Screenshots(folder)
