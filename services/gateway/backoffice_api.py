"""The back-office API ``/backoffice/v1``: how a Jobcenter's e-file takes over the portal's cases.

Machine clients authenticate with OAuth2 client credentials (``POST /backoffice/v1/token``, HTTP Basic or
``client_id``/``client_secret`` in the form body, ``grant_type=client_credentials``) and send the token as
``Authorization: Bearer``. These routes never read a cookie, so a browser's session cannot act here and
CSRF does not apply: a request with a session cookie but no bearer token gets 401 like any other. The
backoffice service verifies each token and answers a case of another Jobcenter with the same 404 as a case
that does not exist. Errors come from the gateway's one table (``errors.py``) with stable codes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

import requests
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as NoRoute
from werkzeug.http import dump_options_header
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from services.gateway.errors import Refused, response_for
from services.gateway.exchange import GatewayState, RpcBackend, load_json
from shared.errors import InvalidInput, NotFound, Unauthenticated

PREFIX = "/backoffice/v1"
DOWNLOAD_CHUNK_BYTES = 64 * 1024
MAX_PAGE = 10_000
TOKEN_MISSING = Unauthenticated("TOKEN_MISSING", "Bitte senden Sie ein Zugangstoken (Authorization: Bearer).")


class Call:
    """One request to the back-office API: the request, the backend, the gateway's state."""

    def __init__(self, request: Request, backend: RpcBackend, state: GatewayState, correlation: str) -> None:
        self.request = request
        self.backend = backend
        self.state = state
        self.correlation = correlation

    def bearer(self) -> str:
        """The token of ``Authorization: Bearer``; 401 ``TOKEN_MISSING`` without one (cookies count for nothing)."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TOKEN_MISSING
        return token.strip()

    def call(self, method: str, *args: Any) -> Any:
        return self.backend.call("backoffice", method, *args)

    def body(self) -> bytes:
        limit = self.state.settings.max_body_bytes
        if (self.request.content_length or 0) > limit:
            raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
        data = self.request.stream.read(limit + 1)
        if len(data) > limit:
            raise Refused(413, "REQUEST_TOO_LARGE", "Die Anfrage ist zu groß.")
        return bytes(data)

    def json_object(self) -> dict[str, Any]:
        if self.request.mimetype != "application/json":
            raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Angaben als JSON (application/json).")
        try:
            body = load_json(self.body())
        except ValueError as problem:
            raise InvalidInput("BODY_INVALID", "Die Angaben sind kein gültiges JSON.") from problem
        if not isinstance(body, dict):
            raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Angaben als JSON-Objekt.")
        return body


def answer(call: Call, payload: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store", "X-Correlation-ID": call.correlation},
    )


# -- OAuth2 token --------------------------------------------------------------------------------------


def client_credentials(call: Call, form: dict[str, str]) -> tuple[str, str]:
    """The client's id and secret from HTTP Basic (RFC 6749 2.3.1: form-encoded, then base64) or the form."""
    scheme, _, encoded = call.request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, separator, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("CLIENT_CREDENTIALS_INVALID", "Client-ID oder Client-Secret sind falsch.") from None
        if separator:
            return unquote(client_id), unquote(secret)
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not client_id or not secret:
        raise Unauthenticated("CLIENT_CREDENTIALS_INVALID", "Client-ID oder Client-Secret sind falsch.")
    return client_id, secret


def token(call: Call) -> Response:
    if not call.state.limiter.allow("backoffice_token", str(call.request.remote_addr or ""), 60):
        raise Refused(429, "TOO_MANY_REQUESTS", "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie eine Minute.")
    if call.request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidInput("BODY_INVALID", "Bitte senden Sie die Anfrage als application/x-www-form-urlencoded.")
    form = dict(parse_qsl(call.body().decode("utf-8", errors="replace"), keep_blank_values=True))
    if form.get("grant_type") != "client_credentials":
        raise InvalidInput("UNSUPPORTED_GRANT_TYPE", "Nur grant_type=client_credentials ist möglich.")
    client_id, secret = client_credentials(call, form)
    response = answer(call, call.call("issue_token", client_id, secret))
    response.headers["Pragma"] = "no-cache"
    return response


# -- cases ---------------------------------------------------------------------------------------------


