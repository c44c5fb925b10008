"""A citizen's whole story with seeded personal data: none of it in any log line, AMQP event or e-mail.

The story runs through the portal in this process (every service, the submissions and routing outbox
relays driven by hand): login, a Veränderungsmitteilung with an address, a move to a new address (whose
area and Jobcenter, never the address, travel with the events), a new IBAN and free text full of
personal data, an upload named after the citizen, submit, assignment to jc-0394, the caseworker
receives the case and writes, the citizen answers. Meanwhile a root log handler formats every record as
the services print them, a tap queue bound to every service's event exchange copies every event, and
the SMTP sink keeps every e-mail.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from kombu import Connection, Exchange, Queue

from services.documents.tests import samples
from shared.logs import PortalJsonFormatter
from shared.service import SERVICES
from tests.security.conftest import API, ASSIGNED_JOBCENTER, Person, World, logged_in, wait_until

NAME = "Ottilie Quastenberg"
IBAN = "DE89370400440532013000"
IBAN_PRINTED = "DE89 3704 0044 0532 0130 00"
STREET = "Zinnowitzer Steig"
NEW_STREET = "Quastenberger Allee"  # where the citizen moves: its area travels in case_move_reported, never the street
BIRTH_DATE = "14.03.1987"
BIRTH_DATE_ISO = "1987-03-14"
PHONE = "0170 9876543"
EMAIL = "ottilie.quastenberg@beispiel.example"
SEEDED = [NAME, "Quastenberg", IBAN, IBAN_PRINTED, STREET, NEW_STREET, BIRTH_DATE, BIRTH_DATE_ISO, PHONE,
          PHONE.replace(" ", ""), EMAIL]  # fmt: skip
NOISY_LIBRARIES = ("kombu", "amqp", "nameko", "eventlet", "urllib3", "botocore")  # as in shared/logs.py
FREE_TEXT = (
    f"Ich heiße {NAME}, geboren am {BIRTH_DATE}, wohne im {STREET} 17, Telefon {PHONE}, "
    f"E-Mail {EMAIL}. Mein neues Konto: {IBAN_PRINTED}."
)


def disguises(value: str) -> list[str]:
    """The value as it may hide in a captured text: as is, lowercased, and base64 at each alignment."""
    forms = {value, value.lower()}
    raw = value.encode()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + raw).decode()
            # Drop the characters that also depend on the bytes around the value.
            start = (shift * 4 + 2) // 3 + 1
            forms.add(encoded[start : len(encoded) - 4])
    return sorted(form for form in forms if len(form) >= 6)


def found_in(text: str) -> list[str]:
    return [value for value in SEEDED for form in disguises(value) if form in text]


class Tap:
    """A queue on the portal's vhost bound to every service's event exchange."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"security-tap-{uuid.uuid4().hex}", auto_delete=True, durable=False)
        bound = self.queue(self.connection.default_channel)
        bound.declare()
        for service in SERVICES:
            exchange = Exchange(f"{service}.events", type="topic", durable=True)
            exchange(self.connection.default_channel).declare()
            bound.bind_to(exchange=exchange, routing_key="#")
        self.bound = bound

    def drain(self) -> list[str]:
        """Every message so far: its body and headers as text."""
        messages = []
        while (message := self.bound.get(no_ack=True)) is not None:
            body = message.body if isinstance(message.body, str) else message.body.decode("utf-8", "replace")
            messages.append(body + repr(message.headers))
        return messages

    def close(self) -> None:
        self.bound.delete()
        self.connection.release()


def types_about(case_id: str, events: list[str]) -> list[str]:
    """The types of the captured events that concern the case, in arrival order."""
    types = []
    for text in events:
        if case_id in text:
            envelope, _ = json.JSONDecoder().raw_decode(text)
            types.append(envelope["type"])
    return types


