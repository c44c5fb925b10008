"""Account pages: registration, password reset, passkeys, second factor, password and e-mail settings."""

from __future__ import annotations

from services.gateway.pages import Page

PAGES: tuple[Page, ...] = ()
