"""The first acceptance scenario from the Jobcenter's side, in Chromium against the system of ``make run``.

The demo citizen of Treptow-Köpenick reports an Arbeitsaufnahme (set up through the JSON API in her own
browser session), the demo caseworker receives it, asks for the first payslip by a due date, the citizen
uploads it on the Nachweis page, the caseworker decides with a Bescheid PDF, and the citizen finds the
Bescheid in her Postfach with its delivery date. A caseworker of another Jobcenter neither sees nor opens
the case, on the pages or through the API. axe-core checks every staff page.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from services.documents.tests import samples
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.config import REPOSITORY_ROOT
from shared.dates import german_today
from tests.browser.portal import DEMO, DESKTOP, PHONE, Portal, Screenshots, assert_accessible
from tests.support import ServiceProcess

CASEWORKER = "sachbearbeitung@jc-treptow-koepenick.example"
ADMIN = "betrieb@portal.example"
API = "/api/v1"


def open_context(chromium: Browser, portal: Portal, device: dict[str, Any]) -> BrowserContext:
    context = chromium.new_context(base_url=portal.base_url, locale="de-DE", accept_downloads=True, **device)
    context.set_default_timeout(20_000)
    return context


TOTP_USED: dict[str, int] = {}  # the newest TOTP step this test used per secret


def log_in(page: Page, email: str, secret: str) -> None:
    """Password, then the current TOTP code (the next step's when another test used it just now).

    Identity refuses a code whose 30-second step was used already (±1 step is accepted). The gateway
    allows 10 login requests a minute per address and the whole browser suite logs in from 127.0.0.1:
    when it says 429, this waits and starts the login again.
    """
    deadline = time.monotonic() + 90
    while not _try_log_in(page, email, pyotp.TOTP(secret)):
        assert time.monotonic() < deadline, "the login stayed rate-limited"
        time.sleep(5)


def _submit(page: Page, button: str) -> int:
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button).click()
    response = navigation.value
    return response.status if response else 0


def _try_log_in(page: Page, email: str, totp: pyotp.TOTP) -> bool:
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort").fill(DEMO["password"])
    if _submit(page, "Weiter") == 429:
        return False
    for offset in (0, 30):
        moment = time.time() + offset
        page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp.at(moment))
        status = _submit(page, "Anmelden")
        if status == 429:
            return False
        if not page.url.endswith("/anmelden/code"):
            TOTP_USED[totp.secret] = totp.timecode(datetime.fromtimestamp(moment, UTC))
            return True
    raise AssertionError(f"the second factor was refused for {email}")


def leave_the_codes_to_others() -> None:
    """Wait until every TOTP step this test used lies in the past, so the next test's current code works."""
    newest = max(TOTP_USED.values(), default=0)  # every secret shares the same 30-second steps
    eventually(lambda: pyotp.TOTP(pyotp.random_base32()).timecode(datetime.now(UTC)) > newest, 70)


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    """Waits until ``check()`` is true (the system works through its events); fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the system did not get there in time"
        time.sleep(0.5)


class Api:
    """The JSON API in a browser context's own session (cookies shared with its pages)."""

    def __init__(self, page: Page) -> None:
        self.request = page.request
        session = self.request.get(f"{API}/session")
        assert session.ok, session.text()
        self.csrf = session.json()["csrf_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.request.fetch(API + path, method=method, headers=headers, **kwargs)


def submit_arbeitsaufnahme(api: Api) -> tuple[str, str]:
    """The citizen's Arbeitsaufnahme with the employment contract; returns the case id and receipt number."""
    case_id = api.call("POST", "/cases", data={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, answers in ARBEITSAUFNAHME.items():
        saved = api.call("PUT", f"/cases/{case_id}/sections/{section_id}", data=answers)
        assert saved.ok, saved.text()
    uploaded = api.call(
        "POST", f"/cases/{case_id}/documents?nachweis=arbeitsvertrag&filename=Arbeitsvertrag.pdf",
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert uploaded.status == 201, uploaded.text()
    submitted = api.call("POST", f"/cases/{case_id}/submit", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert submitted.ok, submitted.text()
    for channel in ("postfach_bescheide", "email_alerts"):  # the Bescheid digitally, with a delivery date
        assert api.call("PUT", f"/consents/{channel}", data={"granted": True}).ok
    return case_id, str(submitted.json()["receipt_number"])


def caseworker_elsewhere(portal: Portal) -> tuple[str, str]:
    """A caseworker of another Jobcenter with password and TOTP, made with identity's own operations.

    ``cli create-staff`` hands out a set-password link and leaves TOTP to the first login, which the
    pages do not offer yet; the operation behind it (as ``services/identity/demo.py`` uses) sets both.
    """
    email = f"sachbearbeitung.{secrets.token_hex(4)}@jc-dahme-spreewald.example"
    identity = ServiceProcess.find(portal.run_dir, "shared.run", "identity")
    script = (
        "import sys; from services.identity.operations import Identity; from shared.config import load_config\n"
        "identity = Identity.open(load_config('identity'))\n"
        "print(identity.create_account(sys.argv[1], 'caseworker', 'jc-0001', sys.argv[2], None, True)['secret'])\n"
        "identity.close()"
    )
    done = subprocess.run(  # noqa: S603 - our own operations with our own arguments
        [sys.executable, "-c", script, email, DEMO["password"]], cwd=REPOSITORY_ROOT, env=identity.environ,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return email, done.stdout.strip().splitlines()[-1]


def test_a_caseworker_of_treptow_koepenick_decides_the_arbeitsaufnahme_and_the_citizen_gets_the_bescheid(
    chromium: Browser, portal: Portal, screenshots: Screenshots
) -> None:
    citizen_context = open_context(chromium, portal, PHONE)
    staff_context = open_context(chromium, portal, DESKTOP)
    try:
        citizen = citizen_context.new_page()
        log_in(citizen, DEMO["citizen"], portal.totp_secret(DEMO["citizen"]))
        expect(citizen).to_have_url(re.compile(r"/uebersicht$"))
        case_id, receipt_number = submit_arbeitsaufnahme(Api(citizen))

        desk = staff_context.new_page()
        log_in(desk, CASEWORKER, portal.totp_secret(CASEWORKER))
        expect(desk).to_have_url(re.compile(r"/sachbearbeitung$"))
        expect(desk.get_by_role("heading", name="Posteingang", level=1)).to_be_visible()
        assert_accessible(desk)
        screenshots.take(desk, "inbox")

        def listed() -> bool:
            desk.goto("/sachbearbeitung?status=assigned")
            return desk.get_by_role("link", name=receipt_number).count() == 1

        eventually(listed)  # routing assigns the case to jc-0394 from the Berlin address
        assert_accessible(desk)
        screenshots.take(desk, "inbox filtered: new cases")
        desk.get_by_label("Eingangsnummer, Kundennummer oder Name").fill(receipt_number)
        desk.get_by_role("button", name="Anzeigen").click()
        expect(desk.get_by_role("link", name=receipt_number)).to_be_visible()

        desk.get_by_role("link", name=receipt_number).click()
        expect(desk.get_by_role("heading", level=1)).to_contain_text(receipt_number)
        expect(desk.get_by_text("Muster GmbH")).to_be_visible()
        expect(desk.locator("iframe[title^='Vorschau']")).to_have_count(1)
        assert_accessible(desk)
        screenshots.take(desk, "case page")

        desk.get_by_role("button", name="Als erhalten bestätigen").click()
        expect(desk.locator("#stand")).to_contain_text("Eingegangen")
        screenshots.take(desk, "received")

        desk.keyboard.press("u")  # the documented shortcut for "Unterlagen anfordern"
        expect(desk.get_by_role("heading", name="Unterlagen anfordern", level=1)).to_be_visible()
        assert_accessible(desk)
        desk.get_by_label("Erste Lohnabrechnung").check()
        desk.get_by_label("Frist").fill((german_today() - timedelta(days=1)).isoformat())
        desk.get_by_role("button", name="Unterlagen anfordern").click()
        expect(desk.locator(".error-summary")).to_contain_text("Die Frist muss in der Zukunft liegen.")
        assert_accessible(desk)
        screenshots.take(desk, "request documents: due date in the past")
        desk.get_by_label("Frist").fill((german_today() + timedelta(days=14)).isoformat())
        desk.get_by_label("Weitere Unterlagen oder Hinweis").fill("Bitte die erste Gehaltsabrechnung hochladen.")
        desk.get_by_role("button", name="Unterlagen anfordern").click()
        expect(desk.locator("#stand")).to_contain_text("Unterlagen angefordert")
        screenshots.take(desk, "documents requested")

        def request_in_the_postfach() -> bool:
            citizen.goto("/postfach")
            return citizen.get_by_text("Bitte reichen Sie Unterlagen nach").count() > 0

        eventually(request_in_the_postfach)  # what is needed, why, and where to upload it
        expect(citizen.locator("blockquote").first).to_have_text("Bitte die erste Gehaltsabrechnung hochladen.")
        screenshots.take(citizen, "citizen: document request in the Postfach")
        citizen.goto(f"/antraege/{case_id}")
        expect(citizen.get_by_role("heading", name="Ihr Jobcenter braucht noch Unterlagen")).to_be_visible()
        expect(citizen.locator("blockquote").first).to_have_text("Bitte die erste Gehaltsabrechnung hochladen.")
        screenshots.take(citizen, "citizen: document request on the case page")
        citizen.get_by_role("link", name="jetzt hochladen (Erste Lohnabrechnung)").click()
        expect(citizen.get_by_label("Welcher Nachweis?")).to_have_value("lohnabrechnung_erste")
        citizen.get_by_label("Datei").set_input_files(
            {"name": "Gehaltsabrechnung.pdf", "mimeType": "application/pdf", "buffer": samples.pdf()}
        )
        citizen.get_by_role("button", name="Hochladen").click()
        expect(citizen.get_by_text("Erste Lohnabrechnung: hochgeladen")).to_be_visible()
        screenshots.take(citizen, "citizen uploaded the payslip")

        desk.goto(f"/sachbearbeitung/faelle/{case_id}")
        expect(desk.get_by_role("heading", name="Erste Lohnabrechnung: liegt vor")).to_be_visible()
        desk.get_by_role("link", name="Entscheidung erfassen").click()
        expect(desk.get_by_role("heading", name="Entscheidung erfassen", level=1)).to_be_visible()
        assert_accessible(desk)
        desk.get_by_label("Änderungsbescheid", exact=True).check()  # a VÄM: the benefit changes
        desk.get_by_label("Bescheid oder Schreiben (PDF)").set_input_files(
            {"name": "Bescheid.pdf", "mimeType": "application/pdf", "buffer": samples.pdf()}
        )
        screenshots.take(desk, "decision form")
        desk.get_by_role("button", name="Entscheidung speichern und senden").click()
        expect(desk.locator("#stand")).to_contain_text("Entschieden")
        expect(desk.get_by_role("heading", name="Entscheidung", exact=True)).to_be_visible()
        assert_accessible(desk)
        screenshots.take(desk, "decided")

        def bescheid_delivered() -> bool:
            citizen.goto("/postfach")
            return citizen.get_by_text("Der Bescheid gilt als bekannt gegeben am").count() > 0

        eventually(bescheid_delivered)  # notify posts it and sends the alert, which fixes the delivery date
        expect(citizen.get_by_role("heading", name=re.compile("Ihr Bescheid ist da")).first).to_be_visible()
        with citizen.expect_download() as download:
            citizen.get_by_role("link", name="Bescheid herunterladen (PDF)").first.click()
        assert download.value.path().read_bytes() == samples.pdf()
        citizen.goto(f"/antraege/{case_id}")
        expect(citizen.get_by_text("Entschieden").first).to_be_visible()
        screenshots.take(citizen, "citizen: Bescheid in the Postfach")

        admin = staff_context.new_page()
        admin.context.clear_cookies()
        log_in(admin, ADMIN, portal.totp_secret(ADMIN))
        expect(admin).to_have_url(re.compile(r"/verwaltung/zugriffe$"))
        admin.goto(f"/verwaltung/zugriffe?vorgang={case_id}")
        expect(admin.locator("table").first).to_contain_text(case_id)
        expect(admin.locator("table").nth(1)).to_contain_text("download")
        assert_accessible(admin)
        screenshots.take(admin, "access record")
    finally:
        citizen_context.close()
        staff_context.close()

    stranger_context = open_context(chromium, portal, DESKTOP)
    try:
        email, secret = caseworker_elsewhere(portal)
        stranger = stranger_context.new_page()
        log_in(stranger, email, secret)
        expect(stranger).to_have_url(re.compile(r"/sachbearbeitung$"))
        stranger.get_by_label("Eingangsnummer, Kundennummer oder Name").fill(receipt_number)
        stranger.get_by_role("button", name="Anzeigen").click()
        expect(stranger.get_by_text("Keine Vorgänge gefunden.")).to_be_visible()
        assert_accessible(stranger)
        screenshots.take(stranger, "another jobcenter: not in the inbox")
        answer = stranger.goto(f"/sachbearbeitung/faelle/{case_id}")
        assert answer is not None and answer.status == 404
        screenshots.take(stranger, "another jobcenter: case not found")
        assert stranger.request.get(f"{API}/staff/cases/{case_id}").status == 404
        assert stranger.request.get(f"{API}/staff/inbox?q={receipt_number}").json()["cases"] == []
    finally:
        stranger_context.close()
        leave_the_codes_to_others()
