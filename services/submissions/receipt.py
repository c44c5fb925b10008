"""The Eingangsbestätigung: a signed, offline-verifiable proof of what was submitted and when.

The claims (receipt number, time, kind, form version, content hash, Jobcenter) are signed as a
compact JWS with the service's Ed25519 key (``alg: EdDSA``, ``kid`` = key thumbprint); the public
key is published as a JWKS, so anyone can verify a receipt later without asking us. The PDF reads as
a letter: headed with the responsible Jobcenter's name and postal address (or saying that the case is
being forwarded), the same claims, what was submitted, the Nachweise with their SHA-256, how to verify
it, and the JWS itself. Only the JWS is signed: the PDF is drawn anew at every download, so the
Jobcenter's name appears once the case is assigned, and its address once the Jobcenter has set it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fpdf import FPDF

from services.submissions import presentation
from services.submissions.forms import Form

ISSUER = "jobcenter-portal/submissions"
# Where the gateway publishes the receipt keys (JWKS), below the portal's address.
KEYS_PATH = "/.well-known/receipt-keys.json"
# A Unicode font for what citizens typed; the PDF core fonts only know Latin-1.
UNICODE_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _public_jwk(x: str) -> dict[str, Any]:
    """The JWKS entry of an Ed25519 public key given as base64url (``x``); ``kid`` is its RFC 7638 thumbprint."""
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    if len(raw) != 32:
        raise ValueError("a retired receipt key must be the x of an Ed25519 JWK (32 bytes, base64url)")
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
    canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    return {**jwk, "kid": _b64url(hashlib.sha256(canonical).digest())[:22], "use": "sig", "alg": "EdDSA"}


class ReceiptSigner:
    """Signs receipts with one Ed25519 key (base64 of its 32-byte seed) and publishes it, together with the
    public halves of keys used before (``retired_public_keys``: their JWK ``x``), so that a receipt signed
    before a key change verifies for good."""

    def __init__(
        self, private_key_b64: str, retired_public_keys: Iterable[str] = (), keys_url: str = KEYS_PATH
    ) -> None:
        self.keys_url = keys_url  # where the gateway publishes jwks(): printed on the receipt
        try:
            self.private_key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key_b64))
        except ValueError as problem:
            raise ValueError("the receipt signing key must be base64 of 32 bytes") from problem
        self.public_key: Ed25519PublicKey = self.private_key.public_key()
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_jwk = {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}
        entry = _public_jwk(self.public_jwk["x"])
        self.kid = str(entry["kid"])
        entries = [entry] + [_public_jwk(x.strip()) for x in retired_public_keys if x.strip()]
        self._keys = list({key["kid"]: key for key in entries}.values())

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(key) for key in self._keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"iss": ISSUER, **claims}, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})


def verify_receipt(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The claims of a receipt if its signature matches a published key; raises jwt errors otherwise."""
    kid = jwt.get_unverified_header(token).get("kid")
    for key in jwks.get("keys", []):
        if key.get("kid") == kid and key.get("kty") == "OKP" and key.get("crv") == "Ed25519":
            public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(key["x"] + "=="))
            claims: dict[str, Any] = jwt.decode(token, public, algorithms=["EdDSA"], issuer=ISSUER)
            return claims
    raise jwt.InvalidKeyError("no published key has this kid")


def receipt_claims(case: dict[str, Any]) -> dict[str, Any]:
    """What a receipt attests, from a case as ``get_case`` shows it (the same as ``Case.receipt_claims``)."""
    return {
        "sub": case["case_id"],
        "receipt_number": case["receipt_number"],
        "submitted_at": case["submitted_at"],
        "kind": case["kind"],
        "form_version": case["form_version"],
        "content_hash": case["content_hash"],
    }


# "Wir haben ... erhalten": each kind with its article.
YOUR = {"weiterbewilligungsantrag": "Ihren Weiterbewilligungsantrag",
        "veraenderungsmitteilung": "Ihre Veränderungsmitteilung"}  # fmt: skip


