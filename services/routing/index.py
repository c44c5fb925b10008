"""The in-memory routing index of a running service: the register, the postcode and the Berlin address index.

All three are shipped in ``data/``; an operator may give newer ones (a register directory, or the
published postcode and Berlin address files, which are then read instead of the shipped ones).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from services.routing.places import load_berlin_address_file, load_places, load_postcode_file
from services.routing.register import SHIPPED_REGISTER, Register
from services.routing.resolver import Resolver

log = logging.getLogger(__name__)


def build_resolver(register_dir: str = "", postcode_file: str = "", berlin_address_file: str = "") -> Resolver:
    """Load the register and the places: the shipped ones, where no path of an operator's file is given."""
    started = time.monotonic()
    register = Register.load(Path(register_dir) if register_dir else SHIPPED_REGISTER)
    postcodes, berlin = load_places()
    if postcode_file:
        postcodes = load_postcode_file(Path(postcode_file))
    if berlin_address_file:
        berlin = load_berlin_address_file(Path(berlin_address_file))
    log.info(
        "routing_index_loaded",
        extra={"count": len(postcodes), "duration_ms": round((time.monotonic() - started) * 1000, 1)},
    )
    return Resolver(register, postcodes, berlin)


class RoutingIndex(DependencyProvider):
    """Gives every worker the resolver built once in ``setup`` from the ``REGISTER`` settings."""

    health_name = "register"

    def __init__(self) -> None:
        self.resolver: Resolver | None = None

    def setup(self) -> None:
        settings = self.container.config.get("REGISTER", {})
        self.resolver = build_resolver(
            str(settings.get("DIRECTORY") or ""),
            str(settings.get("POSTCODE_FILE") or ""),
            str(settings.get("BERLIN_ADDRESS_FILE") or ""),
        )

    def get_dependency(self, worker_ctx: Any) -> Resolver:
        assert self.resolver is not None
        return self.resolver

    def check_health(self) -> None:
        assert self.resolver is not None, "the register is not loaded"
