"""Every route of the JSON API × anonymous, citizen A, citizen B, the caseworkers of two Jobcenters, admin.

The routes come from the gateway's router (``api.URL_MAP``), so a new route without a row here fails
``test_every_route_of_the_api_has_a_row``. The target is citizen A's Veränderungsmitteilung, submitted
and assigned to Jobcenter Treptow-Köpenick (jc-0394); "caseworker" works there, "caseworker_other" at
Neukölln (jc-0393). Adding a route is one line in ``EXPECTED`` (and one in ``SENT`` if it needs a body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from services.documents.tests import samples
from services.gateway.api import PREFIX, URL_MAP
from services.gateway.openapi import document
from tests.security.conftest import ACTORS, API, World, logged_in, new_case

ROUTES = sorted({rule.endpoint for rule in URL_MAP.iter_rules()}, key=lambda route: (route.path, route.method))


@dataclass(frozen=True)
class Row:
    """The expected status of each actor; a tuple allows several. ``on``: A's case it acts on.

    ``fresh``: a success changes what it acts on for good (logout, submit, withdraw), so each actor
    expected to succeed gets a session or case of its own.
    """

    anonymous: int | tuple[int, ...]
    citizen_a: int | tuple[int, ...]
    citizen_b: int | tuple[int, ...]
    caseworker: int | tuple[int, ...]
    caseworker_other: int | tuple[int, ...]
    admin: int | tuple[int, ...]
    on: str = "assigned"  # or "draft"
    fresh: bool = False


# A state change without a session and without a JSON body fails the CSRF check (403) before anything else.
# 409 for the caseworker: allowed, but not in the case's present state (it is assigned, not yet received).
# fmt: off
EXPECTED: dict[str, Row] = {
    #                                                anonymous  A    B    caseworker  other JC  admin
    "POST /session":                             Row(401,       401, 401, 401,        401,      401),
    "POST /session/second-factor":               Row(401,       401, 401, 401,        401,      401),
    "POST /session/enrolment":                   Row(401,       401, 401, 401,        401,      401),
    "POST /session/enrolment/confirm":           Row(401,       401, 401, 401,        401,      401),
    "GET /session":                              Row(401,       200, 200, 200,        200,      200),
    "DELETE /session":                           Row(403,       204, 204, 204,        204,      204, fresh=True),
    "POST /registration":                        Row(400,       400, 400, 400,        400,      400),
    "GET /account/name":                         Row(401,       200, 200, 403,        403,      403),
    "PUT /account/name":                         Row(401,       200, 200, 403,        403,      403),
    "GET /cases":                                Row(401,       200, 200, 200,        200,      200),
    "POST /cases":                               Row(401,       201, 201, 403,        403,      403),
    "GET /cases/{case_id}":                      Row(401,       200, 404, 200,        404,      404),
    "PUT /cases/{case_id}/sections/{section_id}": Row(401,      200, 404, 404,        404,      404, on="draft"),
    "POST /cases/{case_id}/submit":              Row(403,       200, 404, 404,        404,      404, on="draft",
                                                     fresh=True),
    "GET /cases/{case_id}/timeline":             Row(401,       200, 404, 200,        404,      404),
    "GET /cases/{case_id}/receipt":              Row(401,       200, 404, 200,        404,      404),
    "POST /cases/{case_id}/withdraw":            Row(403,       204, 404, 403,        404,      404, fresh=True),
    "GET /cases/{case_id}/messages":             Row(401,       200, 404, 200,        404,      404),
    "POST /cases/{case_id}/messages":            Row(401,       201, 404, 201,        404,      404),
    "POST /cases/{case_id}/documents":           Row(403,       201, 404, 404,        404,      404, on="draft"),
    "POST /cases/{case_id}/documents/merge":     Row(401,       400, 404, 404,        404,      404, on="draft"),
    "GET /postfach":                             Row(401,       200, 200, 403,        403,      403),
    "POST /postfach/{message_id}/read":          Row(403,       204, 404, 403,        403,      403),
    # the message is A's receipt message, which carries no attachment: even A finds no such document in it
    "GET /postfach/{message_id}/attachments/{document_id}":
                                                 Row(401,       404, 404, 403,        403,      403),
    "DELETE /cases/{case_id}":                   Row(403,       204, 404, 404,        404,      404, on="draft",
                                                     fresh=True),
    "GET /me/data":                              Row(401,       200, 200, 403,        403,      403),
    "GET /me/data.pdf":                          Row(401,       200, 200, 403,        403,      403),
    # a wrong password refuses every citizen; staff accounts are deleted by admins only
    "POST /me/deletion":                         Row(401,       401, 401, 409,        409,      409),
    "GET /consents":                             Row(401,       200, 200, 403,        403,      403),
    "PUT /consents/{channel}":                   Row(401,       200, 200, 403,        403,      403),
    "GET /my-jobcenter":                         Row(401,       200, 404, 404,        404,      404),
    "GET /forms/{kind}":                         Row(200,       200, 200, 200,        200,      200),
    "GET /postcodes/{plz}":                      Row(200,       200, 200, 200,        200,      200),
    "GET /responsible-jobcenter":                Row(200,       200, 200, 200,        200,      200),
    "GET /openapi.json":                         Row(200,       200, 200, 200,        200,      200),
    "GET /account/passkeys":                     Row(401,       200, 200, 200,        200,      200),
    "POST /account/passkeys":                    Row(403,       400, 400, 400,        400,      400),
    "POST /account/passkeys/options":            Row(403,       200, 200, 200,        200,      200),
    "DELETE /account/passkeys/{credential_id}":  Row(403,       404, 404, 404,        404,      404),
    "POST /session/passkey":                     Row(403,       400, 400, 400,        400,      400),
    "POST /session/passkey/options":             Row(403,       200, 200, 200,        200,      200),
    # the caseworker's routes: only staff of the case's Jobcenter; another Jobcenter's case does not exist
    "GET /staff/inbox":                          Row(401,       403, 403, 200,        200,      403),
    "GET /staff/access-log":                     Row(401,       403, 403, 403,        403,      200),
    "GET /staff/cases/{case_id}":                Row(401,       403, 403, 200,        404,      403),
    "GET /staff/cases/{case_id}/documents/{document_id}":
                                                 Row(401,       403, 403, 200,        404,      403),
    "POST /staff/cases/{case_id}/receive":       Row(403,       403, 403, 204,        404,      403, fresh=True),
    "POST /staff/cases/{case_id}/start-processing":
                                                 Row(403,       403, 403, 409,        404,      403),
    "POST /staff/cases/{case_id}/document-requests":
                                                 Row(401,       403, 403, 409,        404,      403),
    "POST /staff/cases/{case_id}/waivers":       Row(401,       403, 403, 409,        404,      403),
    "POST /staff/cases/{case_id}/messages":      Row(401,       403, 403, 201,        404,      403),
    "POST /staff/cases/{case_id}/bescheid":      Row(403,       403, 403, 201,        404,      403, fresh=True),
    "POST /staff/cases/{case_id}/decision":      Row(401,       403, 403, 409,        404,      403),
    "POST /staff/cases/{case_id}/close":         Row(403,       403, 403, 409,        404,      403),
    # the case has no Bescheid yet, so no notice whose receipt could be denied
    "POST /staff/cases/{case_id}/bescheid-notice-denied":
                                                 Row(401,       403, 403, 404,        404,      403),
    "POST /staff/cases/{case_id}/reassignment":  Row(401,       403, 403, 403,        403,      403),
    "POST /staff/cases/{case_id}/assignee":      Row(401,       403, 403, 200,        404,      403, fresh=True),
    "GET /staff/colleagues":                     Row(401,       403, 403, 403,        403,      403),
    # the Jobcenter's own: Freischaltcodes for its staff; accounts for team leads and admins (an admin must name the
    # Jobcenter: 400 without); alerts for its staff; reported barriers for admins
    "GET /staff/activation-codes":               Row(401,       403, 403, 200,        200,      200),
    "POST /staff/activation-codes":              Row(401,       403, 403, 201,        201,      400),
    "POST /staff/activation-codes/{code_id}/revocation":
                                                 Row(403,       403, 403, 404,        404,      404),
    "GET /staff/accounts":                       Row(401,       403, 403, 403,        403,      400),
    "POST /staff/accounts":                      Row(401,       403, 403, 403,        403,      400),
    "POST /staff/accounts/{account_id}/disable": Row(403,       403, 403, 403,        403,      404),
    "GET /staff/alerts":                         Row(401,       403, 403, 200,        200,      200),
    "GET /staff/accessibility-feedback":         Row(401,       403, 403, 403,        403,      200),
    # the Jobcenter's contact details: its team lead's or an admin's (who must name the Jobcenter: 400 without)
    "GET /staff/jobcenter-contact":              Row(401,       403, 403, 403,        403,      400),
    "PUT /staff/jobcenter-contact":              Row(401,       403, 403, 403,        403,      400),
}
# fmt: on

# What each route is sent, so that only the actor can be why it is refused.
SENT: dict[str, dict[str, Any]] = {
    "POST /session": {"json": {"email": "niemand@example.org", "password": "falsch-falsch-falsch"}},
    "POST /session/second-factor": {"json": {"login_ticket": "not-a-ticket", "code": "123456"}},
    "POST /session/enrolment": {"json": {"login_ticket": "not-a-ticket"}},
    "POST /session/enrolment/confirm": {"json": {"login_ticket": "not-a-ticket", "code": "123456"}},
    "POST /registration": {
        "json": {
            "email": "neu@example.org",
            "password": "passwort",
            "activation_code": "X",
            "given_name": "Erika",
            "family_name": "Mustermann",
        }
    },
    "PUT /account/name": {"json": {"given_name": "Erika", "family_name": "Mustermann"}},
    "POST /cases": {"json": {"kind": "veraenderungsmitteilung"}},
    "PUT /cases/{case_id}/sections/{section_id}": {"json": {"aenderungen": ["arbeitsaufnahme"]}},
    "POST /cases/{case_id}/messages": {"json": {"text": "Guten Tag, ich habe eine Frage."}},
    "PUT /consents/{channel}": {"json": {"granted": True}},
    "POST /me/deletion": {"json": {"password": "falsch-falsch-falsch"}},
    "POST /staff/activation-codes": {"json": {"customer_number": "123D456789"}},
    "POST /staff/accounts": {"json": {"email": "neu.kollegin@jobcenter.example", "role": "caseworker"}},
    "PUT /staff/jobcenter-contact": {
        "json": {"postal_address": {"street": "Groß-Berliner Damm 73", "postcode": "12487", "city": "Berlin"}}
    },
    "POST /staff/cases/{case_id}/bescheid-notice-denied": {"json": {"message_id": "no-such-message"}},
    "POST /staff/cases/{case_id}/document-requests": {
        "json": {"items": ["lohnabrechnung_erste"], "due_date": "2026-12-31"}
    },
    "POST /cases/{case_id}/documents/merge": {"json": {"nachweis": "arbeitsvertrag", "document_ids": []}},
    "POST /staff/cases/{case_id}/assignee": {"json": {}},
    "POST /staff/cases/{case_id}/waivers": {"json": {"nachweis": "anlage_ek"}},
    "POST /staff/cases/{case_id}/messages": {"json": {"text": "Wir haben Ihre Unterlagen erhalten."}},
    "POST /staff/cases/{case_id}/bescheid": {
        "data": samples.pdf(),
        "headers": {"Content-Type": "application/octet-stream"},
    },
    "POST /staff/cases/{case_id}/decision": {"json": {"outcome": "amended", "bescheid_document_id": "not-uploaded"}},
    "POST /staff/cases/{case_id}/reassignment": {"json": {"jobcenter_id": "jc-0393", "reason": "Umzug nach Neukölln"}},
    "GET /responsible-jobcenter": {"params": {"plz": "12555", "strasse": "Alt-Köpenick", "hausnummer": "21"}},
    "POST /cases/{case_id}/documents": {
        "params": {"nachweis": "arbeitsvertrag", "filename": "Arbeitsvertrag.pdf"},
        "headers": {"Content-Type": "application/octet-stream"},
        "data": samples.pdf(),
    },
}
# Path parameters other than the case.
PATH_VALUES = {
    "section_id": lambda world: "aenderungen",
    "message_id": lambda world: world.postfach_message,
    "channel": lambda world: "email_alerts",
    "kind": lambda world: "veraenderungsmitteilung",
    "plz": lambda world: "12555",
    "document_id": lambda world: world.document,
    "credential_id": lambda world: "no-such-credential",
    "code_id": lambda world: "00000000-0000-4000-8000-000000000000",
    "account_id": lambda world: "00000000-0000-4000-8000-000000000001",
}


DOCUMENT = document()


def assert_documented(route: Any, answer: Any) -> None:
    """The answer's status is documented for the route and a JSON body matches its schema (fields, error codes)."""
    responses = DOCUMENT["paths"][PREFIX + route.path][route.method.lower()]["responses"]
    assert str(answer.status_code) in responses, (key(route), answer.status_code, answer.text[:300])
    content = responses[str(answer.status_code)].get("content", {})
    if answer.headers.get("Content-Type") == "application/json":
        jsonschema.validate(answer.json(), content["application/json"]["schema"])


