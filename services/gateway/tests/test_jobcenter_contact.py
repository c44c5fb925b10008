"""Angaben des Jobcenters: its team lead or an admin sets how citizens reach it (page and staff API); the finder,
"Mein Jobcenter" and the Freischaltcode letter show it."""

import base64
import html
from typing import Any

from services.gateway.tests.conftest import API, Browser, wait_until
from services.gateway.tests.test_pages import found, pdf_text, post_form
from services.gateway.tests.test_staff_api import relay_routing, staff_browser, submitted_case  # noqa: F401
from services.gateway.tests.test_staff_pages import log_in_on_pages

PAGE = "/verwaltung/jobcenter"
CONTACT = f"{API}/staff/jobcenter-contact"
TREPTOW: dict[str, Any] = {
    "postal_address": {"street": "Groß-Berliner Damm 73", "postcode": "12487", "city": "Berlin"},
    "visitor_address": {"street": "Alt-Köpenick 21", "postcode": "12555", "city": "Berlin"},
    "phone": "030 5555 1234", "email": "post@jobcenter.example", "opening_hours": "Mo–Fr 8–12 Uhr\nDo 14–18 Uhr",
}  # fmt: skip
FORM = {"postal_street": "Postfach 12 34 56", "postal_postcode": "20097", "postal_city": "Hamburg",
        "visitor_street": "", "visitor_postcode": "", "visitor_city": "", "phone": "", "email": "",
        "opening_hours": "Montag bis Freitag 8 bis 12 Uhr"}  # fmt: skip


def test_a_team_lead_sets_the_address_of_the_own_jobcenter_on_the_page_and_sees_it_saved(portal):
    lead, _ = log_in_on_pages(portal, portal.staff_account("team_lead", "jc-0083"))
    page = lead.request("GET", PAGE)
    assert page.status_code == 200 and "<h1>Angaben des Jobcenters</h1>" in page.text
    assert 'href="/verwaltung/jobcenter"' in page.text  # in the menu
    assert 'name="jobcenter"' not in page.text  # a team lead's own Jobcenter, no choice
    saved = post_form(lead, PAGE, page.text, **FORM)
    assert saved.status_code == 200 and saved.url.endswith(PAGE + "?erledigt=gespeichert")
    assert 'role="status"' in saved.text and "Die Angaben sind gespeichert." in saved.text
    assert 'value="Postfach 12 34 56"' in saved.text and "Montag bis Freitag 8 bis 12 Uhr</textarea>" in saved.text
    assert "Zuletzt geändert:" in saved.text


def test_a_wrong_postcode_on_the_page_is_explained_next_to_its_field_and_nothing_is_saved(portal):
    lead, _ = log_in_on_pages(portal, portal.staff_account("team_lead", "jc-0002"))
    page = lead.request("GET", PAGE)
    refused = post_form(lead, PAGE, page.text, **{**FORM, "postal_postcode": "2009"})
    assert refused.status_code == 400
    assert 'href="#postal_postcode"' in refused.text and "Die Postleitzahl hat 5 Ziffern." in refused.text
    field = found(r'(<input id="postal_postcode"[^>]*>)', refused.text)
    assert 'aria-invalid="true"' in field and 'value="2009"' in field  # what was typed stays
    assert lead.request("GET", CONTACT).json()["contact"] is None


def test_an_admin_names_the_jobcenter_and_sets_its_contact_by_the_api(portal):
    admin = staff_browser(portal, "admin", None)
    body = {**TREPTOW, "postal_address": {**TREPTOW["postal_address"], "city": "Hamburg"}, "institution_id": "jc-0083"}
    answer = admin.request("PUT", CONTACT, json=body)
    assert answer.status_code == 200, answer.text
    stored = answer.json()
    assert stored["jobcenter_id"] == "jc-0083" and stored["contact"]["postal_address"]["city"] == "Hamburg"
    assert admin.request("GET", CONTACT, params={"institution_id": "jc-0083"}).json() == stored
    missing = admin.request("PUT", CONTACT, json=TREPTOW)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "INSTITUTION_REQUIRED"
    zkt = admin.request("PUT", CONTACT, json={**TREPTOW, "institution_id": "jc-0008"})
    assert zkt.status_code == 400 and zkt.json()["error"]["code"] == "INSTITUTION_INVALID"


def test_a_refused_contact_names_its_code_and_field(portal):
    lead = staff_browser(portal, "team_lead", "jc-0001")
    for body, code, field in (
        ({**TREPTOW, "postal_address": {**TREPTOW["postal_address"], "postcode": "1248"}}, "POSTCODE_INVALID",
         "postal_address.postcode"),
        ({**TREPTOW, "phone": "ruf mich an"}, "PHONE_INVALID", "phone"),
        ({**TREPTOW, "email": "post(at)jobcenter"}, "EMAIL_INVALID", "email"),
        ({**TREPTOW, "opening_hours": "\u202e8–12"}, "HIDDEN_CHARACTERS", "opening_hours"),
        ({"visitor_address": None}, "FIELD_REQUIRED", "postal_address.street"),
    ):  # fmt: skip
        refused = lead.request("PUT", CONTACT, json=body)
        assert refused.status_code == 400, refused.text
        assert (refused.json()["error"]["code"], refused.json()["error"]["details"]["field"]) == (code, field)


