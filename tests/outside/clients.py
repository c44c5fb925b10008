"""The outside tester's helpers (their ``portal.py``) on the portal running in this process.

The tester drove a ``make run`` portal with the demo accounts; here every person is a new account made
as the operator makes them (``portal.account()``, ``portal.staff_account()``), logged in with password
and TOTP. ``make run`` runs the outbox relays as processes; here they are driven by hand (``Relays``)
whenever a test waits for a case to reach a Jobcenter.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from typing import Any

import requests
from pypdf import PdfWriter

from services.documents.tests import samples
from services.gateway.tests.conftest import API, Account, Browser, Portal, wait_until
from services.gateway.tests.test_staff_api import RoutingRelay

JOBCENTER = "jc-0394"  # Berlin Treptow-Köpenick: postcode 12555, Bezirk 09
# The tester's second caseworker worked in München (80331 is routed there), which one probe relies on.
OTHER_JOBCENTER = "jc-0375"
EICAR = samples.eicar()
SETTLE_SECONDS = 40.0  # the tester's own bound for a case to reach the caseworker


class Relays:
    """submissions' (the portal's own) and routing's outbox relays, which ``make run`` runs as processes."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._routing = RoutingRelay(portal)

    def __call__(self) -> None:
        """One batch of each relay."""
        self.portal.relay()
        self._routing()

    def close(self) -> None:
        self._routing.close()


