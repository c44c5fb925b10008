"""The back-office API through the gateway, with real client credentials, tokens and SETs."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import update

from services.backoffice.cli import open_clients
from services.backoffice.schema import access_tokens
from services.backoffice.tests.conftest import ELSEWHERE, Office, wait_until
from services.backoffice.verify import verify_set
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher


def test_a_jobcenter_lists_fetches_and_accepts_a_new_case(office: Office) -> None:
    token = office.token(office.create_client())
    case_id = office.submitted_case()
    office.available(token, case_id)

    fetched = office.call("GET", f"/cases/{case_id}", token)
    assert fetched.status_code == 200, fetched.text
    body = fetched.json()
    assert body["schema"] == {"kind": "veraenderungsmitteilung", "version": body["case"]["form_version"]}
    assert body["case"]["answers"]["arbeitsaufnahme"]["arbeitgeber"] == "Muster GmbH"
    assert body["case"]["receipt_number"].startswith("JC-")
    assert body["case"]["jobcenter_id"] == "jc-0394"

    accepted = office.call("POST", f"/cases/{case_id}/accept", token)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"case_id": case_id, "status": "accepted"}
    assert office.call("POST", f"/cases/{case_id}/accept", token).status_code == 200  # idempotent
    assert case_id not in office.listed(token)
    assert office.citizens_timeline(case_id).count("Vom Jobcenter übernommen") == 1
    # Still readable after the handover, for the e-file to fetch again.
    assert office.call("GET", f"/cases/{case_id}", token).status_code == 200


def test_every_read_through_the_back_office_is_in_the_access_record(office: Office) -> None:
    client = office.create_client()
    token = office.token(client)
    case_id = office.submitted_case()
    office.available(token, case_id)
    assert office.call("GET", f"/cases/{case_id}", token).status_code == 200
    assert office.call("GET", f"/cases/{case_id}/events", token).status_code == 200
    reads = office.recorded_reads(case_id)
    assert {(r["account_id"], r["role"], r["institution_id"], r["action"]) for r in reads} == {
        (f"backoffice:{client['client_id']}", "backoffice", "jc-0394", "case_exported"),
        (f"backoffice:{client['client_id']}", "backoffice", "jc-0394", "events_exported"),
    }
    stranger = office.token(office.create_client(jobcenter_id="jc-0001"))
    assert office.call("GET", f"/cases/{case_id}", stranger).status_code == 404
    assert len(office.recorded_reads(case_id)) == 2  # a refused read reads nothing


def test_an_erased_case_is_gone_from_the_back_office(office: Office) -> None:
    """Retention (docs/retention.md): after case_erased the e-file can neither list nor fetch the case."""
    token = office.token(office.create_client())
    case_id = office.submitted_case()
    office.available(token, case_id)
    with EventPublisher(office.amqp_uri, "submissions") as publisher:
        publisher.publish(IntegrationEvent("case_erased", str(uuid.uuid4()), 1, {"case_id": case_id}))
    wait_until(lambda: case_id not in office.listed(token))
    assert office.call("GET", f"/cases/{case_id}", token).status_code == 404


def test_a_jobcenter_rejects_a_case_with_a_reason(office: Office) -> None:
    token = office.token(office.create_client())
    case_id = office.submitted_case()
    office.available(token, case_id)

    without_reason = office.call("POST", f"/cases/{case_id}/reject", token, json={})
    assert without_reason.status_code == 400
    assert without_reason.json()["error"]["code"] == "REASON_REQUIRED"

    rejected = office.call("POST", f"/cases/{case_id}/reject", token, json={"reason": "Aktenzeichen unbekannt"})
    assert rejected.status_code == 200, rejected.text
    assert case_id not in office.listed(token)
    assert "Vom Jobcenter nicht übernommen" in office.citizens_timeline(case_id)
    after_reject = office.call("POST", f"/cases/{case_id}/accept", token)
    assert after_reject.status_code == 409
    assert after_reject.json()["error"]["code"] == "HANDOVER_ALREADY_REFUSED"


def test_a_client_of_another_jobcenter_cannot_tell_the_case_exists(office: Office) -> None:
    own = office.token(office.create_client())
    stranger = office.token(office.create_client(ELSEWHERE))
    case_id = office.submitted_case()
    office.available(own, case_id)

    assert case_id not in office.listed(stranger)
    unknown = office.call("GET", "/cases/7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11", stranger)
    for method, path in (
        ("GET", f"/cases/{case_id}"),
        ("GET", f"/cases/{case_id}/documents"),
        ("GET", f"/cases/{case_id}/events"),
        ("POST", f"/cases/{case_id}/accept"),
    ):
        answer = office.call(method, path, stranger)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == unknown.json()["error"]["code"] == "CASE_NOT_FOUND"
    rejected = office.call("POST", f"/cases/{case_id}/reject", stranger, json={"reason": "nicht unserer"})
    assert rejected.status_code == 404
    assert case_id in office.listed(own)  # the stranger changed nothing


def test_the_event_log_is_signed_with_the_published_key_and_alterations_are_refused(office: Office) -> None:
    token = office.token(office.create_client())
    case_id = office.submitted_case()
    office.available(token, case_id)
    assert office.call("POST", f"/cases/{case_id}/accept", token).status_code == 200

    jwks = office.http.get(office.url("/.well-known/backoffice-keys.json"), timeout=20).json()
    answer = office.call("GET", f"/cases/{case_id}/events", token)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()["sets"]
    claims = [verify_set(each, jwks, audience="jc-0394") for each in tokens]
    types = [next(iter(claim["events"])).rsplit("/", 1)[1] for claim in claims]
    assert types[:2] == ["case_draft_started", "section_saved"]
    assert {"case_submitted", "case_assigned", "case_handover_confirmed"} <= set(types)
    assert len({claim["jti"] for claim in claims}) == len(claims)
    assert {claim["sub"] for claim in claims} == {case_id}
    assert all(jwt.get_unverified_header(each)["typ"] == "secevent+jwt" for each in tokens)
    # Ids and codes only: nothing the citizen wrote, and not the owner's account.
    payloads = json.dumps(claims, ensure_ascii=False)
    assert "Muster GmbH" not in payloads and ARBEITSAUFNAHME["wohnsitz"]["strasse"] not in payloads
    assert office.owners[case_id] not in payloads

    header, payload, signature = tokens[-1].split(".")
    changed = dict(claims[-1], sub="7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11")
    forged_payload = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verify_set(f"{header}.{forged_payload}.{signature}", jwks)
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(jwt.InvalidSignatureError):
        verify_set(f"{header}.{payload}.{flipped}", jwks)
    with pytest.raises(jwt.InvalidAudienceError):
        verify_set(tokens[-1], jwks, audience=ELSEWHERE)


def test_wrong_expired_and_missing_tokens_are_refused(office: Office) -> None:
    client = office.create_client()
    wrong_secret = office.http.post(
        office.url("/backoffice/v1/token"),
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": "geraten"},
        timeout=20,
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"]["code"] == "CLIENT_CREDENTIALS_INVALID"
    wrong_grant = office.http.post(
        office.url("/backoffice/v1/token"), data={"grant_type": "password"}, auth=(client["client_id"], "x"), timeout=20
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"]["code"] == "UNSUPPORTED_GRANT_TYPE"

    # Form credentials work as well as HTTP Basic.
    by_form = office.http.post(
        office.url("/backoffice/v1/token"),
        data={"grant_type": "client_credentials", **{k: client[k] for k in ("client_id", "client_secret")}},
        timeout=20,
    )
    assert by_form.status_code == 200
    assert by_form.json()["token_type"] == "Bearer" and by_form.json()["expires_in"] == 600
    token = by_form.json()["access_token"]
    assert office.call("GET", "/cases", token).status_code == 200

    for presented in ("", "Bearer", f"Bearer {token[:-2]}xx", f"Basic {token}"):
        refused = office.call("GET", "/cases", None, headers={"Authorization": presented} if presented else {})
        assert refused.status_code == 401, presented
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    # A browser's session cookie counts for nothing here: no bearer, no access, and no CSRF to check.
    with_cookie = office.call("POST", "/cases/x/accept", None, headers={"Cookie": "jc_session=abc"})
    assert with_cookie.status_code == 401
    assert with_cookie.json()["error"]["code"] == "TOKEN_MISSING"

    with open_clients(office.config) as clients, clients.db.transaction() as session:
        session.execute(update(access_tokens).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    expired = office.call("GET", "/cases", token)
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "TOKEN_INVALID"


def test_a_rotated_secret_and_a_disabled_client_lose_access(office: Office) -> None:
    client = office.create_client()
    token = office.token(client)
    with open_clients(office.config) as clients:
        rotated = clients.rotate_secret(client["client_id"])
    assert office.call("GET", "/cases", token).status_code == 401  # tokens end with the old secret
    old = office.http.post(
        office.url("/backoffice/v1/token"),
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=20,
    )
    assert old.status_code == 401
    assert rotated["callback_secret"] != client["callback_secret"]
    fresh = office.token(rotated)
    with open_clients(office.config) as clients:
        clients.disable(client["client_id"])
    assert office.call("GET", "/cases", fresh).status_code == 401
    again = office.http.post(
        office.url("/backoffice/v1/token"),
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], rotated["client_secret"]),
        timeout=20,
    )
    assert again.status_code == 401


def test_a_page_outside_1_to_10000_is_refused_with_its_code_not_a_server_error(office: Office) -> None:
    """Found by schemathesis: a page far beyond any case overflowed the database's offset (500)."""
    token = office.token(office.create_client())
    for page in ("603208498265035532239598159659008", "10001", "0", "-1", "zwei"):
        refused = office.call("GET", "/cases", token, params={"page": page})
        assert refused.status_code == 400, (page, refused.text)
        assert refused.json()["error"]["code"] == "PAGE_INVALID"
    last = office.call("GET", "/cases", token, params={"page": "10000"})
    assert last.status_code == 200
    assert last.json()["cases"] == [] and last.json()["page"] == 10000


def test_the_openapi_document_is_served_without_a_token_and_names_the_token_url_of_this_host(office: Office) -> None:
    answer = office.http.get(office.url("/backoffice/v1/openapi.json"), timeout=20)
    assert answer.status_code == 200
    flow = answer.json()["components"]["securitySchemes"]["client_credentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == office.url("/backoffice/v1/token")
    assert "/backoffice/v1/cases/{case_id}/accept" in answer.json()["paths"]
