"""Statements sent straight to the DB-API driver, inside SQLAlchemy's transaction.

On the fan-out path (commit a submission, record a fan-out) SQLAlchemy's per-statement
work (cache key, execution context, result wrapping, per-value bind processing) costs
several times what SQLite takes to run the statement. The few statements there are
written once as SQL in ``?`` style, valid on SQLite and PostgreSQL alike, and run on
the transaction's own driver connection (``sqlite3`` or ``psycopg``); values are
converted here the way the column types would convert them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, LiteralString

from sqlalchemy import Connection

from cdnctl.storage.schema import UTCDateTime


@functools.cache
def _in_style(sql: LiteralString, paramstyle: str) -> str:
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


def statement(conn: Connection, sql: LiteralString) -> str:
    """``sql`` (written with ``?``) in the connection's driver parameter style."""
    return _in_style(sql, conn.dialect.paramstyle)


def execute(conn: Connection, sql: LiteralString, params: Sequence[Any] = ()) -> list[Any]:
    """Run one statement on the driver connection; its rows (tuples), if any."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement(conn, sql), params)
        return cursor.fetchall() if cursor.description is not None else []
    finally:
        cursor.close()


def executemany(conn: Connection, sql: LiteralString, rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(statement(conn, sql), rows)
    finally:
        cursor.close()


def for_update(conn: Connection) -> str:
    """`` FOR UPDATE`` where rows can be locked (PostgreSQL); SQLite's write lock is the
    whole database, taken by ``BEGIN IMMEDIATE``."""
    return " FOR UPDATE" if conn.dialect.name == "postgresql" else ""


_TIME = UTCDateTime()


def time_binder(conn: Connection) -> Callable[[datetime | None], Any]:
    """How a UTCDateTime column binds a time on this connection's dialect."""
    dialect = conn.dialect
    process = _TIME.process_bind_param

    def bind(value: datetime | None) -> Any:
        return process(value, dialect)

    return bind


@functools.cache
def _processors(dialect: Any,
                columns: tuple[Any, ...]) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)


def converter(conn: Connection,
              columns: Sequence[Any]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """Turn a driver row of ``columns`` into the values a SQLAlchemy result would hold
    (each column type's result processor: times, JSON), for statements run here."""
    procs = _processors(conn.dialect, tuple(columns))

    def convert(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(v if p is None or v is None else p(v)
                     for p, v in zip(procs, row, strict=True))

    return convert