def list_cases(call: Call) -> Response:
    try:
        page = int(call.request.args.get("page", "1"))
    except ValueError:
        page = 0
    if not 1 <= page <= MAX_PAGE:  # a page far beyond any case made the database's offset overflow (500)
        raise InvalidInput("PAGE_INVALID", f"Die Seite muss eine Zahl von 1 bis {MAX_PAGE} sein.")
    return answer(call, call.call("list_new_cases", call.bearer(), page))


def get_case(call: Call, case_id: str) -> Response:
    return answer(call, call.call("get_case", call.bearer(), case_id))


def list_documents(call: Call, case_id: str) -> Response:
    documents = call.call("list_documents", call.bearer(), case_id)
    for document in documents:
        document["href"] = f"{PREFIX}/cases/{case_id}/documents/{document['document_id']}"
    return answer(call, {"documents": documents})


def download_document(call: Call, case_id: str, document_id: str) -> Response:
    """The document's bytes, streamed from the object store through the gateway, never held whole."""
    found = call.call("document_download", call.bearer(), case_id, document_id)
    upstream = requests.get(found["url"], stream=True, timeout=30)
    if upstream.status_code != 200:
        upstream.close()
        raise NotFound("DOCUMENT_NOT_FOUND", "Dieses Dokument gibt es nicht.")

    def chunks() -> Iterator[bytes]:
        try:
            yield from upstream.iter_content(DOWNLOAD_CHUNK_BYTES)
        finally:
            upstream.close()

    headers = {
        "Cache-Control": "no-store",
        "X-Correlation-ID": call.correlation,
        "Content-Disposition": dump_options_header("attachment", {"filename": str(found["filename"])}),
        "X-Content-SHA256": str(found["sha256"]),
    }
    if found.get("size") is not None:
        headers["Content-Length"] = str(found["size"])
    return Response(chunks(), mimetype=found["content_type"], headers=headers, direct_passthrough=True)


def accept_case(call: Call, case_id: str) -> Response:
    return answer(call, call.call("accept_case", call.bearer(), case_id))


def reject_case(call: Call, case_id: str) -> Response:
    bearer = call.bearer()
    reason = call.json_object().get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("REASON_REQUIRED", "Bitte geben Sie einen Grund an.", {"field": "reason"})
    return answer(call, call.call("reject_case", bearer, case_id, reason))


def case_events(call: Call, case_id: str) -> Response:
    return answer(call, {"sets": call.call("case_events", call.bearer(), case_id)})


def openapi_document(call: Call) -> Response:
    """This API's OpenAPI document (public, like the routes' descriptions in the README)."""
    from services.gateway.backoffice_openapi import document

    response = answer(call, document(call.request.host_url.rstrip("/")))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


Handler = Callable[..., Response]
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/token", token),
    ("GET", "/cases", list_cases),
    ("GET", "/cases/<case_id>", get_case),
    ("GET", "/cases/<case_id>/documents", list_documents),
    ("GET", "/cases/<case_id>/documents/<document_id>", download_document),
    ("POST", "/cases/<case_id>/accept", accept_case),
    ("POST", "/cases/<case_id>/reject", reject_case),
    ("GET", "/cases/<case_id>/events", case_events),
    ("GET", "/openapi.json", openapi_document),
)
URL_MAP = Map([Rule(PREFIX + path, methods=[method], endpoint=handler) for method, path, handler in ROUTES])


def dispatch(request: Request, backend: RpcBackend, state: GatewayState, correlation: str) -> Response:
    """Route a back-office request and answer errors from the one table; 401s name the Bearer scheme."""
    call = Call(request, backend, state, correlation)
    try:
        try:
            handler, params = URL_MAP.bind("", url_scheme="http").match(request.path, method=request.method)
        except MethodNotAllowed as refused:
            raise Refused(405, "METHOD_NOT_ALLOWED", "Diese Methode gibt es hier nicht.") from refused
        except NoRoute as missing:
            raise NotFound("ROUTE_NOT_FOUND", "Diese Adresse gibt es nicht.") from missing
        return handler(call, **params)
    except Exception as problem:
        response = response_for(problem, correlation)
        response.headers["Cache-Control"] = "no-store"
        if response.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="backoffice"'
        return response


def keys(backend: RpcBackend, correlation: str) -> Response:
    """The public keys that verify the Security Event Tokens (JWKS)."""
    try:
        jwks = backend.call("backoffice", "get_keys")
    except Exception as problem:
        return response_for(problem, correlation)
    return Response(
        json.dumps(jwks),
        mimetype="application/json",
        headers={"Cache-Control": "public, max-age=300", "X-Correlation-ID": correlation},
    )
