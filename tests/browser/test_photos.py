"""Several photos of one Nachweis in Chromium: chosen together on a phone, uploaded with one progress bar,
kept as one PDF document."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.portal import Portal, Screenshots, assert_accessible, log_in
from tests.browser.test_citizen_story import Citizen, fill_arbeitsaufnahme_until_the_nachweise
from tests.support import CITIZEN_PASSWORD


def photographed_page(number: int) -> bytes:
    """A photo of one page of a contract: light paper with lines of dark text."""
    image = Image.new("RGB", (900, 1200), (235, 232, 225))
    draw = ImageDraw.Draw(image)
    for top in range(80, 1120, 40):
        draw.rectangle((80, top, 820 - (top * number) % 200, top + 14), fill=(30, 30, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def test_two_photos_of_the_contract_become_one_pdf_with_one_progress_bar(
    page: Page, portal: Portal, screenshots: Screenshots
) -> None:
    citizen = Citizen(portal)
    log_in(page, citizen.email, CITIZEN_PASSWORD, citizen.totp())
    fill_arbeitsaufnahme_until_the_nachweise(page)
    field = page.get_by_label("Datei oder Fotos")
    expect(field).to_have_attribute("multiple", "")
    page.get_by_label("Welcher Nachweis?").select_option(label="Arbeitsvertrag")
    photos: list[FilePayload] = [
        {"name": f"Vertrag-Seite-{number}.jpg", "mimeType": "image/jpeg", "buffer": photographed_page(number)}
        for number in (1, 2)
    ]
    field.set_input_files(photos)
    screenshots.take(page, "zwei fotos gewaehlt")
    page.get_by_role("button", name="Hochladen").click()

    bar = page.locator("progress#hochladen-fortschritt")
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator(".percent")).to_have_text("100 %")
    expect(page.locator("#hochladen-stand")).to_have_text(
        "2 Dateien sind hochgeladen (100 %). Fotos wurden zu einem PDF zusammengefügt."
    )
    expect(page.locator(".checklist")).to_contain_text("Arbeitsvertrag: hochgeladen")
    screenshots.take(page, "ein pdf hochgeladen")
    assert_accessible(page)

    page.get_by_role("link", name="Weiter zur Prüfung").click()
    documents = page.locator("h2:text-is('Nachweise') + ul > li")
    expect(documents).to_have_count(1)  # one PDF, not two photos
    expect(documents.first).to_contain_text(".pdf")
    screenshots.take(page, "pruefen mit einem pdf")
