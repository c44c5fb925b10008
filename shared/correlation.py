"""Correlation ids: minted at the gateway, carried through RPC, events and into every log line.

The id lives in a context variable (each eventlet greenthread has its own context) and in nameko's
``context_data``, which nameko copies into the headers of every RPC call and event it sends.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from nameko.extensions import DependencyProvider

CONTEXT_KEY = "correlation_id"
HTTP_HEADER = "X-Correlation-ID"
# What a client may send us as a correlation id; anything else is replaced, so that a header
# cannot smuggle text (or personal data) into our logs.
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{8,64}")

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_correlation_id() -> str:
    """A fresh random correlation id."""
    return uuid.uuid4().hex


def accepted_or_new(candidate: str | None) -> str:
    """The caller's id when it is well-formed, otherwise a fresh one."""
    if candidate and _ACCEPTED.fullmatch(candidate):
        return candidate
    return new_correlation_id()


def current_correlation_id() -> str | None:
    """The correlation id of the work in progress, if any."""
    return _current.get()


@contextmanager
def correlated(correlation_id: str) -> Iterator[str]:
    """Run a block (outside nameko workers: relays, scripts, tests) under ``correlation_id``."""
    token = _current.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _current.reset(token)


class CorrelationScope(DependencyProvider):
    """Gives every worker a correlation id: the caller's, or a new one when it brought none."""

    def get_dependency(self, worker_ctx: Any) -> str:
        # nameko injects dependencies before it calls worker_setup, so the id is settled here.
        correlation_id = accepted_or_new(worker_ctx.context_data.get(CONTEXT_KEY))
        # Stored back so that nameko forwards it in every RPC call and event this worker makes.
        worker_ctx.context_data[CONTEXT_KEY] = correlation_id
        _current.set(correlation_id)
        return correlation_id

    def worker_teardown(self, worker_ctx: Any) -> None:
        _current.set(None)
