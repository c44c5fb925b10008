"""The OpenAPI document and the routes agree, both ways, and the document is valid OpenAPI 3.1."""

import re

import jsonschema

from services.gateway import service
from services.gateway.api import PREFIX, ROUTES, URL_MAP
from services.gateway.openapi import document
from services.gateway.tests.conftest import API, Browser


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
