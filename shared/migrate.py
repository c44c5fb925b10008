"""The migrate step: ``python -m shared.migrate [service ...]`` brings each service's SQL schema up to date.

Run before the services start (``make run`` does, Kubernetes has a ``<service>-migrate`` Job per service).
For each service with an Alembic history (``services/<service>/migrations``) it upgrades that
service's database to the newest revision (``shared.sql.migrate``: one process at a time, the
revision kept in ``<service>_alembic_version``), then calls ``prepare(config)`` of
``services.<service>.readmodel`` when that module defines it: read models are no part of the
history (they are disposable and versioned by name) and are made ready there. Likewise
``services.<service>.rekey.prepare``: events the eventsourcing library stored, sealed anew (routing).

Which tables a history owns is :func:`is_own_table`: the service's prefix, minus Alembic's record,
the eventsourcing library's tables (the library makes them itself) and read-model tables. A database
made by a release before the histories (tables from ``create_all``, no version table) is adopted by
the first revision of each history, which creates only what is missing.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import MetaData

from shared.config import ConfigError, load_config
from shared.service import SERVICES
from shared.sql import make_engine, migrate, migrations_of

log = logging.getLogger(__name__)

# Tables the eventsourcing library makes for an application named like the service (PostgreSQL; on
# SQLite they are ``stored_events`` and friends, without the prefix).
LIBRARY_TABLES = ("events", "snapshots", "tracking")
# A read model's tables carry their version in the name (``submissions_case_list_v3``, ``..._v3_position``).
READ_MODEL_VERSION = re.compile(r"_v\d+(_|$)")
# Modules of a service whose ``prepare(config)`` runs after its schema revisions: the read models, and
# stored events sealed anew (routing's old events under its case's own key, ``services/routing/rekey.py``).
DATA_STEPS = ("readmodel", "rekey")


def services_with_migrations() -> tuple[str, ...]:
    """The services that own SQL tables, i.e. have an Alembic history, in start order."""
    return tuple(service for service in SERVICES if (migrations_of(service) / "env.py").exists())


def is_own_table(service: str, name: str) -> bool:
    """Whether table ``name`` of a (possibly shared) database belongs to ``service``'s Alembic history."""
    if not name.startswith(f"{service}_") or name == f"{service}_alembic_version":
        return False
    if name in {f"{service}_{table}" for table in LIBRARY_TABLES}:
        return False
    if name == f"{service}_read_models" or READ_MODEL_VERSION.search(name):
        return False
    # A projection's position table is the read model's; the outbox relay's position is not disposable.
    return not name.endswith("_position") or name == f"{service}_outbox_position"


def include_name(service: str) -> Any:
    """Alembic's ``include_name`` hook that limits reflection (and so autogenerate) to the service's tables."""

    def include(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "table" or is_own_table(service, str(name))

    return include


def run_environment(metadata: MetaData, service: str) -> None:
    """The body of every service's ``migrations/env.py``: migrate on the connection ``shared.sql.migrate`` opened.

    ``alembic revision --autogenerate`` runs it too, with ``-x url=...`` naming the database to compare with.
    """
    from alembic import context

    connection = context.config.attributes.get("connection")
    if connection is None:
        _run_on_url(metadata, service)
        return
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=context.config.attributes.get("version_table", f"{service}_alembic_version"),
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name(service),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on_url(metadata: MetaData, service: str) -> None:
    """``alembic`` called from the command line: the database is ``-x url=...``."""
    from alembic import context

    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit(
            "name the database to compare with: alembic ... -x url=postgresql://... revision --autogenerate"
        )
    engine = make_engine(url)
    with engine.begin() as connection:
        context.config.attributes["connection"] = connection
        context.config.attributes["version_table"] = f"{service}_alembic_version"
        run_environment(metadata, service)
    engine.dispose()


def migrate_service(service: str, config: dict[str, Any]) -> None:
    """Upgrade ``service``'s schema to head, then run its data steps (``readmodel.prepare``, ``rekey.prepare``)."""
    engine = make_engine(str(config["DATABASE_URL"]))
    try:
        migrate(engine, migrations_of(service), service)
    finally:
        engine.dispose()
    log.info("schema_migrated", extra={"source": service})
    for module_name in DATA_STEPS:
        try:
            module = importlib.import_module(f"services.{service}.{module_name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"services.{service}.{module_name}":
                raise
            continue
        prepare = getattr(module, "prepare", None)
        if prepare is not None:
            prepare(config)
            log.info("data_prepared", extra={"source": f"{service}.{module_name}"})


def main(argv: Sequence[str] | None = None) -> int:
    known = services_with_migrations()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", metavar="service", help=f"default: all of {', '.join(known)}")
    args = parser.parse_args(argv)
    unknown = [service for service in args.services if service not in known]
    if unknown:
        parser.error(f"no Alembic history for {', '.join(unknown)} (services with one: {', '.join(known)})")
    from shared.logs import configure_logging

    configure_logging("migrate", "INFO")
    for service in args.services or known:
        try:
            config = load_config(service)
        except ConfigError as problem:
            print(f"{service}: {problem}", file=sys.stderr)
            return 1
        migrate_service(service, config)
        print(f"{service}: schema at the newest revision", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
