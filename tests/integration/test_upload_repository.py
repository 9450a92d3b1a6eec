"""The upload-task repository (``cdnctl.core.uploads.UploadRepository``) on the in-memory
twin, SQLite and a real PostgreSQL: the compare-and-set moves and the lease that make an
expansion resumable, the listing, and pruning with the tasks' retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cdnctl.app import make_worker
from cdnctl.core.uploads import NewUpload, Progress, UploadRepository
from cdnctl.storage import open_upload_repository
from cdnctl.storage.uploads import SqlUploadRepository
from cdnctl.testing import InMemoryUploadRepository

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(backend: Any) -> UploadRepository:
    uploads = open_upload_repository(backend.open())
    expected = InMemoryUploadRepository if backend.url is None else SqlUploadRepository
    assert isinstance(uploads, expected)
    return uploads


def new(content: bytes = b"a\nb\n", *, at: datetime = NOW, site: int = 11,
        type: str = "file") -> NewUpload:
    return NewUpload("1001", site, "n", type, "http://f/x", at, content,
                     content.count(b"\n"))


async def test_lifecycle(repo: UploadRepository) -> None:
    up = await repo.create(new())
    assert (up.state, up.size, up.lines, up.force, up.created_at) == ("init", 4, 2, False, NOW)
    assert (up.cursor, up.chunk, up.errors, up.samples) == (0, 0, {}, {})
    assert await repo.get("1001", 12, up.id) is None
    assert await repo.get("1002", 11, up.id) is None
    assert await repo.lease(up.id, "w1", NOW, 60) is None  # not submitted yet
    assert await repo.submit(up.id, True, NOW)
    assert not await repo.submit(up.id, False, NOW)  # compare-and-set: once
    assert await repo.stale(NOW) == [up.id]
    held = await repo.lease(up.id, "w1", NOW, 60)
    assert held is not None
    assert held.force
    assert await repo.lease(up.id, "w2", NOW + timedelta(seconds=30), 60) is None
    assert await repo.stale(NOW) == []
    p = Progress(cursor=2, line_no=1, chunk=1, submitted=1, errors={"InvalidUrl": 1},
                 samples={"InvalidUrl": [1]})
    assert not await repo.progress(up.id, "w2", p, done=False, now=NOW, seconds=60)
    assert await repo.progress(up.id, "w1", p, done=False, now=NOW, seconds=60)
    later = NOW + timedelta(seconds=120)  # w1 died: its lease expires, w2 resumes
    assert await repo.stale(later) == [up.id]
    resumed = await repo.lease(up.id, "w2", later, 60)
    assert resumed is not None
    assert (resumed.cursor, resumed.chunk, resumed.errors, resumed.samples) == (
        2, 1, {"InvalidUrl": 1}, {"InvalidUrl": [1]})
    assert not await repo.progress(up.id, "w1", p, done=True, now=later, seconds=60)
    assert await repo.progress(up.id, "w2", p, done=True, now=later, seconds=60)
    assert await repo.stale(later + timedelta(days=1)) == []  # running: nothing to resume
    await repo.settle(up.id, "partial", 0, later)
    await repo.settle(up.id, "success", 0, later)  # compare-and-set: from running only
    final = await repo.get("1001", 11, up.id)
    assert final is not None
    assert (final.state, final.submitted) == ("partial", 1)
    assert await repo.content(up.id) == b"a\nb\n"


async def test_find_lists_a_sites_uploads_newest_first(repo: UploadRepository) -> None:
    a = await repo.create(new(at=NOW))
    b = await repo.create(new(at=NOW + timedelta(hours=1), type="preload"))
    await repo.create(new(at=NOW, site=12))
    found = await repo.find("1001", 11, type=None, created_from=NOW, created_to=None)
    assert [u.id for u in found] == [b.id, a.id]
    assert [u.id for u in await repo.find("1001", 11, type="file", created_from=NOW,
                                          created_to=None)] == [a.id]
    assert [u.id for u in await repo.find("1001", 11, type=None, created_from=NOW,
                                          created_to=NOW + timedelta(hours=1))] == [a.id]
    assert await repo.find("1002", 11, type=None, created_from=NOW, created_to=None) == []


async def test_prune_removes_old_uploads_with_their_files(repo: UploadRepository) -> None:
    old = await repo.create(new(b"x\n" * 1000, at=NOW - timedelta(days=2)))
    kept = await repo.create(new(at=NOW))
    assert await repo.prune(NOW - timedelta(days=3)) == 0
    assert await repo.prune(NOW) == 1
    assert await repo.get("1001", 11, old.id) is None
    assert await repo.get("1001", 11, kept.id) is not None
    again = await repo.create(new(at=NOW))
    assert again.id > kept.id  # ids of pruned uploads are never reused


async def test_concurrent_writers_do_not_lose_updates(repo: UploadRepository) -> None:
    """Uploads created while others are leased: every write commits (on SQLite they
    queue on the task repository's write gate, never "database is locked")."""
    ups = await asyncio.gather(*(repo.create(new(at=NOW)) for _ in range(20)))
    assert all(await asyncio.gather(*(repo.submit(u.id, False, NOW) for u in ups)))
    leased = await asyncio.gather(*(repo.lease(u.id, f"w{u.id}", NOW, 60) for u in ups))
    assert all(u is not None for u in leased)
    assert len({u.id for u in ups}) == 20


async def test_the_worker_prunes_uploads_with_the_tasks(tmp_path: Any) -> None:
    from cdnctl.app import build_runtime
    from cdnctl.config import parse
    from cdnctl.testing import FrozenClock

    clock = FrozenClock(NOW)
    settings = parse({
        "database": {"url": f"sqlite:///{tmp_path / 'prune.db'}", "retention_days": 1},
        "accounts": [{"id": "1001", "name": "acme", "tokens": ["t" * 32]}],
        "sites": [],
        "nodes": [],
    })
    rt = await build_runtime(settings, clock=clock)
    try:
        old = await rt.uploads.create(new(at=NOW - timedelta(days=2)))
        fresh = await rt.uploads.create(new(at=NOW))
        worker = make_worker(rt)
        worker._last_prune -= worker.settings.prune_interval  # due now
        await worker._housekeeping()
        assert await rt.uploads.get("1001", 11, old.id) is None
        assert await rt.uploads.get("1001", 11, fresh.id) is not None
    finally:
        await rt.aclose()
