"""Short SQLite transactions on the calling thread, when they would not have to wait.

Handing a transaction to the repository's thread pool costs about 0.2 ms (a worker
thread is woken, then the event loop), more than SQLite needs for the small
transactions on the fan-out path (commit one submission, record one fan-out, read one
task). :class:`InlineRunner` runs such a transaction on the caller's thread instead,
but only when it cannot block: the process's write gate is *tried*, never waited for,
and its connection has ``busy_timeout = 0``, so while another thread or process holds
SQLite's write lock, ``BEGIN IMMEDIATE`` fails at once with ``SQLITE_BUSY``, the
transaction is rolled back, and :meth:`InlineRunner.run` returns :data:`BUSY` for the
caller to run it on the pool, where it waits its turn as before. The event loop thus
spends CPU on SQLite (microseconds to a millisecond or two, bounded by the callers'
size limits) but never sleeps on a lock, nor on the disk: this connection never
checkpoints the WAL (that copies pages into the database and fsyncs); every
:data:`CHECKPOINT_EVERY` commits it asks the repository to checkpoint on its pool.

PostgreSQL has no such path: every statement is a network round trip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from cdnctl.storage import _sqlite

_T = TypeVar("_T")
#: Inline commits between two WAL checkpoints (run on the pool). A small commit writes
#: 10-20 pages; SQLite's own default is a checkpoint every 1,000.
CHECKPOINT_EVERY = 64


class _Busy:
    def __repr__(self) -> str:
        return "BUSY"


#: Returned by :meth:`InlineRunner.run` when the transaction would have had to wait.
BUSY: Final = _Busy()


class InlineRunner:
    """One dedicated SQLite connection for non-blocking transactions (see module doc)."""

    def __init__(self, engine: Engine, gate: threading.Lock,
                 checkpoint: Callable[[], None]) -> None:
        self._engine = _sqlite.make_engine(engine.url, pool_size=1)
        self._gate = gate  # the repository's write gate: one writer per process
        self._checkpoint = checkpoint  # runs a WAL checkpoint off this thread
        self._mine = threading.Lock()  # the connection is used by one thread at a time
        self._conn: Connection | None = None
        self._writes = 0  # commits since the last checkpoint was asked for

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self._engine.connect()
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            # A commit that passes wal_autocheckpoint pages would copy the WAL into the
            # database and fsync both, here on the event loop: this connection never
            # checkpoints; every CHECKPOINT_EVERY commits it asks the pool to.
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            conn.commit()
            self._conn = conn
        return self._conn

    def run(self, fn: Callable[[Connection], _T], *, write: bool) -> _T | _Busy:
        """``fn`` in one transaction here and now, or :data:`BUSY` (nothing done)."""
        if not self._mine.acquire(blocking=False):
            return BUSY
        try:
            gate = self._gate if write else None
            if gate is not None and not gate.acquire(blocking=False):
                return BUSY
            try:
                conn = self._connection()
                conn.execution_options(**{_sqlite.WRITE: write, _sqlite.NO_WAIT: True})
                try:
                    with conn.begin():
                        done = fn(conn)
                    if write:
                        self._wrote()
                    return done
                except OperationalError as exc:
                    if _sqlite.must_wait(exc):
                        return BUSY  # rolled back by the context manager: nothing done
                    raise
            finally:
                if gate is not None:
                    gate.release()
        finally:
            self._mine.release()

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes >= CHECKPOINT_EVERY:
            self._writes = 0
            self._checkpoint()

    def close(self) -> None:
        with self._mine:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._engine.dispose()
