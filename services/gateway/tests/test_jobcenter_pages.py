"""The Jobcenter's own pages and routes: Freischaltcodes, staff accounts, staff alerts, barrier reports."""

import base64
import re
import secrets
import subprocess

import pytest

from services.gateway.tests.conftest import API, PASSWORD, Browser, wait_until
from services.gateway.tests.test_account_pages import link_in, mails_to
from services.gateway.tests.test_pages import csrf_of, found, post_form
from services.gateway.tests.test_staff_api import assigned, relay_routing, staff_browser, submitted_case  # noqa: F401
from services.gateway.tests.test_staff_pages import log_in_on_pages

CODES = "/sachbearbeitung/freischaltcodes"
TEAM = "/verwaltung/mitarbeitende"
STAFF = f"{API}/staff"


def customer_number():
    return f"922D{secrets.randbelow(10**6):06d}"


def issue_on_the_page(browser, number, **fields):
    page = browser.request("GET", CODES)
    assert page.status_code == 200, page.text
    return post_form(browser, CODES, page.text, customer_number=number, **fields)


def row_of(html, number):
    return found(rf'(?s)(<tr>\s*<td data-label="Kundennummer">{number}</td>.*?</tr>)', html)


@pytest.fixture(scope="module")
def caseworker(portal):
    browser, _landed = log_in_on_pages(portal, portal.staff_account())
    return browser


def test_a_caseworker_issues_a_code_gets_the_letter_once_and_sees_it_open(caseworker):
    number = customer_number()
    issued = issue_on_the_page(caseworker, number)
    assert issued.status_code == 200, issued.text
    code = found(r'<strong class="code">([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})</strong>', issued.text)
    letter = base64.b64decode(found(r'href="data:application/pdf;base64,([A-Za-z0-9+/=]+)"', issued.text))
    assert letter.startswith(b"%PDF-")
    assert "Offen" in row_of(issued.text, number) and "widerrufen" in row_of(issued.text, number)
    again = caseworker.request("GET", CODES).text
    assert code not in again and number in again  # the clear code is shown only once


def test_a_malformed_customer_number_is_explained_next_to_the_field(caseworker):
    refused = issue_on_the_page(caseworker, "12345")
    assert refused.status_code == 400
    assert 'href="#customer_number"' in refused.text and 'aria-invalid="true"' in refused.text


def test_revoking_an_open_code_on_the_page_makes_it_unusable_for_registration(portal, caseworker):
    number = customer_number()
    issued = issue_on_the_page(caseworker, number)
    code = found(r'<strong class="code">([A-Z0-9-]{19})</strong>', issued.text)
    action = found(r'action="(/sachbearbeitung/freischaltcodes/[^"]+/widerrufen)"', row_of(issued.text, number))
    revoked = post_form(caseworker, action, issued.text)
    assert revoked.status_code == 200 and revoked.url.endswith(CODES + "?erledigt=widerrufen#codes")
    assert "Der Freischaltcode ist widerrufen" in revoked.text
    assert "Widerrufen am" in row_of(revoked.text, number)
    twice = post_form(caseworker, action, revoked.text)
    assert twice.status_code == 409 and "schon benutzt oder widerrufen" in twice.text

    citizen = Browser(portal)
    form = citizen.request("GET", "/registrieren").text
    email = f"n.{secrets.token_hex(4)}@example.org"
    refused = post_form(citizen, "/registrieren", form, activation_code=code, email=email, password=PASSWORD,
                        password_repeat=PASSWORD, given_name="Erika", family_name="Mustermann")  # fmt: skip
    assert refused.status_code in (400, 401) and "nicht gültig, abgelaufen oder schon benutzt" in refused.text


def test_the_api_issues_lists_and_revokes_codes_only_within_the_own_jobcenter(portal):
    own, other = staff_browser(portal), staff_browser(portal, institution="jc-0001")
    issued = own.request("POST", f"{STAFF}/activation-codes", json={"customer_number": customer_number()})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert base64.b64decode(body["letter_pdf"]).startswith(b"%PDF-") and body["institution_id"] == "jc-0394"
    letter = subprocess.run(["pdftotext", "-", "-"], input=base64.b64decode(body["letter_pdf"]), capture_output=True,
                            check=True).stdout.decode()  # fmt: skip
    assert letter.startswith("Jobcenter Berlin Treptow-Köpenick") and "jc-0394" not in letter  # the name, not the id
    listed = own.request("GET", f"{STAFF}/activation-codes").json()["activation_codes"]
    assert body["code_id"] in {row["code_id"] for row in listed}
    assert body["code_id"] not in {
        row["code_id"] for row in other.request("GET", f"{STAFF}/activation-codes").json()["activation_codes"]
    }
    assert other.request("POST", f"{STAFF}/activation-codes/{body['code_id']}/revocation").status_code == 404
    assert own.request("POST", f"{STAFF}/activation-codes/{body['code_id']}/revocation").status_code == 204
    assert own.request("POST", f"{STAFF}/activation-codes/{body['code_id']}/revocation").status_code == 409


