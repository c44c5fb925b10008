"""The one table from service errors to HTTP answers."""

import json
import logging

import eventlet
import pytest
from nameko.exceptions import RemoteError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway import pages
from services.gateway.errors import GENERIC_MESSAGE, HTTP_STATUS, response_for
from services.gateway.exchange import Exchange, GatewayState, RpcBackend
from services.gateway.security import GatewaySettings
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, PortalError, Unauthenticated, Unavailable


@pytest.mark.parametrize(
    ("error", "status"),
    [(InvalidInput, 400), (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404), (Conflict, 409),
     (Unavailable, 503)],
)  # fmt: skip
def test_each_error_class_has_its_status_and_keeps_its_code(error, status):
    response = response_for(error("CASE_NOT_FOUND", "Diesen Vorgang gibt es nicht."), "corr-1")
    body = json.loads(response.get_data())
    assert response.status_code == status
    assert body == {
        "error": {"code": "CASE_NOT_FOUND", "message": "Diesen Vorgang gibt es nicht.", "correlation_id": "corr-1"}
    }


def test_every_error_class_of_shared_is_in_the_table():
    assert set(PortalError.__subclasses__()) == set(HTTP_STATUS)


def test_an_unexpected_remote_error_says_nothing_of_its_content():
    response = response_for(RemoteError("ValueError", "erika@example.org is not valid"), "corr-2")
    body = json.loads(response.get_data())
    assert response.status_code == 500
    assert body["error"]["code"] == "INTERNAL_ERROR"
    assert "erika" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "error",
    [
        RemoteError("OperationalError", "connection refused"),
        RemoteError("InterfaceError", "closed"),
        RemoteError("MaxRetryError", "HTTPConnectionPool(host='127.0.0.1'): connection refused"),  # S3 down
        RemoteError("TimeoutError", "no answer from routing.get_jobcenter, connection refused"),  # a lost call
    ],
)
def test_a_database_broker_or_storage_outage_is_service_unavailable_not_an_internal_error(error):
    response = response_for(error, "corr-3")
    assert response.status_code == 503
    assert json.loads(response.get_data())["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "refused" not in response.get_data(as_text=True)


def test_the_gateways_own_broker_outage_is_service_unavailable():
    from kombu.exceptions import OperationalError

    response = response_for(OperationalError("[Errno 111] ECONNREFUSED"), "corr-4")
    assert response.status_code == 503


class Unanswered:
    """A service whose every call gets no answer: a proxy as nameko's, with a reply that never comes."""

    def __init__(self):
        self.publisher = type("Publisher", (), {"expiration": None})()

    def __getattr__(self, name):
        return self

    def call_async(self, *args):
        return self

    def result(self):
        eventlet.sleep(60)


def test_a_call_that_gets_no_answer_in_time_is_logged_by_its_name_and_expires_in_the_queue(caplog):
    backend = RpcBackend(type("Service", (), {"documents": Unanswered()})(), 5.0)
    with caplog.at_level(logging.WARNING, logger="services.gateway.exchange"), pytest.raises(TimeoutError):
        backend.call("documents", "merge_photos", "token", timeout=0.05)
    [record] = [record for record in caplog.records if record.getMessage() == "rpc_timeout"]
    assert (record.dependency, record.method, record.duration_ms) == ("documents", "merge_photos", 50.0)
    assert backend.service.documents.publisher.expiration == 0.05


class TimesOut:
    def call(self, service, method, *args, timeout=None):
        raise TimeoutError


def test_a_page_whose_service_does_not_answer_in_time_is_503_and_says_try_later():
    request = Request(EnvironBuilder(path="/zustaendiges-jobcenter", query_string={"plz": "10115"}).get_environ())
    settings = GatewaySettings.from_config({"GATEWAY_SECRET": "s3cret"})
    page = pages.dispatch(Exchange(request, TimesOut(), GatewayState(settings), "corr-5"))  # type: ignore[arg-type]
    assert page.status_code == 503
    assert GENERIC_MESSAGE in page.get_data(as_text=True)


def test_the_gateways_wait_for_a_service_is_five_seconds_unless_configured():
    assert GatewaySettings.from_config({"GATEWAY_SECRET": "s"}).rpc_timeout_seconds == 5.0
    assert (
        GatewaySettings.from_config({"GATEWAY_SECRET": "s", "GATEWAY_RPC_TIMEOUT_SECONDS": "30"}).rpc_timeout_seconds
        == 30.0
    )
