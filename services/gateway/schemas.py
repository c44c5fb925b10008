"""The JSON Schemas of what the APIs answer, built from a few small parts, for the OpenAPI documents.

Every object names its fields (``additionalProperties: false``): a field added to an answer is added here
too, or the schemathesis run (``tests/security/test_api_fuzzing.py``) fails. Where the content is not the
API's to fix (a form's answers, a form's own JSON Schemas, WebAuthn options), the object is open on purpose
and says so (``open_object``). Times are ISO 8601 strings; some carry an offset, older ones do not, so no
``format`` is claimed for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "description": "ISO 8601 time"}
DAY: Schema = {"type": "string", "format": "date"}
BINARY: Schema = {"type": "string", "format": "binary"}
# What documents accepts; a download answers with the document's own type.
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")


def obj(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None, description: str = "") -> Schema:
    """An object with exactly these fields: ``required`` always present, ``optional`` sometimes."""
    schema: Schema = {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def open_object(description: str) -> Schema:
    """An object whose fields the API does not fix (said why in ``description``)."""
    return {"type": "object", "additionalProperties": True, "description": description}


def map_of(values: Schema, description: str) -> Schema:
    """An object used as a map: any key, each value of ``values``."""
    return {"type": "object", "additionalProperties": values, "description": description}


def array(items: Schema, **constraints: Any) -> Schema:
    return {"type": "array", "items": items, **constraints}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def enum(*values: Any, description: str = "") -> Schema:
    schema: Schema = {"enum": list(values)}
    if description:
        schema["description"] = description
    return schema


def listing(name: str, items: Schema) -> Schema:
    """``{name: [items]}``, the shape of most list answers."""
    return obj({name: array(items)})


# -- the words of the domain ---------------------------------------------------------------------------

KIND = enum("veraenderungsmitteilung", "weiterbewilligungsantrag")
CASE_STATUS = enum(
    "draft", "submitted", "assigned", "assignment_pending", "received", "in_progress", "waiting_for_documents",
    "decided", "closed", "withdrawn", "handed_over", "discarded", "expired",
)  # fmt: skip
ROLE = enum("citizen", "caseworker", "team_lead", "admin")
STAFF_ROLE = enum("caseworker", "team_lead", "admin")
OUTCOME = enum(
    "approved",
    "partially_approved",
    "rejected",
    "amended",
    "revoked",
    "unchanged",
    description="a WBA: approved, partially_approved, rejected; a VÄM: amended, revoked, unchanged",
)
NACHWEIS_STATUS = enum("missing", "supplied", "waived")

# -- cases -----------------------------------------------------------------------------------------------

CASE_SUMMARY = obj(
    {
        "case_id": STRING, "kind": KIND, "status": CASE_STATUS, "receipt_number": nullable(STRING),
        "jobcenter_id": nullable(STRING), "assignee_id": nullable(STRING), "submitted_at": nullable(TIME),
        "updated_at": TIME, "documents_due": nullable(DAY),
        "next_step": nullable(STRING), "overdue": BOOLEAN,
    },
    {
        "due_on": nullable(DAY), "due_kind": nullable(enum("receive", "documents")),
        "customer_number": nullable(STRING), "customer_name": nullable(STRING), "assignee_name": nullable(STRING),
        "assignee_is_me": BOOLEAN,
        "changes": array(STRING), "categories": array(STRING),
    },
    description="a case in a list (the citizen's cases; the staff inbox adds the Frist, the customer's "
    "Kundennummer and name (\"Nachname, Vorname\"; null: not given), the assignee's name and a VÄM's changes)",
)  # fmt: skip
CHECKLIST = map_of(
    obj({"status": NACHWEIS_STATUS, "document_ids": array(STRING)}),
    "per Nachweis kind: missing, supplied (with its documents) or waived",
)
DOCUMENT_REQUEST = obj(
    {
        "items": array(obj({"kind": STRING, "label": STRING, "supplied": BOOLEAN})),
        "note": STRING,
        "due_date": DAY,
    },
    description="what the Jobcenter asked for, while the case waits for it",
)
DECISION = obj(
    {
        "outcome": OUTCOME,
        "bescheid_document_id": nullable(STRING),
        "approval_from": nullable(DAY),
        "approval_to": nullable(DAY),
    }
)
RESIDENCE = obj(
    {},
    {name: nullable(STRING) for name in ("ags", "plz", "ort", "strasse", "hausnummer", "berlin_bezirk", "kreis")},
    description="the address the case gives, as routing reads it",
)
CASE = obj(
    {
        "case_id": STRING, "kind": KIND, "form_version": STRING, "status": CASE_STATUS,
        "receipt_number": nullable(STRING), "content_hash": nullable(STRING), "submitted_at": nullable(TIME),
        "jobcenter_id": nullable(STRING), "checklist": CHECKLIST, "document_request": nullable(DOCUMENT_REQUEST),
        "decision": nullable(DECISION), "version": INTEGER,
    },
    {
        "owner_id": STRING,
        "assignee_id": {**nullable(STRING), "description": "staff only: the caseworker working on it"},
        "residence": nullable(RESIDENCE),
        "move": nullable(open_object("the move a VÄM reports (docs/moves.md): move_date, the Jobcenter of the "
                                     "new address, whether it took effect")),
    },
)  # fmt: skip
ANSWERS = open_object("the answers per form section, as the form's JSON Schemas (GET /forms/{kind}) describe them")
SECTION_REF = obj({"id": STRING, "title": STRING})
NACHWEIS_REF = obj({"kind": STRING, "label": STRING})
PROBLEM = obj({"field": STRING, "code": STRING, "message": STRING})
PROBLEMS = map_of(array(PROBLEM), "per section: what is still missing or wrong before the case can be submitted")
ANSWERS_VIEW = {
    "answers": ANSWERS,
    "sections": array(SECTION_REF, description="the sections that apply to these answers"),
    "nachweise": array(NACHWEIS_REF, description="the Nachweise these answers need"),
    "problems": PROBLEMS,
}
QUALITY_HINT = obj({"code": STRING, "message": STRING})
DOCUMENT = obj(
    {
        "document_id": STRING, "case_id": STRING, "nachweis": STRING, "original_name": STRING,
        "state": STRING, "reason_code": nullable(STRING), "reason": nullable(STRING),
        "content_type": nullable(STRING), "size": nullable(INTEGER), "sha256": nullable(STRING),
        "stored_size": nullable(INTEGER), "stored_sha256": nullable(STRING), "scan_result": nullable(STRING),
        "page_count": nullable(INTEGER), "width": nullable(INTEGER), "height": nullable(INTEGER),
        "quality_hints": array(QUALITY_HINT), "merged_into": nullable(STRING), "from_jobcenter": BOOLEAN,
        "created_at": nullable(TIME), "checked_at": nullable(TIME),
    },
    description="a document of a case, as documents checked it",
)  # fmt: skip
TIMELINE_EVENT = obj(
    {"event": STRING, "label": STRING, "version": INTEGER, "at": TIME, "draft": BOOLEAN},
    {"jobcenter_id": STRING, "matched_key": STRING, "on": DAY, "jobcenter_name": STRING, "text": STRING},
)
CASE_MESSAGE = obj({"message_id": STRING, "author_role": STRING, "text": STRING, "at": TIME})

# -- Postfach, consents ---------------------------------------------------------------------------------

BEKANNTGABE = obj(
    {
        "basis": STRING, "made_known_on": nullable(DAY), "appeal_until": nullable(DAY),
        "needs_other_delivery": BOOLEAN,
    },
    description="when a Bescheid counts as made known (§ 37 SGB X) and the last day for a Widerspruch",
)  # fmt: skip
POSTFACH_MESSAGE = obj(
    {
        "message_id": STRING, "case_id": nullable(STRING), "kind": STRING, "subject": STRING, "body": STRING,
        "attachments": array(STRING), "created_at": TIME, "read": BOOLEAN, "read_at": nullable(TIME),
        "paper_delivery": BOOLEAN, "alert_sent_at": nullable(TIME), "legal_delivery_date": nullable(DAY),
        "retrieved_at": nullable(TIME), "notice_denied_at": nullable(TIME), "bekanntgabe": nullable(BEKANNTGABE),
    }
)  # fmt: skip
CONSENTS = map_of(obj({"granted": BOOLEAN, "changed_at": nullable(TIME)}), "per channel")

# -- Jobcenters -------------------------------------------------------------------------------------------

POSTCODE: Schema = {"type": "string", "pattern": "^[0-9]{5}$"}
ADDRESS = obj({"street": {**STRING, "description": "Straße und Hausnummer"}, "postcode": POSTCODE, "city": STRING})
CONTACT = obj(
    {
        "postal_address": ADDRESS, "visitor_address": {**nullable(ADDRESS), "description": "where to go, when "
                                                       "it is not the postal address"},
        "phone": nullable(STRING), "email": nullable(STRING),
        "opening_hours": {**nullable(STRING), "description": "free text, may have several lines"},
        "updated_at": TIME,
    },
    description="how citizens reach the Jobcenter, as its team lead or an admin set it (public data)",
)  # fmt: skip
JOBCENTER = obj(
    {
        "jobcenter_id": {"type": "string", "description": "the portal's stable id (jc-NNNN)"},
        "traeger_nummer": {"type": "string", "description": "the Träger-Nummer of the Federal Employment Agency"},
        "form": enum("gE", "zkT", description="gE: served by this portal; zkT: a municipal Jobcenter"),
        "name": STRING,
        "display_name": {"type": "string", "description": "as the citizen reads it: Jobcenter Berlin Mitte"},
    },
    {"contact": {**nullable(CONTACT), "description": "the responsible Jobcenter of an answer (outcome assigned): "
                 "its address and how to reach it; null while the Jobcenter has not set it"}},
)  # fmt: skip
PLACE = obj({"ags": STRING, "ort": STRING})
FINDER_ANSWER = obj(
    {
        "outcome": enum("assigned", "ambiguous", "not_served", "unknown_input", description=
                        "assigned: this portal's Jobcenter is responsible; ambiguous: answer `ask` and ask again; "
                        "not_served: a municipal Jobcenter (zkT) is responsible; unknown_input: see `code`"),
        "code": {"type": "string", "description": "stable: MATCHED_BERLIN_ADDRESS, POSTCODE_SPANS_JOBCENTERS, "
                 "AREA_OF_ZKT, BERLIN_BEZIRK_NOT_IN_POSTCODE, POSTCODE_UNKNOWN, ..."},
        "message": {"type": "string", "description": "German, for the citizen"},
        "jobcenter": nullable(JOBCENTER),
        "candidates": array(obj({"jobcenter": JOBCENTER}, {"places": array(PLACE), "berlin_bezirk": STRING})),
        "ask": enum("ort", "strasse_hausnummer", "berlin_bezirk", None, description="what to add to the query next"),
        "on_date": DAY,
        "register_version": STRING,
    },
    {
        "reason": {**nullable(STRING), "description": "why this Jobcenter, in German"},
        "matched_key": {**nullable(STRING), "description": "the area that decided: kreis:14612, gemeinde:06435014, "
                        "berlin_bezirk:09"},
        "how_to_reach": {"type": "string", "description": "not_served: how to reach the responsible zkT"},
    },
)  # fmt: skip
POSTCODE_PLACES = obj(
    {
        "plz": STRING,
        "places": array(obj({"ags": STRING, "ort": STRING, "jobcenter": nullable(JOBCENTER)})),
        "register_version": STRING,
        "on_date": DAY,
    }
)

# -- forms ------------------------------------------------------------------------------------------------

FORM = obj(
    {
        "kind": KIND, "version": STRING, "title": STRING,
        "sections": array(obj({
            "id": STRING, "title": STRING,
            "schema": open_object("the section's JSON Schema (2020-12) with the portal's x-rules"),
            "applies_if": nullable(open_object("the answers that make the section apply")),
        })),
        "nachweise": map_of(STRING, "the German name of each Nachweis kind"),
    },
    {"categories": map_of(obj({"title": STRING, "changes": array(STRING)}),
                          "a VÄM's categories and the changes in each")},
)  # fmt: skip

# -- sessions and accounts --------------------------------------------------------------------------------

LOGIN_ANSWER = obj(
    {"status": enum("authenticated", "second_factor_required", "second_factor_setup_required")},
    {
        "login_ticket": STRING,
        "methods": array(STRING),
        "account_id": STRING,
        "role": ROLE,
        "csrf_token": STRING,
        "recovery_codes": {
            **array(STRING),
            "description": "after the first login's enrolment only: codes that replace the phone once each",
        },
    },
)
SESSION = obj(
    {
        "account_id": STRING, "role": ROLE, "amr": array(STRING, description="how the session was authenticated"),
        "expires_at": {"type": "integer", "description": "unix seconds"}, "csrf_token": STRING,
    }
)  # fmt: skip
PASSKEY = obj({"credential_id": STRING, "created_at": TIME, "last_used_at": nullable(TIME)})
WEBAUTHN_OPTIONS = open_object("the WebAuthn options for navigator.credentials (W3C Web Authentication)")
PASSKEY_OPTIONS = obj({"ticket": STRING, "options": WEBAUTHN_OPTIONS})
ENROLMENT = obj({"secret": STRING, "otpauth_uri": STRING})
REGISTERED = obj({"status": enum("confirmation_sent"), "message": STRING})
PERSON_NAME = {
    "type": "string", "minLength": 1, "maxLength": 80,
    "description": "letters of any language with their accents, spaces, hyphen, apostrophe and dot; no digits",
}  # fmt: skip
MY_NAME = obj(
    {"given_name": nullable(STRING), "family_name": nullable(STRING)},
    description="the citizen's name as they gave it; null: not given (accounts made before names were asked)",
)
DELETION = obj({"drafts_deleted": INTEGER, "cases_kept": INTEGER})
MY_JOBCENTER = obj({"case_id": STRING, "resolution": FINDER_ANSWER})

# -- staff -----------------------------------------------------------------------------------------------

COLLEAGUE = obj({"account_id": STRING, "email": STRING, "role": STAFF_ROLE, "display_name": STRING})
ACTIVATION_CODE = obj(
    {
        "code_id": STRING, "customer_number": STRING, "institution_id": STRING, "issued_by": nullable(STRING),
        "issued_at": TIME, "expires_at": TIME, "used_at": nullable(TIME), "used_by": nullable(STRING),
        "revoked_at": nullable(TIME), "revoked_by": nullable(STRING),
        "state": enum("open", "used", "revoked", "expired"),
    },
    description="never the code itself",
)  # fmt: skip
ISSUED_ACTIVATION_CODE = obj(
    {
        "code_id": STRING, "code": STRING, "customer_number": STRING, "institution_id": STRING, "expires_at": TIME,
        "letter_pdf": {"type": "string", "contentEncoding": "base64", "contentMediaType": "application/pdf"},
    }
)  # fmt: skip
ADDRESS_INPUT = obj(
    {"street": {"type": "string", "maxLength": 100}, "postcode": POSTCODE, "city": {"type": "string", "maxLength": 80}}
)
JOBCENTER_CONTACT = obj(
    {"jobcenter_id": STRING, "display_name": STRING, "contact": nullable(CONTACT)},
    description="the Jobcenter's contact details as set so far (contact null: not yet)",
)
JOBCENTER_CONTACT_INPUT = obj(
    {"postal_address": ADDRESS_INPUT},
    {
        "visitor_address": {**nullable(ADDRESS_INPUT), "description": "null or left out: the postal address"},
        "phone": {**nullable(STRING), "maxLength": 30, "description": "digits, spaces and + / - ( )"},
        "email": {**nullable(STRING), "maxLength": 254},
        "opening_hours": {**nullable(STRING), "maxLength": 500, "description": "free text, lines allowed"},
        "institution_id": {"type": "string", "description": "admins: the Jobcenter (team leads set their own)"},
    },
)
STAFF_ALERT = obj({"case_id": STRING, "jobcenter_id": STRING, "kind": STRING, "text": STRING, "at": TIME})
BARRIER_REPORT = obj({"feedback_id": STRING, "barrier": STRING, "page": STRING, "contact": STRING, "received_at": TIME})
ACCESS = {"account_id": STRING, "role": STRING, "institution_id": nullable(STRING), "action": STRING, "at": TIME}
ACCESS_RECORD = obj(
    {
        "case_id": nullable(STRING),
        "case_views": array(obj({"case_id": STRING, **ACCESS}, {"client_id": nullable(STRING)})),
        "document_reads": array(obj({"document_id": STRING, **ACCESS}, {"client_id": nullable(STRING)})),
        "page": INTEGER,
        "more": BOOLEAN,
    }
)
ASSIGNMENT = obj(
    {
        "case_id": STRING, "status": STRING, "jobcenter_id": nullable(STRING), "traeger_nummer": nullable(STRING),
        "history": array(open_object("one change of the assignment: what, at, and its ids")), "version": INTEGER,
    }
)  # fmt: skip
INBOX = obj(
    {
        "cases": array(CASE_SUMMARY),
        "counts": map_of(INTEGER, "cases per status"),
        "page": INTEGER,
        "search": nullable(STRING),
    },
    {"sort": STRING},
)
FORM_FIELD = obj(
    {"label": STRING, "text": STRING},
    {
        "value": {"type": ["string", "number", "integer", "boolean", "array", "null"]},
        "entries": array(open_object("one entry of a list field, by label")),
    },
)
STAFF_CASE = obj(
    {
        "case": CASE, "answers": ANSWERS, "sections": array(SECTION_REF),
        "form_sections": array(obj({"id": STRING, "title": STRING, "fields": array(FORM_FIELD)}),
                               description="the answers by form section with the form's German labels"),
        "checklist": array(obj({"kind": STRING, "label": STRING, "status": NACHWEIS_STATUS,
                                "documents": array(DOCUMENT)})),
        "documents": array(DOCUMENT), "bescheid": nullable(DOCUMENT), "timeline": array(TIMELINE_EVENT),
        "messages": array(CASE_MESSAGE),
    },
    {
        "assignee": nullable(obj({"account_id": STRING, "me": BOOLEAN, "email": nullable(STRING),
                                  "name": nullable(STRING)})),
        "colleagues": array(COLLEAGUE),
        "customer": obj({"customer_number": nullable(STRING), "customer_name": nullable(STRING)},
                        description="whose case it is: Kundennummer and name (\"Nachname, Vorname\"; null: not "
                        "given)"),
        "bekanntgabe": nullable(obj(
            {"message_id": STRING, "basis": STRING, "made_known_on": nullable(DAY), "appeal_until": nullable(DAY),
             "needs_other_delivery": BOOLEAN},
            {"notice_sent_on": nullable(DAY), "provided_on": nullable(DAY), "retrieved_on": nullable(DAY),
             "notice_denied_on": nullable(DAY)},
        )),
    },
)  # fmt: skip

# -- errors -------------------------------------------------------------------------------------------------


def error(codes: list[str] | None = None) -> Schema:
    """The body of every error answer; ``codes``: the stable codes this answer can carry."""
    code: Schema = {"type": "string", "description": "stable: what went wrong, for programs"}
    if codes:
        code = {"enum": sorted(codes), "description": code["description"]}
    return obj(
        {
            "error": obj(
                {
                    "code": code,
                    "message": {"type": "string", "description": "German, for the citizen"},
                    "correlation_id": {"type": "string", "description": "the request's X-Correlation-ID"},
                },
                {"details": open_object("more about the refusal, by code: field, errors, reason_code, ...")},
            )
        }
    )
