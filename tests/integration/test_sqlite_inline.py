"""Small SQLite transactions run on the event loop's thread only when they cannot wait.

Real SQLite files; a second ``sqlite3`` connection (as another process would) holds the
database's write lock to prove the loop never sleeps on it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection

from cdnctl.storage import open_repository
from cdnctl.storage import repository as repository_module
from cdnctl.storage._inline import BUSY, CHECKPOINT_EVERY, InlineRunner
from cdnctl.storage._sqlite import must_wait
from cdnctl.storage.repository import SqlTaskRepository
from tests.integration.test_repository_contract import job, task


def _repo(path: Path) -> SqlTaskRepository:
    repo = open_repository(f"sqlite:///{path}", migrate=True)
    assert isinstance(repo, SqlTaskRepository)
    return repo


def test_runs_on_the_calling_thread_and_commits(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "a.db")
    runner = InlineRunner(repo.engine, threading.Lock(), lambda: None)
    seen: list[int] = []

    def write(conn: Connection) -> int:
        seen.append(threading.get_ident())
        conn.exec_driver_sql("INSERT INTO accounts (id, name) VALUES ('1', 'acme')")
        return 7

    assert runner.run(write, write=True) == 7
    assert seen == [threading.get_ident()]
    with sqlite3.connect(tmp_path / "a.db") as other:
        assert other.execute("SELECT name FROM accounts").fetchall() == [("acme",)]
    runner.close()


def test_busy_at_once_while_another_connection_or_thread_writes(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "b.db")
    gate = threading.Lock()
    runner = InlineRunner(repo.engine, gate, lambda: None)
    called: list[bool] = []

    def write(conn: Connection) -> None:
        called.append(True)

    other = sqlite3.connect(tmp_path / "b.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    t0 = time.perf_counter()
    assert runner.run(write, write=True) is BUSY
    assert time.perf_counter() - t0 < 0.1  # no busy_timeout wait
    assert runner.run(lambda conn: 1, write=False) == 1  # WAL readers never wait
    other.execute("ROLLBACK")
    with gate:  # a pool thread of this process is writing
        assert runner.run(write, write=True) is BUSY
    assert called == []
    assert runner.run(write, write=True) is None
    assert called == [True]
    runner.close()


async def test_a_submission_during_a_foreign_write_waits_off_the_loop(tmp_path: Path) -> None:
    """While another process holds the write lock, create_job goes to the pool and the
    event loop keeps running; the job commits once the lock is released."""
    repo = _repo(tmp_path / "c.db")
    other = sqlite3.connect(tmp_path / "c.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    release = asyncio.get_running_loop().call_later(0.3, other.execute, "ROLLBACK")
    t0 = time.perf_counter()
    _, (created,), fresh = await repo.create_job(job(), [task()], [])
    waited = time.perf_counter() - t0
    ticking.cancel()
    release.cancel()
    assert fresh
    assert waited >= 0.25
    assert ticks >= 10  # the loop ran while the submission waited for the lock
    assert await repo.get_task("acme", created.id) == created
    await repo.close()


def test_a_writer_waits_for_another_process_by_polling(tmp_path: Path) -> None:
    """A pool transaction waits for a foreign write lock (busy_timeout 0 while polling),
    gets it soon after release, and leaves the connection's busy_timeout as it was."""
    repo = _repo(tmp_path / "d.db")
    other = sqlite3.connect(tmp_path / "d.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        time.sleep(0.3)
        other.execute("ROLLBACK")
        released.set()

    threading.Thread(target=release).start()

    def write(conn: Connection) -> int:
        assert released.is_set()
        conn.exec_driver_sql("INSERT INTO accounts (id, name) VALUES ('9', 'late')")
        return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())

    t0 = time.perf_counter()
    assert repo._transaction(write, True) == 30_000
    assert 0.25 <= time.perf_counter() - t0 < 5
    with sqlite3.connect(tmp_path / "d.db") as check:
        assert check.execute("SELECT name FROM accounts WHERE id = '9'").fetchall() == [("late",)]


def test_inline_commits_leave_wal_checkpoints_to_the_pool(tmp_path: Path) -> None:
    """The inline connection never checkpoints (that fsyncs, on the event loop): it asks
    for a checkpoint every CHECKPOINT_EVERY commits, and the repository's checkpoint
    (run on the pool) lets the next write start the WAL over."""
    path = tmp_path / "e.db"
    repo = _repo(path)
    asked: list[int] = []
    runner = InlineRunner(repo.engine, threading.Lock(), lambda: asked.append(1))
    assert runner.run(
        lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one(),
        write=False) == 0

    def add(i: int) -> None:
        assert runner.run(lambda conn: conn.exec_driver_sql(
            f"INSERT INTO accounts (id, name) VALUES ('{i}', 'a{i}')"), write=True) is not BUSY

    for i in range(4 * CHECKPOINT_EVERY):
        add(i)
    assert len(asked) == 4
    wal = path.parent / (path.name + "-wal")
    assert wal.stat().st_size > 4 * CHECKPOINT_EVERY * 4096  # no frame was checkpointed
    repo._checkpoint()
    add(-1)  # the first write after a complete checkpoint starts the WAL over
    with sqlite3.connect(path) as check:
        _, frames, _ = check.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames < 10
    runner.close()
    repo._shutdown()


def test_a_checkpoint_waits_for_the_write_gate_only_for_a_long_wal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint (copies and fsyncs) runs beside this process's writers, so none waits
    for it; only a WAL past WAL_RESTART_FRAMES is checkpointed again under the gate, so
    that it ends and the WAL starts over."""
    repo = _repo(tmp_path / "g.db")
    repo._transaction(lambda conn: conn.exec_driver_sql(
        "INSERT INTO accounts (id, name) VALUES ('1', 'a')"), True)
    gate = repo._gate
    assert isinstance(gate, type(threading.Lock()))

    def checkpoint_while_a_writer_holds_the_gate() -> bool:
        done = threading.Event()
        with gate:
            threading.Thread(target=lambda: (repo._checkpoint(), done.set())).start()
            finished_under_writer = done.wait(2)
        assert done.wait(5)
        return finished_under_writer

    assert checkpoint_while_a_writer_holds_the_gate()
    monkeypatch.setattr(repository_module, "WAL_RESTART_FRAMES", -1)  # every WAL is long
    assert not checkpoint_while_a_writer_holds_the_gate()
    repo._shutdown()


def test_every_kind_of_busy_or_locked_means_wait() -> None:
    for code, wait in ((5, True), (261, True), (517, True), (6, True), (262, True),
                       (1, False), (13, False), (None, False)):
        exc = sqlite3.OperationalError("database is locked")
        if code is not None:
            exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        assert must_wait(exc) is wait, code
