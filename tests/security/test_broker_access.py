"""Least privilege on the broker (issue #18): each service and relay has a RabbitMQ user of its own.

The portal of this package runs every service with its own user (``principal_environ``); these tests take
the users' credentials as an attacker who took over one process would, and ask the real broker what they
may do: exactly the list in ``shared/broker_access.py``, nothing else.
"""

from __future__ import annotations

import ast
import functools
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import amqp.exceptions
import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from nameko.containers import ServiceContainer
from nameko.events import EventHandler
from nameko.rpc import Rpc
from nameko.standalone.rpc import ClusterRpcProxy

from shared import broker_access, servers
from shared.broker_access import PRINCIPALS, RPC_EXCHANGE, events_exchange
from shared.config import REPOSITORY_ROOT
from shared.envelope import IntegrationEvent
from shared.messaging import EventPublisher, named_standalone
from shared.service import SERVICES, service_class

REFUSED = (amqp.exceptions.AccessRefused, amqp.exceptions.ChannelError)


@functools.cache
def served_methods() -> dict[str, set[str]]:
    """Every RPC method each service serves, from the code (nameko's entrypoints)."""
    served = {}
    for name in SERVICES:
        container = ServiceContainer(service_class(name), {"AMQP_URI": "memory://"})
        served[name] = {e.method_name for e in container.entrypoints if isinstance(e, Rpc)}
    return served


def consumed_events() -> dict[str, dict[str, set[str]]]:
    """Every event each service handles, by source, from the code."""
    consumed: dict[str, dict[str, set[str]]] = {}
    for name in SERVICES:
        container = ServiceContainer(service_class(name), {"AMQP_URI": "memory://"})
        for entrypoint in container.entrypoints:
            if isinstance(entrypoint, EventHandler):
                consumed.setdefault(name, {}).setdefault(entrypoint.source_service, set()).add(entrypoint.event_type)
    return consumed


@pytest.fixture(scope="module")
def uris(portal) -> dict[str, str]:
    """The users of the running portal: for the attacks that the broker refuses before any service sees them."""
    return servers.principal_uris(portal.env["AMQP_URI"])


@pytest.fixture(scope="module")
def bare(uris) -> Iterator[dict[str, str]]:
    """The same users on a vhost where no service runs, for probes that the broker lets through.

    A request the broker allows reaches its queue: on the portal's vhost a service would take the probe's
    empty message as a call. Here the exchanges exist (the setup declares them) and nothing listens.
    """
    name = f"jc_test_{uuid.uuid4().hex[:12]}"
    yield servers.principal_uris(servers.create_rabbit_vhost(name))
    servers.delete_rabbit_vhost(name)


def as_service(uri: str, name: str) -> ClusterRpcProxy:
    return named_standalone(ClusterRpcProxy, name)({"AMQP_URI": uri}, timeout=10)


# -- the Done-when of #18: a compromised gateway ---------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "method", "arguments"),
    [
        ("submissions", "get_case", (str(uuid.uuid4()),)),
        ("submissions", "export_case", (str(uuid.uuid4()),)),
        ("submissions", "export_case_events", (str(uuid.uuid4()),)),
        ("identity", "get_contact", (str(uuid.uuid4()),)),
    ],
)
def test_the_gateways_user_may_not_call_what_answers_without_a_token(uris, service, method, arguments):
    with as_service(uris["gateway"], "gateway") as cluster:
        assert "status" in cluster.submissions.health()  # the same user, an allowed call: it works
    with pytest.raises(REFUSED, match="ACCESS_REFUSED"), as_service(uris["gateway"], "gateway") as cluster:
        getattr(getattr(cluster, service), method)(*arguments)


def test_the_gateways_user_may_not_publish_case_submitted(uris):
    event = IntegrationEvent("case_submitted", str(uuid.uuid4()), 2, {"case_id": "forged"})
    with pytest.raises(REFUSED, match="ACCESS_REFUSED"), EventPublisher(uris["gateway"], "submissions") as forger:
        forger.publish(event)


def test_the_gateways_user_may_not_consume_or_tap_the_rpc_queue_of_submissions(uris):
    with Connection(uris["gateway"]) as connection:
        with pytest.raises(REFUSED, match="ACCESS_REFUSED"):
            Consumer(connection.channel(), [Queue("rpc-submissions", no_declare=True)]).consume()
        # Nor bind a queue of its own to submissions' requests, to read them as they pass.
        tap = Queue(f"rpc.reply-gateway-{uuid.uuid4()}", Exchange(RPC_EXCHANGE, "topic", durable=True),
                    routing_key="submissions.*", auto_delete=True)  # fmt: skip
        with pytest.raises(REFUSED, match="ACCESS_REFUSED"):
            tap(connection.channel()).declare()


# -- every principal: exactly its list, asked of the broker --------------------------------------------------


