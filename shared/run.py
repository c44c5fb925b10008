"""Start one service: ``python -m shared.run <service>``.

Patches the process for eventlet before anything else is imported (psycopg must see
``PSYCOPG_WAIT_FUNC`` first), loads the service's config, switches on JSON logs, serves metrics and
health on ``METRICS_PORT`` (``shared/metrics.py``) and hands the service class to nameko's runner,
which stops it gracefully on SIGTERM.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402

from shared.config import ConfigError, load_config  # noqa: E402
from shared.logs import configure_logging  # noqa: E402
from shared.metrics import serve_metrics  # noqa: E402
from shared.service import SERVICES, service_class  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in SERVICES:
        sys.exit(f"usage: python -m shared.run {{{','.join(SERVICES)}}}")
    service = args[0]
    try:
        config = load_config(service)
    except ConfigError as problem:
        sys.exit(f"{service}: {problem}")
    configure_logging(service, str(config.get("LOG_LEVEL", "INFO")))
    logging.getLogger(__name__).info("service_starting", extra={"source": service})
    serve_metrics(int(config.get("METRICS_PORT", 0)))

    from nameko.cli.run import run

    from shared.messaging import (
        bounded_rpc_waits,
        identify_rpc_callers,
        look_up_exchanges_only,
        quick_consumer_stops,
        survive_broker_restarts,
        transient_rpc_messages,
    )

    look_up_exchanges_only()
    quick_consumer_stops()
    survive_broker_restarts()
    transient_rpc_messages()
    bounded_rpc_waits()
    identify_rpc_callers()  # after transient_rpc_messages: it builds on its request publisher
    run([service_class(service)], config)


if __name__ == "__main__":
    main()
