"""SQLite specifics: connection pragmas, ``BEGIN IMMEDIATE`` writes, task id allocation.

Python's ``sqlite3`` driver issues its own (deferred) ``BEGIN`` lazily, which makes two
writers deadlock-prone and SELECTs non-repeatable. Following the SQLAlchemy pysqlite
recipe we switch the driver's transaction handling off (``isolation_level = None``) and
emit ``BEGIN`` ourselves from the engine's ``begin`` event: ``BEGIN IMMEDIATE`` when the
connection carries the :data:`WRITE` execution option, so a write transaction takes the
database's write lock up front (waiting up to ``busy_timeout``) and can never fail half
way with "database is locked"; plain ``BEGIN`` (a WAL read snapshot) otherwise.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import time
from pathlib import Path
from typing import Any, LiteralString

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    insert,
    literal_column,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from cdnctl.storage.schema import tasks

#: Execution option marking a connection whose transaction will write.
WRITE = "cdnctl_write"
#: Execution option of a connection whose ``busy_timeout`` is 0 (see ``_inline``): its
#: ``BEGIN IMMEDIATE`` fails at once when another writer holds the lock.
NO_WAIT = "cdnctl_no_wait"
_WAIT_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def must_wait(exc: BaseException) -> bool:
    """Did SQLite refuse because another connection holds a lock (any SQLITE_BUSY or
    SQLITE_LOCKED, extended codes included: SQLITE_BUSY_RECOVERY while another process
    recovers a new WAL, ...)?"""
    code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _WAIT_CODES
#: SQLite has one writer at a time: the repository's threads queue on an in-process lock;
#: other processes' writers are waited for by polling (see ``_begin_immediate``).
SERIALIZE_WRITES = True
BUSY_TIMEOUT_MS = 30_000
#: A WAL read transaction already reads one snapshot from its first statement to its end.
SNAPSHOT_OPTIONS: dict[str, Any] = {}
#: A one-statement read: a WAL read transaction costs nothing extra here.
STATEMENT_OPTIONS: dict[str, Any] = {}
_DIALECT = sqlite.dialect()

_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",  # 64 MiB page cache per connection
)


def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module doc)
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        _use_wal(cursor)
    finally:
        cursor.close()


def _use_wal(cursor: Any) -> None:
    """Switch the database file to WAL (a lasting property of the file).

    The switch needs an exclusive lock and SQLite may refuse it with "database is
    locked" without waiting on ``busy_timeout``: that happens when several processes
    open a new database at once, so retry until the timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
        else:
            if time.monotonic() > deadline:
                raise RuntimeError("SQLite refused to switch the database to WAL mode")
        time.sleep(0.01)


def _on_begin(conn: Connection) -> None:
    options = conn.get_execution_options()
    if not options.get(WRITE):
        _begin(conn, "BEGIN")
    elif options.get(NO_WAIT):
        _begin(conn, "BEGIN IMMEDIATE")  # its busy_timeout is 0: fails at once
    else:
        _begin_immediate(conn)


def _begin(conn: Connection, sql: LiteralString) -> None:
    """``sql`` straight on the driver (SQLAlchemy's execution path costs several times
    the statement on every transaction); on failure once more through SQLAlchemy, so
    the caller sees its exception (``OperationalError``) as from any statement."""
    try:
        conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
    except sqlite3.OperationalError:
        conn.exec_driver_sql(sql)


def _begin_immediate(conn: Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write transaction by polling
    every 0.1-1 ms rather than through ``busy_timeout``, whose handler sleeps in steps
    growing to 100 ms: between API processes taking turns at the write lock, those
    sleeps cost more than the transactions themselves."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                _begin(conn, "BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not must_wait(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.001)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def configure(engine: Engine) -> Engine:
    """Install the pragma and BEGIN hooks on ``engine`` (idempotent)."""
    if not event.contains(engine, "connect", _on_connect):
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        engine.dispose()  # pooled connections predate the hooks
    return engine


def make_engine(url: URL, *, pool_size: int = 4) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise ValueError(
            "an in-memory SQLite database cannot be shared between the repository's "
            "threads; use a file (sqlite:///cdnctl.db) or memory:// for the pure-Python twin"
        )
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=BUSY_TIMEOUT_MS / 1000,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
    )
    return configure(engine)


def allocate_task_ids(conn: Connection, n: int) -> list[int]:
    """``n`` fresh task ids. Must run inside ``BEGIN IMMEDIATE`` (we hold the write lock).

    ``max(id)`` is a rowid lookup; ``sqlite_sequence`` remembers ids of pruned tasks.
    """
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    (high,) = driver.execute(_HIGH_TASK_ID).fetchone()
    return list(range(high + 1, high + 1 + n))


_HIGH_TASK_ID = ("SELECT max(coalesce((SELECT max(id) FROM tasks), 0), "
                 "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tasks'), 0))")


#: Rows per INSERT statement of a bulk insert (its parameters: far below SQLite's limit
#: of 32,766).
BULK_ROWS = 256


@functools.cache
def _insert_sql(table: Table, columns: tuple[str, ...], rows: int) -> str:
    compiled = insert(table).inline().compile(dialect=_DIALECT, column_keys=list(columns))
    assert compiled.positiontup == list(columns), "columns must be in table order"
    one = "(" + ", ".join("?" * len(columns)) + ")"
    head = compiled.string.split(" VALUES ", 1)[0]
    return f"{head} VALUES {', '.join([one] * rows)}"


def bulk_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values already in database form) with multi-row ``INSERT``s of
    :data:`BULK_ROWS` rows, straight through the driver.

    Not ``executemany``: it binds and steps one row at a time and takes the GIL back
    for every row, so while the event loop runs Python (another request's validation)
    a bulk insert in the pool advanced about one row per GIL switch interval. A
    multi-row statement binds its rows at once and runs them without the GIL.
    """
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    flat = itertools.chain.from_iterable
    for start in range(0, len(rows), BULK_ROWS):
        chunk = rows[start:start + BULK_ROWS]
        driver.execute(_insert_sql(table, columns, len(chunk)), tuple(flat(chunk)))


def upsert(table: Table) -> sqlite.Insert:
    """``INSERT ... ON CONFLICT DO UPDATE`` (``.on_conflict_do_update``)."""
    return sqlite.insert(table)


def steer_window(
    terms: list[ColumnElement[bool]], walk_ids: bool
) -> tuple[list[ColumnElement[bool]], ColumnElement[Any]]:
    """Make SQLite page a time window the way the repository's probes chose.

    SQLite keeps no histograms, so it takes any range on ``created_at`` for selective
    and scans that index even when walking ids newest first would stop after a page;
    ``likelihood()`` tells it the time terms are not selective. Returns the terms and
    the key to order ids by.
    """
    if walk_ids:
        terms = [func.likelihood(t, literal_column("0.9375"), type_=Boolean) for t in terms]
    return terms, tasks.c.id


def contains(column: Any, value: str) -> Any:
    """Case-sensitive substring test (SQLite's LIKE ignores ASCII case)."""
    return func.instr(column, value) > 0


def checkpoint(engine: Engine) -> int:
    """A PASSIVE WAL checkpoint: copies what no reader still needs, never waits; the
    frames in the WAL (until the next write starts it over)."""
    raw = engine.raw_connection()
    try:
        _, frames, _ = raw.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        raw.close()
    return int(frames)


def notify_work(conn: Connection) -> None:
    """No cross-process wake-up on SQLite: workers poll ``next_due``."""


def is_retryable(exc: BaseException) -> bool:
    """Writers are serialised up front (BEGIN IMMEDIATE), so nothing needs a retry."""
    return False
