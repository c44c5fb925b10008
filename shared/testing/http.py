"""A tiny HTTP client for tests: JSON answers, error statuses returned rather than raised."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import Message
from typing import Any


def get_json(url: str, headers: dict[str, str] | None = None, timeout: float = 20) -> tuple[int, Message, Any]:
    """``(status, headers, parsed body)`` of a GET to an http:// URL."""
    if not url.startswith("http://"):
        raise ValueError(f"tests talk plain HTTP to loopback servers only, not {url!r}")
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - scheme checked above
            return answer.status, answer.headers, json.load(answer)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)