class Client(Browser):
    """A person of the outside pass: a browser logged in with ``account`` (None: anonymous).

    ``get``/``post``/``put`` take paths under ``/api/v1`` as the tester's client did; ``page`` reads an
    HTML page of the portal.
    """

    def __init__(self, portal: Portal, account: Account | None = None) -> None:
        super().__init__(portal)
        self.account = account
        if account is not None:
            self.log_in(account)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.request(method, API + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.api("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.api("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.api("PUT", path, **kwargs)

    def page(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def new_case(self, kind: str = "veraenderungsmitteilung") -> str:
        answer = self.post("/cases", json={"kind": kind})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_id"])

    def fill_vaem(
        self, case_id: str, plz: str = "12555", ort: str = "Berlin", strasse: str = "Müggelheimer Straße",
        hausnummer: str = "12", beginn: str = "2026-11-01", extra: dict[str, Any] | None = None,
    ) -> requests.Response:  # fmt: skip
        """A complete Veränderungsmitteilung (Arbeitsaufnahme), by default in Treptow-Köpenick."""
        answer = self.put(f"/cases/{case_id}/sections/aenderungen", json={"aenderungen": ["arbeitsaufnahme"]})
        assert answer.status_code in (200, 204), answer.text
        wohnsitz = {"plz": plz, "ort": ort, "strasse": strasse, "hausnummer": hausnummer}
        if plz == "12555":
            wohnsitz["berlin_bezirk"] = "09"
        answer = self.put(f"/cases/{case_id}/sections/wohnsitz", json=wohnsitz)
        assert answer.status_code in (200, 204), answer.text
        work = {"arbeitgeber": "Musterfirma GmbH", "beginn": beginn, "wochenstunden": 30,
                "brutto_monatlich": 2000, "netto_monatlich": 1500, **(extra or {})}  # fmt: skip
        answer = self.put(f"/cases/{case_id}/sections/arbeitsaufnahme", json=work)
        assert answer.status_code in (200, 204), answer.text
        answer = self.put(f"/cases/{case_id}/sections/erklaerung", json={"wahrheitsgemaess": True})
        assert answer.status_code in (200, 204), answer.text
        return answer

    def upload(
        self, case_id: str, data: Any, nachweis: str = "arbeitsvertrag", filename: str = "vertrag.pdf",
        content_type: str = "application/pdf",
    ) -> requests.Response:  # fmt: skip
        return self.post(
            f"/cases/{case_id}/documents", params={"nachweis": nachweis, "filename": filename}, data=data,
            headers={"Content-Type": content_type},
        )  # fmt: skip

    def submit(self, case_id: str, key: str | None = None) -> requests.Response:
        return self.post(f"/cases/{case_id}/submit", headers={"Idempotency-Key": key or uuid.uuid4().hex})


def make_pdf(text: str = "Arbeitsvertrag", pages: int = 1) -> bytes:
    """A valid PDF of blank pages, as ``samples.pdf`` makes it, whose bytes differ by ``text`` (its title)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_jpeg(seed: int = 1) -> bytes:
    """A photographed page (``samples.jpeg``); ``seed`` makes different photos."""
    return samples.jpeg(samples.document_photo(seed=seed))


def seen_by(relays: Relays, staff: Client, case_id: str, timeout: float = SETTLE_SECONDS) -> None:
    """Wait, relaying, until ``staff`` can open the case (routing assigned it to their Jobcenter)."""

    def opened() -> bool:
        relays()
        return staff.get(f"/staff/cases/{case_id}").status_code == 200

    wait_until(opened, timeout=timeout)


def submitted_assigned_case(
    relays: Relays, citizen: Client, caseworker: Client | None = None, upload: bool = True
) -> str:
    """``citizen`` files a Veränderungsmitteilung in Treptow-Köpenick, submits, waits until ``caseworker`` sees it."""
    case_id = citizen.new_case()
    citizen.fill_vaem(case_id)
    if upload:
        answer = citizen.upload(case_id, make_pdf())
        assert answer.status_code == 201, answer.text
    answer = citizen.submit(case_id)
    assert answer.status_code in (200, 201), answer.text
    if caseworker is not None:
        seen_by(relays, caseworker, case_id)
    else:
        relays()
    return case_id


def processing_case(relays: Relays, citizen: Client, caseworker: Client) -> str:
    """A submitted case, taken by ``caseworker``, received and in processing."""
    case_id = submitted_assigned_case(relays, citizen, caseworker)
    caseworker.post(f"/staff/cases/{case_id}/assignee", json={})
    assert caseworker.post(f"/staff/cases/{case_id}/receive").status_code == 204
    assert caseworker.post(f"/staff/cases/{case_id}/start-processing").status_code == 204
    return case_id


def upload_bescheid(
    caseworker: Client, case_id: str, data: bytes | None = None, filename: str = "b.pdf"
) -> requests.Response:
    return caseworker.post(
        f"/staff/cases/{case_id}/bescheid", params={"filename": filename}, data=data or make_pdf("Bescheid"),
        headers={"Content-Type": "application/pdf"},
    )  # fmt: skip


def photos(citizen: Client, case_id: str, count: int = 2, nachweis: str = "arbeitsvertrag") -> list[str]:
    """``count`` photos of pages uploaded for ``nachweis``; their document ids."""
    ids = []
    for number in range(count):
        answer = citizen.upload(
            case_id, make_jpeg(number + 1), nachweis=nachweis, filename=f"foto{number}.jpg", content_type="image/jpeg"
        )
        assert answer.status_code == 201, answer.text
        ids.append(str(answer.json()["document_id"]))
    return ids


def merge(
    citizen: Client, case_id: str, document_ids: list[str], nachweis: str = "arbeitsvertrag"
) -> requests.Response:
    return citizen.post(f"/cases/{case_id}/documents/merge", json={"nachweis": nachweis, "document_ids": document_ids})


def document_ids(citizen: Client, caseworker: Client, case_id: str) -> tuple[set[str], set[str]]:
    """The case's document ids as the citizen and as the caseworker see them."""
    mine = {d["document_id"] for d in citizen.get(f"/cases/{case_id}").json()["documents"]}
    staff = {d["document_id"] for d in caseworker.get(f"/staff/cases/{case_id}").json()["documents"]}
    return mine, staff


def jws_parts(token: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """A compact JWS: its header, payload, signature and signing input."""

    def decoded(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, payload, signature = token.split(".")
    return json.loads(decoded(header)), decoded(payload), decoded(signature), f"{header}.{payload}".encode()
