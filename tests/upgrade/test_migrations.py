"""Each service's Alembic history: it makes exactly the tables the code declares, on SQLite and PostgreSQL,
and a database made by the release before the histories (``create_all``, no version table) adopts it.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, Table, insert, inspect, select, text

import services.submissions.readmodel
from services.backoffice import schema as backoffice
from services.documents import metadata as documents
from services.identity import schema as identity
from services.notify import schema as notify
from services.routing import schema as routing
from services.submissions import readmodel
from services.submissions import schema as submissions
from services.submissions.application import Cases
from shared import migrate as migrate_step
from shared.eventstore import DATA_KEYS_URL, EventSourcedApplication, eventstore_environment
from shared.migrate import include_name, is_own_table, services_with_migrations
from shared.projection import ProjectionRunner
from shared.service import SERVICES, service_class
from shared.sql import Database, make_engine, migrate, migrations_of

# The models each history is compared with: what every service's migrations/env.py imports.
MODELS: dict[str, MetaData] = {
    "identity": identity.metadata,
    "submissions": submissions.metadata,
    "documents": documents.metadata,
    "routing": routing.metadata,
    "notify": notify.metadata,
    "backoffice": backoffice.metadata,
}

# Identity had its history in that release already; the others made their tables with create_all.
MADE_BY_CREATE_ALL = ["submissions", "documents", "routing", "notify", "backoffice"]


def differences(engine: Engine, service: str) -> list[Any]:
    """What ``alembic revision --autogenerate`` would put into a new revision of ``service``."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name(service)})
        return list(compare_metadata(context, MODELS[service]))


def head_of(service: str) -> str:
    settings = AlembicConfig()
    settings.set_main_option("script_location", str(migrations_of(service)))
    head = ScriptDirectory.from_config(settings).get_current_head()
    assert head is not None
    return head


def recorded_revision(engine: Engine, service: str) -> list[str]:
    version = Table(f"{service}_alembic_version", MetaData(), Column("version_num", String(32)))
    with engine.connect() as connection:
        return list(connection.execute(select(version.c.version_num)).scalars())


def test_every_service_with_sql_tables_has_a_history_and_the_gateway_none():
    assert services_with_migrations() == tuple(MODELS)
    # A service keeps SQL tables when it has a Database or an event store (its tables beside the events).
    with_tables = tuple(
        service
        for service in SERVICES
        if any(isinstance(value, Database | EventSourcedApplication) for value in vars(service_class(service)).values())
    )
    assert with_tables == services_with_migrations()


@pytest.mark.parametrize("service", list(MODELS))
def test_a_fresh_database_migrated_is_exactly_the_models(service, database_url):
    engine = make_engine(database_url)
    migrate(engine, migrations_of(service), service)
    assert recorded_revision(engine, service) == [head_of(service)]
    assert differences(engine, service) == []
    migrate(engine, migrations_of(service), service)  # at the head, once more: nothing to do, nothing fails
    assert recorded_revision(engine, service) == [head_of(service)]
    engine.dispose()


# Columns the models gained after release b229732 while the tables were still made by create_all: a
# database of that release lacks them, one made by the code just before the histories (f038519) has them.
ADDED_AFTER_B229732 = {"notify_postfach_messages": ("retrieved_at", "notice_denied_at")}


