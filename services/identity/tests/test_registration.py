"""Registration with an activation code and e-mail confirmation, against PostgreSQL."""

from __future__ import annotations

import base64
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.identity.activation import normalise_code
from services.identity.operations import current_totp
from services.identity.schema import activation_codes
from services.identity.settings import fingerprint
from services.identity.tests.support import (
    NAME,
    PASSWORD,
    link_token,
    random_address,
    random_customer_number,
    random_email,
)
from shared.errors import Forbidden, InvalidInput, Unauthenticated


@pytest.fixture
def code(rpc, admin_token):
    """A fresh activation code of Jobcenter 92204, as the letter shows it."""
    with rpc() as cluster:
        return cluster.identity.issue_activation_code(admin_token, random_customer_number(), "92204")


def confirmation_link(mailbox, to):
    for message in mailbox.wait_for(1):
        if message["To"] == to:
            return link_token(message)
    raise AssertionError("no confirmation mail")


def test_a_valid_code_registers_a_citizen_who_logs_in_after_confirming_the_address(identity, rpc, code, mailbox):
    email, address = random_email(), random_address()
    with rpc() as cluster:
        answer = cluster.identity.register_citizen(email, PASSWORD, code["code"], address, *NAME)
        assert answer["status"] == "confirmation_sent"
        with pytest.raises(Unauthenticated) as unconfirmed:
            cluster.identity.login_with_password(email, PASSWORD, address)
        assert unconfirmed.value.code == "EMAIL_NOT_CONFIRMED"

        cluster.identity.confirm_email(confirmation_link(mailbox, email))
        first = cluster.identity.login_with_password(email, PASSWORD, address)
        assert first["status"] == "second_factor_setup_required"  # no session before the app is set up
        secret = cluster.identity.start_totp_enrolment_at_login(first["login_ticket"])["secret"]
        session = cluster.identity.complete_login_with_totp_enrolment(
            first["login_ticket"], current_totp(secret), address
        )
        account = cluster.identity.get_account(session["account_id"])
    assert session["status"] == "authenticated"
    assert account == {
        "account_id": session["account_id"],
        "role": "citizen",
        "institution_id": "92204",
        "customer_number": code["customer_number"],
        "status": "active",
    }


def test_the_confirmation_mail_carries_only_the_link(identity, rpc, code, mailbox):
    email = random_email()
    with rpc() as cluster:
        cluster.identity.register_citizen(email, PASSWORD, code["code"], random_address(), *NAME)
    body = mailbox.wait_for(1)[0].get_content()
    assert "https://portal.test/konto/bestaetigen?token=" in body
    assert code["customer_number"] not in body
    assert "92204" not in body


def test_a_confirmation_link_works_once(identity, rpc, code, mailbox):
    email = random_email()
    with rpc() as cluster:
        cluster.identity.register_citizen(email, PASSWORD, code["code"], random_address(), *NAME)
        token = confirmation_link(mailbox, email)
        cluster.identity.confirm_email(token)
        with pytest.raises(Unauthenticated) as again:
            cluster.identity.confirm_email(token)
    assert again.value.code == "LINK_INVALID"


def test_a_used_code_is_refused(identity, rpc, code):
    with rpc() as cluster:
        cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), *NAME)
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), *NAME)
    assert refused.value.code == "ACTIVATION_CODE_INVALID"


def test_an_expired_code_is_refused(identity, rpc, code, operator):
    with operator.db.transaction() as session:
        session.execute(
            update(activation_codes)
            .where(activation_codes.c.code_hash == fingerprint(normalise_code(code["code"])))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with rpc() as cluster, pytest.raises(Unauthenticated) as refused:
        cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), *NAME)
    assert refused.value.code == "ACTIVATION_CODE_INVALID"


def test_a_code_expires_after_thirty_days_and_is_stored_only_as_a_hash(identity, rpc, code, operator):
    with operator.db.transaction() as session:
        rows = session.execute(activation_codes.select().where(activation_codes.c.code_id == code["code_id"])).all()
    (row,) = rows
    assert normalise_code(code["code"]) not in str(tuple(row))
    lifetime = datetime.fromisoformat(code["expires_at"]) - row.issued_at
    assert timedelta(days=30) - timedelta(seconds=5) < lifetime <= timedelta(days=30)


