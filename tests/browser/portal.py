"""What browser tests share: the running portal, accounts, screenshots and the axe check."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from shared.config import REPOSITORY_ROOT
from tests.support import DEMO_CITIZEN, DEMO_PASSWORD, RunningSystem, ServiceProcess

PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_AXE = Axe()


class Portal:
    """The system of ``make run`` for one browser test package, with its demo accounts."""

    def __init__(self, system: RunningSystem, run_dir: Path) -> None:
        self.system = system
        self.run_dir = run_dir
        self.base_url = f"http://127.0.0.1:{system.port}"

    def totp_secret(self, email: str) -> str:
        """The TOTP secret ``make run`` printed for a demo account."""
        found = re.search(re.escape(email) + r".*?\n\s+TOTP secret (\w+)", self.system.text())
        assert found, f"make run printed no TOTP secret for {email}"
        return found.group(1)

    def totp(self, email: str) -> str:
        return pyotp.TOTP(self.totp_secret(email)).now()

    def identity_cli(self, *arguments: str) -> str:
        """Runs identity's operator CLI with the identity process's own settings; returns what it printed."""
        identity = ServiceProcess.find(self.run_dir, "shared.run", "identity")
        done = subprocess.run(  # noqa: S603 - our own CLI with our own arguments
            [sys.executable, "-m", "services.identity.cli", *arguments],
            cwd=REPOSITORY_ROOT, env=identity.environ, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return done.stdout


DEMO = {"citizen": DEMO_CITIZEN, "password": DEMO_PASSWORD}


class Screenshots:
    """Numbered full-page screenshots of one test's steps, kept under test-artifacts/screenshots/."""

    def __init__(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.folder = folder
        self.count = 0

    def take(self, page: Page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def take_pdf(self, document: bytes, step: str) -> Path:
        """The first page of a PDF the portal gave (a receipt) as an image, with poppler's pdftoppm."""
        self.count += 1
        stem = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}"
        subprocess.run(  # noqa: S603, S607 - poppler's tool with our own arguments
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-singlefile", "-", str(stem)], input=document, check=True
        )
        return stem.with_suffix(".png")


def assert_accessible(page: Page) -> None:
    """axe-core finds no violation of WCAG 2.1 A/AA on the page as it is now."""
    result = _AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
    violations = result.response["violations"]
    summary = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in violations
    ]
    assert not violations, f"axe found violations on {page.url}:\n{json.dumps(summary, indent=1)}"


def log_in(page: Page, email: str, password: str, code: str) -> None:
    """The login form with password, then the second-factor form with a TOTP code."""
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Weiter").click()
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(code)
    page.get_by_role("button", name="Anmelden").click()
