"""The OpenAPI documents and the routes agree, both ways; the documents are valid OpenAPI 3.1; every answer
has a schema that names its fields, and every error code the sources raise is in the one catalogue."""

import re
from collections import defaultdict
from pathlib import Path

import jsonschema
import schemathesis

from services.gateway import backoffice_api, backoffice_openapi, service
from services.gateway.api import PREFIX, ROUTES, URL_MAP
from services.gateway.error_codes import INDIRECT, STATUS_OF, UNEXPECTED
from services.gateway.errors import HTTP_STATUS
from services.gateway.openapi import document
from services.gateway.tests.conftest import API, Browser
from shared import errors

REPOSITORY = Path(__file__).resolve().parents[3]
ORIGIN = "http://portal.example"


def operations_in(doc):
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def test_every_route_is_in_the_document_and_every_documented_operation_is_routed():
    routed = {(route.method, PREFIX + route.path) for route in ROUTES}
    # Besides the route table: the receipt keys, served by the gateway's own entrypoint.
    assert operations_in(document()) == routed | {("GET", "/.well-known/receipt-keys.json")}
    adapter = URL_MAP.bind("")
    for method, path in routed:
        concrete = re.sub(r"{\w+}", "x", path)
        route, _ = adapter.match(concrete, method=method)
        assert (route.method, PREFIX + route.path) == (method, path)


def test_every_api_path_the_gateway_serves_goes_through_the_route_table():
    entrypoints = [getattr(service.GatewayService, name) for name in dir(service.GatewayService)]
    urls = {ep.url for fn in entrypoints for ep in getattr(fn, "nameko_entrypoints", ()) if hasattr(ep, "url")}
    api_urls = {url for url in urls if url.startswith(PREFIX)}
    assert api_urls == {f"{PREFIX}/<path:path>"}


def test_path_parameters_and_json_bodies_are_declared():
    doc = document()
    for route in ROUTES:
        operation = doc["paths"][PREFIX + route.path][route.method.lower()]
        declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", route.path)), route.path
        if route.changes_state and not route.public:
            assert "X-CSRF-Token" in {p["name"] for p in operation["parameters"]}, route.path
        assert str(route.ok) in operation["responses"]