def test_a_citizen_gets_403_on_the_jobcenters_routes_and_pages(portal):
    citizen = Browser(portal)
    citizen.log_in(portal.account())
    for path in ("/activation-codes", "/accounts", "/alerts", "/accessibility-feedback"):
        answer = citizen.request("GET", STAFF + path)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "STAFF_ONLY", path
    assert (
        citizen.request("POST", f"{STAFF}/activation-codes", json={"customer_number": customer_number()}).status_code
        == 403
    )
    for path in (CODES, TEAM, "/verwaltung/barrieren"):
        assert citizen.request("GET", path).status_code == 403, path


def test_an_admin_invites_a_caseworker_who_gets_the_link_to_set_a_password(portal, mailbox):
    admin, _ = log_in_on_pages(portal, portal.staff_account("admin", None))
    email = f"neu.{secrets.token_hex(4)}@jobcenter.example"
    page = admin.request("GET", TEAM)
    assert page.status_code == 200 and 'name="institution_id"' in page.text
    created = post_form(admin, TEAM, page.text, email=email, role="caseworker", institution_id="jc-0394",
                        display_name="  Erika   Muster ")  # fmt: skip
    assert created.status_code == 200, created.text
    assert f"Das Konto für {email} ist angelegt" in created.text
    assert '<td data-label="Name">Erika Muster</td>' in created.text  # colleagues see the name, not only the address
    assert email in found(r'(?s)(<table class="inbox reflow">.*?</table>)', created.text)
    (mail,) = mails_to(mailbox, email)
    assert link_in(mail).startswith("/konto/passwort-neu?token=")
    taken = post_form(admin, TEAM, created.text, email=email, role="caseworker", institution_id="jc-0394")
    assert taken.status_code == 400 and 'href="#email"' in taken.text


def test_a_team_lead_invites_and_disables_only_caseworkers_of_the_own_jobcenter(portal, mailbox):
    lead, _ = log_in_on_pages(portal, portal.staff_account("team_lead"))
    colleague = portal.staff_account()
    page = lead.request("GET", TEAM)
    assert page.status_code == 200 and 'name="institution_id"' not in page.text and colleague.email in page.text
    email = f"neu.{secrets.token_hex(4)}@jobcenter.example"
    # a forged role is refused: team leads invite caseworkers only
    forged = post_form(lead, TEAM, page.text, email=email, role="team_lead")
    assert forged.status_code == 400 and not mails_to(mailbox, email, 0)
    created = post_form(lead, TEAM, page.text, email=email, role="caseworker")
    assert created.status_code == 200 and email in created.text
    address = re.escape(colleague.email)
    listed = rf'(?s)(<tr>\s*<td data-label="Name">[^<]*</td>\s*<td data-label="E-Mail-Adresse">{address}</td>.*?</tr>)'
    row = found(listed, created.text)
    disabled = post_form(lead, found(r'action="([^"]+/sperren)"', row), created.text)
    assert disabled.status_code == 200 and colleague.email not in disabled.text
    assert "Das Konto ist gesperrt" in disabled.text
    gone = Browser(portal)
    first = gone.request("POST", f"{API}/session", json={"email": colleague.email, "password": PASSWORD})
    assert first.status_code == 401, first.text  # disabled: the same answer as a wrong password
    foreign = portal.staff_account(institution="jc-0001")
    refused = lead.request("POST", f"{TEAM}/{foreign.account_id}/sperren", csrf=False,
                           data={"csrf_token": csrf_of(created.text)})  # fmt: skip
    assert refused.status_code == 403


def test_admins_read_the_reported_barriers_and_nobody_else_does(portal, caseworker):
    visitor = Browser(portal)
    form = visitor.request("GET", "/barrierefreiheit/rueckmeldung").text
    barrier = f"Der Kalender lässt sich nicht mit der Tastatur bedienen ({secrets.token_hex(3)})"
    assert post_form(visitor, "/barrierefreiheit/rueckmeldung", form, barrier=barrier, page="/antrag",
                     contact="").status_code == 200  # fmt: skip
    admin = staff_browser(portal, "admin", None)
    page = admin.request("GET", "/verwaltung/barrieren")
    assert page.status_code == 200 and barrier in page.text
    assert barrier in {
        report["barrier"] for report in admin.request("GET", f"{STAFF}/accessibility-feedback").json()["reports"]
    }
    assert caseworker.request("GET", "/verwaltung/barrieren").status_code == 403


