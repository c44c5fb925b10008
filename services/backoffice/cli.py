"""Operator CLI of the backoffice service: ``python -m services.backoffice.cli --help``.

Runs against the database of ``services/backoffice/config.yaml`` (the same variables as the service:
``BACKOFFICE_DATABASE_URL``, ``BACKOFFICE_SIGNING_KEY``). Secrets are printed once, for the operator to
hand to the Jobcenter's IT; the database keeps only their hashes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

from services.backoffice.clients import Clients, Settings  # noqa: E402
from services.backoffice.schema import metadata  # noqa: E402
from shared.config import load_config  # noqa: E402
from shared.errors import PortalError  # noqa: E402
from shared.sql import ServiceDatabase, make_engine, migrate, migrations_of, processed_events_table  # noqa: E402


@contextmanager
def open_clients(config: dict[str, Any]) -> Iterator[Clients]:
    """The client registry over the service's database, its schema brought up to date as the service does."""
    engine = make_engine(str(config["DATABASE_URL"]))
    processed = processed_events_table(metadata, "backoffice")
    migrate(engine, migrations_of("backoffice"), "backoffice")
    try:
        yield Clients(ServiceDatabase(engine, processed), Settings.from_config(config))
    finally:
        engine.dispose()


def print_credentials(credentials: dict[str, Any]) -> None:
    print(f"client_id        {credentials['client_id']}  (Jobcenter {credentials['jobcenter_id']})")
    print(f"client_secret    {credentials['client_secret']}")
    print(f"callback_url     {credentials['callback_url'] or '-'}")
    print(f"callback_secret  {credentials['callback_secret']}")
    print("The secrets are shown only now; the portal keeps only a hash of the client secret.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.backoffice.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-client", help="a client of a Jobcenter's e-file; prints its secrets once")
    create.add_argument("jobcenter_id", help="routing's stable id, e.g. jc-0394")
    create.add_argument("--callback-url", help="https URL to POST to when a new case is available")
    rotate = commands.add_parser("rotate-secret", help="new client and callback secrets; the old ones end now")
    rotate.add_argument("client_id")
    disable = commands.add_parser("disable", help="the client gets no more tokens and callbacks")
    disable.add_argument("client_id")
    args = parser.parse_args(argv)
    try:
        with open_clients(load_config("backoffice")) as clients:
            if args.command == "create-client":
                print_credentials(clients.create(args.jobcenter_id, args.callback_url))
            elif args.command == "rotate-secret":
                print_credentials(clients.rotate_secret(args.client_id))
            elif args.command == "disable":
                clients.disable(args.client_id)
                print(f"client {args.client_id} disabled; its tokens ended")
    except PortalError as problem:
        print(f"refused: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