# What the receipt adds to a Nachweis the documents service has not accepted (yet).
DOCUMENT_STATES = {"awaiting_upload": " (wird noch geprüft)", "checking": " (wird noch geprüft)",
                   "rejected": " (nicht angenommen)"}  # fmt: skip


@dataclass(frozen=True)
class SubmittedDocument:
    """A Nachweis sent with the submission, as the receipt lists it."""

    nachweis: str  # its name on the form ("Arbeitsvertrag")
    file_name: str
    sha256: str
    state: str = "accepted"  # as the documents service says: awaiting_upload, checking, accepted, rejected


@dataclass(frozen=True)
class Letter:
    """What the receipt says beside the signed claims; none of it is signed, so it may be drawn anew.

    ``jobcenter``: the assigned Jobcenter's name as the register gives it, None while routing's
    assignment is not recorded yet. ``keys_url``: where the public keys are published.
    ``jobcenter_address``: the lines of its postal address for the letterhead, as the Jobcenter set them in
    routing (``postal_address_lines``); none while it has not.
    """

    jobcenter: str | None = None
    documents: tuple[SubmittedDocument, ...] = ()
    keys_url: str = KEYS_PATH
    jobcenter_address: tuple[str, ...] = ()


def postal_address_lines(contact: dict[str, Any] | None) -> tuple[str, ...]:
    """A Jobcenter's postal address from routing's ``contact`` as a letterhead prints it:
    ``("Musterstraße 1", "12345 Musterstadt")``; none when it has not set one."""
    postal = (contact or {}).get("postal_address")
    if not postal:
        return ()
    return str(postal["street"]), f"{postal['postcode']} {postal['city']}"


