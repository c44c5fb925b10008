"""A citizen's own data, all of it, to take away (Art. 15 and 20 DSGVO): as JSON for machines and as a PDF to read.

Assembled from what each service holds about the caller, each asked with the caller's own token, so
nothing is exported that the citizen could not see anyway: identity's account, second factors,
sessions and audit trail; submissions' cases with their answers, timelines and messages; the
documents of each case (names and states; the files themselves are downloaded from the case);
notify's Postfach and consents with their history. The PDF reads answers as the receipt does
(services/submissions/presentation.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF

from services.gateway import pages
from services.gateway.citizen import Backend
from services.submissions import presentation
from services.submissions.receipt import UNICODE_FONTS

FORMAT_VERSION = 1
# The PDF names what the JSON keeps as codes (identity's audit actions, documents' states).
AUDIT_ACTIONS = {
    "account_created": "Konto angelegt", "email_confirmed": "E-Mail-Adresse bestätigt",
    "login_succeeded": "Anmeldung", "login_failed": "Anmeldung fehlgeschlagen", "logout": "Abmeldung",
    "password_changed": "Passwort geändert", "password_reset_requested": "Neues Passwort angefordert",
    "totp_enrolled": "Authenticator-App eingerichtet", "passkey_registered": "Passkey hinzugefügt",
    "passkey_removed": "Passkey entfernt", "recovery_code_used": "Wiederherstellungscode benutzt",
    "recovery_codes_renewed": "Neue Wiederherstellungscodes", "email_change_requested": "Neue E-Mail-Adresse angegeben",
    "email_changed": "E-Mail-Adresse geändert", "activation_code_redeemed": "Freischaltcode eingelöst",
    "data_exported": "Daten heruntergeladen", "name_changed": "Name geändert",
}  # fmt: skip
DOCUMENT_STATES = {
    "awaiting_upload": "Hochladen nicht beendet", "checking": "wird geprüft", "accepted": "angenommen",
    "rejected": "nicht angenommen", "merged": "zu einer PDF zusammengefügt", "deleted": "gelöscht",
}  # fmt: skip


def collect(backend: Backend, token: str) -> dict[str, Any]:
    """Everything the portal holds about the caller, service by service."""
    cases = []
    forms: dict[tuple[str, str], dict[str, Any]] = {}
    for row in backend.call("submissions", "list_my_cases", token):
        case_id = row["case_id"]
        if row["status"] in ("discarded", "expired"):
            cases.append({"case": row})  # its content is erased; that it existed is all there is
            continue
        case = dict(backend.call("submissions", "view_case", case_id, token))
        answers = backend.call("submissions", "get_answers", case_id, token)
        key = (case["kind"], str(case.get("form_version")))
        if key not in forms:
            forms[key] = dict(backend.call("submissions", "get_form", case["kind"], case.get("form_version")))
        cases.append({
            "case": case,
            "answers": answers["answers"],
            "timeline": list(backend.call("submissions", "get_timeline", case_id, token)),
            "messages": list(backend.call("submissions", "list_messages", case_id, token)),
            "documents": list(backend.call("documents", "list_documents", token, case_id)),
        })  # fmt: skip
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "identity": backend.call("identity", "export_my_account", token),
        "cases": cases,
        "postfach": backend.call("notify", "list_postfach", token)["messages"],
        "consents": backend.call("notify", "get_consents", token),
        "consent_changes": list(backend.call("notify", "list_consent_changes", token)),
        "forms": {f"{kind}/{version}": form for (kind, version), form in forms.items()},
    }


def rendered(data: dict[str, Any], form: str) -> tuple[bytes, str]:
    """The export as a file of ``form`` (``json`` or ``pdf``) and its media type."""
    if form == "pdf":
        return as_pdf(data), "application/pdf"
    return json.dumps(data, ensure_ascii=False, indent=2).encode(), "application/json"


def as_pdf(data: dict[str, Any]) -> bytes:
    """The export to read: each part with a heading, answers labelled as on the form."""
    pdf = FPDF(format="A4")
    pdf.set_title("Ihre Daten im Jobcenter-Portal")
    pdf.set_creator("Jobcenter-Portal")
    font = "Helvetica"
    for path in UNICODE_FONTS:
        if path.exists():
            pdf.add_font("Unicode", fname=str(path))
            font = "Unicode"
            break
    pdf.add_page()
    pdf.set_margins(20, 20, 20)

    def heading(text: str, size: int = 14) -> None:
        pdf.ln(3)
        pdf.set_font(font, size=size)
        pdf.multi_cell(0, 7, _fit(text, font), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(font, size=10)

    def line(text: str, indent: int = 0) -> None:
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(0, 5, _fit(text, font), new_x="LMARGIN", new_y="NEXT")

    heading("Ihre Daten im Jobcenter-Portal", 16)
    line(f"Stand: {_when(data['exported_at'])}. Die maschinenlesbare Fassung (JSON) enthält dasselbe.")
    account = data["identity"]["account"]
    heading("Ihr Konto")
    name = " ".join(part for part in (account.get("given_name"), account.get("family_name")) if part)
    facts = (
        ("Name", name or "nicht angegeben"),
        ("E-Mail-Adresse", account["email"]),
        ("Kundennummer", account.get("customer_number")),
        ("Angelegt am", _when(account["created_at"])),
        ("E-Mail bestätigt am", _when(account.get("email_confirmed_at"))),
    )
    for label, value in facts:
        line(f"{label}: {value or '-'}")
    security = data["identity"]["security"]
    line(f"Zweiter Faktor (Authenticator-App): {'ja' if security['totp_enabled'] else 'nein'}")
    line(f"Passkeys: {len(security['passkeys'])}; Wiederherstellungscodes übrig: {security['recovery_codes_left']}")
    heading("Ihre Anträge und Mitteilungen")
    for entry in data["cases"]:
        case = entry["case"]
        kind = pages.KIND_NAMES.get(case["kind"], case["kind"])
        status = pages.STATUS_NAMES.get(case["status"], case["status"])
        heading(f"{kind} {case.get('receipt_number') or ''} ({status})".replace("  ", " "), 12)
        form = data["forms"].get(f"{case['kind']}/{case.get('form_version')}") or {}
        schemas = {section["id"]: section["schema"] for section in form.get("sections", [])}
        for section_id, values in (entry.get("answers") or {}).items():
            line(str(next((s["title"] for s in form.get("sections", []) if s["id"] == section_id), section_id)))
            for shown in presentation.present_section(schemas.get(section_id, {}), values):
                _shown(line, shown, 5)
        for document in entry.get("documents") or []:
            state = DOCUMENT_STATES.get(str(document.get("state")), document.get("state"))
            line(f"Nachweis: {document.get('original_name') or '-'} ({state})")
        for message in entry.get("messages") or []:
            author = "Ihnen" if message.get("author_role") == "citizen" else "Ihrem Jobcenter"
            line(f"Nachricht von {author}, {_when(message.get('at'))}: {message.get('text')}")
        for event in entry.get("timeline") or []:
            label = event.get("label") or pages.EVENT_NAMES.get(str(event.get("event")), event.get("event"))
            line(f"{_when(event.get('at'))}: {label}", 5)
    heading("Ihr Postfach")
    for message in data["postfach"]:
        line(f"{_when(message['created_at'])}: {message['subject']} - {message['body']}")
    heading("Ihre Einwilligungen")
    for channel, state in data["consents"].items():
        name = pages.CHANNEL_NAMES.get(channel, channel)
        line(f"{name}: {'ja' if state.get('granted') else 'nein'} (geändert: {_when(state.get('changed_at'))})")
    heading("Anmeldungen und Protokoll Ihres Kontos")
    for record in data["identity"]["audit"]:
        action = AUDIT_ACTIONS.get(str(record.get("action")), record.get("action"))
        refused = "" if record.get("outcome") in (None, "ok") else " (abgelehnt)"
        line(f"{_when(record.get('occurred_at'))}: {action}{refused}")
    return bytes(pdf.output())


def _shown(line: Any, shown: presentation.Shown, indent: int) -> None:
    line(f"{shown.label}: {shown.text}" if shown.text else f"{shown.label}:", indent)
    for number, entry in enumerate(shown.entries, start=1):
        line(f"{number}.", indent + 5)
        for part in entry:
            _shown(line, part, indent + 10)


def _when(value: Any) -> str:
    """A stored time as German text in German time (``1. Dezember 2026, 14:05 Uhr``); ``-`` for none."""
    return pages.german_time(str(value)) if value else "-"


def _fit(text: str, font: str) -> str:
    """Text the font can draw: without a Unicode font only Latin-1."""
    return text if font == "Unicode" else text.encode("latin-1", "replace").decode("latin-1")