def _allowed(uri: str, attempt) -> bool:
    """Whether the broker lets ``attempt(channel)`` through (a refusal closes only that channel)."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        try:
            attempt(channel)
        except REFUSED as refused:
            assert "ACCESS_REFUSED" in str(refused)
            return False
        return True


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.name)
def test_each_user_may_call_exactly_the_rpc_methods_of_its_list(bare, principal):
    rpc = Exchange(RPC_EXCHANGE, "topic", durable=True, passive=True)
    wrong = []
    with Connection(bare[principal.name], transport_options={"confirm_publish": True}) as connection:
        for service, methods in sorted(served_methods().items()):
            for method in sorted(methods):
                listed = method in principal.calls.get(service, ())
                channel = connection.channel()
                try:
                    Producer(channel).publish({}, exchange=rpc, routing_key=f"{service}.{method}", declare=[rpc])
                    allowed = True
                except REFUSED:
                    allowed = False
                finally:
                    if channel.is_open:
                        channel.close()
                if allowed != listed:
                    wrong.append(f"{service}.{method}: {'allowed' if allowed else 'refused'}")
    assert wrong == []


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.name)
def test_each_user_may_publish_only_its_own_services_events(bare, principal):
    for source in SERVICES:
        exchange = Exchange(events_exchange(source), "topic", durable=True, passive=True)
        allowed = _allowed(
            bare[principal.name],
            lambda channel, exchange=exchange: Producer(channel).publish(
                {}, exchange=exchange, routing_key="case_submitted", declare=[exchange]
            ),
        )
        assert allowed == (principal.publishes == source), source


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.name)
def test_each_user_may_receive_exactly_the_events_of_its_list(bare, principal):
    every_type = {t for p in PRINCIPALS for types in p.consumes.values() for t in types} | {"case_erased_for_good"}
    for source in ("submissions", "routing", "documents"):
        for event_type in sorted(every_type):
            queue = Queue(
                f"evt-{source}-{event_type}--{principal.name}.probe",
                Exchange(events_exchange(source), "topic", durable=True, passive=True),
                routing_key=event_type,
                auto_delete=True,
            )
            allowed = _allowed(bare[principal.name], lambda channel, queue=queue: queue(channel).declare())
            assert allowed == (event_type in principal.consumes.get(source, ())), f"{source}:{event_type}"


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.name)
def test_no_user_may_read_another_ones_queues(uris, principal):
    """On the portal's vhost, where those queues exist and hold real requests."""
    others = [p for p in PRINCIPALS if p.serves and p.name != principal.name]
    for other in others:
        allowed = _allowed(
            uris[principal.name],
            lambda channel, other=other: Consumer(channel, [Queue(f"rpc-{other.name}", no_declare=True)]).consume(),
        )
        assert not allowed, other.name


@pytest.mark.parametrize("principal", PRINCIPALS, ids=lambda p: p.name)
def test_no_user_may_declare_or_delete_an_exchange(bare, principal):
    """Deleting nameko-rpc would stop every call of the portal; the services only look exchanges up."""
    for exchange in broker_access.EXCHANGES:
        looked_up = Exchange(exchange, "topic", durable=True, passive=True)
        declared = Exchange(exchange, "topic", durable=True)
        assert _allowed(bare[principal.name], lambda channel, e=looked_up: e(channel).declare())
        assert not _allowed(bare[principal.name], lambda channel, e=declared: e(channel).declare()), exchange
        assert not _allowed(bare[principal.name], lambda channel, e=exchange: channel.exchange_delete(e)), exchange
    shadow = Exchange("portal.shadow", "fanout")
    assert not _allowed(bare[principal.name], lambda channel: shadow(channel).declare())


# -- the list and the code agree ---------------------------------------------------------------------------


def test_the_running_portal_uses_one_user_per_service(portal):
    vhost = urlsplit(portal.env["AMQP_URI"]).path.lstrip("/")
    for name, container in portal.containers.items():
        assert urlsplit(container.config["AMQP_URI"]).username == f"{vhost}.{name}", name


def test_every_service_and_relay_has_a_principal_and_each_consumes_what_its_code_handles():
    assert {p.name for p in PRINCIPALS} == {*SERVICES, "submissions-outbox", "routing-outbox"}
    handled = consumed_events()
    for principal in PRINCIPALS:
        listed = {source: set(types) for source, types in principal.consumes.items()}
        assert listed == handled.get(principal.name, {}), principal.name


def test_every_listed_call_exists_and_every_call_in_the_code_is_listed():
    served = served_methods()
    for principal in PRINCIPALS:
        for service, methods in principal.calls.items():
            assert set(methods) <= served[service], (principal.name, set(methods) - served[service])
    for name in SERVICES:
        calls = broker_access.principal(name).calls
        for service, method, where in rpc_calls_in_code(REPOSITORY_ROOT / "services" / name):
            assert method in calls.get(service, ()), f"{name} calls {service}.{method} ({where}) but may not"


