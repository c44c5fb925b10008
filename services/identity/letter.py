"""The printable activation letter (PDF) a Jobcenter posts or hands to its customer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fpdf import FPDF

from shared.text import has_hidden_characters

SENDER_MAX_LENGTH = 120
ADDRESS_MAX_LINES = 4


def is_plain_name(text: str) -> bool:
    """A Jobcenter's name fit for the letter's head: visible text of a sensible length."""
    return 0 < len(text.strip()) <= SENDER_MAX_LENGTH and not has_hidden_characters(text)


TYPOGRAPHIC = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-", "—": "-"})


def drawable(text: str) -> str:
    """Text Helvetica can draw (Latin-1): typographic quotes and dashes made plain, anything else ``?``."""
    return text.translate(TYPOGRAPHIC).encode("latin-1", "replace").decode("latin-1")


def plain_lines(lines: Any) -> tuple[str, ...]:
    """An address given as lines, when each is plain text (``is_plain_name``) and there are at most
    ``ADDRESS_MAX_LINES``; else none, so that the letter shows the name alone."""
    if not isinstance(lines, list | tuple) or len(lines) > ADDRESS_MAX_LINES:
        return ()
    if not all(isinstance(line, str) and is_plain_name(line) for line in lines):
        return ()
    return tuple(line.strip() for line in lines)


def activation_letter(
    code: str,
    customer_number: str,
    institution_id: str,
    expires_at: str,
    portal_url: str,
    sender: str | None = None,
    sender_address: Sequence[str] = (),
) -> bytes:
    """An A4 PDF with the code, how to use it and until when it is valid; not the customer's name or address.

    ``sender`` is the Jobcenter's name as the register gives it (``Jobcenter Berlin Treptow-Köpenick``), and
    ``sender_address`` the lines of its postal address below it; without a name the letter names the Jobcenter
    by its id.
    """
    valid_until = datetime.fromisoformat(expires_at).strftime("%d.%m.%Y")
    pdf = FPDF(format="A4")
    pdf.set_title("Ihr Freischaltcode für das Jobcenter-Portal")
    pdf.set_creator("Jobcenter-Portal")
    pdf.add_page()
    pdf.set_margins(25, 25, 20)
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, drawable(sender or f"Jobcenter {institution_id}"), new_x="LMARGIN", new_y="NEXT", align="L")
    for line in sender_address:
        pdf.cell(0, 5, drawable(line), new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(30 - 5 * len(sender_address))
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 8, "Ihr Freischaltcode für das Jobcenter-Portal", new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(
        0,
        6,
        "Mit diesem Code verbinden Sie Ihr Konto im Jobcenter-Portal mit Ihrer Kundennummer. "
        "Danach können Sie Anträge online stellen, Nachweise hochladen und Ihre Post lesen.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)
    pdf.cell(0, 7, f"Ihre Kundennummer: {customer_number}", new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("Courier", style="B", size=18)
    pdf.cell(0, 14, code, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(0, 7, f"Gültig bis: {valid_until}. Der Code gilt nur einmal.", new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(4)
    steps = (
        f'1. Öffnen Sie {portal_url} und wählen Sie "Konto anlegen".',
        "2. Geben Sie Ihre E-Mail-Adresse, ein Passwort und diesen Freischaltcode ein.",
        "3. Klicken Sie auf den Link in der E-Mail, die wir Ihnen dann schicken.",
        "4. Richten Sie am besten gleich einen zweiten Faktor ein (Passkey oder Authenticator-App).",
    )
    for step in steps:
        pdf.multi_cell(0, 6, step, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(4)
    pdf.multi_cell(
        0,
        6,
        "Geben Sie den Code niemandem weiter. Das Jobcenter fragt Sie nie am Telefon oder per E-Mail danach. "
        "Haben Sie den Code verloren, bekommen Sie bei Ihrem Jobcenter einen neuen.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
