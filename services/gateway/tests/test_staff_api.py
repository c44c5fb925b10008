"""The caseworker's JSON API: the Arbeitsaufnahme from inbox to decision, and who may not see it."""

import re
import secrets
import uuid
from datetime import date, timedelta

import pytest

from services.documents.tests import samples
from services.gateway.tests.conftest import API, Browser, wait_until
from services.routing.application import Assignments
from services.submissions.tests.scenarios import ARBEITSAUFNAHME
from shared.dates import german_today
from shared.messaging import EventPublisher
from shared.outbox import OutboxRelay, RelayPositions
from shared.sql import make_engine

STAFF = f"{API}/staff"


class RoutingRelay:
    """Routing's outbox relay, driven by hand like submissions' (``portal.relay()``): publishes its decisions."""

    def __init__(self, portal) -> None:
        config = portal.containers["routing"].config
        self.application = Assignments.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
        self.engine = make_engine(str(config["DATABASE_URL"]))
        self.publisher = EventPublisher(portal.env["AMQP_URI"], "routing")
        self.relay = OutboxRelay(self.application, self.publisher, RelayPositions(self.engine, self.application.name))

    def __call__(self) -> None:
        self.relay.relay_batch()

    def close(self) -> None:
        self.publisher.close()
        self.application.close()
        self.engine.dispose()


@pytest.fixture(scope="module")
def relay_routing(portal):
    relay = RoutingRelay(portal)
    yield relay
    relay.close()


def submitted_case(portal, customer_number=None, name=None):
    """A citizen of Treptow-Köpenick submits an Arbeitsaufnahme; returns their browser, account and case id."""
    citizen = Browser(portal)
    account = portal.account(customer_number, name)
    citizen.log_in(account)
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    for section_id, data in ARBEITSAUFNAHME.items():
        assert citizen.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data).status_code == 200
    uploaded = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents", params={"nachweis": "arbeitsvertrag", "filename": "Vertrag.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    submitted = citizen.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert submitted.status_code == 200, submitted.text
    portal.relay()
    return citizen, account, case_id, submitted.json()["receipt_number"]


def staff_browser(portal, role="caseworker", institution="jc-0394"):
    browser = Browser(portal)
    browser.log_in(portal.staff_account(role, institution))
    return browser


def assigned(portal, relay_routing, caseworker, case_id):
    """The case once routing assigned it to the caseworker's Jobcenter (the view is 404 until then)."""

    def seen():
        portal.relay()
        relay_routing()
        answer = caseworker.request("GET", f"{STAFF}/cases/{case_id}")
        return answer.json() if answer.status_code == 200 and answer.json()["case"]["status"] == "assigned" else None

    return wait_until(seen, timeout=30)


@pytest.fixture(scope="module")
def story(portal, relay_routing):
    """The first acceptance scenario through the staff API, step by step; the tests read what happened."""
    customer_number = f"922D{secrets.randbelow(10**6):06d}"
    citizen, account, case_id, receipt_number = submitted_case(portal, customer_number, ("Zoë", "Çelik"))
    caseworker = staff_browser(portal)
    steps = {"opened": assigned(portal, relay_routing, caseworker, case_id)}
    steps["inbox"] = caseworker.request("GET", f"{STAFF}/inbox", params={"status": "assigned"}).json()
    steps["by_receipt"] = caseworker.request("GET", f"{STAFF}/inbox", params={"q": receipt_number}).json()
    steps["by_customer"] = caseworker.request("GET", f"{STAFF}/inbox", params={"q": customer_number}).json()
    steps["receive"] = caseworker.request("POST", f"{STAFF}/cases/{case_id}/receive")
    due = (german_today() + timedelta(days=14)).isoformat()
    steps["request"] = caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/document-requests",
        json={"items": ["lohnabrechnung_erste"], "note": "Bitte die erste Gehaltsabrechnung.", "due_date": due},
    )  # fmt: skip
    steps["message"] = caseworker.request("POST", f"{STAFF}/cases/{case_id}/messages", json={"text": "Danke!"})
    portal.relay()
    steps["request_seen"] = citizen.request("GET", f"{API}/cases/{case_id}").json()["case"]["document_request"]
    steps["request_page"] = citizen.request("GET", f"/antraege/{case_id}").text

    def postfach_with_the_request() -> str | None:
        page = citizen.request("GET", "/postfach").text
        return page if "Bitte reichen Sie Unterlagen nach" in page else None

    steps["request_postfach"] = wait_until(postfach_with_the_request, timeout=30)
    payslip = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents",
        params={"nachweis": "lohnabrechnung_erste", "filename": "Gehaltsabrechnung.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert payslip.status_code == 201, payslip.text
    steps["payslip"] = payslip.json()
    steps["request_after_upload"] = citizen.request("GET", f"{API}/cases/{case_id}").json()["case"]["document_request"]
    steps["after_upload"] = caseworker.request("GET", f"{STAFF}/cases/{case_id}").json()
    steps["download"] = caseworker.request("GET", f"{STAFF}/cases/{case_id}/documents/{payslip.json()['document_id']}")
    for channel in ("postfach_bescheide", "email_alerts"):  # the Bescheid digitally, with its delivery date
        assert citizen.request("PUT", f"{API}/consents/{channel}", json={"granted": True}).status_code == 200
    steps["bescheid"] = caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/bescheid", params={"filename": "Bescheid.pdf"}, data=samples.pdf(),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    steps["decision"] = caseworker.request(
        "POST", f"{STAFF}/cases/{case_id}/decision",
        json={"outcome": "amended", "bescheid_document_id": steps["bescheid"].json().get("document_id")},
    )  # fmt: skip
    portal.relay()
    return {"citizen": citizen, "caseworker": caseworker, "case_id": case_id, "receipt_number": receipt_number,
            **steps}  # fmt: skip


