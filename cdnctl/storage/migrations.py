"""A small versioned migration runner (``cdnctl db upgrade`` and server start call it).

A migration is a SQL file per dialect in ``cdnctl/storage/versions/``, named
``NNNN_<name>.<dialect>.sql`` (dialect ``sqlite`` or ``postgresql``), statements
separated by ``;`` at the end of a line. Each is applied inside ONE transaction
together with its ``schema_version`` row, so a database is always at a whole version.
That transaction first takes a lock — a PostgreSQL transaction-level advisory lock,
SQLite's write lock via ``BEGIN IMMEDIATE`` — so two processes starting at once apply
each migration exactly once: the second waits, then finds nothing to do.

Migrations are append-only and frozen once released: version 1 is the DDL that
``metadata.create_all()`` emitted for the first schema. A change to ``schema.py``
needs a new version with the ``ALTER``/``CREATE`` statements for both dialects;
``tests/migration`` fails until the migrated schema equals ``metadata.create_all()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from sqlalchemy import Engine, func, select

from cdnctl.storage import _sqlite
from cdnctl.storage.schema import schema_version

__all__ = ["Migration", "current_version", "migrations", "upgrade"]

#: Key of the PostgreSQL advisory lock held while migrating ("cdnctl" in ASCII).
ADVISORY_LOCK_KEY = 0x63646E63746C
_FILE = re.compile(r"^(\d{4})_(\w+)\.(sqlite|postgresql)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    def statements(self) -> list[str]:
        return [s.strip() for s in re.split(r";\s*$", self.sql, flags=re.M) if _has_code(s)]


def _has_code(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def migrations(dialect: str) -> list[Migration]:
    """Every migration for ``dialect`` ("sqlite" or "postgresql"), oldest first."""
    found = []
    for entry in resources.files("cdnctl.storage").joinpath("versions").iterdir():
        m = _FILE.match(entry.name)
        if m and m.group(3) == dialect:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    if [mig.version for mig in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration versions for {dialect} must be 1..n without gaps")
    return found


def _write_engine(engine: Engine) -> Engine:
    if engine.dialect.name == "sqlite":
        _sqlite.configure(engine)
        return engine.execution_options(**{_sqlite.WRITE: True})
    return engine


def upgrade(engine: Engine, *, to: int | None = None) -> list[str]:
    """Apply the migrations the database lacks (up to version ``to``, default: the
    latest); return their names (empty if none)."""
    applied: list[str] = []
    with _write_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
        schema_version.create(conn, checkfirst=True)
        done = set(conn.execute(select(schema_version.c.version)).scalars())
        known = migrations(conn.dialect.name)
        if done and max(done) > len(known):
            raise RuntimeError(
                f"the database schema is at version {max(done)}, newer than this cdnctl "
                f"knows ({len(known)}); upgrade cdnctl")
        for mig in known:
            if mig.version in done or (to is not None and mig.version > to):
                continue
            for statement in mig.statements():
                conn.exec_driver_sql(statement)
            conn.execute(schema_version.insert().values(
                version=mig.version, name=mig.name, applied_at=datetime.now(UTC)))
            applied.append(mig.label)
    return applied


def current_version(engine: Engine) -> int | None:
    """The database's schema version, or None if it was never migrated."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, schema_version.name):
            return None
        version: int | None = conn.execute(select(func.max(schema_version.c.version))).scalar()
        return version
