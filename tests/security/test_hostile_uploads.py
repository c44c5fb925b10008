"""Hostile files through the gateway's upload route: refused with a stable code, or stored harmlessly.

Nothing refused ever reaches a clean state: it is not attached to the case, not listed as accepted,
and cannot be downloaded. What is accepted is stored under a safe name and, for photos, re-encoded.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from services.documents.tests import samples
from shared.errors import Conflict
from tests.security.conftest import API, Person, logged_in, new_case

COOKIE = "jc_session"


@pytest.fixture(scope="module", autouse=True)
def many_uploads_allowed(portal) -> Iterator[None]:
    """This module uploads more than the gateway's per-minute limit from one address allows."""
    state = portal.gateway_state()
    configured = state.settings
    state.settings = dataclasses.replace(configured, upload_per_minute=10_000)
    try:
        yield
    finally:
        state.settings = configured
        state.limiter.hits.clear()


@pytest.fixture(scope="module")
def citizen(portal) -> Person:
    return logged_in(portal, "citizen_a")


@pytest.fixture(scope="module")
def draft(citizen) -> str:
    return new_case(citizen, submitted=False)


@pytest.fixture(scope="module")
def documents(portal, citizen) -> Callable[[str, Any], Any]:
    """Call documents over RPC with the citizen's own access token: ``documents("list_documents", case_id)``."""
    token = portal.gateway_state().tokens.get(citizen.http.cookies[COOKIE])

    def call(method: str, *args: Any) -> Any:
        with ClusterRpcProxy({"AMQP_URI": portal.env["AMQP_URI"]}, timeout=60) as services:
            return getattr(services.documents, method)(token, *args)

    return call


def upload(citizen: Person, case_id: str, data: bytes, filename: str = "Nachweis.pdf") -> requests.Response:
    return citizen.request(
        "POST",
        f"{API}/cases/{case_id}/documents",
        params={"nachweis": "arbeitsvertrag", "filename": filename},
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )


# -- the files ----------------------------------------------------------------------------------------


