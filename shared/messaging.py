"""Publishing and consuming integration events over AMQP.

Events go to nameko's exchange of the source service (``<service>.events``, topic, durable) with
the event type as routing key, so consumers use nameko's ``event_handler`` through
:func:`integration_event_handler`. The correlation id rides in nameko's context header too.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

import eventlet
from kombu import Connection, Producer
from nameko.constants import HEADER_PREFIX
from nameko.events import SERVICE_POOL, event_handler, get_event_exchange

from shared.correlation import CONTEXT_KEY, correlated, current_correlation_id
from shared.envelope import IntegrationEvent, MalformedEnvelope
from shared.errors import Forbidden

log = logging.getLogger(__name__)

# How long a handler that failed waits before its message goes back to the queue, so that a
# message that keeps failing (e.g. while the database is down) does not spin the CPU.
REQUEUE_DELAY_SECONDS = 1.0


class EventPublisher:
    """Publishes integration events of one source service with publisher confirms.

    ``publish`` returns only once the broker has taken the message; it raises when it could not.
    """

    def __init__(self, amqp_uri: str, source_service: str) -> None:
        # Looked up, not declared: the broker's setup declares it (see look_up_exchanges_only).
        self.exchange = get_event_exchange(source_service, {})
        self.exchange.passive = True
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": True}, connect_timeout=5)
        self.producer: Producer | None = None

    def publish(self, event: IntegrationEvent) -> None:
        if self.producer is None:
            self.producer = Producer(self.connection)
        headers = {f"{HEADER_PREFIX}.{CONTEXT_KEY}": event.correlation_id} if event.correlation_id else {}
        self.producer.publish(
            event.to_message(),
            exchange=self.exchange,
            routing_key=event.type,
            declare=[self.exchange],
            serializer="json",
            delivery_mode=2,
            headers=headers,
            message_id=event.event_id,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2},
        )

    def close(self) -> None:
        self.connection.release()
        self.producer = None

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def integration_event_handler(source_service: str, event_type: str) -> Callable[[Callable[..., Any]], Any]:
    """Decorate a service method ``(self, event: IntegrationEvent)`` to consume one event type.

    Every instance of the consuming service competes for the same durable queue. A malformed
    message is logged and dropped; any other failure puts the message back after a short pause,
    so handlers must be idempotent (use ``ServiceDatabase.apply_once``).
    """

    def decorate(method: Callable[[Any, IntegrationEvent], Any]) -> Any:
        @functools.wraps(method)
        def handle(self: Any, payload: Any) -> Any:
            try:
                event = IntegrationEvent.from_message(payload)
            except MalformedEnvelope as problem:
                log.error("malformed_event_dropped", extra={"source": source_service, "code": str(problem)})
                return None
            correlation_id = current_correlation_id() or event.correlation_id or event.event_id
            with correlated(correlation_id):
                try:
                    return method(self, event)
                except Exception:
                    log.exception("event_handler_failed", extra={"event_id": event.event_id, "event_type": event.type})
                    eventlet.sleep(REQUEUE_DELAY_SECONDS)
                    raise

        return event_handler(source_service, event_type, handler_type=SERVICE_POOL, requeue_on_error=True)(handle)

    return decorate


def look_up_exchanges_only() -> None:
    """Let nameko look up the exchanges it uses instead of declaring them.

    nameko declares ``nameko-rpc`` and every ``<service>.events`` exchange it uses when it starts, which
    needs RabbitMQ's *configure* permission on them, and RabbitMQ ties that permission to deleting them:
    a service taken over could delete ``nameko-rpc`` and stop every call of the portal. The broker's setup
    declares the exchanges once (``servers.create_rabbit_vhost`` for ``make run`` and the tests, the
    Topology Operator's ``Exchange`` resources in ``deploy/k8s``), so each service needs no configure
    permission on any exchange (``shared/broker_access.py``). A passive declare is an existence check that
    needs no permission; a missing exchange fails the service's start with NOT_FOUND.
    """
    import nameko.events
    import nameko.rpc
    import nameko.standalone.events

    if getattr(nameko.rpc.get_rpc_exchange, "looks_up_only", False):
        return
    declare_rpc_exchange = nameko.rpc.get_rpc_exchange
    declare_event_exchange = nameko.standalone.events.get_event_exchange

    def rpc_exchange(config: Any) -> Any:
        exchange = declare_rpc_exchange(config)
        exchange.passive = True
        return exchange

    def event_exchange(service_name: str, config: Any) -> Any:
        exchange = declare_event_exchange(service_name, config)
        exchange.passive = True
        return exchange

    rpc_exchange.looks_up_only = True  # type: ignore[attr-defined]
    nameko.rpc.get_rpc_exchange = rpc_exchange
    nameko.events.get_event_exchange = event_exchange
    nameko.standalone.events.get_event_exchange = event_exchange


# The broker's administrators in make run and the tests: they can read every queue anyway, so their
# calls (the tests' own, operator tools) are not refused; no principal is named so.
BROKER_ADMINISTRATORS = frozenset({"guest"})


def broker_user(amqp_uri: str) -> str:
    """The user name an AMQP URI logs in with."""
    return unquote(urlsplit(amqp_uri).username or "")


def rpc_caller_allowed(caller: str | None, own_user: str, service: str, method: str) -> bool:
    """Whether the broker user ``caller`` may call ``service.method``, by the list of shared/broker_access.py.

    The broker's topic permissions keep a principal from publishing a request it may not make, but a
    request can reach ``nameko-rpc`` without being published there: dead-lettered from a queue of the
    caller's own (``x-dead-letter-exchange``) or routed through an exchange it bound to ``nameko-rpc``.
    Such a message keeps the ``user_id`` its publisher gave it, which RabbitMQ checks against the
    connection's user, so the service asks the list again here. Users are named ``<prefix><principal>``
    (``portal-gateway``, ``<vhost>.gateway``); a service whose own user is not so named runs without
    per-service users (one user for all, as on a developer's broker of their own) and refuses no one.
    """
    from shared.broker_access import BY_NAME

    if not own_user.endswith(service):
        return True
    if caller in BROKER_ADMINISTRATORS:
        return True
    prefix = own_user[: -len(service)]
    if not caller or not caller.startswith(prefix):
        return False
    principal = BY_NAME.get(caller[len(prefix) :])
    return principal is not None and method in principal.calls.get(service, ())


def identify_rpc_callers() -> None:
    """Every RPC request says who sends it; every service answers only the callers its list allows,
    and drops a request that no one waits for (no ``reply_to``) instead of dying on it.

    The request carries AMQP's ``user_id`` property, the publisher's broker user, which RabbitMQ refuses
    to let anyone set to another's name. The receiving service refuses (``Forbidden``
    ``RPC_CALLER_NOT_ALLOWED``) a request without it or from a user not allowed that method
    (``rpc_caller_allowed``).
    """
    from nameko.rpc import MethodProxy, RpcConsumer

    if getattr(RpcConsumer.handle_message, "checks_callers", False):
        return
    publisher_class = MethodProxy.publisher_cls

    class IdentifiedRequestPublisher(publisher_class):  # type: ignore[valid-type,misc]
        def publish(self, payload: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("user_id", broker_user(self.amqp_uri))
            return super().publish(payload, **kwargs)

    answer = RpcConsumer.handle_message

    def handle_message(self: RpcConsumer, body: Any, message: Any) -> Any:
        method = str(message.delivery_info.get("routing_key", "")).rpartition(".")[2]
        service = self.container.service_name
        if not message.properties.get("reply_to"):
            # nameko would fail to answer it, kill the service and leave the message in the queue, so that
            # every restart dies on it again: no caller waits for an answer to a request without reply_to.
            log.warning("rpc_request_without_reply_to_dropped", extra={"method": f"{service}.{method}"})
            self.queue_consumer.ack_message(message)
            return None
        caller = message.properties.get("user_id")
        if not rpc_caller_allowed(caller, broker_user(str(self.container.config["AMQP_URI"])), service, method):
            log.warning("rpc_caller_refused", extra={"caller": caller or "", "method": f"{service}.{method}"})
            try:
                raise Forbidden("RPC_CALLER_NOT_ALLOWED", "Dieser Dienst darf das nicht aufrufen.")
            except Forbidden:
                return self.handle_result(message, None, sys.exc_info())
        return answer(self, body, message)

    handle_message.checks_callers = True  # type: ignore[attr-defined]
    MethodProxy.publisher_cls = IdentifiedRequestPublisher
    RpcConsumer.handle_message = handle_message


def survive_broker_restarts() -> None:
    """Let a worker whose broker connection broke finish without killing its service's container.

    nameko 2.14 sends an RPC reply and acks (or requeues) a message after its worker ran, and only
    ignores amqp's own ConnectionError there: a socket error or a reply that cannot be published
    because the broker restarted while the worker ran escapes, the container counts it as a crashed
    thread and kills itself, and the process serves nothing until restarted by hand. The broker has
    given an unacked message back to its queue when the connection dropped, so it is delivered again
    and handlers de-duplicate (events by id, submit by its idempotency key); the caller of a lost
    reply times out and tries again.
    """
    import amqp.exceptions
    import kombu.exceptions
    from nameko.messaging import QueueConsumer
    from nameko.rpc import RpcConsumer

    lost = (amqp.exceptions.ConnectionError, kombu.exceptions.OperationalError, OSError)
    send_reply_and_ack = RpcConsumer.handle_result

    def ack_message(self: QueueConsumer, message: Any) -> None:
        if message.channel.connection:
            try:
                message.ack()
            except lost:
                log.warning("ack_lost_with_connection")

    def requeue_message(self: QueueConsumer, message: Any) -> None:
        if message.channel.connection:
            try:
                message.requeue()
            except lost:
                log.warning("requeue_lost_with_connection")

    def handle_result(self: RpcConsumer, message: Any, result: Any, exc_info: Any) -> Any:
        try:
            return send_reply_and_ack(self, message, result, exc_info)
        except lost:
            log.warning("rpc_reply_lost_with_connection")
            return result, exc_info

    QueueConsumer.ack_message = ack_message
    QueueConsumer.requeue_message = requeue_message
    RpcConsumer.handle_result = handle_result


def transient_rpc_messages() -> None:
    """Send RPC requests and replies as transient messages, and replies without publisher confirms.

    nameko 2.14 publishes both as persistent messages with confirms, so the broker writes every
    request of its durable ``rpc-<service>`` queue to disk before confirming it. An RPC is worth
    nothing after its caller's timeout (5 s at the gateway), so a request need not survive a broker
    restart: the caller gets a timeout and tries again, as it does when the reply is lost. Requests
    keep their confirms: with ``mandatory`` they are how nameko tells an unknown service. Events
    stay persistent and confirmed (``EventPublisher``): they must not be lost.
    """
    from nameko.amqp.publish import Publisher
    from nameko.rpc import MethodProxy, Responder

    class RequestPublisher(Publisher):
        delivery_mode = 1  # transient

    class ReplyPublisher(Publisher):
        delivery_mode = 1
        use_confirms = False

    MethodProxy.publisher_cls = RequestPublisher
    Responder.publisher_cls = ReplyPublisher


# The longest a service waits for another service's answer (the gateway's own calls wait 5 s, a
# document check 60 s). nameko's RpcProxy would wait for ever.
SERVICE_RPC_TIMEOUT_SECONDS = 60.0


def bounded_rpc_waits(seconds: float = SERVICE_RPC_TIMEOUT_SECONDS) -> None:
    """Let a service's call of another service give up after ``seconds`` with ``TimeoutError``.

    nameko 2.14's ``RpcProxy`` waits for the reply without a limit. A request or reply lost with a
    broker restart (both are transient, see transient_rpc_messages) then holds its worker for ever:
    an event handler never acks, and a timer, which waits for its worker before the next tick,
    never fires again (notify sent no e-mail after the broker restarted while it asked identity for
    an address). The request also expires in its queue after ``seconds``, so that it does not run
    once its caller has given up. A caller with a shorter wait of its own keeps it.
    """
    from nameko.rpc import MethodProxy

    if getattr(MethodProxy.__call__, "bounded", False):
        return

    def call(self: MethodProxy, *args: Any, **kwargs: Any) -> Any:
        if self.publisher.expiration is None:
            self.publisher.expiration = seconds
        reply = self._call(*args, **kwargs)
        with eventlet.Timeout(seconds, TimeoutError(f"no answer from {self.service_name}.{self.method_name}")):
            return reply.result()

    call.bounded = True  # type: ignore[attr-defined]
    MethodProxy.__call__ = call


# How often a service's consumer loop looks up from the broker to see whether it should stop.
CONSUMER_STOP_CHECK_SECONDS = 0.1


def quick_consumer_stops(interval: float = CONSUMER_STOP_CHECK_SECONDS) -> None:
    """Let a service stop within a fraction of a second instead of two to three seconds.

    nameko's QueueConsumer waits for messages for kombu's ``safety_interval`` of one second between
    looks at what it was asked to do, and stopping a service asks it several things one after the
    other (each entrypoint's consumer cancelled, then the loop ended). A shorter wait lets a rolling
    update, ``make run``'s Ctrl-C and every test's services stop at once; the loop costs nothing more
    than ten wake-ups a second.
    """
    from kombu.mixins import ConsumerMixin
    from nameko.messaging import QueueConsumer

    consume = ConsumerMixin.consume

    def quick(self: Any, limit: int | None = None, timeout: float | None = None, safety_interval: float = interval,
              **kwargs: Any) -> Any:  # fmt: skip
        return consume(self, limit, timeout, safety_interval, **kwargs)

    QueueConsumer.consume = quick


Proxy = TypeVar("Proxy", bound=type)


def named_standalone(proxy_class: Proxy, service_name: str) -> Proxy:
    """nameko's ``ServiceRpcProxy`` or ``ClusterRpcProxy``, with its reply queue named after ``service_name``.

    nameko names every standalone proxy's reply queue ``rpc.reply-standalone_rpc_proxy-<uuid>``; a broker
    user may declare only its own, ``rpc.reply-<service>-<uuid>`` (shared/broker_access.py).
    """

    class Container(proxy_class.ServiceContainer):  # type: ignore[name-defined]
        pass

    Container.service_name = service_name
    return cast(Proxy, type(f"{service_name}_{proxy_class.__name__}", (proxy_class,), {"ServiceContainer": Container}))