def test_the_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"] == "3.1.0"
    # Each schema in it is a valid JSON Schema (2020-12, what OpenAPI 3.1 uses).
    for item in doc["paths"].values():
        for operation in item.values():
            for answer in operation["responses"].values():
                for media in answer.get("content", {}).values():
                    if "$ref" not in media["schema"]:
                        jsonschema.Draft202012Validator.check_schema(media["schema"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                jsonschema.Draft202012Validator.check_schema(media["schema"])


def test_the_document_is_served_and_is_the_same_as_the_data(portal):
    answer = Browser(portal).request("GET", f"{API}/openapi.json")
    assert answer.status_code == 200
    assert answer.json() == document()


def test_what_the_api_answers_matches_the_documented_schema(portal):
    browser = Browser(portal)
    browser.log_in(portal.account())
    doc = document()
    for path in ("/cases", "/session", "/postfach"):
        answer = browser.request("GET", API + path)
        schema = doc["paths"][API + path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        jsonschema.validate(answer.json(), schema)


def test_both_documents_pass_the_openapi_3_1_meta_schema_as_schemathesis_loads_them():
    for doc in (document(), backoffice_openapi.document(ORIGIN)):
        schemathesis.openapi.from_dict(doc).validate()  # raises on any violation of the OpenAPI 3.1 schema


def schemas_in(node, where=""):
    """Every schema object below ``node`` with where it is (depth first)."""
    if isinstance(node, dict):
        if "type" in node or "enum" in node or "anyOf" in node:
            yield where, node
        for key, value in node.items():
            yield from schemas_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{index}")


def test_every_object_in_an_answer_says_whether_it_may_have_fields_it_does_not_name():
    for doc in (document(), backoffice_openapi.document(ORIGIN)):
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                for status, answer in operation["responses"].items():
                    for media, content in answer.get("content", {}).items():
                        for where, schema in schemas_in(content["schema"]):
                            if schema.get("type") == "object":
                                assert "additionalProperties" in schema, (method, path, status, media, where)


def test_every_json_success_of_the_api_has_a_schema_with_its_fields():
    for route in ROUTES:
        if route.ok == 204:
            assert route.response is None, route.path
        elif route.response_type == "application/json":
            assert route.response is not None, (route.method, route.path)
            assert route.response.get("properties") or route.response.get("additionalProperties"), route.path


def test_each_error_answer_lists_its_codes_and_only_codes_of_its_status():
    for doc in (document(), backoffice_openapi.document(ORIGIN)):
        for path, item in doc["paths"].items():
            for method, operation in item.items():
                for status, answer in operation["responses"].items():
                    if int(status) < 400:
                        continue
                    schema = answer["content"]["application/json"]["schema"]
                    codes = schema["properties"]["error"]["properties"]["code"]["enum"]
                    assert codes, (method, path, status)
                    assert all(int(status) in STATUS_OF[code] for code in codes), (method, path, status, codes)
                    assert {"500", "503"} <= set(operation["responses"]), (method, path)


def codes_of(responses, status: int) -> list[str]:
    error = responses[str(status)]["content"]["application/json"]["schema"]["properties"]["error"]
    return list(error["properties"]["code"]["enum"])


def test_a_session_route_lists_the_session_codes_and_a_state_change_the_csrf_code():
    doc = document()
    for route in ROUTES:
        responses = doc["paths"][PREFIX + route.path][route.method.lower()]["responses"]
        if not route.public:
            # The services' refusals of the session's token pass through as they are (test_tokens_and_sessions.py).
            expected = {"SESSION_REQUIRED", "SESSION_ENDED", "TOKEN_INVALID", "TOKEN_EXPIRED", "TOKEN_KEY_UNKNOWN"}
            assert expected <= set(codes_of(responses, 401)), route.path
        if route.changes_state:
            assert "CSRF_FAILED" in codes_of(responses, 403), route.path


# A literal code, or a member of documents' Rejection (whose values are their names).
RAISED = re.compile(
    r"\b(InvalidInput|NotFound|Conflict|Unauthenticated|Forbidden|Unavailable)"
    r"\(\s*(?:\"([A-Z][A-Z0-9_]+)\"|Rejection\.([A-Z][A-Z0-9_]+)\.value)"
)
REFUSED = re.compile(r"Refused\(\s*(\d{3}),\s*\"([A-Z][A-Z0-9_]+)\"")


def test_the_catalogue_of_error_codes_is_every_code_the_sources_raise_with_the_status_of_its_class():
    status_of_class = {cls.__name__: status for cls, status in HTTP_STATUS.items()}
    assert set(status_of_class) == {name for name in dir(errors) if name in RAISED.pattern}
    raised: dict[str, set[int]] = defaultdict(set)
    sources = [*REPOSITORY.glob("services/**/*.py"), *REPOSITORY.glob("shared/**/*.py")]
    for source in sources:
        if "tests" in source.parts or "testing" in source.parts:
            continue
        text = source.read_text()
        for cls, literal, member in RAISED.findall(text):
            raised[literal or member].add(status_of_class[cls])
        for code, statuses in INDIRECT.items():
            if f'"{code}"' in text:
                raised[code].update(statuses)
        for status, code in REFUSED.findall(text):
            raised[code].add(int(status))
    assert raised, "no raise found: the patterns no longer match the sources"
    catalogue = {code: set(statuses) for code, statuses in STATUS_OF.items() if code not in UNEXPECTED}
    assert catalogue == dict(raised)


def test_every_route_names_only_codes_of_the_catalogue():
    for route in ROUTES:
        assert set(route.codes) <= set(STATUS_OF), (route.path, set(route.codes) - set(STATUS_OF))


def test_the_back_office_document_describes_every_back_office_route_and_nothing_else():
    doc = backoffice_openapi.document(ORIGIN)
    routed = {
        (method, backoffice_api.PREFIX + re.sub(r"<(\w+)>", r"{\1}", rule)) for method, rule, _ in backoffice_api.ROUTES
    }
    assert operations_in(doc) == routed | {("GET", backoffice_openapi.KEYS_PATH)}
    assert set(backoffice_openapi.OPERATIONS) == {handler for _, _, handler in backoffice_api.ROUTES}
    flow = doc["components"]["securitySchemes"]["client_credentials"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == ORIGIN + "/backoffice/v1/token"
