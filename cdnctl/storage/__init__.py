"""Storage: the TaskRepository port on SQLite or PostgreSQL, chosen by URL.

::

    repo = open_repository("sqlite:///var/cdnctl.db")            # embedded default (WAL)
    repo = open_repository("postgresql://cdnctl@db/cdnctl")      # production (psycopg 3)
    repo = open_repository("memory://")                          # the pure-Python twin
    uploads = open_upload_repository(repo)                        # upload tasks, same database

Run :func:`cdnctl.storage.migrations.upgrade` (``cdnctl db upgrade``) before serving,
or pass ``migrate=True``. SQLAlchemy is imported lazily, so the pure modules of this
package (``_rules``) stay importable without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cdnctl.core.ports import TaskRepository
    from cdnctl.core.uploads import UploadRepository

__all__ = ["create_engine", "open_repository", "open_upload_repository"]

_POSTGRES_SCHEMES = ("postgresql", "postgres")


def create_engine(url: str, *, pool_size: int = 4) -> Engine:
    """A configured engine for a ``sqlite:///`` or ``postgresql[+psycopg]://`` URL.

    SQLite gets WAL and the ``BEGIN IMMEDIATE`` hooks; PostgreSQL the psycopg 3 driver
    with a connection pool of ``pool_size``.
    """
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    scheme = parsed.get_backend_name()
    if scheme == "sqlite":
        from cdnctl.storage import _sqlite

        if parsed.get_driver_name() not in ("pysqlite", ""):
            raise ValueError(f"unsupported SQLite driver in {url!r}; use sqlite:///path.db")
        return _sqlite.make_engine(parsed, pool_size=pool_size)
    if scheme in _POSTGRES_SCHEMES:
        from cdnctl.storage import _postgres  # needs the "postgres" extra (psycopg 3)

        return _postgres.make_engine(parsed, pool_size=pool_size)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///, postgresql:// or memory://")


def open_repository(url: str, **opts: Any) -> TaskRepository:
    """The repository for ``url``.

    Options: ``pool_size`` (database connections, and threads running statements;
    default 4), ``migrate`` (apply pending migrations first; default False).
    ``memory://`` returns :class:`cdnctl.testing.InMemoryTaskRepository`.
    """
    pool_size = int(opts.pop("pool_size", 4))
    migrate = bool(opts.pop("migrate", False))
    if opts:
        raise TypeError(f"unknown repository options: {', '.join(sorted(opts))}")
    if url.startswith("memory://"):
        from cdnctl.testing import InMemoryTaskRepository

        return InMemoryTaskRepository()

    from cdnctl.storage import migrations
    from cdnctl.storage.repository import SqlTaskRepository

    engine = create_engine(url, pool_size=pool_size)
    if migrate:
        migrations.upgrade(engine)
    return SqlTaskRepository(engine, threads=pool_size)


def open_upload_repository(repo: TaskRepository) -> UploadRepository:
    """The upload-task repository on ``repo``'s database (its engine, threads and write
    gate): a SQL repository for a SQL one, the in-memory twin for ``memory://``."""
    from cdnctl.storage.repository import SqlTaskRepository

    if isinstance(repo, SqlTaskRepository):
        from cdnctl.storage.uploads import SqlUploadRepository

        return SqlUploadRepository(repo)
    from cdnctl.testing import InMemoryTaskRepository, InMemoryUploadRepository

    if isinstance(repo, InMemoryTaskRepository):
        return InMemoryUploadRepository()
    raise TypeError(f"no upload repository for {type(repo).__name__}")
