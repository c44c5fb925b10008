"""The one-off sealing of routing's old events with their case's own data key.

Releases before per-case keys sealed every assignment event with routing's one cipher key, so an
erased case's assignment stayed readable to whoever holds that key. ``prepare`` seals each such event
again with its case's key, in place (``shared.datakeys.rekey_shared_key_events``); the migrate step
runs it after routing's schema revisions (``python -m shared.migrate routing``), and it can be run by
hand: ``python -m services.routing.rekey``. Idempotent: a second run finds nothing to do.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from services.routing.application import Assignments
from shared.config import load_config
from shared.datakeys import rekey_shared_key_events

log = logging.getLogger(__name__)


def prepare(config: Mapping[str, Any]) -> int:
    """Seal every event still under the shared key with its case's key; returns how many were."""
    application = Assignments.from_settings(str(config["DATABASE_URL"]), str(config["CIPHER_KEY"]))
    try:
        rekeyed = rekey_shared_key_events(application)
    finally:
        application.close()
    log.info("assignment_events_rekeyed", extra={"count": rekeyed})
    return rekeyed


def main() -> int:
    from shared.logs import configure_logging

    configure_logging("routing-rekey", "INFO")
    rekeyed = prepare(load_config("routing"))
    print(f"{rekeyed} events sealed with their case's own key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