def rpc_calls_in_code(package: Path) -> Iterator[tuple[str, str, str]]:
    """(service, method, file:line) of each RPC call written out in a service's code.

    Two forms: ``self.<service>.<method>(...)`` (nameko's RpcProxy, also ``.call_async``) and the
    gateway's ``backend.call("<service>", "<method>", ...)``; calls with a computed method name are
    covered by the tests that run the portal with these users.
    """
    for path in sorted(package.rglob("*.py")):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.relative_to(REPOSITORY_ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                literal = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if node.func.attr == "call" and len(literal) == 2 and literal[0] in SERVICES:
                    yield literal[0], literal[1], where
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                proxy = node.value
                if isinstance(proxy.value, ast.Name) and proxy.value.id == "self" and proxy.attr in SERVICES:
                    if proxy.attr != package.name and node.attr not in ("call_async",):
                        yield proxy.attr, node.attr, where


def test_the_kubernetes_manifest_is_the_list():
    rendered = (REPOSITORY_ROOT / "deploy/k8s/base/servers/broker-access.yaml").read_text()
    assert rendered == broker_access.render_manifests(), (
        "run: python -m shared.broker_access > deploy/k8s/base/servers/broker-access.yaml"
    )


# -- requests that reach nameko-rpc without being published there ------------------------------------------


def _detour_request(uri: str, method: str, arguments: list, detour: str) -> dict:
    """As the user of ``uri``, make a request reach ``nameko-rpc`` with routing key ``method`` by a detour
    the broker's topic permissions do not see; the service's answer, as nameko sends it."""
    own = str(uuid.uuid4())
    reply_key = str(uuid.uuid4())
    rpc = Exchange(RPC_EXCHANGE, "topic", durable=True, passive=True)
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        replies = Queue(f"rpc.reply-gateway-{reply_key}", rpc, routing_key=reply_key, auto_delete=True)(channel)
        replies.declare()
        body = {"args": arguments, "kwargs": {}}
        properties = {"reply_to": reply_key, "correlation_id": own, "user_id": urlsplit(uri).username}
        if detour == "dead-letter":
            # A queue of its own, bound by a reply key it may use, whose messages expire at once into nameko-rpc.
            parked = Queue(f"rpc.reply-gateway-{own}", rpc, routing_key=own, auto_delete=False,
                           queue_arguments={"x-dead-letter-exchange": RPC_EXCHANGE,
                                            "x-dead-letter-routing-key": method, "x-message-ttl": 0})  # fmt: skip
            parked(channel).declare()
            Producer(channel).publish(body, exchange=rpc, routing_key=own, serializer="json", **properties)
        elif detour == "alternate-exchange":
            # An exchange named like a queue of its own, with nameko-rpc for what it cannot route itself.
            detour_exchange = Exchange(f"rpc.reply-gateway-{own}", "direct", auto_delete=True,
                                       arguments={"alternate-exchange": RPC_EXCHANGE})(channel)  # fmt: skip
            detour_exchange.declare()
            Producer(channel).publish(
                body, exchange=detour_exchange, routing_key=method, serializer="json", **properties
            )
        else:
            # An exchange named like a queue of its own, bound into nameko-rpc.
            detour_exchange = Exchange(f"rpc.reply-gateway-{own}", "topic", auto_delete=True)(channel)
            detour_exchange.declare()
            channel.exchange_bind(destination=RPC_EXCHANGE, source=detour_exchange.name, routing_key="#")
            Producer(channel).publish(
                body, exchange=detour_exchange, routing_key=method, serializer="json", **properties
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = replies.get(no_ack=True)
            if message is not None:
                return dict(message.payload)
            time.sleep(0.05)
    raise AssertionError(f"no answer to {method} by {detour}")


@pytest.mark.parametrize("detour", ["dead-letter", "exchange-to-exchange", "alternate-exchange"])
@pytest.mark.parametrize("method", ["submissions.get_case", "submissions.export_case", "identity.get_contact"])
def test_a_request_that_takes_a_detour_past_the_topic_permissions_is_refused_by_the_service(
    uris, world, detour, method
):
    """The outside pass of #18 reached get_case this way; the service now checks the caller's user_id too.

    The refusal's code comes from the service: the request did reach it, and it answered no data.
    """
    answer = _detour_request(uris["gateway"], method, [world.assigned], detour)
    assert answer["result"] is None
    assert "RPC_CALLER_NOT_ALLOWED" in str(answer["error"])


def test_a_request_without_reply_to_is_dropped_and_the_service_keeps_serving(uris, portal, rpc_as_guest):
    """The outside pass of #18: one such message killed the service, and every restart died on it again."""
    rpc = Exchange(RPC_EXCHANGE, "topic", durable=True, passive=True)
    with Connection(uris["gateway"], transport_options={"confirm_publish": True}) as connection:
        for service in ("submissions", "routing", "identity"):
            Producer(connection.channel()).publish(
                {"args": [], "kwargs": {}}, exchange=rpc, routing_key=f"{service}.health", serializer="json",
                user_id=urlsplit(uris["gateway"]).username,
            )  # fmt: skip
    with rpc_as_guest() as cluster:
        for service in ("submissions", "routing", "identity"):
            assert "status" in getattr(cluster, service).health(), service
    for name in ("submissions", "routing", "identity"):
        assert portal.containers[name]._died.ready() is False, name  # noqa: SLF001 - nameko's own flag


@pytest.fixture
def rpc_as_guest(portal):
    def cluster():
        return ClusterRpcProxy({"AMQP_URI": portal.env["AMQP_URI"]}, timeout=15)

    return cluster
