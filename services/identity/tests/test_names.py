"""The citizen's name: given at registration, seen and changed by its owner, read by the own Jobcenter's staff
beside the Kundennummer, searched by the inbox, and gone with the account."""

from __future__ import annotations

import secrets
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from services.identity import account_settings
from services.identity import accounts as account_rules
from services.identity.accounts import checked_name, search_key
from services.identity.schema import accounts
from services.identity.tests.conftest import Person
from services.identity.tests.support import PASSWORD, random_address, random_customer_number, random_email
from shared.errors import Conflict, Forbidden, InvalidInput


def unique_word() -> str:
    """Letters only (a name has no digits), so that this test's people are found by this test alone."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))


@pytest.fixture(scope="module")
def desk(operator, rpc):
    """A caseworker of 92204, logged in."""
    own = Person(operator, "caseworker", "92204")
    with rpc() as cluster:
        return {"own": own, "token": own.log_in(cluster)["access_token"]}


# -- what a name may be ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given_name, family_name",
    [("Erika", "Mustermann"), ("Anna-Lena", "O'Brien"), ("Zoë", "Çelik"), ("Jürgen K.", "von der Leyen"),
     ("Łukasz", "Wiśniewski"), ("Αλέξανδρος", "Παπαδόπουλος"), ("Мария", "Иванова"), ("美咲", "佐藤"),
     ("José", "D\u2019Almeida"), ("x" * 80, "y")],
)  # fmt: skip
def test_names_of_any_language_with_accents_spaces_hyphens_apostrophes_and_dots_are_taken(given_name, family_name):
    name = checked_name(given_name, family_name)
    assert (name.given_name, name.family_name) == (given_name, family_name)


@pytest.mark.parametrize(
    "given_name, family_name, field",
    [("", "Mustermann", "given_name"), ("Erika", "   ", "family_name"), ("Erika2", "Mustermann", "given_name"),
     ("Erika", "Muster\u0000mann", "family_name"), ("Erika", "Muster\u200bmann", "family_name"),
     ("x" * 81, "Mustermann", "given_name"), ("Erika", "<b>", "family_name"), ("-", "Mustermann", "given_name"),
     (None, "Mustermann", "given_name"), ("Erika", ["Mustermann"], "family_name"), ("Erika", "Muster_mann",
     "family_name")],
)  # fmt: skip
def test_a_name_with_digits_symbols_control_characters_or_too_long_is_refused_naming_the_field(
    given_name, family_name, field
):
    with pytest.raises(InvalidInput) as refused:
        checked_name(given_name, family_name)
    assert refused.value.code == "NAME_INVALID"
    assert refused.value.details == {"field": field}
    assert ("Vornamen" if field == "given_name" else "Nachnamen") in refused.value.message


def test_a_name_is_kept_on_one_line_with_single_spaces_and_composed_accents():
    name = checked_name("  Anna \t Maria ", "Mu\u0308ller")  # ü typed as u and a combining diaeresis
    assert (name.given_name, name.family_name) == ("Anna Maria", "Müller")


def test_the_search_key_ignores_case_accents_and_apostrophes_and_splits_at_hyphens():
    assert search_key("Müller-Lüdenscheidt") == "muller ludenscheidt"
    assert search_key("O'Brien") == search_key("o\u2019brien") == "obrien"
    assert search_key("STRAßE") == "strasse"
    assert search_key("Çelik Zoë") == "celik zoe"


@given(st.text(min_size=1, max_size=80))
def test_whatever_is_typed_either_is_a_name_or_is_refused_as_one(typed):
    try:
        name = checked_name(typed, typed)
    except InvalidInput as refused:
        assert refused.code == "NAME_INVALID"
    else:
        assert 1 <= len(name.given_name) <= 80 and name.given_name.isprintable()
        assert not any(c.isdigit() for c in name.given_name)


# -- registration and the settings --------------------------------------------------------------------


def test_registration_stores_the_name_and_refuses_a_wrong_one_before_using_the_code(
    identity, rpc, admin_token, operator
):
    with rpc() as cluster:
        code = cluster.identity.issue_activation_code(admin_token, random_customer_number(), "92204")
        with pytest.raises(InvalidInput) as refused:
            cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), "Erika", "M4")
        email = random_email()
        cluster.identity.register_citizen(email, PASSWORD, code["code"], random_address(), " Zoë ", "Çelik")
    assert refused.value.code == "NAME_INVALID" and refused.value.details == {"field": "family_name"}
    with operator.db.transaction() as session:
        row = session.execute(select(accounts).where(accounts.c.email == email)).mappings().one()
    assert (row["given_name"], row["family_name"], row["name_key"]) == ("Zoë", "Çelik", "zoe celik")


def test_the_previous_releases_gateway_still_registers_without_a_name_for_one_release(
    identity, rpc, admin_token, operator
):
    """docs/upgrading.md: during the rollout the old gateway calls without the new parameters."""
    with rpc() as cluster:
        code = cluster.identity.issue_activation_code(admin_token, random_customer_number(), "92204")
        email = random_email()
        cluster.identity.register_citizen(email, PASSWORD, code["code"], random_address())
        with pytest.raises(InvalidInput):  # one part alone is no name
            code = cluster.identity.issue_activation_code(admin_token, random_customer_number(), "92204")
            cluster.identity.register_citizen(random_email(), PASSWORD, code["code"], random_address(), "Erika")
    with operator.db.transaction() as session:
        row = session.execute(select(accounts).where(accounts.c.email == email)).mappings().one()
    assert (row["given_name"], row["family_name"]) == (None, None)


def test_a_citizen_reads_and_changes_their_name_and_the_change_is_audited(identity, rpc, operator):
    citizen = Person(operator, "citizen", customer_number=random_customer_number())
    with rpc() as cluster:
        token = citizen.log_in(cluster)["access_token"]
        before = cluster.identity.get_my_name(token)
        with pytest.raises(InvalidInput) as refused:
            cluster.identity.change_my_name(token, "Erika", "", citizen.address)
        changed = cluster.identity.change_my_name(token, "Erika", "Gabler-Mustermann", citizen.address)
        after = cluster.identity.get_my_name(token)
        trail = [record["action"] for record in cluster.identity.list_audit_records(token, citizen.account_id)]
    assert before == {"given_name": None, "family_name": None}  # "nicht angegeben", as accounts made before
    assert refused.value.details == {"field": "family_name"}
    assert changed == after == {"given_name": "Erika", "family_name": "Gabler-Mustermann"}
    assert "name_changed" in trail


def test_staff_have_no_citizen_name_to_change(identity, rpc, desk):
    with rpc() as cluster:
        with pytest.raises(Forbidden):
            cluster.identity.change_my_name(desk["token"], "Max", "Mustermann")
        with pytest.raises(Forbidden):
            cluster.identity.get_my_name(desk["token"])


# -- what staff read and search -----------------------------------------------------------------------


def test_the_own_jobcenters_staff_read_the_name_beside_the_kundennummer_and_nicht_angegeben_as_none(
    identity, rpc, operator, desk
):
    number = random_customer_number()
    named = Person(operator, "citizen", "92204", customer_number=number, name=("Zoë", "Çelik"))
    unnamed = Person(operator, "citizen", "92204", customer_number=random_customer_number())
    with rpc() as cluster:
        described = cluster.identity.describe_accounts(desk["token"], [named.account_id, unnamed.account_id])
        with pytest.raises(Forbidden):
            cluster.identity.describe_accounts(named.log_in(cluster)["access_token"], [unnamed.account_id])
    assert described[named.account_id] == {"customer_number": number, "given_name": "Zoë", "family_name": "Çelik"}
    assert described[unnamed.account_id]["given_name"] is None
    assert described[unnamed.account_id]["family_name"] is None


def test_the_name_search_ignores_case_and_accents_and_takes_the_start_of_each_word(identity, rpc, operator, desk):
    tag = unique_word()
    mueller = Person(operator, "citizen", "92204", customer_number=random_customer_number(),
                     name=("Jürgen", f"Mü{tag}-Lüdenscheidt"))  # fmt: skip
    meier = Person(operator, "citizen", "92204", customer_number=random_customer_number(), name=("Jürgen", f"Mei{tag}"))
    with rpc() as cluster:
        found = {
            typed: set(cluster.identity.find_customers_by_name(desk["token"], typed))
            for typed in (f"mu{tag}", f"MÜ{tag.upper()}", "lüdenscheidt", f"jurgen mü{tag}", f"mü{tag} jür",
                          f"ü{tag}", f"mü{tag} meier", f"mei{tag}")
        }  # fmt: skip
    assert found[f"mu{tag}"] == found[f"MÜ{tag.upper()}"] == {mueller.account_id}
    assert mueller.account_id in found["lüdenscheidt"]  # each word of a double name is a start
    assert found[f"jurgen mü{tag}"] == found[f"mü{tag} jür"] == {mueller.account_id}  # any order, given or family
    assert found[f"ü{tag}"] == set()  # a word's start, not any part of it
    assert found[f"mü{tag} meier"] == set()  # every word typed must fit
    assert found[f"mei{tag}"] == {meier.account_id}


def test_the_name_search_lists_the_own_jobcenters_customers_first(identity, rpc, operator, desk):
    tag = unique_word()
    elsewhere = Person(operator, "citizen", "92205", customer_number=random_customer_number(), name=("Ali", tag))
    own = Person(operator, "citizen", "92204", customer_number=random_customer_number(), name=("Ali", tag))
    with rpc() as cluster:
        found = cluster.identity.find_customers_by_name(desk["token"], tag)
    assert found == [own.account_id, elsewhere.account_id]


@pytest.mark.parametrize("typed", ["m", "m1", "JC-2026", "a%", "", "x" * 81])
def test_the_name_search_refuses_what_cannot_start_a_name(identity, rpc, desk, typed):
    with rpc() as cluster:
        with pytest.raises(InvalidInput) as refused:
            cluster.identity.find_customers_by_name(desk["token"], typed)
    assert refused.value.code == "NAME_INVALID"


def test_only_staff_of_a_jobcenter_search_by_name(identity, rpc, operator, admin_token):
    citizen = Person(operator, "citizen", customer_number=random_customer_number(), name=("Erika", "Mustermann"))
    with rpc() as cluster:
        for token in (admin_token, citizen.log_in(cluster)["access_token"]):
            with pytest.raises(Forbidden):
                cluster.identity.find_customers_by_name(token, "Mustermann")


# -- export and deletion -----------------------------------------------------------------------------------


def test_the_export_holds_the_name(identity, rpc, operator):
    citizen = Person(operator, "citizen", customer_number=random_customer_number(), name=("Zoë", "Çelik"))
    with rpc() as cluster:
        exported = cluster.identity.export_my_account(citizen.log_in(cluster)["access_token"])
    assert (exported["account"]["given_name"], exported["account"]["family_name"]) == ("Zoë", "Çelik")


@pytest.mark.parametrize("keep_customer_number", [True, False])
def test_deleting_the_account_removes_the_name_also_when_the_kundennummer_is_kept(
    identity, rpc, operator, desk, keep_customer_number
):
    tag = unique_word()
    number = random_customer_number()
    citizen = Person(operator, "citizen", "92204", customer_number=number, name=("Erika", tag))
    account_settings.delete_account(
        operator.db, operator.settings, citizen.account_id, PASSWORD, "", keep_customer_number
    )
    with operator.db.transaction() as session:
        row = session.execute(select(accounts).where(accounts.c.account_id == citizen.account_id)).mappings().one()
    with rpc() as cluster:
        described = cluster.identity.describe_accounts(desk["token"], [citizen.account_id])
        found = cluster.identity.find_customers_by_name(desk["token"], tag)
    assert (row["given_name"], row["family_name"], row["name_key"]) == (None, None, None)
    assert found == []
    if keep_customer_number:
        assert described[citizen.account_id] == {"customer_number": number, "given_name": None, "family_name": None}
    else:
        assert described == {}


def test_a_staff_account_gets_no_citizen_name(operator):
    staff = Person(operator, "caseworker", "92204")
    with pytest.raises(Conflict), operator.db.transaction() as session:
        account_rules.set_name(session, staff.account_id, checked_name("Max", "Mustermann"))
