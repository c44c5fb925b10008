"""JSON logs: one object per line, correlation id on every line, no personal data."""

import io
import json
import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.correlation import correlated
from shared.logs import PortalJsonFormatter, scrub


@pytest.fixture
def log_to_buffer():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(PortalJsonFormatter("identity"))
    logger = logging.getLogger("test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_line_carries_service_event_name_and_correlation_id(log_to_buffer):
    logger, lines = log_to_buffer
    with correlated("corr-12345678"):
        logger.info("account_created", extra={"account_id": "a-1"})
    (line,) = lines()
    assert line["service"] == "identity"
    assert line["message"] == "account_created"
    assert line["correlation_id"] == "corr-12345678"
    assert line["account_id"] == "a-1"
    assert line["level"] == "INFO"


def test_fields_that_are_not_on_the_allow_list_are_dropped_not_printed(log_to_buffer):
    logger, lines = log_to_buffer
    logger.info("account_created", extra={"email": "erika@example.org", "surname": "Mustermann"})
    (line,) = lines()
    assert "erika" not in json.dumps(line)
    assert "Mustermann" not in json.dumps(line)
    assert line["dropped_fields"] == ["email", "surname"]


def test_personal_data_in_messages_and_exceptions_is_scrubbed(log_to_buffer):
    logger, lines = log_to_buffer
    try:
        raise ValueError("bad address erika@example.org for DE89 3704 0044 0532 0130 00")
    except ValueError:
        logger.exception("could not mail %s at +49 30 1234567", "erika@example.org")
    text = json.dumps(lines())
    assert "erika@example.org" not in text
    assert "DE89 3704" not in text
    assert "1234567" not in text
    assert "[email]" in text and "[iban]" in text


def test_ids_and_receipt_numbers_survive_scrubbing():
    text = "case 7d4f4d0e-56f4-4b43-9d1f-0a3c7c8a8b11 receipt JC-2026-7KQ4-M2XD at 2026-11-25T20:00:00"
    assert scrub(text) == text


# Hex digits drawn mostly from 0-9: the ids that look most like numbers (one random uuid in 300 did).
digit_heavy_uuids = st.lists(st.sampled_from("0123456789" * 4 + "abcdef"), min_size=32, max_size=32).map(
    lambda chars: str(uuid.UUID("".join(chars)))
)


@given(
    st.one_of(digit_heavy_uuids, st.uuids().map(str)),
    st.sampled_from(["case {} saved", '"case_id": "{}"', "{}", "ids {0},{0}"]),
)
def test_every_uuid_survives_scrubbing_whatever_its_digits(value, template):
    """A uuid such as 48713392-5123-4abc-… starts like a phone number; it is an id and stays whole."""
    text = template.format(value)
    assert scrub(text) == text


def test_a_phone_number_next_to_a_uuid_is_still_scrubbed():
    text = "case 48713392-5123-4abc-8def-0123456789ab rang 030 12345678"
    assert scrub(text) == "case 48713392-5123-4abc-8def-0123456789ab rang [number]"