@pytest.fixture
def tap(portal) -> Iterator[Tap]:
    opened = Tap(portal.env["AMQP_URI"])
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def every_log_line() -> Iterator[io.StringIO]:
    """Every record of every service in this process, formatted as the services print them.

    Our own code is captured down to DEBUG, stricter than production; the libraries at WARNING, as
    ``shared.logs.configure_logging`` sets them in every service (nameko logs RPC arguments at DEBUG).
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PortalJsonFormatter("captured"))
    root = logging.getLogger()
    level = root.level
    libraries = {name: logging.getLogger(name).level for name in NOISY_LIBRARIES}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in libraries:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, previous in libraries.items():
            logging.getLogger(name).setLevel(previous)


def story(world: World) -> tuple[Person, str]:
    """The citizen's and the caseworker's part; returns the citizen and the case id."""
    citizen = logged_in(world.portal, "citizen_a")
    assert citizen.request("PUT", f"{API}/consents/email_alerts", json={"granted": True}).status_code == 200
    case_id = citizen.request("POST", f"{API}/cases", json={"kind": "veraenderungsmitteilung"}).json()["case_id"]
    sections = {
        "aenderungen": {"aenderungen": ["arbeitsaufnahme", "bankverbindung", "name", "umzug"]},
        "wohnsitz": {"plz": "12555", "ort": "Berlin", "strasse": STREET, "hausnummer": "17", "berlin_bezirk": "09"},
        "umzug": {"umzugsdatum": "2026-12-01", "plz": "12555", "ort": "Berlin", "strasse": NEW_STREET,
                  "hausnummer": "3", "berlin_bezirk": "09", "miete_kalt": 480.0},
        "arbeitsaufnahme": {"arbeitgeber": "Muster GmbH", "beginn": "2026-12-01", "wochenstunden": 30,
                            "brutto_monatlich": 2400.0, "netto_monatlich": 1710.55},
        "bankverbindung": {"iban": IBAN, "kontoinhaber": NAME, "ab": "2026-12-01"},
        "weitere_aenderungen": {"beschreibung": FREE_TEXT, "ab": "2026-12-01"},
        "erklaerung": {"wahrheitsgemaess": True},
    }  # fmt: skip
    for section_id, data in sections.items():
        saved = citizen.request("PUT", f"{API}/cases/{case_id}/sections/{section_id}", json=data)
        assert saved.status_code == 200, saved.text
    uploaded = citizen.request(
        "POST", f"{API}/cases/{case_id}/documents",
        params={"nachweis": "arbeitsvertrag", "filename": f"Arbeitsvertrag {NAME} {BIRTH_DATE}.pdf"},
        data=samples.pdf(), headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    submitted = citizen.request("POST", f"{API}/cases/{case_id}/submit", headers={"Idempotency-Key": f"k-{case_id}"})
    assert submitted.status_code == 200, submitted.text

    def assigned() -> bool:
        world.relay()
        cases = citizen.request("GET", f"{API}/cases").json()["cases"]
        return any(c["case_id"] == case_id and c["jobcenter_id"] == ASSIGNED_JOBCENTER for c in cases)

    wait_until(assigned)
    caseworker: Person = world.browsers["caseworker"]
    assert caseworker.request("GET", f"{API}/staff/cases/{case_id}").status_code == 200
    caseworker.request("POST", f"{API}/staff/cases/{case_id}/receive")
    wrote = caseworker.request("POST", f"{API}/staff/cases/{case_id}/messages",
                               json={"text": f"Guten Tag {NAME}, wir prüfen Ihr Konto {IBAN_PRINTED}."})  # fmt: skip
    assert wrote.status_code == 201, wrote.text
    answered = citizen.request("POST", f"{API}/cases/{case_id}/messages", json={"text": FREE_TEXT})
    assert answered.status_code == 201, answered.text
    world.relay()
    wait_until(lambda: len(citizen.request("GET", f"{API}/postfach").json()["messages"]) >= 2)
    return citizen, case_id


# What the story makes happen about its case, each published at least once (documents, routing, submissions).
STORY_EVENTS = {"case_draft_started", "document_uploaded", "document_accepted", "case_submitted", "case_move_reported",
                "case_assigned", "case_received", "message_posted"}  # fmt: skip
STORY_LOG_LINES = {"case_draft_started", "case_submitted", "message_posted"}


def test_no_seeded_personal_data_in_any_log_line_event_or_e_mail(world, tap, every_log_line, mailbox):
    citizen, case_id = story(world)
    assert citizen.account is not None
    address = citizen.account.email
    events: list[str] = []

    def the_whole_story_was_captured() -> list[EmailMessage] | None:
        """The citizen's two alerts, every event of the story and its log lines, once all have arrived."""
        world.relay()
        events.extend(tap.drain())
        types = types_about(case_id, events)
        logged = {line["message"] for line in lines_about(case_id, every_log_line.getvalue())}
        mails = [mail for mail in mailbox.messages() if address in str(mail["To"])]
        captured = STORY_EVENTS <= set(types) and types.count("message_posted") >= 2 and STORY_LOG_LINES <= logged
        return mails if captured and len(mails) >= 2 else None

    mails = wait_until(the_whole_story_was_captured, timeout=30)
    logs = every_log_line.getvalue()
    leaks = {
        "logs": sorted(set(found_in(logs))),
        "events": sorted({value for event in events for value in found_in(event)}),
        "mails": sorted({value for mail in mails for value in found_in(mail.as_string())}),
    }
    assert leaks == {"logs": [], "events": [], "mails": []}, [
        line[:600] for line in logs.splitlines() if found_in(line)
    ][:5]


def lines_about(case_id: str, logs: str) -> list[dict]:
    """The captured log lines that name the case."""
    return [line for line in map(json.loads, logs.splitlines()) if line.get("case_id") == case_id]


def test_the_detectors_find_a_value_hidden_as_the_test_looks_for_it(tap, every_log_line, portal):
    """The checks above can fail: a planted value is found as is, lowercased and in base64."""
    logging.getLogger("planted").info("hello %s", NAME.lower())
    assert found_in(every_log_line.getvalue()) == [NAME, "Quastenberg"]
    with Connection(portal.env["AMQP_URI"]) as connection:
        producer = connection.Producer()
        hidden = {"data": base64.b64encode(f"x{STREET}y".encode()).decode()}
        notify_events = Exchange("notify.events", type="topic", durable=True)
        producer.publish(hidden, exchange=notify_events, routing_key="planted")
    assert wait_until(lambda: [v for event in tap.drain() for v in found_in(event)]) == [STREET]