def test_the_inbox_of_treptow_koepenick_lists_the_assigned_case_with_counts(story):
    assert story["case_id"] in {row["case_id"] for row in story["inbox"]["cases"]}
    assert story["inbox"]["counts"]["assigned"] >= 1
    assert all(row["status"] == "assigned" for row in story["inbox"]["cases"])


def test_the_inbox_finds_the_case_by_receipt_number_and_by_customer_number(story):
    assert [row["case_id"] for row in story["by_receipt"]["cases"]] == [story["case_id"]]
    assert [row["case_id"] for row in story["by_customer"]["cases"]] == [story["case_id"]]


def test_the_case_shows_the_data_by_form_section_with_german_labels(story):
    sections = {section["id"]: section for section in story["opened"]["form_sections"]}
    work = {field["label"]: field["value"] for field in sections["arbeitsaufnahme"]["fields"]}
    assert "Muster GmbH" in work.values()
    assert all(label != "arbeitgeber" for label in work), "labels come from the form, not the field names"


def test_receive_request_and_message_are_accepted(story):
    for step in ("receive", "request"):
        assert story[step].status_code == 204, story[step].text
    assert story["message"].status_code == 201, story["message"].text


def test_the_citizen_sees_what_is_requested_with_the_note_and_an_upload_link_per_item(story):
    request = story["request_seen"]
    assert request["items"] == [{"kind": "lohnabrechnung_erste", "label": "Erste Lohnabrechnung", "supplied": False}]
    assert request["note"] == "Bitte die erste Gehaltsabrechnung."
    page = story["request_page"]
    assert "Ihr Jobcenter braucht noch Unterlagen" in page and "Bitte die erste Gehaltsabrechnung." in page
    assert f'href="/antraege/{story["case_id"]}/nachweise?nachweis=lohnabrechnung_erste"' in page
    preselected = story["citizen"].request(
        "GET", f"/antraege/{story['case_id']}/nachweise?nachweis=lohnabrechnung_erste"
    )
    assert '<option value="lohnabrechnung_erste" selected>' in preselected.text
    assert story["request_after_upload"]["items"][0]["supplied"] is True


def test_the_postfach_page_shows_the_open_request_with_the_note_and_an_upload_link_until_it_is_dealt_with(story):
    page, case_id = story["request_postfach"], story["case_id"]
    assert "Ihr Jobcenter schreibt dazu:" in page and '<blockquote lang="de">Bitte die erste Gehaltsabrechnung.' in page
    assert f'href="/antraege/{case_id}/nachweise?nachweis=lohnabrechnung_erste"' in page
    later = story["citizen"].request("GET", "/postfach").text  # decided since: nothing is asked for any more
    assert "Bitte reichen Sie Unterlagen nach" in later and "Ihr Jobcenter schreibt dazu:" not in later


def test_the_postfach_names_the_requested_documents_but_not_the_note(story):
    def request_message():
        messages = story["citizen"].request("GET", f"{API}/postfach").json()["messages"]
        return [m for m in messages if m["kind"] == "documents_requested"]

    (message,) = wait_until(request_message, timeout=30)
    assert "Erste Lohnabrechnung" in message["body"]
    assert "Gehaltsabrechnung." not in message["body"]  # the note stays at the case, out of AMQP and e-mail


