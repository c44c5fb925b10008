"""The caseworker triages and decides a VÄM in Chromium (#20): who the customer is (name and Kundennummer in the
inbox and on the case page), the inbox sorted by Frist, the start of a name and a part of a receipt number as
searches, feedback after each action, the decisions a VÄM can end in, and the staff pages
on a 320 px wide screen without sideways scrolling (WCAG 1.4.10). Screenshots under
``test-artifacts/screenshots/<test>/``.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from playwright.sync_api import Browser, Page, expect

from services.documents.tests import samples
from services.identity.demo import DEMO_CUSTOMER_NUMBER
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.dates import german_today
from tests.browser.portal import DEMO, DESKTOP, Portal, Screenshots, assert_accessible
from tests.browser.test_caseworker_story import (
    CASEWORKER,
    Api,
    eventually,
    leave_the_codes_to_others,
    log_in,
    open_context,
    submit_arbeitsaufnahme,
)

# A WBA with a household: the case page lays the people out as nested lists of answers.
WBA = {
    "wohnsitz": ARBEITSAUFNAHME["wohnsitz"],
    "bankverbindung": {"iban": "DE89 3704 0044 0532 0130 00", "kontoinhaber": "Erika Mustermann"},
    "bedarfsgemeinschaft": {"unveraendert": False, "personen": [
        {"vorname": "Maximilian-Alexander", "geburtsdatum": "2015-03-01", "beziehung": "kind"},
        {"vorname": "Jonas", "geburtsdatum": "1980-07-15", "beziehung": "partner"},
    ]},
    "einkommen": {"hat_einkommen": False},
    "vermoegen": {"ueber_grenze": False},
    "wohnkosten": {"unveraendert": True, "miete_kalt": 450.0},
    "krankenversicherung": {"krankenkasse": "AOK Nordost"},
    "mehrbedarf": {"arten": []},
    "erklaerung": {"wahrheitsgemaess": True},
}  # fmt: skip
NARROW: dict[str, Any] = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}
GERMAN_TIME = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d")
# The demo citizen as she registered (services/identity/demo.py), as the Jobcenter files names.
DEMO_CUSTOMER_NAME = "Mustermann, Erika"


def scroll_width(page: Page) -> int:
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def test_a_caseworker_triages_by_frist_finds_a_case_by_name_and_part_of_its_number_and_ends_a_vaem_in_a_change_notice(
    chromium: Browser, portal: Portal, screenshots: Screenshots
) -> None:
    citizen_context = open_context(chromium, portal, DESKTOP)
    staff_context = open_context(chromium, portal, DESKTOP)
    try:
        citizen = citizen_context.new_page()
        log_in(citizen, DEMO["citizen"], portal.totp_secret(DEMO["citizen"]))
        api = Api(citizen)
        case_id, receipt_number = submit_arbeitsaufnahme(api)
        _, other_receipt = submit_arbeitsaufnahme(api)
        wba_id = api.call("POST", "/cases", data={"kind": "weiterbewilligungsantrag"}).json()["case_id"]
        for section_id, answers in WBA.items():
            saved = api.call("PUT", f"/cases/{wba_id}/sections/{section_id}", data=answers)
            assert saved.ok, saved.text()
        submitted = api.call("POST", f"/cases/{wba_id}/submit", headers={"Idempotency-Key": str(uuid.uuid4())})
        assert submitted.ok, submitted.text()

        desk = staff_context.new_page()
        log_in(desk, CASEWORKER, portal.totp_secret(CASEWORKER))
        expect(desk).to_have_url(re.compile(r"/sachbearbeitung$"))

        def both_listed() -> bool:
            desk.goto("/sachbearbeitung?status=assigned")
            return all(desk.get_by_role("link", name=number).count() == 1 for number in (receipt_number, other_receipt))

        eventually(both_listed)  # routing assigns both to Treptow-Köpenick
        eventually(lambda: Api(desk).call("GET", f"/staff/cases/{wba_id}").status == 200)
        # The later case waits for documents due in two days: sooner than the earlier one's receive-by day.
        staff_api = Api(desk)
        later = desk.get_by_role("link", name=other_receipt).get_attribute("href") or ""
        later_id = later.rsplit("/", 1)[-1]
        assert staff_api.call("POST", f"/staff/cases/{later_id}/receive").status == 204
        due = (german_today() + timedelta(days=2)).isoformat()
        asked = staff_api.call("POST", f"/staff/cases/{later_id}/document-requests",
                               data={"items": ["lohnabrechnung_erste"], "due_date": due})  # fmt: skip
        assert asked.status == 204, asked.text()
        desk.goto("/sachbearbeitung")
        row = desk.get_by_role("row").filter(has=desk.get_by_role("link", name=receipt_number))
        expect(row).to_contain_text(f"Kundennummer {DEMO_CUSTOMER_NUMBER}")
        expect(row.locator('td[data-label="Name"]')).to_have_text(DEMO_CUSTOMER_NAME)
        expect(row).to_contain_text("Veränderungsmitteilung: Ich habe eine Arbeit aufgenommen")
        expect(row).to_contain_text("noch niemand")
        expect(row).to_contain_text(re.compile(r"Eingang bestätigen bis \d\d\.\d\d\.\d{4}"))
        expect(row.locator("time")).to_have_text(GERMAN_TIME)

        received_first = desk.locator("[data-row-link]").all_inner_texts()
        assert received_first.index(receipt_number) < received_first.index(other_receipt), "oldest first"
        desk.get_by_role("link", name=re.compile("^Frist")).click()
        expect(desk).to_have_url(re.compile(r"sort=due"))
        expect(desk.get_by_role("columnheader", name=re.compile("^Frist"))).to_have_attribute("aria-sort", "ascending")
        expect(desk.locator("caption")).to_contain_text("nach Frist, die nächste zuerst")
        deadlines = [
            "-".join(reversed(found.group(1).split(".")))
            for text in desk.locator('td[data-label="Frist"]').all_inner_texts()
            if (found := re.search(r"(\d\d\.\d\d\.\d{4})", text))
        ]
        assert deadlines and deadlines == sorted(deadlines), deadlines
        numbers = desk.locator("[data-row-link]").all_inner_texts()
        assert numbers.index(other_receipt) < numbers.index(receipt_number), "the sooner Frist comes first"
        expect(desk.get_by_role("row").filter(has=desk.get_by_role("link", name=other_receipt))).to_contain_text(
            f"Unterlagen bis {german_today() + timedelta(days=2):%d.%m.%Y}"
        )
        assert_accessible(desk)
        screenshots.take(desk, "inbox sorted by frist")

        desk.get_by_label("Eingangsnummer, Kundennummer oder Name").fill("muster")  # the start of her family name
        desk.get_by_role("button", name="Anzeigen").click()
        expect(desk.get_by_role("link", name=receipt_number)).to_be_visible()
        expect(desk.get_by_role("link", name=other_receipt)).to_be_visible()
        names = desk.locator('td[data-label="Name"]').all_inner_texts()
        assert names and all(name.startswith("Mustermann") for name in names), names
        assert_accessible(desk)
        screenshots.take(desk, "inbox: start of the name")

        part = receipt_number[-4:]
        desk.get_by_label("Eingangsnummer, Kundennummer oder Name").fill(part.lower())
        desk.get_by_role("button", name="Anzeigen").click()
        expect(desk.get_by_role("link", name=receipt_number)).to_be_visible()
        expect(desk.get_by_text("Keine Vorgänge gefunden.")).to_have_count(0)
        for number in desk.locator("[data-row-link]").all_inner_texts():
            assert part in number, number
        screenshots.take(desk, "inbox: part of the receipt number")

        desk.get_by_role("link", name=receipt_number).click()
        expect(desk.get_by_role("heading", level=1)).to_contain_text(receipt_number)
        expect(desk.locator("#kundennummer")).to_have_text(DEMO_CUSTOMER_NUMBER)
        expect(desk.locator("#kundenname")).to_have_text(DEMO_CUSTOMER_NAME)
        expect(desk.locator("h1 + #kunde")).to_contain_text(
            f"{DEMO_CUSTOMER_NAME} · Kundennummer {DEMO_CUSTOMER_NUMBER}"
        )
        expect(desk.locator("dd time").first).to_have_text(re.compile(GERMAN_TIME.pattern + " Uhr"))
        expect(desk.get_by_text("2.400,00 €")).to_be_visible()
        expect(desk.get_by_text("01.12.2026").first).to_be_visible()
        screenshots.take(desk, "case page with name, kundennummer and german values")

        desk.get_by_role("button", name="Als erhalten bestätigen").click()  # once: the first click counts
        expect(desk.get_by_role("status").filter(has_text="Eingang bestätigt.")).to_be_visible()
        expect(desk.locator("#stand")).to_have_text("Eingegangen")
        expect(desk.locator("#zustaendig")).to_have_text("Ihnen")
        screenshots.take(desk, "feedback: received")
        desk.get_by_role("button", name="Bearbeitung beginnen").click()
        expect(desk.get_by_role("status").filter(has_text="Bearbeitung begonnen.")).to_be_visible()
        desk.get_by_label("Nachricht an die Kundin oder den Kunden").fill("Wir prüfen Ihre Angaben.")
        desk.get_by_role("button", name="Nachricht senden").click()
        expect(desk.get_by_role("status").filter(has_text="Die Nachricht ist gesendet.")).to_be_visible()
        screenshots.take(desk, "feedback: message sent")

        desk.get_by_role("link", name="Unterlagen anfordern").click()
        # two weeks ahead, prefilled as a German date
        expect(desk.get_by_label("Frist")).to_have_value(f"{german_today() + timedelta(days=14):%d.%m.%Y}")
        screenshots.take(desk, "document request with its default frist")
        desk.go_back()

        desk.get_by_role("link", name="Entscheidung erfassen").click()
        expect(desk.get_by_role("heading", name="Entscheidung erfassen", level=1)).to_be_visible()
        for outcome in ("Änderungsbescheid", "Aufhebungsbescheid", "Keine Änderung"):
            expect(desk.get_by_role("radio", name=outcome, exact=True)).to_be_visible()
        for outcome in ("Bewilligt", "Teilweise bewilligt", "Abgelehnt"):
            expect(desk.get_by_role("radio", name=outcome, exact=True)).to_have_count(0)
        assert_accessible(desk)
        desk.get_by_role("radio", name="Änderungsbescheid", exact=True).check()
        desk.get_by_label("Bescheid oder Schreiben (PDF)").set_input_files(
            {"name": "Aenderungsbescheid.pdf", "mimeType": "application/pdf", "buffer": samples.pdf()}
        )
        screenshots.take(desk, "vaem decision types")
        desk.get_by_role("button", name="Entscheidung speichern und senden").click()
        expect(desk.get_by_role("status").filter(has_text="Die Entscheidung ist gespeichert")).to_be_visible()
        expect(desk.locator("#entscheidung + dl")).to_contain_text("Änderungsbescheid")
        screenshots.take(desk, "decided: aenderungsbescheid")

        citizen.goto(f"/antraege/{case_id}")
        expect(citizen.locator("#ergebnis")).to_contain_text("Änderungsbescheid: Ihre Leistung ändert sich")
        screenshots.take(citizen, "citizen sees the outcome")

        narrow_context = chromium.new_context(
            base_url=portal.base_url, locale="de-DE", storage_state=staff_context.storage_state(), **NARROW
        )
        try:
            narrow = narrow_context.new_page()
            too_wide = {}
            for name, path in (
                ("inbox", "/sachbearbeitung?sort=due"),
                ("inbox search", f"/sachbearbeitung?q={part}"),
                ("inbox name search", "/sachbearbeitung?q=muster"),
                ("case page", f"/sachbearbeitung/faelle/{case_id}"),
                ("decision", f"/sachbearbeitung/faelle/{case_id}/entscheidung"),
                ("access codes", "/sachbearbeitung/freischaltcodes"),
                ("wba case page", f"/sachbearbeitung/faelle/{wba_id}"),
                ("wba decision", f"/sachbearbeitung/faelle/{wba_id}/entscheidung"),
            ):
                narrow.goto(path)
                expect(narrow.locator("main h1")).to_be_visible()
                if name == "inbox":  # the column headers are hidden in the stacked rows: the select sorts
                    expect(narrow.get_by_label("Sortieren")).to_have_value("due")
                if name == "wba case page":
                    expect(narrow.get_by_text("Maximilian-Alexander")).to_be_visible()
                if name == "wba decision":  # a WBA keeps its decisions
                    expect(narrow.get_by_role("radio", name="Bewilligt", exact=True)).to_be_visible()
                    expect(narrow.get_by_role("radio", name="Änderungsbescheid", exact=True)).to_have_count(0)
                screenshots.take(narrow, f"320 px: {name}")
                if scroll_width(narrow) > 320:
                    too_wide[name] = scroll_width(narrow)
            assert not too_wide, f"these staff pages scroll sideways at 320 px: {too_wide}"
        finally:
            narrow_context.close()
    finally:
        citizen_context.close()
        staff_context.close()
        leave_the_codes_to_others()
