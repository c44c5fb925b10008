"""What a Jobcenter does with its activation codes: list them, revoke an unused one, all audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.identity.schema import audit_records
from services.identity.tests.conftest import Person
from services.identity.tests.support import NAME, PASSWORD, random_address, random_customer_number, random_email
from shared.errors import Conflict, Forbidden, NotFound, Unauthenticated


@pytest.fixture(scope="module")
def desk(operator, rpc):
    """A caseworker of 92204 and one of 92205, logged in, with their access tokens."""
    own, other = Person(operator, "caseworker", "92204"), Person(operator, "caseworker", "92205")
    citizen = Person(operator, "citizen")
    with rpc() as cluster:
        return {
            "own": own,
            "own_token": own.log_in(cluster)["access_token"],
            "other_token": other.log_in(cluster)["access_token"],
            "citizen_token": citizen.log_in(cluster)["access_token"],
        }


def issue(rpc, token, institution_id="92204"):
    with rpc() as cluster:
        return cluster.identity.issue_activation_code(token, random_customer_number(), institution_id)


def test_a_caseworker_lists_the_own_jobcenters_codes_without_the_code_itself(identity, rpc, desk):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        listed = cluster.identity.list_activation_codes(desk["own_token"])
        elsewhere = cluster.identity.list_activation_codes(desk["other_token"])
    (row,) = [row for row in listed if row["code_id"] == issued["code_id"]]
    assert row["state"] == "open"
    assert row["customer_number"] == issued["customer_number"]
    assert row["issued_by"] == desk["own"].account_id
    assert "code" not in row and "code_hash" not in row
    assert {row["institution_id"] for row in listed} == {"92204"}
    assert issued["code_id"] not in {row["code_id"] for row in elsewhere}


def test_admins_list_all_codes_or_one_jobcenters(identity, rpc, desk, admin_token):
    ours, theirs = issue(rpc, desk["own_token"]), issue(rpc, desk["other_token"], "92205")
    with rpc() as cluster:
        everything = {row["code_id"] for row in cluster.identity.list_activation_codes(admin_token)}
        one = cluster.identity.list_activation_codes(admin_token, "92205")
    assert {ours["code_id"], theirs["code_id"]} <= everything
    assert theirs["code_id"] in {row["code_id"] for row in one}
    assert {row["institution_id"] for row in one} == {"92205"}


def test_a_revoked_code_can_never_be_redeemed_and_the_revocation_is_recorded(identity, rpc, desk, operator):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        cluster.identity.revoke_activation_code(desk["own_token"], issued["code_id"])
        with pytest.raises(Unauthenticated) as refused:
            cluster.identity.register_citizen(random_email(), PASSWORD, issued["code"], random_address(), *NAME)
        (row,) = [
            r for r in cluster.identity.list_activation_codes(desk["own_token"]) if r["code_id"] == issued["code_id"]
        ]
        with pytest.raises(Conflict) as again:
            cluster.identity.revoke_activation_code(desk["own_token"], issued["code_id"])
    assert refused.value.code == "ACTIVATION_CODE_INVALID"
    assert again.value.code == "ACTIVATION_CODE_CLOSED"
    assert row["state"] == "revoked" and row["revoked_by"] == desk["own"].account_id and row["revoked_at"]
    with operator.db.transaction() as session:
        actions = session.execute(
            select(audit_records.c.action, audit_records.c.detail).where(
                audit_records.c.actor_id == desk["own"].account_id
            )
        ).all()
    assert ("activation_code_issued", "institution=92204") in actions
    assert ("activation_code_revoked", "institution=92204") in actions
    assert not any(issued["customer_number"] in str(detail) for _action, detail in actions)


def test_a_used_code_cannot_be_revoked(identity, rpc, desk):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        cluster.identity.register_citizen(random_email(), PASSWORD, issued["code"], random_address(), *NAME)
        with pytest.raises(Conflict):
            cluster.identity.revoke_activation_code(desk["own_token"], issued["code_id"])
        (row,) = [
            r for r in cluster.identity.list_activation_codes(desk["own_token"]) if r["code_id"] == issued["code_id"]
        ]
    assert row["state"] == "used" and row["used_by"]


def test_a_caseworker_of_another_jobcenter_cannot_revoke_and_learns_nothing(identity, rpc, desk):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        with pytest.raises(NotFound) as refused:
            cluster.identity.revoke_activation_code(desk["other_token"], issued["code_id"])
        (row,) = [
            r for r in cluster.identity.list_activation_codes(desk["own_token"]) if r["code_id"] == issued["code_id"]
        ]
    assert refused.value.code == "ACTIVATION_CODE_NOT_FOUND"
    assert row["state"] == "open"


def test_a_citizen_can_neither_list_nor_revoke_codes(identity, rpc, desk):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        with pytest.raises(Forbidden):
            cluster.identity.list_activation_codes(desk["citizen_token"])
        with pytest.raises(Forbidden):
            cluster.identity.revoke_activation_code(desk["citizen_token"], issued["code_id"])


def test_admins_list_any_jobcenters_staff_and_team_leads_disable_only_own_caseworkers(
    identity, rpc, desk, admin_token, operator
):
    lead, foreign = Person(operator, "team_lead", "92204"), Person(operator, "caseworker", "92205")
    colleague = Person(operator, "caseworker", "92204")
    with rpc() as cluster:
        lead_token = lead.log_in(cluster)["access_token"]
        listed = {row["account_id"] for row in cluster.identity.list_jobcenter_staff(admin_token, "92204")}
        with pytest.raises(Forbidden):
            cluster.identity.disable_account(lead_token, foreign.account_id)
        cluster.identity.disable_account(lead_token, colleague.account_id)
        after = {row["account_id"] for row in cluster.identity.list_jobcenter_staff(lead_token)}
        with pytest.raises(Forbidden):
            cluster.identity.list_jobcenter_staff(desk["other_token"])
    assert {colleague.account_id, lead.account_id} <= listed
    assert colleague.account_id not in after and lead.account_id in after


def test_a_caseworker_reads_the_kundennummer_of_customers_and_the_names_of_own_colleagues_only(identity, rpc, desk):
    issued = issue(rpc, desk["own_token"])
    with rpc() as cluster:
        cluster.identity.register_citizen(random_email(), PASSWORD, issued["code"], random_address(), *NAME)
        (row,) = [
            r for r in cluster.identity.list_activation_codes(desk["own_token"]) if r["code_id"] == issued["code_id"]
        ]
        customer = row["used_by"]
        colleague = desk["own"].account_id
        wanted = [customer, colleague, "no-such-account"]
        described = cluster.identity.describe_accounts(desk["own_token"], wanted)
        elsewhere = cluster.identity.describe_accounts(desk["other_token"], wanted)
        with pytest.raises(Forbidden):
            cluster.identity.describe_accounts(desk["citizen_token"], [customer])
    assert described[customer] == {"customer_number": issued["customer_number"], "given_name": NAME[0],
                                   "family_name": NAME[1]}  # fmt: skip
    assert set(described[colleague]) == {"display_name"} and described[colleague]["display_name"]
    assert "no-such-account" not in described
    assert colleague not in elsewhere, "another Jobcenter's caseworker learns no colleague's name"
