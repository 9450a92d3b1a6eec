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
from sqlalchemy import Engine, inspect, select, text

from cdnctl.storage import create_engine
from cdnctl.storage.migrations import current_version, migrations, upgrade
from cdnctl.storage.schema import jobs, metadata, schema_version, tasks
from cdnctl.storage.schema import sites as sites_table

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
    assert upgrade(engine) == LATEST == [
        "0001_initial_schema", "0002_jobs_by_account", "0003_task_sites",
        "0004_upload_tasks"]
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


def test_version_3_gives_existing_tasks_their_site(new_engine: Callable[[], Engine]) -> None:
    """Tasks written before ``tasks.site_id`` existed get the site the directory would
    give them: exact domain, else the longest ``*.`` suffix; an "all" purge its named
    site; an account-wide tag the account's only site (none if it has several)."""
    engine = new_engine()
    assert upgrade(engine, to=2) == LATEST[:2]
    at = datetime(2024, 1, 1, tzinfo=UTC)
    sites = [(1, "acme", "example.com", ["www.example.com", "*.img.example.com"]),
             (2, "acme", "shop", ["shop.example.net", "*.example.net"]),
             (3, "acme", "cdn", ["*.cdn.example.net"]),
             (4, "solo", "solo", ["solo.example"])]
    rows = [  # account, type, target, domain, expected site
        ("acme", "url", "http://www.example.com/a", "www.example.com", 1),
        ("acme", "url", "http://a.img.example.com/a", "a.img.example.com", 1),
        ("acme", "prefix", "http://x.cdn.example.net/", "x.cdn.example.net", 3),
        ("acme", "host", "y.example.net", "y.example.net", 2),
        ("acme", "url", "http://shop.example.net/", "shop.example.net", 2),
        ("acme", "url", "http://img.example.com/", "img.example.com", None),
        ("acme", "url", "http://www.unknown.org/", "www.unknown.org", None),
        ("acme", "all", "shop", None, 2),
        ("acme", "tag", "t1", None, None),  # three sites: account-wide
        ("acme", "tag", "t1", "www.example.com", 1),
        ("solo", "tag", "t1", None, 4),
        ("solo", "all", "gone", None, None),
        ("other", "url", "http://www.example.com/b", "www.example.com", None),
    ]
    with engine.begin() as conn:
        conn.execute(sites_table.insert(), [
            {"id": i, "account_id": a, "name": n, "zone_id": f"z{i}", "domains": d, "pool": "p"}
            for i, a, n, d in sites])
        for account in ("acme", "solo", "other"):
            conn.execute(jobs.insert().values(
                id=f"job-{account}", account_id=account, created_at=at, source="native",
                request_id="r", fingerprint="", task_count=1))
        conn.execute(tasks.insert(), [
            {"id": n, "job_id": f"job-{a}", "account_id": a, "action": "purge", "type": t,
             "target": target, "domain": domain, "method": "delete", "state": "succeeded",
             "created_at": at, "updated_at": at, "deadline": at, "deliveries_total": 0,
             "source": "native"}
            for n, (a, t, target, domain, _) in enumerate(rows, start=1)])
    assert upgrade(engine) == LATEST[2:]
    with engine.connect() as conn:
        found = dict(conn.execute(select(tasks.c.id, tasks.c.site_id).order_by(tasks.c.id)).all())
    assert [found[n] for n in range(1, len(rows) + 1)] == [r[-1] for r in rows]
