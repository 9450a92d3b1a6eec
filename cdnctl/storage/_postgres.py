"""PostgreSQL specifics: the psycopg 3 engine, bulk task ids, LISTEN/NOTIFY wake-ups.

Claims use ``FOR UPDATE SKIP LOCKED`` (rendered by SQLAlchemy's ``with_for_update``
in the shared statements of ``_queue``), so concurrent workers never wait on each
other's rows. New work is announced with ``pg_notify`` inside the job's transaction:
PostgreSQL delivers a notification only when (and if) that transaction commits, so a
worker can never be woken for a job that was rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import select as io_select
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from cdnctl.storage.schema import task_id_seq, tasks

#: The channel workers LISTEN on; ``create_job`` notifies it.
WORK_CHANNEL = "cdnctl_work"
#: Many writers may run at once; row locks and SKIP LOCKED keep them apart.
SERIALIZE_WRITES = False
#: READ COMMITTED takes a new snapshot per statement; a read-only REPEATABLE READ
#: transaction keeps one (and, writing nothing, never fails to serialize).
SNAPSHOT_OPTIONS: dict[str, Any] = {"isolation_level": "REPEATABLE READ"}
#: Execution options of a read that is one statement: no BEGIN / COMMIT round trips.
STATEMENT_OPTIONS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT"}
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def normalize_url(url: str | URL) -> URL:
    """``postgres://`` / ``postgresql://`` / ``postgresql+psycopg://`` -> psycopg 3."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql+psycopg")


def make_engine(url: URL, *, pool_size: int = 8, max_overflow: int = 4) -> Engine:
    """An engine on psycopg 3 whose pool hands out only live connections (as far as the
    client can know) without a round trip per checkout: see :func:`check_connection`."""
    engine = create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"options": "-c timezone=UTC"},
    )
    event.listen(engine, "checkout", check_connection)
    return engine


def check_connection(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    """Pool ``checkout`` hook: replace a connection the server has closed.

    SQLAlchemy's ``pool_pre_ping`` sends an empty statement on every checkout: a round
    trip (0.1-0.6 ms) before each one-statement read. But a server that ends a session
    (``pg_terminate_backend``, a restart, ``idle_session_timeout``) says so: it sends an
    error and closes the socket. A pooled connection is idle, so nothing should be
    waiting on its socket; only when something is (or psycopg already knows it is
    broken) is the connection pinged, and when the ping fails it is discarded and the
    pool opens a fresh one (raising ``DisconnectionError`` here is SQLAlchemy's
    documented way to do that). A rare notice or parameter report on an idle session
    costs one ping.

    What no client can see without a round trip (a peer vanished without closing, or a
    close racing the checkout) is left to the callers: reads retry once on a fresh
    connection (``SqlTaskRepository._read``); writes fail, as they could after a ping.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    if not _readable(dbapi_connection.fileno()):
        return
    try:
        _ping(dbapi_connection)
    except psycopg.Error as exc:
        raise DisconnectionError(f"the server closed the connection: {exc}") from exc


def _ping(dbapi_connection: Any) -> None:
    # SQLAlchemy's own ping for psycopg (an empty statement, in autocommit).
    was_autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute(";")
    finally:
        if not was_autocommit and not dbapi_connection.closed:
            dbapi_connection.autocommit = False


def _readable(fd: int) -> bool:
    """Is input (or end of file, or an error) waiting on socket ``fd``? No waiting."""
    if hasattr(io_select, "poll"):
        poller = io_select.poll()
        poller.register(fd, io_select.POLLIN | io_select.POLLPRI)
        return bool(poller.poll(0))
    ready, _, _ = io_select.select([fd], [], [], 0)  # Windows: no poll(), small fds
    return bool(ready)


def conninfo(url: str | URL) -> str:
    """A libpq connection URI for a direct psycopg connection."""
    return normalize_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def allocate_task_ids(conn: Connection, n: int) -> list[int]:
    """``n`` fresh task ids in one round trip (sorted, so tasks keep request order)."""
    series = func.generate_series(1, n).table_valued("i")
    ids = conn.execute(select(task_id_seq.next_value()).select_from(series)).scalars().all()
    return sorted(int(i) for i in ids)


def upsert(table: Table) -> postgresql.Insert:
    """``INSERT ... ON CONFLICT DO UPDATE`` (``.on_conflict_do_update``)."""
    return postgresql.insert(table)


def bulk_insert(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """``COPY ... FROM STDIN`` on the transaction's own connection: the fastest bulk path."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def steer_window(
    terms: list[ColumnElement[bool]], walk_ids: bool
) -> tuple[list[ColumnElement[bool]], ColumnElement[Any]]:
    """Make PostgreSQL page a time window the way the repository's probes chose.

    Its planner assumes ``created_at`` and ``id`` are independent, so for an old window
    it walks the id index newest first expecting an early page, and scans every newer
    row instead. Ordering by ``id + 0`` hides that index: the window is read from
    ``(account_id, created_at) INCLUDE (id)`` and the page picked by a top-N sort.
    """
    return terms, (tasks.c.id if walk_ids else tasks.c.id + 0)


def contains(column: Any, value: str) -> Any:
    """Case-sensitive substring test, with no LIKE wildcards to escape."""
    return func.strpos(column, value) > 0


def checkpoint(engine: Engine) -> int:
    """Nothing to do: PostgreSQL checkpoints on its own."""
    return 0


def notify_work(conn: Connection, channel: str = WORK_CHANNEL) -> None:
    """Queue a notification; PostgreSQL sends it when ``conn``'s transaction commits."""
    conn.execute(select(func.pg_notify(channel, literal_column("''"))))


def is_retryable(exc: BaseException) -> bool:
    """Deadlocks and serialization failures: the whole transaction may simply run again."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


class Listener:
    """Wake-ups from ``NOTIFY channel``, over a dedicated autocommit connection.

    ::

        async with Listener(url) as wakeups:
            while running:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds_until_next_due):
                        await wakeups.wait()
                ...claim...

    Notifications that arrive while the consumer is busy coalesce into one wake-up.
    Iterating (``async for _ in wakeups``) waits without a timeout.
    """

    def __init__(self, url: str | URL, channel: str = WORK_CHANNEL) -> None:
        self._conninfo = conninfo(url)
        self._channel = channel
        self._event = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listener:
        self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await self._conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        self._reader = asyncio.create_task(self._read(self._conn))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._conn is not None:
            await self._conn.close()

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for _ in conn.notifies():
            self._event.set()

    async def wait(self) -> None:
        """Return at the next notification (at once if one came since the last wait).

        Bound the wait with ``asyncio.timeout()``; raises the connection's error if the
        LISTEN connection is lost.
        """
        reader = self._reader
        if reader is None:
            raise RuntimeError("use 'async with Listener(...)' before waiting")
        if not self._event.is_set() and not reader.done():
            waiter = asyncio.ensure_future(self._event.wait())
            try:
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
        if reader.done():
            reader.result()  # re-raise what ended the reader
            raise ConnectionError("the LISTEN connection closed")
        self._event.clear()

    def __aiter__(self) -> Listener:
        return self

    async def __anext__(self) -> None:
        await self.wait()