def previous_release(engine: Engine, database_url: str, service: str, release: str, tables: str) -> list[Table]:
    """The schema as an earlier release made it at start: ``create_all`` of the service's tables, with the read
    model and the event store's own tables beside them for submissions; ``tables="some"`` is a database on
    which only the first half had been made (a service that never started, a relay that did)."""
    models = MODELS[service]
    made = models.sorted_tables if tables == "all" else models.sorted_tables[: len(models.sorted_tables) // 2]
    models.create_all(engine, tables=made)
    if release == "b229732":
        with engine.begin() as connection:
            for table in made:
                for column in ADDED_AFTER_B229732.get(table.name, ()):
                    connection.execute(text(f"ALTER TABLE {table.name} DROP COLUMN {column}"))
    if service == "submissions":
        # The read model (create_all by its runner) and the library's tables (made by the library).
        ProjectionRunner(Cases(env=library_environment(database_url)), readmodel.CaseList(), engine)
    return made


def library_environment(database_url: str) -> dict[str, str]:
    env = eventstore_environment(database_url, base64.b64encode(os.urandom(32)).decode())
    env[DATA_KEYS_URL] = database_url
    return env


@pytest.mark.parametrize("tables", ["all", "some"])
@pytest.mark.parametrize("release", ["b229732", "f038519"])
@pytest.mark.parametrize("service", MADE_BY_CREATE_ALL)
def test_a_database_of_a_release_before_the_histories_adopts_them_without_hand_work(
    service, release, tables, database_url
):
    engine = make_engine(database_url)
    made = previous_release(engine, database_url, service, release, tables)
    before = set(inspect(engine).get_table_names())
    row: dict[str, Any] = {}
    if made:  # a row in an old table, which must be there after the adoption
        kept = made[0]
        present = {column["name"] for column in inspect(engine).get_columns(kept.name)}
        row = {c.name: sample(c) for c in kept.columns if c.name in present and c.autoincrement is not True}
        with engine.begin() as connection:
            connection.execute(insert(kept).values(row))

    migrate(engine, migrations_of(service), service)

    assert recorded_revision(engine, service) == [head_of(service)]
    assert differences(engine, service) == []
    after = set(inspect(engine).get_table_names())
    assert before <= after  # nothing dropped: read models and the event store's tables stay as they were
    assert after - before <= {table.name for table in MODELS[service].sorted_tables} | {f"{service}_alembic_version"}
    if made:
        key, value = next(iter(row.items()))
        with engine.connect() as connection:
            assert connection.execute(select(kept.c[key])).scalars().all() == [value]
    engine.dispose()


def sample(column: Any) -> Any:
    """A value the column accepts, for the row that must survive the adoption."""
    from datetime import UTC, datetime

    python_type = column.type.python_type
    if python_type is datetime:
        return datetime(2026, 1, 2, tzinfo=UTC)
    if python_type is bytes:
        return b"\x00wrapped"
    if python_type is bool:
        return True
    if python_type is int:
        return 7
    if python_type in (dict, list):
        return []
    return "kept-" + column.name[:20]


@pytest.mark.parametrize(
    ("name", "owned"),
    [
        ("submissions_staff_access", True),
        ("submissions_data_keys", True),
        ("submissions_outbox_position", True),  # the relay's position is not disposable
        ("submissions_processed_events", True),
        ("submissions_alembic_version", False),  # Alembic's record
        ("submissions_events", False),  # the eventsourcing library's
        ("submissions_snapshots", False),
        ("submissions_tracking", False),
        ("stored_events", False),  # the library's, on SQLite
        ("submissions_case_list_v3", False),  # read models: versioned by name, rebuilt, never migrated
        ("submissions_case_list_v3_position", False),
        ("submissions_case_categories_v12", False),
        ("submissions_inbox_counts_v3", False),
        ("submissions_something_position", False),
        ("submissions_read_models", False),
        ("routing_outbox_position", False),  # another service's
        ("submissionsx", False),
    ],
)
def test_a_history_owns_the_service_tables_but_not_read_models_library_tables_or_alembics(name, owned):
    assert is_own_table("submissions", name) is owned


def test_the_migrate_step_upgrades_then_prepares_the_read_models_when_the_service_has_that(tmp_path, monkeypatch):
    monkeypatch.setenv("RUN_DIR", str(tmp_path))
    monkeypatch.setenv("CIPHER_KEY", base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())
    for name in ("DATABASE_URL", "SUBMISSIONS_DATABASE_URL", "ROUTING_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    prepared: list[dict[str, Any]] = []
    monkeypatch.setattr(services.submissions.readmodel, "prepare", prepared.append, raising=False)

    assert migrate_step.main(["submissions", "routing"]) == 0

    assert [config["DATABASE_URL"] for config in prepared] == [f"sqlite:///{tmp_path}/data/submissions.sqlite"]
    for service in ("submissions", "routing"):
        engine = make_engine(f"sqlite:///{tmp_path}/data/{service}.sqlite")
        assert recorded_revision(engine, service) == [head_of(service)]
        assert differences(engine, service) == []
        engine.dispose()


def test_the_migrate_step_refuses_a_service_without_a_history(capsys):
    with pytest.raises(SystemExit):
        migrate_step.main(["gateway"])
    assert "no Alembic history for gateway" in capsys.readouterr().err


def test_a_rollback_works_on_a_schema_ahead_and_the_upgrade_after_it_too(database_url, caplog):
    """docs/upgrading.md, rolling back: code that does not know the database's revision (the previous release
    after an upgrade) starts on it instead of refusing; stamped back by the operator, the next upgrade adds only
    what is missing."""
    engine = make_engine(database_url)
    migrate(engine, migrations_of("identity"), "identity")
    with engine.begin() as connection:  # what a newer release leaves: a revision this code has never seen
        connection.execute(text("UPDATE identity_alembic_version SET version_num = '9999'"))
    migrate(engine, migrations_of("identity"), "identity")  # no error: the code works on the schema as it is
    assert recorded_revision(engine, "identity") == ["9999"]
    assert "schema_ahead_of_code" in caplog.text
    with engine.begin() as connection:  # the operator stamps it back to a revision this code knows
        connection.execute(text("UPDATE identity_alembic_version SET version_num = '0001'"))
    migrate(engine, migrations_of("identity"), "identity")  # 0002 and 0003 again, over columns already there
    assert recorded_revision(engine, "identity") == [head_of("identity")]
    assert differences(engine, "identity") == []
    engine.dispose()


def test_identity_0004_gives_existing_accounts_no_name_and_goes_down_and_up_again(database_url):
    """The citizen's name (0004): accounts made before it read "nicht angegeben" (NULL); a downgrade drops the
    columns and the upgrade after it brings them back."""
    from alembic import command

    engine = make_engine(database_url)
    settings = AlembicConfig()
    settings.set_main_option("script_location", str(migrations_of("identity")))
    settings.attributes["version_table"] = "identity_alembic_version"

    def to(revision: str, down: bool = False) -> None:
        with engine.begin() as connection:
            settings.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(settings, revision)

    def columns() -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns("identity_accounts")}

    to("0003")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO identity_accounts (account_id, email, role, customer_number, status, created_at) "
            "VALUES ('a-before-names', 'before@example.org', 'citizen', '922D000001', 'active', CURRENT_TIMESTAMP)"
        ))  # fmt: skip
    to("0004")
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT given_name, family_name, name_key FROM identity_accounts WHERE account_id = 'a-before-names'"
        )).one()  # fmt: skip
    assert tuple(row) == (None, None, None)
    to("0003", down=True)
    assert not {"given_name", "family_name", "name_key"} & columns()
    to("head")
    assert {"given_name", "family_name", "name_key"} <= columns()
    assert differences(engine, "identity") == []
    engine.dispose()
