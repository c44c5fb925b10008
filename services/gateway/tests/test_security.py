"""CSRF, the session cookie, security headers on every answer, size and rate limits, no internals."""

import dataclasses
import json

import pytest

from services.documents.tests import samples
from services.gateway.tests.conftest import API, PASSWORD, Browser
from services.identity.operations import current_totp

SECURITY_HEADERS = {
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cache-Control",
}


@pytest.fixture(scope="module")
def citizen(portal):
    browser = Browser(portal)
    browser.log_in(portal.account())
    return browser


@pytest.fixture(scope="module")
def draft(citizen):
    return citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]


def test_a_state_change_without_the_csrf_token_is_refused(citizen, draft):
    answer = citizen.request("PUT", f"{API}/cases/{draft}/sections/aenderungen", csrf=False,
                             json={"aenderungen": ["arbeitsaufnahme"]})  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"
    assert citizen.request("GET", f"{API}/cases/{draft}").json()["answers"] == {}


def test_a_csrf_token_of_another_session_is_refused(portal, citizen, draft):
    other = Browser(portal)
    other.log_in(portal.account())
    answer = citizen.request("POST", f"{API}/cases", csrf=False, headers={"X-CSRF-Token": other.csrf},
                             json={"kind": "veraenderungsmitteilung"})  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"


def test_a_cross_site_form_post_to_the_login_is_refused(portal):
    browser = Browser(portal)
    answer = browser.request("POST", f"{API}/session", data={"email": "a@example.org", "password": PASSWORD})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "CSRF_FAILED"


def test_logout_without_the_csrf_token_does_not_end_the_session(citizen):
    assert citizen.request("DELETE", f"{API}/session", csrf=False).status_code == 403
    assert citizen.request("GET", f"{API}/session").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("GET", "/readyz"), ("GET", f"{API}/openapi.json"), ("GET", f"{API}/postcodes/15711"),
     ("GET", f"{API}/cases"), ("GET", f"{API}/nowhere"), ("GET", "/.well-known/jwks.json"),
     ("POST", f"{API}/cases"), ("PATCH", f"{API}/cases"), ("GET", "/no/such/page")],
)  # fmt: skip
def test_every_answer_carries_the_security_headers(portal, method, path):
    answer = Browser(portal).request(method, path)
    assert SECURITY_HEADERS <= set(answer.headers), (answer.status_code, answer.headers)
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # HSTS only over HTTPS; these tests run with GATEWAY_SECURE_COOKIES=false
    assert "Strict-Transport-Security" not in answer.headers


def test_personal_answers_are_never_cached(citizen):
    assert citizen.request("GET", f"{API}/cases").headers["Cache-Control"] == "no-store"


def test_the_session_cookie_is_httponly_and_samesite_lax(portal):
    browser = Browser(portal)
    account = portal.account()
    first = browser.request("POST", f"{API}/session", json={"email": account.email, "password": PASSWORD})
    code = current_totp(account.totp_secret)
    second = browser.request(
        "POST", f"{API}/session/second-factor", json={"login_ticket": first.json()["login_ticket"], "code": code}
    )
    cookie = second.headers["Set-Cookie"]
    assert cookie.startswith("jc_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # GATEWAY_SECURE_COOKIES=false for local http


def test_a_body_over_the_limit_is_refused_with_413(citizen, draft):
    big = {"aenderungen": ["x" * 70_000]}
    answer = citizen.request("PUT", f"{API}/cases/{draft}/sections/aenderungen", json=big)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "REQUEST_TOO_LARGE"


def test_too_many_logins_from_one_address_are_refused_with_429(portal):
    state = portal.gateway_state()
    configured = state.settings
    state.settings = dataclasses.replace(configured, login_per_minute=3)
    state.limiter.hits.clear()
    browser = Browser(portal)
    try:
        statuses = [
            browser.request(
                "POST", f"{API}/session", json={"email": f"nobody{i}@example.org", "password": "x" * 12}
            ).status_code
            for i in range(4)
        ]
    finally:
        state.settings = configured
        state.limiter.hits.clear()
    assert statuses == [401, 401, 401, 429]


def test_too_many_uploads_from_one_address_are_refused_with_429(portal, citizen, draft):
    state = portal.gateway_state()
    configured = state.settings
    state.settings = dataclasses.replace(configured, upload_per_minute=2)
    state.limiter.hits.clear()
    try:
        statuses = [
            citizen.request(
                "POST", f"{API}/cases/{draft}/documents", params={"nachweis": "arbeitsvertrag", "filename": "V.pdf"},
                data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
            ).status_code
            for _ in range(3)
        ]  # fmt: skip
    finally:
        state.settings = configured
        state.limiter.hits.clear()
    assert statuses == [201, 201, 429]


def test_a_malformed_body_is_answered_without_the_parsers_words(citizen, draft):
    answer = citizen.request("PUT", f"{API}/cases/{draft}/sections/aenderungen", data=b"{not json",
                             headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "BODY_INVALID",
        "message": "Die Angaben sind kein gültiges JSON.",
        "correlation_id": answer.headers["X-Correlation-ID"],
    }
    assert "Expecting" not in answer.text


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_no_json_numbers(citizen, draft, constant):
    # Python's reader takes them; a schema's minimum does not stop NaN, and no database stores it.
    body = '{"arbeitgeber": "Muster GmbH", "beginn": "2026-12-01", "wochenstunden": 30, "brutto_monatlich": %s}'
    answer = citizen.request("PUT", f"{API}/cases/{draft}/sections/arbeitsaufnahme", data=(body % constant).encode(),
                             headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BODY_INVALID"


def test_an_unknown_api_route_is_a_json_404(portal):
    answer = Browser(portal).request("GET", f"{API}/nowhere")
    assert answer.status_code == 404
    assert json.loads(answer.text)["error"]["code"] == "ROUTE_NOT_FOUND"
