"""A service's call of another service gives up after a bound instead of holding its worker for ever."""

from typing import Any

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.rpc import MethodProxy, RpcProxy, rpc

from shared.messaging import bounded_rpc_waits
from shared.testing.services import StartServices


class Silent:
    """Answers too late, as a service whose request or reply was lost with a broker restart never does."""

    name = "silent"

    @rpc
    def ask(self) -> str:
        eventlet.sleep(3)
        return "too late"


class Prompt:
    name = "silent"

    @rpc
    def ask(self) -> str:
        return "at once"


class Caller:
    name = "caller"
    silent: Any = RpcProxy("silent")

    @rpc
    def relay(self) -> str:
        return str(self.silent.ask())


@pytest.fixture
def bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """bounded_rpc_waits(1) for one test; monkeypatch puts nameko's own call back after it."""
    monkeypatch.setattr(MethodProxy, "__call__", MethodProxy.__call__)
    bounded_rpc_waits(1.0)


def test_a_call_without_an_answer_ends_in_a_timeout_error_for_its_caller(
    bounded: None, start_services: StartServices, rpc: Any
) -> None:
    start_services(Silent, Caller)
    with rpc(timeout=15) as cluster:
        started = eventlet.hubs.get_hub().clock()
        # call_async: the test's own call is not bounded by the patch, only the service's.
        with pytest.raises(RemoteError) as raised:
            cluster.caller.relay.call_async().result()
        waited = eventlet.hubs.get_hub().clock() - started
    assert raised.value.exc_type == "TimeoutError"
    assert "silent.ask" in str(raised.value)
    assert waited < 3, f"the caller waited {waited:.1f} s, as long as the silent service"


def test_a_prompt_answer_is_unchanged(bounded: None, start_services: StartServices, rpc: Any) -> None:
    start_services(Prompt, Caller)
    with rpc(timeout=15) as cluster:
        assert cluster.caller.relay.call_async().result() == "at once"