def test_wrong_codes_are_refused_and_then_rate_limited(identity, rpc, code):
    address = random_address()
    with rpc() as cluster:
        codes = []
        for _ in range(6):
            with pytest.raises(Unauthenticated) as refused:
                cluster.identity.register_citizen(random_email(), PASSWORD, "AAAA-BBBB-CCCC-DDDD", address, *NAME)
            codes.append(refused.value.code)
        # Even the right code waits now: the address is locked for a while.
        with pytest.raises(Unauthenticated) as locked:
            cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], address, *NAME)
    assert codes[:5] == ["ACTIVATION_CODE_INVALID"] * 5
    assert codes[5] == "TOO_MANY_ATTEMPTS"
    assert locked.value.code == "TOO_MANY_ATTEMPTS"
    assert int(locked.value.details["retry_after_seconds"]) >= 1  # details cross RPC as strings


def test_an_address_with_an_account_gets_the_same_answer_and_a_notice(identity, rpc, code, person, mailbox):
    someone = person("citizen")
    with rpc() as cluster:
        answer = cluster.identity.register_citizen(someone.email, PASSWORD, code["code"], random_address(), *NAME)
        again = cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), *NAME)
    assert answer["status"] == again["status"] == "confirmation_sent"
    notices = [m for m in mailbox.wait_for(2) if m["To"] == someone.email]
    assert "schon ein Konto" in notices[0]["Subject"]


def test_common_passwords_are_refused_without_composition_rules(identity, rpc, code):
    with rpc() as cluster:
        with pytest.raises(InvalidInput) as common:
            cluster.identity.register_citizen(random_email(), "passwort1234", code["code"], random_address(), *NAME)
        with pytest.raises(InvalidInput) as short:
            cluster.identity.register_citizen(random_email(), "kurz", code["code"], random_address(), *NAME)
        # Lower case words only, no digit, no symbol: long and uncommon is enough.
        answer = cluster.identity.register_citizen(
            random_email(), "wolke tanzt leise über dem kanal", code["code"], random_address(), *NAME
        )
    assert common.value.code == "PASSWORD_TOO_COMMON"
    assert short.value.code == "PASSWORD_TOO_SHORT"
    assert answer["status"] == "confirmation_sent"


def test_the_activation_letter_is_a_pdf_with_the_code(identity, rpc, code):
    pdf = base64.b64decode(code["letter_pdf"])
    assert pdf.startswith(b"%PDF-")
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code["code"])


def test_the_letter_is_headed_with_the_jobcenters_name_given_else_its_id(identity, rpc, admin_token):
    heads = []
    for name in ("Jobcenter Dahme-Spreewald", "Jobcenter\x1b[2J Dahme", None):
        with rpc() as cluster:
            issued = cluster.identity.issue_activation_code(admin_token, random_customer_number(), "jc-0042", name)
        text = subprocess.run(["pdftotext", "-", "-"], input=base64.b64decode(issued["letter_pdf"]),
                              capture_output=True, check=True).stdout.decode()  # fmt: skip
        heads.append(text.splitlines()[0])
    assert heads == ["Jobcenter Dahme-Spreewald", "Jobcenter jc-0042", "Jobcenter jc-0042"]


def test_the_letter_gives_the_jobcenters_postal_address_below_its_name_when_it_is_plain_text(
    identity, rpc, admin_token
):
    heads = []
    for address in (["Am Markt 1–3", "15711 Königs Wusterhausen"], ["Am Markt 1", "15711\x00 Ort"], ["x"] * 5):
        with rpc() as cluster:
            issued = cluster.identity.issue_activation_code(
                admin_token, random_customer_number(), "jc-0042", "Jobcenter Dahme-Spreewald", address
            )
        text = subprocess.run(["pdftotext", "-", "-"], input=base64.b64decode(issued["letter_pdf"]),
                              capture_output=True, check=True).stdout.decode()  # fmt: skip
        heads.append([line for line in text.splitlines() if line][:3])
    assert heads[0] == ["Jobcenter Dahme-Spreewald", "Am Markt 1-3", "15711 Königs Wusterhausen"]
    # A line with a control character, or too many lines: the name alone, then the letter's title.
    assert heads[1][1] == heads[2][1] == "Ihr Freischaltcode für das Jobcenter-Portal"


def test_a_citizen_cannot_issue_activation_codes(identity, rpc, person):
    citizen = person("citizen", totp=False)
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        with pytest.raises(Forbidden) as refused:
            cluster.identity.issue_activation_code(token, random_customer_number(), "92204")
    assert refused.value.code == "ROLE_NOT_ALLOWED"