def test_each_postfach_message_shows_its_date_and_links_to_its_case(story):
    wait_until(lambda: "Bitte reichen Sie Unterlagen nach" in story["citizen"].request("GET", "/postfach").text,
               timeout=30)  # fmt: skip
    page = story["citizen"].request("GET", "/postfach").text
    assert page.count(f'<a href="/antraege/{story["case_id"]}">Zum Vorgang</a>') >= 2
    assert re.search(r'<time datetime="[^"]+">\d{1,2}\. \w+ 20\d\d, \d\d:\d\d Uhr</time>', page)
    assert "Antrag ist eingegangen" not in page  # a VÄM is no Antrag


def test_the_citizen_takes_away_everything_the_portal_holds_as_json_and_pdf(story):
    """Art. 15 and 20 DSGVO: account, case with answers, documents, messages, Postfach, consents, audit trail."""
    import subprocess

    citizen, case_id = story["citizen"], story["case_id"]
    answer = citizen.request("GET", f"{API}/me/data")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = answer.json()
    assert data["identity"]["account"]["customer_number"] and "@" in data["identity"]["account"]["email"]
    assert (data["identity"]["account"]["given_name"], data["identity"]["account"]["family_name"]) == ("Zoë", "Çelik")
    assert "password_hash" not in answer.text and "secret" not in answer.text.lower()
    (entry,) = [e for e in data["cases"] if e["case"]["case_id"] == case_id]
    assert entry["answers"]["arbeitsaufnahme"]["arbeitgeber"] == "Muster GmbH"
    assert {d["original_name"] for d in entry["documents"]} >= {"Gehaltsabrechnung.pdf"}
    assert [m["text"] for m in entry["messages"]] == ["Danke!"]
    assert data["postfach"] and data["consents"]["email_alerts"]["granted"] is True
    assert "data_exported" in {record["action"] for record in data["identity"]["audit"]}
    pdf = citizen.request("GET", "/einstellungen/meine-daten.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True).stdout.decode()
    for expected in ("Ihr Konto", "Name: Zoë Çelik", data["identity"]["account"]["email"], "Arbeitgeber: Muster GmbH",
                     "Voraussichtlicher Bruttolohn im Monat: 2.400,00 €", "Gehaltsabrechnung.pdf"):  # fmt: skip
        assert expected in text, expected
    # Read as German text: the kind, status, times, consents and account records by name, never as codes.
    for expected in ("Veränderungsmitteilung", "(Entschieden)", "Nachricht von Ihrem Jobcenter",
                     "Daten heruntergeladen", "E-Mail, wenn etwas Neues im Postfach ist: ja", " Uhr"):  # fmt: skip
        assert expected in text, expected
    for code in ("veraenderungsmitteilung", "decided", "email_alerts", "data_exported", "caseworker", "+00:00"):
        assert code not in text, code
    assert Browser(story["citizen"].portal).request("GET", f"{API}/me/data").status_code == 401


def test_a_request_is_no_longer_open_once_the_case_is_decided(story):
    case = story["citizen"].request("GET", f"{API}/cases/{story['case_id']}").json()["case"]
    assert case["status"] == "decided" and case["document_request"] is None


def test_the_supplied_payslip_is_on_the_checklist_and_downloads(story):
    item = {i["kind"]: i for i in story["after_upload"]["checklist"]}["lohnabrechnung_erste"]
    assert item["status"] == "supplied"
    assert [d["document_id"] for d in item["documents"]] == [story["payslip"]["document_id"]]
    assert story["download"].status_code == 200
    assert story["download"].content == samples.pdf()


def test_the_decision_with_the_bescheid_is_recorded_and_on_the_citizens_timeline(story):
    assert story["bescheid"].status_code == 201, story["bescheid"].text
    assert story["decision"].status_code == 204, story["decision"].text
    events = story["citizen"].request("GET", f"{API}/cases/{story['case_id']}/timeline").json()["events"]
    names = [event["event"] for event in events]
    for expected in ("Received", "DocumentsRequested", "MessagePosted", "DocumentSupplied", "Decided"):
        assert expected in names


def test_the_citizen_gets_the_bescheid_in_the_postfach_with_its_delivery_date(story):
    bescheid_id = story["bescheid"].json()["document_id"]

    def bescheid():
        messages = story["citizen"].request("GET", f"{API}/postfach").json()["messages"]
        return [m for m in messages if bescheid_id in (m.get("attachments") or []) and m["legal_delivery_date"]]

    (message,) = wait_until(bescheid, timeout=30)
    assert not message["paper_delivery"]
    assert date.fromisoformat(message["legal_delivery_date"]) > german_today()
    page = story["citizen"].request("GET", f"/antraege/{story['case_id']}").text  # the case page links it too
    assert f'<a href="/postfach/{message["message_id"]}/anhang/{bescheid_id}">Bescheid herunterladen (PDF)</a>' in page


def test_the_citizen_downloads_the_bescheid_and_a_denied_notice_leaves_the_day_of_retrieval(story, portal):
    """§ 37 (2a) SGB X through the APIs: notice first, then the caseworker records the denial."""
    bescheid_id = story["bescheid"].json()["document_id"]
    citizen, case_id = story["citizen"], story["case_id"]
    caseworker = staff_browser(portal)
    messages = citizen.request("GET", f"{API}/postfach").json()["messages"]
    (message,) = [m for m in messages if bescheid_id in (m.get("attachments") or [])]
    assert message["bekanntgabe"]["basis"] == "notice"
    known = caseworker.request("GET", f"{STAFF}/cases/{case_id}").json()["bekanntgabe"]
    assert (known["basis"], known["made_known_on"]) == ("notice", message["legal_delivery_date"])
    assert known["notice_sent_on"] and known["retrieved_on"] is None

    other = message["attachments"][0] + "-x"
    assert citizen.request("GET", f"{API}/postfach/{message['message_id']}/attachments/{other}").status_code == 404
    download = citizen.request("GET", f"{API}/postfach/{message['message_id']}/attachments/{bescheid_id}")
    assert download.status_code == 200 and download.content == samples.pdf()

    stranger = staff_browser(portal, institution="jc-0001")
    body = {"message_id": message["message_id"]}
    assert stranger.request("POST", f"{STAFF}/cases/{case_id}/bescheid-notice-denied", json=body).status_code == 404
    assert citizen.request("POST", f"{STAFF}/cases/{case_id}/bescheid-notice-denied", json=body).status_code == 403
    bad = caseworker.request("POST", f"{STAFF}/cases/{case_id}/bescheid-notice-denied", json={})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "MESSAGE_ID_REQUIRED"
    denied = caseworker.request("POST", f"{STAFF}/cases/{case_id}/bescheid-notice-denied", json=body)
    assert denied.status_code == 204, denied.text
    after = caseworker.request("GET", f"{STAFF}/cases/{case_id}").json()["bekanntgabe"]
    assert (after["basis"], after["made_known_on"]) == ("retrieval", german_today().isoformat())
    assert after["retrieved_on"] == german_today().isoformat() and after["notice_denied_on"]


def test_a_caseworker_of_another_jobcenter_gets_404_for_the_case_and_does_not_see_it(story, portal):
    stranger = staff_browser(portal, institution="jc-0001")
    case_id = story["case_id"]
    assert stranger.request("GET", f"{STAFF}/cases/{case_id}").status_code == 404
    for action in ("receive", "close", "start-processing"):
        assert stranger.request("POST", f"{STAFF}/cases/{case_id}/{action}").status_code == 404
    assert stranger.request("GET", f"{STAFF}/inbox", params={"q": story["receipt_number"]}).json()["cases"] == []
    document_id = story["payslip"]["document_id"]
    assert stranger.request("GET", f"{STAFF}/cases/{case_id}/documents/{document_id}").status_code == 404
    upload = stranger.request(
        "POST", f"{STAFF}/cases/{case_id}/bescheid", data=samples.pdf(),
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert upload.status_code == 404


def test_a_citizen_gets_403_on_every_staff_route(story):
    citizen, case_id = story["citizen"], story["case_id"]
    for method, path in (
        ("GET", "/inbox"), ("GET", f"/cases/{case_id}"), ("POST", f"/cases/{case_id}/receive"),
        ("POST", f"/cases/{case_id}/close"), ("GET", "/access-log"),
    ):  # fmt: skip
        answer = citizen.request(method, STAFF + path, json={} if method == "POST" else None)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "STAFF_ONLY"


def test_an_admin_sees_who_opened_the_case_and_read_its_documents(story, portal):
    admin = staff_browser(portal, role="admin", institution=None)
    record = admin.request("GET", f"{STAFF}/access-log", params={"case_id": story["case_id"]})
    assert record.status_code == 200, record.text
    views = record.json()["case_views"]
    assert views and {view["case_id"] for view in views} == {story["case_id"]}
    assert {"download"} <= {row["action"] for row in record.json()["document_reads"]}
