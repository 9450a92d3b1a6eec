"""PostgreSQL: the repository survives sessions the server ended between two calls.

The pool does not ping a connection before handing it out (``pool_pre_ping`` costs a
round trip per read). Instead ``_postgres.check_connection`` replaces, at checkout, a
connection whose socket says the server closed it, and reads (never writes) run once
more on a fresh connection when the first one turns out to be dead anyway
(``SqlTaskRepository._read``). Here the server ends every session of the repository
with ``pg_terminate_backend`` between two calls.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from test_repository_contract import everything, job, task

from cdnctl.core.ports import TaskFilter
from cdnctl.storage import _postgres, open_repository
from cdnctl.storage.repository import SqlTaskRepository

pytestmark = pytest.mark.servers


def terminate_sessions(url: str) -> int:
    """End every other session on ``url``'s database and wait until each is gone; how
    many there were."""
    with psycopg.connect(url, autocommit=True) as admin:
        pids = [pid for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")]
        for pid in pids:
            # With a timeout, pg_terminate_backend returns once the session has ended.
            row = admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
            assert row is not None
            assert row[0], f"session {pid} did not end"
    # A backend leaves pg_stat_activity just before its process exits and its socket
    # closes: give the close a moment to reach the client.
    time.sleep(0.2)
    return len(pids)


@pytest.fixture
async def repo(postgres_database: str) -> AsyncIterator[SqlTaskRepository]:
    repository = open_repository(postgres_database)
    assert isinstance(repository, SqlTaskRepository)
    yield repository
    await repository.close()


def count_connects(repository: SqlTaskRepository) -> list[int]:
    opened = [0]

    @event.listens_for(repository.engine, "connect")
    def _connected(*_: object) -> None:
        opened[0] += 1

    return opened


async def test_reads_and_writes_after_the_server_ended_the_sessions(
    repo: SqlTaskRepository,
) -> None:
    made, created, _ = await repo.create_job(job(key="reconnect-1"), [task(), task()], [])
    flt = everything()
    assert len((await repo.list_tasks(flt, limit=10)).items) >= 2
    opened = count_connects(repo)

    assert terminate_sessions(str_url(repo)) >= 1
    page = await repo.list_tasks(flt, limit=10)
    assert created[0].id in [t.id for t in page.items]

    assert terminate_sessions(str_url(repo)) >= 1
    assert await repo.get_task("acme", created[0].id) == created[0]

    assert terminate_sessions(str_url(repo)) >= 1
    assert await repo.count_tasks(TaskFilter(account_id="acme", job_id=made.id)) == 2

    # A write is never run again, so this one works only because the checkout noticed
    # that the server had closed the connection and opened a fresh one.
    assert terminate_sessions(str_url(repo)) >= 1
    again, _, _ = await repo.create_job(job(key="reconnect-2"), [task()], [])
    assert (await repo.get_job("acme", again.id)) is not None
    assert opened[0] >= 4  # a new connection after each termination


async def test_a_read_runs_again_on_a_connection_that_died_unnoticed(
    repo: SqlTaskRepository, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the checkout cannot tell (the close races it, or a peer vanished without a
    word), the first statement fails: a read runs once more, a write fails."""
    made, created, _ = await repo.create_job(job(key="unnoticed-1"), [task()], [])
    await repo.get_task("acme", created[0].id)
    before = await repo.count_tasks(everything())
    monkeypatch.setattr(_postgres, "_readable", lambda fd: False)  # the checkout sees nothing
    opened = count_connects(repo)

    assert terminate_sessions(str_url(repo)) >= 1
    assert await repo.get_task("acme", created[0].id) == created[0]
    assert opened[0] == 1

    assert terminate_sessions(str_url(repo)) >= 1
    page = await repo.list_tasks(TaskFilter(account_id="acme", job_id=made.id), limit=10)
    assert [t.id for t in page.items] == [created[0].id]

    assert terminate_sessions(str_url(repo)) >= 1
    with pytest.raises(DBAPIError) as failed:
        await repo.create_job(job(key="unnoticed-2"), [task()], [])
    assert failed.value.connection_invalidated
    # Not run again, and nothing written; the next write gets a fresh connection.
    assert await repo.count_tasks(everything()) == before
    _, _, created_now = await repo.create_job(job(key="unnoticed-2"), [task()], [])
    assert created_now  # not replayed: the failed attempt wrote nothing
    assert await repo.count_tasks(everything()) == before + 1


def str_url(repo: SqlTaskRepository) -> str:
    return repo.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
