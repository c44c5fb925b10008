"""A message whose broker connection broke while its worker ran must not kill the service's container."""

from typing import Any

import pytest
from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer

from shared.messaging import survive_broker_restarts


class MessageOfALostConnection:
    """What kombu hands back after the broker went away: the socket is gone, the channel object is not."""

    class channel:  # noqa: N801 - kombu's attribute name
        connection = object()

    def ack(self) -> None:
        raise ConnectionResetError(104, "Connection reset by peer")

    def requeue(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """survive_broker_restarts() for one test; monkeypatch puts nameko's own methods back after it."""
    for cls, name in ((QueueConsumer, "ack_message"), (QueueConsumer, "requeue_message"),
                      (RpcConsumer, "handle_result")):  # fmt: skip
        monkeypatch.setattr(cls, name, getattr(cls, name))


def test_nameko_alone_lets_a_lost_ack_escape_into_the_container() -> None:
    with pytest.raises(ConnectionResetError):
        QueueConsumer.ack_message(None, MessageOfALostConnection())


def test_an_ack_or_requeue_lost_with_the_connection_is_left_to_the_broker(patched: None) -> None:
    survive_broker_restarts()
    QueueConsumer.ack_message(None, MessageOfALostConnection())
    QueueConsumer.requeue_message(None, MessageOfALostConnection())


def test_an_rpc_reply_that_cannot_be_published_does_not_raise(patched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def broker_gone(self: Any, message: Any, result: Any, exc_info: Any) -> Any:
        raise OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(RpcConsumer, "handle_result", broker_gone)
    survive_broker_restarts()
    assert RpcConsumer.handle_result(None, MessageOfALostConnection(), "the result", None) == ("the result", None)
