"""Task pages are the same whichever statement serves them.

``SqlTaskRepository.list_tasks`` reads a page with one statement when an index hands out
the matching ids in order (no filter, one state, one domain, a job), and with a deferred
join otherwise (several values, an action, an offset, a sorted time window). Every page
of every filter, by cursor and by offset, must match the tasks filtered by hand.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_repository_contract import HOUR, T0, everything, job, task

from cdnctl.core.model import Action, Task, TaskState
from cdnctl.core.ports import TaskRepository
from cdnctl.storage.repository import SqlTaskRepository, _walk_ids
from cdnctl.storage.schema import tasks

DOMAINS = ("www.example.com", "img.example.com", None)


async def _seed(repo: TaskRepository) -> list[Task]:
    for n in range(3):
        at = T0 + n * HOUR
        await repo.create_job(job(at=at), [
            task(f"https://{DOMAINS[i % 3] or 'x.example.com'}/{n}/{i}", domain=DOMAINS[i % 3],
                 action=Action.PREFETCH if i % 4 == 0 else Action.PURGE,
                 error_code="InvalidUrl" if i % 5 == 0 else None, site_id=i % 2 or None)
            for i in range(17)], [])
        await repo.create_job(job(account="other", at=at), [task()], [])
    everything_page = await repo.list_tasks(everything(), limit=1000)
    tasks = everything_page.items
    await repo.cancel_task("acme", tasks[3].id, T0 + 3 * HOUR)
    return (await repo.list_tasks(everything(), limit=1000)).items


def _matches(t: Task, kw: dict[str, Any]) -> bool:
    return ((kw.get("states") is None or t.state in kw["states"])
            and (kw.get("domains") is None or t.domain in kw["domains"])
            and (kw.get("actions") is None or t.action in kw["actions"])
            and (kw.get("site_ids") is None or t.site_id in kw["site_ids"])
            and (kw.get("job_id") is None or t.job_id == kw["job_id"])
            and (kw.get("created_from") is None or t.created_at >= kw["created_from"])
            and (kw.get("created_to") is None or t.created_at < kw["created_to"]))


@pytest.mark.parametrize("limit", [1, 4, 100])
async def test_pages_by_cursor_and_offset_match_the_filter(repository: TaskRepository,
                                                           limit: int) -> None:
    tasks = await _seed(repository)
    assert [t.id for t in tasks] == sorted((t.id for t in tasks), reverse=True)
    assert len(tasks) == 51
    filters: list[dict[str, Any]] = [
        {}, {"states": [TaskState.FAILED]}, {"states": [TaskState.QUEUED]},
        {"states": [TaskState.FAILED, TaskState.CANCELED]}, {"domains": ["img.example.com"]},
        {"domains": ["www.example.com", "img.example.com"]}, {"actions": [Action.PREFETCH]},
        {"states": [TaskState.QUEUED], "domains": ["www.example.com"]},
        {"site_ids": [1]}, {"job_id": tasks[20].job_id},
        {"job_id": tasks[20].job_id, "states": [TaskState.QUEUED]},
        {"created_from": T0 + HOUR}, {"created_to": T0 + HOUR},
        {"created_from": T0 + HOUR, "created_to": T0 + 2 * HOUR,
         "states": [TaskState.QUEUED]},
    ]
    for kw in [*filters, {"created_from": T0 + 2 * HOUR + timedelta(microseconds=1)}]:
        expected = [t.id for t in tasks if _matches(t, kw)]
        assert expected or kw not in filters, kw
        by_cursor: list[int] = []
        cursor = None
        while True:
            page = await repository.list_tasks(everything(**kw), limit=limit, before_id=cursor)
            by_cursor += [t.id for t in page.items]
            if page.next_cursor is None:
                break
            assert page.next_cursor == page.items[-1].id
            cursor = page.next_cursor
        assert by_cursor == expected, kw
        by_offset: list[int] = []
        for offset in range(0, len(expected) + limit, limit):
            page = await repository.list_tasks(everything(**kw), limit=limit, offset=offset)
            by_offset += [t.id for t in page.items]
        assert by_offset == expected, kw
        first = await repository.list_tasks(everything(**kw), limit=limit)
        assert first.items == [t for t in tasks if t.id in expected][:limit], kw


async def test_big_windows_page_to_their_end_by_cursor(repository: TaskRepository) -> None:
    """The walk over ids and the sorted window hand over mid-listing: every page of a big
    window is exact, and once fewer than a probe's worth of rows remain below the cursor
    the window is sorted, not walked to the account's oldest task."""
    many = [task(f"https://www.example.com/{i}", nodes=()) for i in range(2100)]
    _, old, _ = await repository.create_job(job(at=T0), many, [])
    _, new, _ = await repository.create_job(job(at=T0 + HOUR), many, [])
    for kw, expected in (({"created_from": T0 + HOUR}, new[::-1]),
                         ({"created_from": T0, "created_to": T0 + HOUR}, old[::-1]),
                         ({"created_from": T0, "created_to": T0 + 2 * HOUR},
                          [*new[::-1], *old[::-1]]),
                         ({"created_from": T0 + HOUR, "domains": ["www.example.com"]},
                          new[::-1]),
                         ({"created_from": T0 + HOUR, "domains": ["img.example.com"]}, [])):
        seen: list[int] = []
        cursor = None
        while True:
            page = await repository.list_tasks(everything(**kw), limit=700, before_id=cursor)
            seen += [t.id for t in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [t.id for t in expected], kw

    if not isinstance(repository, SqlTaskRepository):
        return
    flt = everything(created_from=T0 + HOUR)
    window = [tasks.c.created_at >= T0 + HOUR]
    assert await repository.run(lambda c: _walk_ids(c, flt, window), write=False)
    near_end = new[100].id  # 100 rows of the window below it, 2,100 older rows
    assert not await repository.run(lambda c: _walk_ids(c, flt, window, (near_end, [], 100)),
                                    write=False)
    assert await repository.run(lambda c: _walk_ids(c, flt, window, (near_end, [], 99)),
                                write=False)  # the 100 rows hold the page
    everything_window = everything(created_from=T0)
    assert await repository.run(
        lambda c: _walk_ids(c, everything_window, [tasks.c.created_at >= T0],
                            (old[100].id, [], 500)),
        write=False)  # the window ends where the account's tasks do: walking stays cheap