def pdf_with(stream: bytes) -> bytes:
    """A one-page PDF that also holds ``stream`` as a plain (uncompressed) stream object."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    holder = DecodedStreamObject()
    holder.set_data(stream)
    writer._add_object(holder)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def eicar_in_pdf() -> bytes:
    return pdf_with(samples.eicar())


def eicar_attached_to_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("readme.com", samples.eicar())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A 100 MB file of zeros in a zip of about 100 KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("bomb.pdf", "w") as entry:
            block = bytes(1 << 20)
            for _ in range(100):
                entry.write(block)
    return out.getvalue()


def pdf_with_deflate_bomb() -> bytes:
    """A PDF whose content stream inflates to 100 MB."""
    import zlib

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream._data = zlib.compress(bytes(100 << 20), 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_and_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("payload.exe", samples.executable())
    return samples.pdf() + archive.getvalue()


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def jpeg_and_html() -> bytes:
    return samples.jpeg() + HTML


def html_with_pdf_header() -> bytes:
    return HTML[:40] + b"<!-- %PDF-1.7 -->" + HTML[40:] + samples.pdf()


def html() -> bytes:
    return HTML


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


# name, the bytes, what the citizen calls it, the reason it is refused
REFUSED: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("eicar", samples.eicar, "Nachweis.pdf", "VIRUS_FOUND"),
    ("eicar-in-a-pdf-stream", eicar_in_pdf, "Nachweis.pdf", "VIRUS_FOUND"),
    ("eicar-attached-to-a-pdf", eicar_attached_to_pdf, "Nachweis.pdf", "VIRUS_FOUND"),
    ("zip-bomb", zip_bomb, "Nachweis.pdf", "TYPE_NOT_ALLOWED"),
    ("exe-declared-pdf", samples.executable, "Arbeitsvertrag.pdf", "TYPE_NOT_ALLOWED"),
    ("html-declared-pdf", html, "Arbeitsvertrag.pdf", "TYPE_NOT_ALLOWED"),
    ("svg-with-script-declared-png", svg_with_script, "Foto.png", "TYPE_NOT_ALLOWED"),
    ("pdf-with-javascript", samples.pdf_with_javascript, "Nachweis.pdf", "PDF_ACTIVE_CONTENT"),
    ("damaged-pdf", samples.damaged_pdf, "Nachweis.pdf", "PDF_DAMAGED"),
    ("empty", lambda: b"", "Nachweis.pdf", "EMPTY_FILE"),
]


@pytest.mark.parametrize(("name", "make", "filename", "reason"), REFUSED, ids=[row[0] for row in REFUSED])
def test_a_hostile_file_is_refused_with_its_code_and_never_reaches_the_case(
    citizen, draft, documents, name, make, filename, reason
):
    answer = upload(citizen, draft, make(), filename)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["code"], error.get("details", {}).get("reason_code")) in {
        ("DOCUMENT_REJECTED", reason),
        (reason, None),
    }, error
    document_id = error.get("details", {}).get("document_id")
    case_documents = citizen.request("GET", f"{API}/cases/{draft}").json()["documents"]
    assert all(d["state"] != "accepted" for d in case_documents if d["document_id"] == document_id)
    if document_id:
        with pytest.raises(Conflict):
            documents("download_url", document_id)


def test_a_file_over_the_size_limit_is_refused_and_not_kept(citizen, draft):
    before = citizen.request("GET", f"{API}/cases/{draft}").json()["documents"]
    big = b"%PDF-1.7\n" + bytes(21 * 1024 * 1024)
    answer = upload(citizen, draft, big)
    assert answer.status_code in (400, 413), answer.text
    assert answer.json()["error"]["code"] in {"FILE_TOO_LARGE", "REQUEST_TOO_LARGE"}
    after = citizen.request("GET", f"{API}/cases/{draft}").json()["documents"]
    assert [d for d in after if d["state"] == "accepted"] == [d for d in before if d["state"] == "accepted"]


def test_a_pdf_inflating_to_100_mb_is_answered_without_a_server_error(citizen, draft):
    answer = upload(citizen, draft, pdf_with_deflate_bomb())
    assert answer.status_code in (201, 400), answer.text


def test_a_pdf_with_a_zip_appended_is_stored_only_as_a_pdf(citizen, draft, documents):
    answer = upload(citizen, draft, pdf_and_zip(), "Nachweis.zip")
    if answer.status_code == 400:
        assert answer.json()["error"]["details"]["reason_code"] in {"TYPE_NOT_ALLOWED", "PDF_DAMAGED"}
        return
    assert answer.status_code == 201, answer.text
    link = documents("download_url", answer.json()["document_id"])
    assert link["content_type"] == "application/pdf"
    assert link["filename"].endswith(".pdf")


def test_a_photo_with_html_appended_is_stored_re_encoded_without_it(citizen, draft, documents):
    answer = upload(citizen, draft, jpeg_and_html(), "Foto.jpg")
    assert answer.status_code == 201, answer.text
    link = documents("download_url", answer.json()["document_id"])
    assert link["content_type"] == "image/jpeg"
    stored = requests.get(link["url"], timeout=30)
    assert stored.status_code == 200
    assert stored.content.startswith(b"\xff\xd8\xff")
    assert b"<script" not in stored.content
    assert "attachment" in stored.headers.get("Content-Disposition", "")


def test_an_html_file_with_a_pdf_header_inside_is_not_served_as_html(citizen, draft, documents):
    answer = upload(citizen, draft, html_with_pdf_header(), "Nachweis.html")
    if answer.status_code == 400:
        return  # refused: the safest outcome
    assert answer.status_code == 201, answer.text
    link = documents("download_url", answer.json()["document_id"])
    assert link["content_type"] == "application/pdf"
    assert link["filename"].endswith(".pdf")
    stored = requests.get(link["url"], timeout=30)
    assert stored.headers["Content-Type"] == "application/pdf"
    assert "attachment" in stored.headers.get("Content-Disposition", "")


HOSTILE_NAMES = {
    "path-traversal": "../../../etc/passwd.pdf",
    "windows-path": "..\\..\\Windows\\system32\\evil.pdf",
    "nul-byte": "vertrag\x00.exe.pdf",
    "rtl-override": "Vertrag\u202efdp.exe",
    "very-long": "A" * 5000 + ".pdf",
    "html": "<img src=x onerror=alert(1)>.pdf",
    "only-dots": "....",
    "newline-header-injection": "a.pdf\r\nContent-Type: text/html",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=list(HOSTILE_NAMES))
def test_a_hostile_file_name_is_stored_as_a_safe_one(citizen, draft, documents, name):
    answer = upload(citizen, draft, samples.pdf(), name)
    assert answer.status_code in (201, 400), answer.text
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] in {"FIELD_INVALID", "FILENAME_INVALID"}
        return
    link = documents("download_url", answer.json()["document_id"])
    safe = link["filename"]
    assert safe.endswith(".pdf")
    assert len(safe) <= 130
    assert not any(char in safe for char in "/\\\x00\u202e<>\r\n")
    assert ".." not in safe
    stored = requests.get(link["url"], timeout=30)
    assert stored.status_code == 200
    assert "\n" not in stored.headers.get("Content-Disposition", "")
    assert stored.headers["Content-Type"] == "application/pdf"
