"""Migrations: idempotent, safe when processes race, and equal to ``metadata.create_all()``.

The schema a database reaches through every migration must be the schema
``cdnctl/storage/schema.py`` describes; a change to ``schema.py`` without a new
migration fails here (procrastinate ``tests/migration``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from cdnctl.storage import create_engine
from cdnctl.storage.migrations import current_version, migrations, upgrade
from cdnctl.storage.schema import metadata, schema_version

LATEST = [m.label for m in migrations("sqlite")]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.servers)])
def new_engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[], Engine]]:
    """A factory of engines on new, empty databases of one dialect."""
    engines: list[Engine] = []
    if request.param == "postgres":
        new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
    else:
        def new_database() -> str:
            return f"sqlite:///{tmp_path}/{uuid.uuid4().hex}.db"

    def make() -> Engine:
        engines.append(create_engine(new_database()))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()  # before the databases are dropped


def describe(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys, indexes and sequences as the database reports them."""
    insp = inspect(engine)
    tables: dict[str, Any] = {}
    for name in insp.get_table_names():
        tables[name] = {
            "columns": [
                (c["name"], str(c["type"].compile(engine.dialect)), c["nullable"],
                 str(c.get("default")))
                for c in insp.get_columns(name)
            ],
            "primary_key": insp.get_pk_constraint(name),
            "foreign_keys": sorted(
                (fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"],
                 tuple(fk["referred_columns"]), str(sorted(fk.get("options", {}).items())))
                for fk in insp.get_foreign_keys(name)
            ),
            "indexes": sorted(
                (ix["name"] or "", tuple(str(c) for c in ix["column_names"]), ix["unique"],
                 sorted((k, str(v)) for k, v in ix.get("dialect_options", {}).items()))
                for ix in insp.get_indexes(name)
            ),
            "unique": sorted(
                (u["name"] or "", tuple(u["column_names"]))
                for u in insp.get_unique_constraints(name)
            ),
        }
    sequences = insp.get_sequence_names() if engine.dialect.name == "postgresql" else []
    return {"tables": tables, "sequences": sorted(sequences)}


def test_upgrade_creates_the_schema_once_then_is_a_no_op(
    new_engine: Callable[[], Engine],
) -> None:
    engine = new_engine()
    assert current_version(engine) is None
    assert upgrade(engine) == LATEST == ["0001_initial_schema"]
    assert upgrade(engine) == []
    assert current_version(engine) == len(LATEST)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar() == len(LATEST)


def test_migrated_schema_equals_metadata_create_all(new_engine: Callable[[], Engine]) -> None:
    migrated, created = new_engine(), new_engine()
    upgrade(migrated)
    metadata.create_all(created)
    described = describe(migrated)
    assert described == describe(created)
    assert {"tasks", "deliveries", "attempts", "jobs", "block_rules"} <= set(described["tables"])


def test_concurrent_upgrades_apply_each_migration_exactly_once(
    new_engine: Callable[[], Engine],
) -> None:
    first = new_engine()
    url = first.url.render_as_string(hide_password=False)
    engines = [first] + [create_engine(url) for _ in range(3)]
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        start.wait()
        try:
            results.append(upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    for engine in engines[1:]:
        engine.dispose()
    assert errors == []
    assert sorted(results) == [[], [], [], LATEST]
    assert current_version(first) == len(LATEST)


def test_a_database_newer_than_the_code_is_refused(new_engine: Callable[[], Engine]) -> None:
    engine = new_engine()
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(schema_version.insert().values(
            version=len(LATEST) + 1, name="from_the_future", applied_at=datetime.now(UTC)))
    with pytest.raises(RuntimeError, match="newer than this cdnctl"):
        upgrade(engine)


def test_every_dialect_has_the_same_migrations() -> None:
    assert [m.label for m in migrations("postgresql")] == LATEST
    assert all(m.statements() for m in migrations("sqlite") + migrations("postgresql"))
