"""A page of a time window alone is first looked for among the account's newest tasks.

``_recent_window_page`` reads at most ``_PROBE_ROWS`` of the newest tasks (below the
cursor) and answers only when they hold the whole page; otherwise ``list_tasks`` falls
back to its probes. Either way the page is the window's, newest first.
"""

from __future__ import annotations

import pytest
from test_repository_contract import HOUR, T0, everything, job, task

from cdnctl.core.ports import Page, TaskFilter, TaskRepository
from cdnctl.storage import repository as repository_module
from cdnctl.storage.repository import SqlTaskRepository, _recent_window_page


async def test_recent_window_pages(repository: TaskRepository,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository_module, "_PROBE_ROWS", 30)  # the newest 30 tasks
    _, old, _ = await repository.create_job(
        job(at=T0), [task(f"https://www.example.com/o{i}", nodes=()) for i in range(40)], [])
    _, new, _ = await repository.create_job(
        job(at=T0 + HOUR), [task(f"https://www.example.com/n{i}", nodes=()) for i in range(20)],
        [])
    await repository.create_job(job(account="other", at=T0 + HOUR), [task()], [])
    recent = everything(created_from=T0 + HOUR)
    older = everything(created_to=T0 + HOUR)

    async def direct(flt: TaskFilter, limit: int, before_id: int | None = None) -> Page | None:
        return await repository.run(lambda c: _recent_window_page(c, flt, limit, before_id),
                                    write=False)

    # Through list_tasks the answers are the window's, whichever path serves them (the
    # in-memory twin: by hand).
    for flt, expected in ((recent, new[::-1]), (older, old[::-1])):
        seen: list[int] = []
        cursor = None
        while True:
            got = await repository.list_tasks(flt, limit=7, before_id=cursor)
            seen += [t.id for t in got.items]
            if got.next_cursor is None:
                break
            cursor = got.next_cursor
        assert seen == [t.id for t in expected]
    if not isinstance(repository, SqlTaskRepository):
        return

    # The newest tasks hold the page: it is answered at once, with a cursor.
    page = await direct(recent, 5)
    assert page is not None
    assert [t.id for t in page.items] == [t.id for t in new[::-1][:5]]
    assert page.next_cursor == new[-5].id
    # Below a cursor, the window's tasks run out before the page is full: no answer...
    assert await direct(recent, 5, before_id=new[3].id) is None
    # ... nor when the newest 30 tasks (20 new, 10 old) hold less than the page.
    assert await direct(older, 10) is None
    page = await direct(older, 9)
    assert page is not None
    assert [t.id for t in page.items] == [t.id for t in old[::-1][:9]]
    page = await direct(older, 10, before_id=old[25].id)  # 25 old tasks below
    assert page is not None
    assert [t.id for t in page.items] == [t.id for t in old[24::-1][:10]]