def receipt_pdf(claims: dict[str, Any], form: Form, content: dict[str, Any], token: str, letter: Letter) -> bytes:
    """An A4 letter: to whom it went, the claims, the answers section by section, the Nachweise with their
    SHA-256, and how to verify the JWS printed at its end."""
    pdf = FPDF(format="A4")
    pdf.set_title(f"Eingangsbestätigung {claims['receipt_number']}")
    pdf.set_creator("Jobcenter-Portal")
    font = _font(pdf)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()

    def paragraph(text: str, size: int = 11, height: float = 6) -> None:
        pdf.set_font(font, size=size)
        pdf.multi_cell(0, height, _text(text, font), new_x="LMARGIN", new_y="NEXT", align="L")

    def heading(text: str) -> None:
        pdf.ln(3)
        paragraph(text, size=13, height=8)

    paragraph("Jobcenter-Portal · Eingangsbestätigung", size=9, height=5)
    if letter.jobcenter:  # the letterhead: who has the case, and where to write
        pdf.ln(2)
        paragraph(letter.jobcenter, size=11, height=5.5)
        for line in letter.jobcenter_address:
            paragraph(line, size=10, height=5)
    pdf.ln(4)
    paragraph("Eingangsbestätigung", size=16, height=10)
    submitted = _berlin_time(claims["submitted_at"])
    paragraph(f"Wir haben {YOUR.get(form.kind, form.title)} am {submitted} über das Jobcenter-Portal erhalten.")
    if letter.jobcenter:
        paragraph(f"Zuständig ist das {letter.jobcenter}. Dort werden Ihre Angaben bearbeitet.")
    else:
        paragraph(
            "Ihre Angaben werden an das zuständige Jobcenter weitergeleitet. Sobald es feststeht, steht sein Name "
            "auf dieser Bestätigung, wenn Sie sie neu herunterladen. Eingegangen sind Ihre Angaben schon jetzt."
        )
    pdf.ln(2)
    for label, value in (
        ("Zuständiges Jobcenter", letter.jobcenter or "wird weitergeleitet"),
        ("Eingangsnummer", claims["receipt_number"]),
        ("Eingegangen am", submitted),
        ("Art", form.title),
        ("Formularversion", claims["form_version"]),
        ("Prüfsumme Ihrer Angaben", claims["content_hash"]),
    ):
        paragraph(f"{label}: {value}")

    heading("Ihre Angaben")
    for section in form.applicable_sections(content):
        if section.id not in content:
            continue
        pdf.ln(1)
        paragraph(section.title, size=12, height=7)
        pdf.set_font(font, size=10)
        _answers(pdf, font, presentation.present_section(section.schema, content[section.id]), indent=0)

    heading("Ihre Nachweise")
    if not letter.documents:
        paragraph("Mit diesem Antrag haben Sie keine Nachweise hochgeladen.", size=10, height=5)
    for number, document in enumerate(letter.documents, start=1):
        state = DOCUMENT_STATES.get(document.state, "")
        paragraph(f"{number}. {document.nachweis}: {document.file_name}{state}", size=10, height=5)
        pdf.set_x(pdf.l_margin + 5)
        pdf.set_font(font, size=8)
        pdf.multi_cell(0, 4, f"SHA-256: {document.sha256}", new_x="LMARGIN", new_y="NEXT")
    if letter.documents:
        paragraph(
            "Die SHA-256-Prüfsumme ist der digitale Fingerabdruck einer Datei: Stimmt sie mit Ihrer Datei überein, "
            "hat das Jobcenter genau diese Datei erhalten.",
            size=9,
            height=4.5,
        )

    heading("So prüfen Sie diese Bestätigung")
    paragraph(
        "Diese Bestätigung ist elektronisch signiert. Die Signatur unten (JWS, Verfahren EdDSA) enthält die "
        "Eingangsnummer, den Zeitpunkt des Eingangs, die Art, die Formularversion und die Prüfsumme Ihrer "
        "Angaben. Jeder kann sie prüfen, ohne uns zu fragen: mit den öffentlichen Schlüsseln des Portals unter "
        f"{letter.keys_url} (JWKS). Der passende Schlüssel trägt die Kennung „kid“ aus dem Kopf der Signatur. "
        "Ist die Signatur gültig, sind Ihre Angaben genau so zu diesem Zeitpunkt eingegangen.",
        size=9,
        height=4.5,
    )
    paragraph("Signatur:", size=9, height=4.5)
    pdf.set_font("Courier", size=6)
    pdf.multi_cell(0, 3, token, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _berlin_time(moment: str) -> str:
    local = datetime.fromisoformat(moment).astimezone(ZoneInfo("Europe/Berlin"))
    return local.strftime("%d.%m.%Y um %H:%M Uhr")


def _font(pdf: FPDF) -> str:
    for path in UNICODE_FONTS:
        if path.exists():
            pdf.add_font("Unicode", fname=str(path))
            return "Unicode"
    return "Helvetica"


TYPOGRAPHIC_QUOTES = str.maketrans({"„": '"', "“": '"', "”": '"', "‚": "'", "‘": "'", "’": "'", "–": "-"})


def _text(text: str, font: str) -> str:
    """Text the font can draw: Helvetica (no Unicode font installed) knows Latin-1 only."""
    if font == "Helvetica":
        return text.translate(TYPOGRAPHIC_QUOTES).encode("latin-1", "replace").decode("latin-1")
    return text


def _answers(pdf: FPDF, font: str, shown: list[presentation.Shown], indent: int) -> None:
    """Answers as on the form (presentation.py), a list of people as numbered, indented entries."""
    for item in shown:
        pdf.set_x(pdf.l_margin + indent)
        line = f"{item.label}: {item.text}" if item.text else f"{item.label}:"
        pdf.multi_cell(0, 5, _text(line, font), new_x="LMARGIN", new_y="NEXT")
        for number, entry in enumerate(item.entries, start=1):
            if len(item.entries) > 1 or item.text:
                pdf.set_x(pdf.l_margin + indent + 5)
                pdf.multi_cell(0, 5, _text(f"{number}.", font), new_x="LMARGIN", new_y="NEXT")
            _answers(pdf, font, list(entry), indent + 10)