def test_a_caseworker_a_citizen_and_another_jobcenter_s_team_lead_are_refused(portal):
    caseworker = staff_browser(portal, "caseworker", "jc-0394")
    for method, body in (("GET", None), ("PUT", TREPTOW)):
        refused = caseworker.request(method, CONTACT, json=body)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "ROLE_NOT_ALLOWED"
    other = staff_browser(portal, "team_lead", "jc-0001")
    refused = other.request("PUT", CONTACT, json={**TREPTOW, "institution_id": "jc-0394"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "INSTITUTION_NOT_ALLOWED"
    citizen = Browser(portal)
    citizen.log_in(portal.account())
    refused = citizen.request("PUT", CONTACT, json=TREPTOW)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "STAFF_ONLY"
    assert citizen.request("GET", PAGE).status_code == 403
    caseworker_on_pages, _ = log_in_on_pages(portal, portal.staff_account("caseworker", "jc-0394"))
    assert caseworker_on_pages.request("GET", PAGE).status_code == 403


def test_the_finder_and_mein_jobcenter_show_the_address_once_the_jobcenter_set_it(portal):
    lead = staff_browser(portal, "team_lead", "jc-0394")
    assert lead.request("PUT", CONTACT, json=TREPTOW).status_code == 200
    public = Browser(portal)
    answer = public.request("GET", f"{API}/responsible-jobcenter", params={"plz": "12555", "strasse": "Bahnhofstraße",
                                                                           "hausnummer": "1"}).json()  # fmt: skip
    assert answer["jobcenter"]["contact"]["postal_address"] == TREPTOW["postal_address"]
    finder = html.unescape(public.request("GET", "/zustaendiges-jobcenter", params={"plz": "12555", "strasse":
                                          "Bahnhofstraße", "hausnummer": "1"}).text)  # fmt: skip
    assert "Groß-Berliner Damm 73<br>12487 Berlin" in finder and "Alt-Köpenick 21<br>12555 Berlin" in finder
    assert 'href="tel:03055551234"' in finder and "Mo–Fr 8–12 Uhr\nDo 14–18 Uhr" in finder

    citizen = Browser(portal)
    citizen.log_in(portal.account())
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    address = {"plz": "12555", "ort": "Berlin", "strasse": "Bahnhofstraße", "hausnummer": "1", "berlin_bezirk": "09"}
    assert citizen.request("PUT", f"{API}/cases/{case_id}/sections/wohnsitz", json=address).status_code == 200
    mine = citizen.request("GET", f"{API}/my-jobcenter").json()["resolution"]["jobcenter"]
    assert mine["contact"]["phone"] == "030 5555 1234"
    page = html.unescape(citizen.request("GET", "/mein-jobcenter").text)
    assert "<dt>Postanschrift</dt>" in page and "Groß-Berliner Damm 73<br>12487 Berlin" in page


def test_the_freischaltcode_letter_is_headed_with_the_jobcenter_s_name_and_postal_address(portal):
    lead = staff_browser(portal, "team_lead", "jc-0001")
    set_ = lead.request("PUT", CONTACT, json={"postal_address": {"street": "Feldstraße 85 a", "postcode": "17489",
                                                                  "city": "Greifswald"}})  # fmt: skip
    assert set_.status_code == 200, set_.text
    issued = staff_browser(portal, "caseworker", "jc-0001").request(
        "POST", f"{API}/staff/activation-codes", json={"customer_number": "922D123456"}
    )
    assert issued.status_code == 201, issued.text
    letter = pdf_text(base64.b64decode(issued.json()["letter_pdf"]))
    assert letter.startswith(f"{set_.json()['display_name']}\nFeldstraße 85 a\n17489 Greifswald\n"), letter[:200]
    assert "jc-0001" not in letter


def test_the_receipt_is_headed_with_the_assigned_jobcenter_s_name_and_postal_address(portal, relay_routing):  # noqa: F811
    lead = staff_browser(portal, "team_lead", "jc-0394")
    assert lead.request("PUT", CONTACT, json=TREPTOW).status_code == 200
    citizen, _account, case_id, _number = submitted_case(portal)

    def receipt_of_the_assigned_case():
        portal.relay()
        relay_routing()
        text = pdf_text(citizen.request("GET", f"{API}/cases/{case_id}/receipt").content)
        return text if "weitergeleitet" not in text else None

    lines = [line for line in wait_until(receipt_of_the_assigned_case, timeout=30).splitlines() if line.strip()]
    assert lines[:4] == ["Jobcenter-Portal · Eingangsbestätigung", "Jobcenter Berlin Treptow-Köpenick",
                         "Groß-Berliner Damm 73", "12487 Berlin"]  # fmt: skip