def key(route: Any) -> str:
    return f"{route.method} {route.path}"


def allowed(expected: int | tuple[int, ...]) -> tuple[int, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def test_every_route_of_the_api_has_a_row():
    assert {key(route) for route in ROUTES} == set(EXPECTED)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", ROUTES, ids=key)
def test_each_actor_gets_what_the_matrix_expects(world: World, route: Any, actor: str) -> None:
    row = EXPECTED.get(key(route))
    assert row is not None, f"no row in EXPECTED for {key(route)}: add one"
    expected = allowed(getattr(row, actor))
    succeeds = all(status < 400 for status in expected)
    fresh = row.fresh and succeeds
    browser = logged_in(world.portal, actor) if fresh and route.path == "/session" else world.browsers[actor]
    case_id = world.draft if row.on == "draft" else world.assigned
    if fresh and "{case_id}" in route.path:  # a case of citizen A's own for this cell
        owner = world.browsers["citizen_a"]
        case_id = world.assigned_case(owner) if row.on == "assigned" else new_case(owner, submitted=False)
    names = {name: make(world) for name, make in PATH_VALUES.items()}
    path = API + route.path.format(case_id=case_id, **names)
    sent = SENT.get(key(route), {})
    if route.path.endswith("/submit"):
        sent = {"headers": {"Idempotency-Key": f"matrix-{actor}-{case_id}"}}

    answer = browser.request(route.method, path, **sent)

    assert answer.status_code in expected, (actor, key(route), answer.status_code, answer.text[:300])
    assert_documented(route, answer)
    if actor not in ("citizen_a", "caseworker"):
        account = world.browsers["citizen_a"].account
        assert account is not None
        secrets_of_a = (world.receipt_number, "Muster GmbH", account.account_id)
        leaked = [secret for secret in secrets_of_a if secret in answer.text]
        assert not leaked, (actor, key(route), leaked)
