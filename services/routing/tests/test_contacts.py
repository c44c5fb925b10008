"""The checks of a Jobcenter's contact details (``contacts.checked_contact``): what is stored, and each refusal."""

import pytest

from services.routing.contacts import checked_contact
from shared.errors import InvalidInput

POSTAL = {"street": "Musterstraße 1", "postcode": "12345", "city": "Musterstadt"}


def refusal(given) -> tuple[str, str]:
    with pytest.raises(InvalidInput) as refused:
        checked_contact(given)
    assert refused.value.message  # German, for the person at the form
    return refused.value.code, refused.value.details["field"]


def test_a_postal_address_alone_is_enough_and_the_rest_is_none():
    assert checked_contact({"postal_address": POSTAL}) == {
        "postal_address": POSTAL, "visitor_address": None, "phone": None, "email": None, "opening_hours": None,
    }  # fmt: skip


def test_text_is_stored_stripped_and_opening_hours_keep_their_lines():
    given = {"postal_address": {**POSTAL, "city": " Berlin "}, "phone": " +49 (30) 555-1234 ",
             "email": "post@jobcenter.example", "opening_hours": "Mo 8–12 Uhr\nDi 8–12 Uhr\n"}  # fmt: skip
    checked = checked_contact(given)
    assert (checked["postal_address"]["city"], checked["phone"]) == ("Berlin", "+49 (30) 555-1234")
    assert checked["opening_hours"] == "Mo 8–12 Uhr\nDi 8–12 Uhr"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, ("FIELD_REQUIRED", "postal_address.street")),
        ({"postal_address": {**POSTAL, "postcode": "1234"}}, ("POSTCODE_INVALID", "postal_address.postcode")),
        ({"postal_address": {**POSTAL, "postcode": "1234a"}}, ("POSTCODE_INVALID", "postal_address.postcode")),
        ({"postal_address": {**POSTAL, "postcode": "123456"}}, ("POSTCODE_INVALID", "postal_address.postcode")),
        ({"postal_address": {**POSTAL, "postcode": "１２３４５"}}, ("POSTCODE_INVALID", "postal_address.postcode")),
        ({"postal_address": {**POSTAL, "city": ""}}, ("FIELD_REQUIRED", "postal_address.city")),
        ({"postal_address": {**POSTAL, "street": "x" * 101}}, ("TEXT_TOO_LONG", "postal_address.street")),
        ({"postal_address": {**POSTAL, "street": "Weg 1\nWeg 2"}}, ("HIDDEN_CHARACTERS", "postal_address.street")),
        ({"postal_address": {**POSTAL, "city": "Ber\u202elin"}}, ("HIDDEN_CHARACTERS", "postal_address.city")),
        ({"postal_address": {**POSTAL, "street": 7}}, ("CONTACT_INVALID", "postal_address.street")),
        ({"postal_address": {**POSTAL, "floor": "2"}}, ("CONTACT_INVALID", "postal_address")),
        (
            {"postal_address": POSTAL, "visitor_address": {"street": "Am Markt 2"}},
            ("FIELD_REQUIRED", "visitor_address.postcode"),
        ),
        ({"postal_address": POSTAL, "phone": "030 call me"}, ("PHONE_INVALID", "phone")),
        ({"postal_address": POSTAL, "phone": "+-"}, ("PHONE_INVALID", "phone")),
        ({"postal_address": POSTAL, "phone": "0" * 31}, ("TEXT_TOO_LONG", "phone")),
        ({"postal_address": POSTAL, "email": "post at jobcenter"}, ("EMAIL_INVALID", "email")),
        ({"postal_address": POSTAL, "email": "post@localhost"}, ("EMAIL_INVALID", "email")),
        ({"postal_address": POSTAL, "opening_hours": "x" * 501}, ("TEXT_TOO_LONG", "opening_hours")),
        ({"postal_address": POSTAL, "opening_hours": "Mo\x00"}, ("HIDDEN_CHARACTERS", "opening_hours")),
        ({"postal_address": POSTAL, "fax": "030 1"}, ("CONTACT_INVALID", "fax")),
        ({"postal_address": POSTAL, "email": ["a@b.de"]}, ("CONTACT_INVALID", "email")),
    ],
)
def test_a_contact_that_breaks_a_rule_is_refused_naming_the_field(given, expected):
    assert refusal(given) == expected


def test_a_contact_that_is_no_object_is_refused():
    assert refusal(["Musterstraße 1"]) == ("CONTACT_INVALID", "contact")
