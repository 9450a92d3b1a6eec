"""What differs between SQLite and PostgreSQL, as a Protocol the two modules implement.

``_sqlite`` and ``_postgres`` are plain modules; :func:`backend_for` picks one for an
engine (importing ``_postgres``, hence psycopg, only for PostgreSQL), and the repository
calls only what :class:`Backend` lists.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, Table

from cdnctl.storage import _sqlite


class Backend(Protocol):
    #: One writer at a time (SQLite): serialise this process's write transactions.
    SERIALIZE_WRITES: bool
    #: Execution options of a read transaction that must see one snapshot across several
    #: statements (a page and its total).
    SNAPSHOT_OPTIONS: dict[str, Any]
    #: Execution options of a read that is one statement (no transaction needed).
    STATEMENT_OPTIONS: dict[str, Any]

    def allocate_task_ids(self, conn: Connection, n: int) -> list[int]: ...

    def bulk_insert(
        self, conn: Connection, table: Table, columns: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None: ...

    def upsert(self, table: Table) -> Any: ...

    def contains(self, column: Any, value: str) -> Any: ...

    def steer_window(
        self, terms: list[ColumnElement[bool]], walk_ids: bool
    ) -> tuple[list[ColumnElement[bool]], ColumnElement[Any]]: ...

    def checkpoint(self, engine: Engine) -> int:
        """Copy the write-ahead log into the database if the backend keeps one (SQLite);
        the frames the log holds afterwards."""
        ...

    def notify_work(self, conn: Connection) -> None: ...

    def is_retryable(self, exc: BaseException) -> bool: ...


def backend_for(engine: Engine) -> Backend:
    if engine.dialect.name == "sqlite":
        _sqlite.configure(engine)
        return _sqlite
    if engine.dialect.name == "postgresql":
        from cdnctl.storage import _postgres  # psycopg is an optional dependency

        return _postgres
    raise ValueError(f"unsupported database dialect {engine.dialect.name!r}")
