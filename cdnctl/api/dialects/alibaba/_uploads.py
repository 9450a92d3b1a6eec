"""Upload tasks (ESA ``UploadFile``): the port and its SQL implementation.

An upload task is a URL-list file accepted from a client, then expanded in chunks into
cdnctl jobs once submitted. Everything a client was told was accepted is in the
database: the file itself, the expansion cursor (so a restarted server resumes where
it stopped; each chunk is submitted with an idempotency key, so a replayed chunk never
duplicates tasks), the per-line error counters, and a lease so that one process at a
time expands a given upload.

This module is temporary residence: :class:`UploadRepository` belongs in
``cdnctl.core.ports`` and :class:`SqlUploadRepository` (SQLAlchemy Core, same
database as the task repository) in ``cdnctl.storage``; dialects must not keep SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from cdnctl.app import Runtime

_T = TypeVar("_T")
#: Expansion states, then the terminal ones. ``activacted`` is Alibaba's spelling.
INIT, ACTIVATED, RUNNING = "init", "activacted", "running"
SUCCESS, PARTIAL, FAIL = "success", "partial", "fail"
TERMINAL = frozenset({SUCCESS, PARTIAL, FAIL})
#: sqlite: the task repository's engine option asking for ``BEGIN IMMEDIATE``.
_SQLITE_WRITE = "cdnctl_write"


@dataclass(frozen=True, slots=True)
class NewUpload:
    account_id: str
    site_id: int
    name: str
    type: str  # file | preload | directory | ignoreparams
    url: str
    created_at: datetime
    content: bytes
    lines: int


@dataclass(frozen=True, slots=True)
class Upload:
    id: int
    account_id: str
    site_id: int
    name: str
    type: str
    url: str
    created_at: datetime
    state: str
    force: bool
    size: int
    lines: int
    cursor: int  # bytes of the file already expanded
    line_no: int  # lines already expanded
    chunk: int  # chunks already submitted (the next idempotency key)
    submitted: int  # tasks created
    failed_children: int  # set when the upload settles
    errors: dict[str, int] = field(default_factory=dict)  # ErrorCode -> lines
    samples: dict[str, list[int]] = field(default_factory=dict)  # ErrorCode -> line numbers


@dataclass(frozen=True, slots=True)
class Progress:
    cursor: int
    line_no: int
    chunk: int
    submitted: int
    errors: dict[str, int]
    samples: dict[str, list[int]]


class UploadRepository(Protocol):
    async def create(self, new: NewUpload) -> Upload: ...

    async def get(self, account_id: str, site_id: int, upload_id: int) -> Upload | None: ...

    async def find(self, account_id: str, site_id: int, *, type: str | None,
                   created_from: datetime, created_to: datetime | None) -> list[Upload]: ...

    async def content(self, upload_id: int) -> bytes: ...

    async def submit(self, upload_id: int, force: bool, now: datetime) -> bool:
        """``init`` -> ``activacted`` (compare-and-set); False if it was not ``init``."""
        ...

    async def lease(self, upload_id: int, owner: str, now: datetime,
                    seconds: float) -> Upload | None:
        """Take the expansion lease of an ``activacted`` upload whose lease is free."""
        ...

    async def progress(self, upload_id: int, owner: str, p: Progress, *, done: bool,
                       now: datetime, seconds: float) -> bool:
        """Record expansion progress (renewing the lease); ``done`` -> ``running``."""
        ...

    async def settle(self, upload_id: int, state: str, failed_children: int,
                     now: datetime) -> None:
        """``running`` -> a terminal state (compare-and-set)."""
        ...

    async def stale(self, now: datetime) -> list[int]:
        """``activacted`` uploads nobody holds a lease on (to resume after a restart)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete uploads (and their files) created before ``before``."""
        ...


class _UTC(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


metadata = MetaData()
uploads = Table(
    "alibaba_esa_uploads", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("account_id", String(32), nullable=False, index=True),
    Column("site_id", BigInteger, nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("created_at", _UTC, nullable=False, index=True),
    Column("updated_at", _UTC, nullable=False),
    Column("state", String(16), nullable=False),
    Column("force", Boolean, nullable=False, default=False),
    Column("size", BigInteger, nullable=False),
    Column("lines", BigInteger, nullable=False),
    Column("cursor", BigInteger, nullable=False, default=0),
    Column("line_no", BigInteger, nullable=False, default=0),
    Column("chunk", Integer, nullable=False, default=0),
    Column("submitted", BigInteger, nullable=False, default=0),
    Column("failed_children", BigInteger, nullable=False, default=0),
    Column("errors", Text, nullable=False, default="{}"),
    Column("samples", Text, nullable=False, default="{}"),
    Column("lease_owner", String(64)),
    Column("lease_until", _UTC),
)
upload_files = Table(
    "alibaba_esa_upload_files", metadata,
    Column("upload_id", BigInteger().with_variant(Integer, "sqlite"),
           ForeignKey("alibaba_esa_uploads.id", ondelete="CASCADE"), primary_key=True),
    Column("content", LargeBinary, nullable=False),
)
_SUMMARY = [c for c in uploads.c if c.name not in ("lease_owner", "lease_until", "updated_at")]


def _row(row: Any) -> Upload:
    m = row._mapping
    return Upload(id=m["id"], account_id=m["account_id"], site_id=m["site_id"], name=m["name"],
                  type=m["type"], url=m["url"], created_at=m["created_at"], state=m["state"],
                  force=bool(m["force"]), size=m["size"], lines=m["lines"], cursor=m["cursor"],
                  line_no=m["line_no"], chunk=m["chunk"], submitted=m["submitted"],
                  failed_children=m["failed_children"], errors=json.loads(m["errors"]),
                  samples=json.loads(m["samples"]))


class SqlUploadRepository:
    """:class:`UploadRepository` on SQLAlchemy Core; statements run in worker threads."""

    def __init__(self, engine: Engine, *, serialize: bool = False) -> None:
        self.engine = engine
        # one shared connection (in-memory SQLite) must not be used by two threads at once
        self._lock = threading.Lock() if serialize else None
        self._writer = (engine.execution_options(**{_SQLITE_WRITE: True})
                        if engine.dialect.name == "sqlite" else engine)
        self._ready = False
        self._schema_lock = threading.Lock()

    async def _run(self, fn: Callable[[Connection], _T], *, write: bool = False) -> _T:
        def work() -> _T:
            with self._lock or contextlib.nullcontext():
                if not self._ready:
                    with self._schema_lock:
                        if not self._ready:
                            # On the write engine: SQLite then takes the write lock up
                            # front (BEGIN IMMEDIATE) instead of failing on the upgrade.
                            with self._writer.begin() as conn:
                                metadata.create_all(conn, checkfirst=True)
                            self._ready = True
                with (self._writer if write else self.engine).begin() as conn:
                    return fn(conn)
        return await asyncio.to_thread(work)

    async def create(self, new: NewUpload) -> Upload:
        def run(conn: Connection) -> Upload:
            result = conn.execute(insert(uploads).values(
                account_id=new.account_id, site_id=new.site_id, name=new.name, type=new.type,
                url=new.url, created_at=new.created_at, updated_at=new.created_at, state=INIT,
                force=False, size=len(new.content), lines=new.lines, cursor=0, line_no=0,
                chunk=0, submitted=0, failed_children=0, errors="{}", samples="{}",
            ))
            key = result.inserted_primary_key
            assert key is not None
            upload_id = key[0]
            conn.execute(insert(upload_files).values(upload_id=upload_id, content=new.content))
            return _row(conn.execute(select(*_SUMMARY).where(uploads.c.id == upload_id)).one())
        return await self._run(run, write=True)

    async def get(self, account_id: str, site_id: int, upload_id: int) -> Upload | None:
        def run(conn: Connection) -> Upload | None:
            row = conn.execute(select(*_SUMMARY).where(
                uploads.c.id == upload_id, uploads.c.account_id == account_id,
                uploads.c.site_id == site_id)).first()
            return _row(row) if row is not None else None
        return await self._run(run)

    async def find(self, account_id: str, site_id: int, *, type: str | None,
                   created_from: datetime, created_to: datetime | None) -> list[Upload]:
        def run(conn: Connection) -> list[Upload]:
            q = select(*_SUMMARY).where(uploads.c.account_id == account_id,
                                        uploads.c.site_id == site_id,
                                        uploads.c.created_at >= created_from)
            if created_to is not None:
                q = q.where(uploads.c.created_at < created_to)
            if type is not None:
                q = q.where(uploads.c.type == type)
            return [_row(r) for r in conn.execute(q.order_by(uploads.c.id.desc()))]
        return await self._run(run)

    async def content(self, upload_id: int) -> bytes:
        def run(conn: Connection) -> bytes:
            return bytes(conn.execute(select(upload_files.c.content).where(
                upload_files.c.upload_id == upload_id)).scalar_one())
        return await self._run(run)

    async def submit(self, upload_id: int, force: bool, now: datetime) -> bool:
        def run(conn: Connection) -> bool:
            result = conn.execute(update(uploads).where(
                uploads.c.id == upload_id, uploads.c.state == INIT,
            ).values(state=ACTIVATED, force=force, updated_at=now))
            return bool(result.rowcount)
        return await self._run(run, write=True)

    async def lease(self, upload_id: int, owner: str, now: datetime,
                    seconds: float) -> Upload | None:
        def run(conn: Connection) -> Upload | None:
            free = (uploads.c.lease_until.is_(None)) | (uploads.c.lease_until < now)
            result = conn.execute(update(uploads).where(
                uploads.c.id == upload_id, uploads.c.state == ACTIVATED, free,
            ).values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))
            if not result.rowcount:
                return None
            return _row(conn.execute(select(*_SUMMARY).where(uploads.c.id == upload_id)).one())
        return await self._run(run, write=True)

    async def progress(self, upload_id: int, owner: str, p: Progress, *, done: bool,
                       now: datetime, seconds: float) -> bool:
        def run(conn: Connection) -> bool:
            values: dict[str, Any] = {
                "cursor": p.cursor, "line_no": p.line_no, "chunk": p.chunk,
                "submitted": p.submitted, "errors": json.dumps(p.errors),
                "samples": json.dumps(p.samples), "updated_at": now,
                "lease_until": now + timedelta(seconds=seconds)}
            if done:
                values.update(state=RUNNING, lease_owner=None, lease_until=None)
            result = conn.execute(update(uploads).where(
                uploads.c.id == upload_id, uploads.c.state == ACTIVATED,
                uploads.c.lease_owner == owner).values(**values))
            return bool(result.rowcount)
        return await self._run(run, write=True)

    async def settle(self, upload_id: int, state: str, failed_children: int,
                     now: datetime) -> None:
        def run(conn: Connection) -> None:
            conn.execute(update(uploads).where(
                uploads.c.id == upload_id, uploads.c.state == RUNNING,
            ).values(state=state, failed_children=failed_children, updated_at=now))
        await self._run(run, write=True)

    async def stale(self, now: datetime) -> list[int]:
        def run(conn: Connection) -> list[int]:
            free = (uploads.c.lease_until.is_(None)) | (uploads.c.lease_until < now)
            return [int(i) for i in conn.execute(select(uploads.c.id).where(
                uploads.c.state == ACTIVATED, free)).scalars()]
        return await self._run(run)

    async def prune(self, before: datetime) -> int:
        def run(conn: Connection) -> int:
            old = select(uploads.c.id).where(uploads.c.created_at < before)
            conn.execute(delete(upload_files).where(upload_files.c.upload_id.in_(old)))
            return int(conn.execute(delete(uploads).where(
                uploads.c.created_at < before)).rowcount)
        return await self._run(run, write=True)


_REPOS: dict[int, tuple[weakref.ref[Runtime], SqlUploadRepository]] = {}


def repository(runtime: Runtime) -> SqlUploadRepository:
    """The upload repository on the runtime's database (one per runtime).

    Uses the task repository's engine when it has one (same database, same
    connection settings); a memory-only runtime gets an in-memory SQLite database.
    """
    key = id(runtime)
    found = _REPOS.get(key)
    if found is not None and found[0]() is runtime:
        return found[1]
    engine = getattr(runtime.repo, "engine", None)
    memory = not isinstance(engine, Engine)
    if memory:
        engine = create_engine("sqlite://", poolclass=StaticPool,
                               connect_args={"check_same_thread": False})
    assert isinstance(engine, Engine)
    repo = SqlUploadRepository(engine, serialize=memory)
    _REPOS[key] = (weakref.ref(runtime, lambda _ref: _REPOS.pop(key, None)), repo)
    return repo
