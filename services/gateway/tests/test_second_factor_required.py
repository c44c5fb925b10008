"""No access to social data without a second factor, for citizens as for staff.

Found from outside: a citizen account that never enrolled got tokens with ``amr: ["pwd"]`` and full access
through the API (the pages pushed enrolment, the API did not).
"""

import secrets

import pytest

from services.gateway.tests.conftest import API, PASSWORD, Browser
from services.identity.operations import current_totp
from shared.auth import TokenVerifier
from shared.errors import Unauthenticated
from shared.testing.tokens import Issuer


@pytest.fixture
def unenrolled(portal):
    email = f"citizen.{secrets.token_hex(5)}@example.org"
    portal.operator.create_account(email, "citizen", None, PASSWORD, None, with_totp=False)
    return email


def test_a_password_alone_opens_no_session_but_leads_to_enrolment(portal, unenrolled):
    browser = Browser(portal)
    first = browser.request("POST", f"{API}/session", json={"email": unenrolled, "password": PASSWORD})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "second_factor_setup_required"
    assert "csrf_token" not in first.json()
    assert browser.request("GET", f"{API}/cases").status_code == 401

    ticket = first.json()["login_ticket"]
    started = browser.request("POST", f"{API}/session/enrolment", json={"login_ticket": ticket})
    assert started.status_code == 200, started.text
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    wrong = browser.request("POST", f"{API}/session/enrolment/confirm", json={"login_ticket": ticket, "code": "000000"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "SECOND_FACTOR_FAILED"
    code = current_totp(started.json()["secret"])
    done = browser.request("POST", f"{API}/session/enrolment/confirm", json={"login_ticket": ticket, "code": code})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "authenticated"
    assert len(done.json()["recovery_codes"]) >= 8
    browser.csrf = done.json()["csrf_token"]
    assert browser.request("GET", f"{API}/cases").status_code == 200


def test_every_service_refuses_a_token_without_a_second_factor():
    """Defence in depth: even a token identity signed by mistake with ``amr: ["pwd"]`` reaches no data."""
    issuer = Issuer()
    verifier = TokenVerifier(issuer.jwks)
    for amr in (["pwd"], [], ["pwd", "otp"]):
        with pytest.raises(Unauthenticated) as refused:
            verifier.verify(issuer.token(role="citizen", amr=amr))
        assert refused.value.code == "SECOND_FACTOR_REQUIRED"
    for amr in (["pwd", "otp", "mfa"], ["hwk", "mfa"], ["pwd", "mfa"]):
        assert verifier.verify(issuer.token(role="citizen", amr=amr)).amr == tuple(amr)
