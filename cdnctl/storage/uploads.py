"""SqlUploadRepository: the UploadRepository port (``cdnctl.core.uploads``) on the task
repository's database.

It runs on the :class:`~cdnctl.storage.repository.SqlTaskRepository`'s engine, thread
pool and write gate (every write a ``BEGIN IMMEDIATE`` transaction on SQLite), so upload
writes queue behind task writes instead of racing them. The tables are created by
migration 4 (``upload_tasks``, ``upload_files``); every state change is a
compare-and-set on ``state`` (and on the lease owner while expanding).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select, update

from cdnctl.core.errors import NotFoundError
from cdnctl.core.uploads import ACTIVATED, INIT, RUNNING, NewUpload, Progress, Upload
from cdnctl.storage._queue import chunked
from cdnctl.storage.repository import SqlTaskRepository
from cdnctl.storage.schema import upload_files, upload_tasks

__all__ = ["SqlUploadRepository"]

_T = TypeVar("_T")
_u = upload_tasks.c
#: Every column a caller sees (not the lease, not ``updated_at``).
_SUMMARY = [c for c in upload_tasks.c if c.name not in ("lease_owner", "lease_until",
                                                          "updated_at")]


def _upload(row: Any) -> Upload:
    m = row._mapping
    return Upload(id=m["id"], account_id=m["account_id"], site_id=m["site_id"], name=m["name"],
                  type=m["type"], url=m["url"], created_at=m["created_at"], state=m["state"],
                  force=bool(m["force"]), size=m["size"], lines=m["lines"], cursor=m["cursor"],
                  line_no=m["line_no"], chunk=m["chunk"], submitted=m["submitted"],
                  failed_children=m["failed_children"], errors=dict(m["errors"]),
                  samples={k: list(v) for k, v in m["samples"].items()})


def _free(now: datetime) -> Any:
    return _u.lease_until.is_(None) | (_u.lease_until < now)


class SqlUploadRepository:
    """:class:`~cdnctl.core.uploads.UploadRepository` sharing a SqlTaskRepository's
    database; build it with :func:`cdnctl.storage.open_upload_repository`."""

    def __init__(self, tasks: SqlTaskRepository) -> None:
        self._tasks = tasks

    async def _run(self, fn: Callable[[Connection], _T], *, write: bool) -> _T:
        return await self._tasks.run(fn, write=write)

    async def create(self, new: NewUpload) -> Upload:
        def run(conn: Connection) -> Upload:
            result = conn.execute(insert(upload_tasks).values(
                account_id=new.account_id, site_id=new.site_id, name=new.name, type=new.type,
                url=new.url, created_at=new.created_at, updated_at=new.created_at, state=INIT,
                force=False, size=len(new.content), lines=new.lines, cursor=0, line_no=0,
                chunk=0, submitted=0, failed_children=0, errors={}, samples={},
            ))
            key = result.inserted_primary_key
            assert key is not None
            upload_id = key[0]
            conn.execute(insert(upload_files).values(upload_id=upload_id, content=new.content))
            return _upload(conn.execute(select(*_SUMMARY).where(_u.id == upload_id)).one())

        return await self._run(run, write=True)

    async def get(self, account_id: str, site_id: int, upload_id: int) -> Upload | None:
        stmt = select(*_SUMMARY).where(_u.id == upload_id, _u.account_id == account_id,
                                       _u.site_id == site_id)

        def run(conn: Connection) -> Upload | None:
            row = conn.execute(stmt).first()
            return _upload(row) if row is not None else None

        return await self._run(run, write=False)

    async def find(self, account_id: str, site_id: int, *, type: str | None,
                   created_from: datetime, created_to: datetime | None) -> list[Upload]:
        stmt = select(*_SUMMARY).where(_u.account_id == account_id, _u.site_id == site_id,
                                       _u.created_at >= created_from)
        if created_to is not None:
            stmt = stmt.where(_u.created_at < created_to)
        if type is not None:
            stmt = stmt.where(_u.type == type)
        stmt = stmt.order_by(_u.id.desc())
        return await self._run(lambda conn: [_upload(r) for r in conn.execute(stmt)],
                               write=False)

    async def content(self, upload_id: int) -> bytes:
        stmt = select(upload_files.c.content).where(upload_files.c.upload_id == upload_id)

        def run(conn: Connection) -> bytes:
            content = conn.execute(stmt).scalar_one_or_none()
            if content is None:
                raise NotFoundError(f"upload {upload_id} not found")
            return bytes(content)

        return await self._run(run, write=False)

    async def submit(self, upload_id: int, force: bool, now: datetime) -> bool:
        stmt = (update(upload_tasks).where(_u.id == upload_id, _u.state == INIT)
                .values(state=ACTIVATED, force=force, updated_at=now))
        return await self._run(lambda conn: bool(conn.execute(stmt).rowcount), write=True)

    async def lease(self, upload_id: int, owner: str, now: datetime,
                    seconds: float) -> Upload | None:
        take = (update(upload_tasks)
                .where(_u.id == upload_id, _u.state == ACTIVATED, _free(now))
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds)))

        def run(conn: Connection) -> Upload | None:
            if not conn.execute(take).rowcount:
                return None
            return _upload(conn.execute(select(*_SUMMARY).where(_u.id == upload_id)).one())

        return await self._run(run, write=True)

    async def progress(self, upload_id: int, owner: str, p: Progress, *, done: bool,
                       now: datetime, seconds: float) -> bool:
        values: dict[str, Any] = {
            "cursor": p.cursor, "line_no": p.line_no, "chunk": p.chunk,
            "submitted": p.submitted, "errors": p.errors, "samples": p.samples,
            "updated_at": now, "lease_until": now + timedelta(seconds=seconds)}
        if done:
            values.update(state=RUNNING, lease_owner=None, lease_until=None)
        stmt = (update(upload_tasks)
                .where(_u.id == upload_id, _u.state == ACTIVATED, _u.lease_owner == owner)
                .values(**values))
        return await self._run(lambda conn: bool(conn.execute(stmt).rowcount), write=True)

    async def settle(self, upload_id: int, state: str, failed_children: int,
                     now: datetime) -> None:
        stmt = (update(upload_tasks).where(_u.id == upload_id, _u.state == RUNNING)
                .values(state=state, failed_children=failed_children, updated_at=now))
        await self._run(lambda conn: conn.execute(stmt), write=True)

    async def stale(self, now: datetime) -> list[int]:
        stmt = select(_u.id).where(_u.state == ACTIVATED, _free(now)).order_by(_u.id)
        return await self._run(lambda conn: [int(i) for i in conn.execute(stmt).scalars()],
                               write=False)

    async def prune(self, before: datetime) -> int:
        def run(conn: Connection) -> int:
            ids = list(conn.execute(select(_u.id).where(_u.created_at < before)).scalars())
            for part in chunked(ids):
                # Children first: no reliance on ON DELETE CASCADE being enforced.
                conn.execute(delete(upload_files).where(upload_files.c.upload_id.in_(part)))
                conn.execute(delete(upload_tasks).where(_u.id.in_(part)))
            return len(ids)

        return await self._run(run, write=True)
