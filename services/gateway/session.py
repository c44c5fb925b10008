"""Sessions as the gateway sees them: identity's opaque session token in a cookie, access tokens cached.

The gateway stores nothing: the cookie holds the session token identity issued, and the short-lived
access token for it is asked of identity (``refresh_access_token``) when this process has none that
is still good for a while.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

from shared.errors import Unauthenticated

# A cached token is dropped this long before it expires, so no service sees it expire mid-request.
EXPIRY_MARGIN_SECONDS = 30
MAX_CACHED_SESSIONS = 20_000

SESSION_MISSING = Unauthenticated("SESSION_REQUIRED", "Bitte melden Sie sich an.")


def session_key(session_token: str) -> str:
    """What the cache is keyed by: never the session token itself."""
    return hashlib.sha256(session_token.encode()).hexdigest()


class AccessTokenCache:
    """Access tokens per session, in this process's memory, until shortly before they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.entries: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def remember(self, session_token: str, access_token: str, expires_in: int) -> None:
        good_until = self.clock() + max(0, int(expires_in) - EXPIRY_MARGIN_SECONDS)
        with self.lock:
            if len(self.entries) >= MAX_CACHED_SESSIONS:
                now = self.clock()
                self.entries = {key: entry for key, entry in self.entries.items() if entry[1] > now}
            self.entries[session_key(session_token)] = (access_token, good_until)

    def get(self, session_token: str) -> str | None:
        entry = self.entries.get(session_key(session_token))
        if entry is None or entry[1] <= self.clock():
            return None
        return entry[0]

    def forget(self, session_token: str) -> None:
        with self.lock:
            self.entries.pop(session_key(session_token), None)


def access_token_for(
    cache: AccessTokenCache, session_token: str | None, refresh: Callable[[str], dict[str, Any]]
) -> str:
    """A valid access token of the session; asks identity (``refresh``) when none is cached.

    Raises Unauthenticated (``SESSION_REQUIRED`` without a session, identity's ``SESSION_ENDED``).
    """
    if not session_token:
        raise SESSION_MISSING
    cached = cache.get(session_token)
    if cached:
        return cached
    try:
        fresh = refresh(session_token)
    except Unauthenticated:
        cache.forget(session_token)
        raise
    cache.remember(session_token, str(fresh["access_token"]), int(fresh["expires_in"]))
    return str(fresh["access_token"])
