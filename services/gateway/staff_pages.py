"""The caseworker's pages: the inbox of the own Jobcenter, the case page and its actions."""

from __future__ import annotations

from services.gateway.pages import Page

PAGES: tuple[Page, ...] = ()
