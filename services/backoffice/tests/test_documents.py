"""Documents through the back-office API: only clean attached ones are offered, and they stream through the gateway."""

from __future__ import annotations

import hashlib
from typing import Any

from nameko.standalone.rpc import ClusterRpcProxy

from services.backoffice.tests.conftest import ELSEWHERE, Office, wait_until
from services.documents.streaming import stream_upload
from services.documents.tests.samples import eicar, pdf
from shared.testing.tokens import TEST_ISSUER


def supply(office: Office, case_id: str, nachweis: str, name: str, data: bytes) -> dict[str, Any]:
    """The citizen uploads a file for the submitted case and hands it in as a Nachweis."""
    token = TEST_ISSUER.token_for(office.owners[case_id])
    with ClusterRpcProxy({"AMQP_URI": office.amqp_uri}, timeout=30) as cluster:
        started = cluster.documents.start_upload(token, case_id, nachweis, name, len(data))
        sent = stream_upload([data], started["target"])
        upload_id = started["upload_id"]
        document: dict[str, Any] = cluster.documents.complete_upload(token, upload_id, sent.size, sent.sha256)
        cluster.submissions.supply_document(case_id, token, document["document_id"], nachweis)
    return document


def test_only_clean_attached_documents_are_listed_and_streamed(office_with_documents: Office) -> None:
    office = office_with_documents
    token = office.token(office.create_client())
    stranger = office.token(office.create_client(ELSEWHERE))
    case_id = office.submitted_case()
    office.available(token, case_id)
    contract = pdf(pages=2)
    clean = supply(office, case_id, "arbeitsvertrag", "Arbeitsvertrag.pdf", contract)
    infected = supply(office, case_id, "lohnabrechnung_erste", "lohn.pdf", eicar())
    assert clean["state"] == "accepted" and infected["state"] == "rejected"

    def listed() -> list[dict[str, Any]]:
        answer = office.call("GET", f"/cases/{case_id}/documents", token)
        assert answer.status_code == 200, answer.text
        documents: list[dict[str, Any]] = answer.json()["documents"]
        return documents

    (document,) = wait_until(listed)
    assert document["document_id"] == clean["document_id"] and document["nachweis"] == "arbeitsvertrag"

    download = office.call("GET", document["href"].removeprefix("/backoffice/v1"), token)
    assert download.status_code == 200, download.text
    assert download.content == contract
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-SHA256"] == hashlib.sha256(contract).hexdigest()
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    refused = office.call("GET", f"/cases/{case_id}/documents/{infected['document_id']}", token)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "DOCUMENT_NOT_FOUND"
    assert office.call("GET", document["href"].removeprefix("/backoffice/v1"), stranger).status_code == 404
