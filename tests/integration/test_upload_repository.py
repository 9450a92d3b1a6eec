"""The upload-task repository (``_uploads.SqlUploadRepository``) on SQLite and on a real
PostgreSQL: the compare-and-set moves and the lease that make expansion resumable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from cdnctl.api.dialects.alibaba._uploads import NewUpload, Progress, SqlUploadRepository
from tests.dialects.alibaba import alibaba_sdk as sdk

PG_ADMIN = os.environ.get("CDNCTL_TEST_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def repo(request, tmp_path) -> Iterator[SqlUploadRepository]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'u.db'}")
        yield SqlUploadRepository(engine)
        engine.dispose()
        return
    name = f"cdnctl_alibaba_{os.getpid()}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        sdk.unavailable(f"PostgreSQL is not reachable at {PG_ADMIN}: {type(exc).__name__}")
    engine = create_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield SqlUploadRepository(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


async def test_lifecycle(repo):
    up = await repo.create(NewUpload("1001", 11, "n", "file", "http://f/x", NOW,
                                     b"a\nb\n", 2))
    assert (up.state, up.size, up.lines, up.force) == ("init", 4, 2, False)
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
    resumed = await repo.lease(up.id, "w2", later, 60)
    assert resumed is not None
    assert (resumed.cursor, resumed.chunk, resumed.errors) == (2, 1, {"InvalidUrl": 1})
    assert await repo.progress(up.id, "w2", p, done=True, now=later, seconds=60)
    await repo.settle(up.id, "partial", 0, later)
    final = await repo.get("1001", 11, up.id)
    assert final is not None
    assert final.state == "partial"
    assert await repo.content(up.id) == b"a\nb\n"
    found = await repo.find("1001", 11, type="file", created_from=NOW, created_to=None)
    assert [u.id for u in found] == [up.id]
    assert await repo.find("1001", 11, type="preload", created_from=NOW,
                           created_to=None) == []
    assert await repo.prune(NOW) == 0
    assert await repo.prune(NOW + timedelta(seconds=1)) == 1
    assert await repo.get("1001", 11, up.id) is None


async def test_an_accepted_upload_survives_a_restart(tmp_path):
    """An upload submitted to a process that died before expanding it is picked up by the
    next process at startup (``DIALECT.routes(runtime)`` -> ``resume_all``): its tasks are
    created from the stored file, not from anything that was in the dead process."""
    import asyncio

    from cdnctl.api.dialects.alibaba import DIALECT, _uploads
    from cdnctl.app import build_runtime
    from cdnctl.config import parse
    from cdnctl.core.ports import TaskFilter
    from cdnctl.storage import create_engine as storage_engine
    from cdnctl.storage.migrations import upgrade

    db = tmp_path / "restart.db"
    engine = storage_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    settings = parse(sdk.settings_data(db, "http://127.0.0.1:9"))
    first = await build_runtime(settings)
    repo = _uploads.repository(first)
    up = await repo.create(NewUpload("1001", 12, "n", "file", "http://f/x", first.clock.now(),
                                     b"http://sim.example.com/1\nbad line\n", 2))
    assert await repo.submit(up.id, False, first.clock.now())
    await first.aclose()  # the process dies before expanding

    second = await build_runtime(settings)
    try:
        DIALECT.routes(second)  # what create_app does at startup
        account = second.directory.account("1001")
        assert account is not None
        for _ in range(100):
            current = await _uploads.repository(second).get("1001", 12, up.id)
            if current is not None and current.state == _uploads.RUNNING:
                break
            await asyncio.sleep(0.05)
        assert current is not None
        assert (current.state, current.submitted, current.errors) == (
            "running", 1, {"InvalidUrl": 1})
        src = f"alibaba-esa:12:upload:{up.id}"
        assert await second.service.count(TaskFilter(account_id="1001", sources=[src])) == 1
    finally:
        await second.aclose()