def test_the_inbox_shows_the_jobcenters_staff_alerts(portal, relay_routing, caseworker):  # noqa: F811
    _citizen, _account, case_id, _receipt = submitted_case(portal)
    api = staff_browser(portal)
    assigned(portal, relay_routing, api, case_id)

    def alerted():
        portal.relay()  # submissions publishes case_assigned, on which notify alerts the Jobcenter
        return [
            alert for alert in api.request("GET", f"{STAFF}/alerts").json()["alerts"] if alert["case_id"] == case_id
        ]

    alerts = wait_until(alerted)
    assert alerts[0]["text"] == "Neuer Vorgang im Posteingang"
    inbox = caseworker.request("GET", "/sachbearbeitung").text
    assert "Hinweise für Ihr Jobcenter" in inbox
    assert f'href="/sachbearbeitung/faelle/{case_id}">Neuer Vorgang im Posteingang</a>' in inbox
    # Admins see every Jobcenter's alerts, and one Jobcenter's by its id; another Jobcenter's staff do not.
    admin = Browser(portal)
    admin.log_in(portal.staff_account("admin", None))
    everyone = admin.request("GET", f"{STAFF}/alerts").json()["alerts"]
    assert case_id in {alert["case_id"] for alert in everyone}
    only = admin.request("GET", f"{STAFF}/alerts", params={"institution_id": "jc-0001"}).json()["alerts"]
    assert case_id not in {alert["case_id"] for alert in only}
    page = admin.request("GET", "/verwaltung/hinweise", params={"jobcenter": "jc-0394"})
    assert page.status_code == 200 and case_id in page.text and "Neuer Vorgang im Posteingang" in page.text
    stranger = staff_browser(portal, institution="jc-0001")
    assert case_id not in {a["case_id"] for a in stranger.request("GET", f"{STAFF}/alerts").json()["alerts"]}
    assert stranger.request("GET", "/verwaltung/hinweise").status_code == 403


def test_staff_act_only_for_their_own_jobcenter_and_admins_only_for_one_that_uses_the_portal(portal):
    """Naming another Jobcenter is refused, not silently replaced by the own (outside pass of #21)."""
    caseworker, lead = staff_browser(portal), staff_browser(portal, "team_lead")
    number = customer_number()
    foreign = caseworker.request("POST", f"{STAFF}/activation-codes",
                                 json={"customer_number": number, "institution_id": "jc-0001"})  # fmt: skip
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "INSTITUTION_NOT_ALLOWED"
    own = caseworker.request("POST", f"{STAFF}/activation-codes",
                             json={"customer_number": number, "institution_id": "jc-0394"})  # fmt: skip
    assert own.status_code == 201, own.text
    invited = lead.request(
        "POST",
        f"{STAFF}/accounts",
        json={
            "email": f"neu.{secrets.token_hex(4)}@jobcenter.example",
            "role": "caseworker",
            "institution_id": "jc-0001",
        },
    )
    assert invited.status_code == 403 and invited.json()["error"]["code"] == "INSTITUTION_NOT_ALLOWED"
    assert lead.request("GET", f"{STAFF}/accounts", params={"institution_id": "jc-0001"}).status_code == 403

    admin = staff_browser(portal, "admin", None)
    for unknown in ("jc-9999", "jc-0103", "../../x"):  # none, a zkT (Göttingen), garbage
        created = admin.request(
            "POST",
            f"{STAFF}/accounts",
            json={
                "email": f"neu.{secrets.token_hex(4)}@jobcenter.example",
                "role": "caseworker",
                "institution_id": unknown,
            },
        )
        assert created.status_code == 400 and created.json()["error"]["code"] == "INSTITUTION_INVALID", unknown


def test_nobody_disables_their_own_account_so_the_last_admin_stays(portal):
    admin = Browser(portal)
    account = portal.staff_account("admin", None)
    admin.log_in(account)
    refused = admin.request("POST", f"{STAFF}/accounts/{account.account_id}/disable")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "OWN_ACCOUNT"
    assert admin.request("GET", f"{STAFF}/alerts").status_code == 200  # still signed in, still an admin
