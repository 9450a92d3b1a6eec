"""Fixtures shared by every test directory.

* ``CDNCTL_*`` variables are scrubbed from the environment around every test (the
  ``CDNCTL_TEST_*`` ones are read once, at import, before that).
* :func:`require_servers` — a fixture that needs a real server (PostgreSQL, varnish...)
  and cannot reach it skips locally but fails when ``CDNCTL_TEST_REQUIRE_SERVERS=1``
  (set by CI), so CI can never pass by skipping.
* PostgreSQL: one template database per session, migrated once
  (``postgres_template``); each test module gets a fresh database cloned from it with
  ``CREATE DATABASE ... TEMPLATE`` (``postgres_database``), dropped at teardown. The
  server comes from ``CDNCTL_TEST_POSTGRES_URL``.
* Test modules cannot import from this file (several ``conftest`` modules exist); what
  they need is a fixture: ``new_postgres_database`` makes empty databases.
* ``backend`` / ``repository``: the TaskRepository under test, parametrized over
  ``memory``, ``sqlite`` (a file in ``tmp_path``) and ``postgres``, so one contract
  suite covers every implementation.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from cdnctl.core.ports import TaskRepository
from cdnctl.storage import create_engine, migrations, open_repository
from cdnctl.storage.schema import metadata
from cdnctl.testing import InMemoryTaskRepository

pytest_plugins = ["tests.fixtures_servers"]  # real Varnish/nginx/origin fixtures

_TEST_ENV = {k: v for k, v in os.environ.items() if k.startswith("CDNCTL_TEST_")}
POSTGRES_URL = _TEST_ENV.get(
    "CDNCTL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVERS = _TEST_ENV.get("CDNCTL_TEST_REQUIRE_SERVERS") == "1"


def require_servers(what: str, error: object) -> NoReturn:
    """``what`` is unreachable: skip the test locally, fail it where servers are required."""
    message = f"{what} is not available: {error}"
    if REQUIRE_SERVERS:
        pytest.fail(f"{message} (CDNCTL_TEST_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _scrub_cdnctl_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings a developer exported must not leak into tests; the test-harness switches
    # (CDNCTL_TEST_*: require servers, PostgreSQL URL) must stay visible to fixtures.
    for name in list(os.environ):
        if name.startswith("CDNCTL_") and not name.startswith("CDNCTL_TEST_"):
            monkeypatch.delenv(name)


# -- PostgreSQL --------------------------------------------------------------------------


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)


def database_url(name: str) -> str:
    """``POSTGRES_URL`` pointing at database ``name``."""
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def create_database(name: str, template: str | None = None) -> str:
    with _admin() as conn:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            stmt = sql.SQL("{} TEMPLATE {}").format(stmt, sql.Identifier(template))
        conn.execute(stmt)
    return database_url(name)


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL, once PostgreSQL answers (else skip / fail, see require_servers)."""
    try:
        _admin().close()
    except psycopg.OperationalError as exc:
        require_servers(f"PostgreSQL at {POSTGRES_URL}", exc)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """A database migrated once per session, to clone. Unique per session: several
    developers (and CI) may share one server."""
    name = unique_name("cdnctl_template")
    engine = create_engine(create_database(name))
    try:
        migrations.upgrade(engine)
    finally:
        engine.dispose()  # a template must have no open connections to be cloned
    yield name
    drop_database(name)


@pytest.fixture(scope="module")
def postgres_database(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated database for one test module; its URL."""
    name = unique_name("cdnctl_test")
    url = create_database(name, template=postgres_template)
    yield url
    drop_database(name)


@pytest.fixture
def new_postgres_database(postgres_server: str) -> Iterator[Callable[[], str]]:
    """A factory of new, empty (unmigrated) databases, dropped at teardown; returns URLs."""
    names: list[str] = []

    def make() -> str:
        names.append(unique_name("cdnctl_empty"))
        return create_database(names[-1])

    yield make
    for name in names:
        drop_database(name)


def truncate_all(url: str) -> None:
    tables = [t.name for t in metadata.sorted_tables if t.name != "schema_version"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(map(sql.Identifier, tables))))


# -- repositories ------------------------------------------------------------------------


@dataclass
class Backend:
    """One store, and a way to open more repository objects on it (for concurrency)."""

    name: str
    url: str | None  # None: the in-memory twin
    opened: list[TaskRepository] = field(default_factory=list)

    def open(self) -> TaskRepository:
        if self.url is None:
            if not self.opened:  # one object: its state is the store
                self.opened.append(InMemoryTaskRepository())
            return self.opened[0]
        repo = open_repository(self.url)
        self.opened.append(repo)
        return repo

    async def close(self) -> None:
        for repo in self.opened:
            await repo.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.servers)])
async def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Backend]:
    if request.param == "memory":
        store = Backend("memory", None)
    elif request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "cdnctl.db"
        store = Backend("sqlite", f"sqlite:///{path}")
        engine = create_engine(f"sqlite:///{path}")
        migrations.upgrade(engine)
        engine.dispose()
    else:
        url = request.getfixturevalue("postgres_database")
        truncate_all(url)
        store = Backend("postgres", url)
    yield store
    await store.close()


@pytest.fixture
def repository(backend: Backend) -> TaskRepository:
    return backend.open()


# -- no passing by skipping ---------------------------------------------------------------

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CDNCTL_TEST_REQUIRE_SERVERS=1 (CI) any skip fails the run: a missing server,
    SDK or binary must never let the suite pass."""
    if REQUIRE_SERVERS and _skipped:
        listed = "\n  ".join(_skipped[:20])
        print(f"\nCDNCTL_TEST_REQUIRE_SERVERS=1 but {len(_skipped)} test(s) skipped:\n  {listed}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
