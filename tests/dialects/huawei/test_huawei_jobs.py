"""Listing jobs as Huawei history / access-control tasks, over the in-memory repository
(no I/O): filters, counters, ordering, paging and totals, through the service's
``jobs()`` (the ``list_jobs`` port), each page checked against a naive reference that
groups every task of the account by job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cdnctl.api.dialects.huawei_cdn._jobs import summarize
from cdnctl.core.directory import Directory
from cdnctl.core.model import (
    AccessKey,
    Account,
    Action,
    Capability,
    Node,
    Site,
    TargetType,
    Task,
)
from cdnctl.core.ports import (
    AttemptRecord,
    JobFilter,
    JobOrder,
    JobPage,
    JobStatus,
    JobSummary,
    TaskFilter,
)
from cdnctl.core.service import ContentService, Submission
from cdnctl.testing import FrozenClock, InMemoryTaskRepository

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
ACCOUNT = Account(id="1001", name="acme", keys=(AccessKey("AK", "SK"),))
OTHER = Account(id="1002", name="other")


@pytest.fixture
async def world():
    directory = Directory(
        accounts=[ACCOUNT, OTHER],
        sites=[Site(1, "1001", "example.com", "z1", ("www.example.com",), "p"),
               Site(2, "1002", "other.example", "z2", ("www.other.example",), "p")],
        nodes=[Node("n1", "p", "simulated", "")],
        capabilities={"n1": frozenset(Capability)})
    repo = InMemoryTaskRepository()
    await repo.sync_config(directory.accounts, directory.sites, directory.nodes)
    clock = FrozenClock(T0)
    return ContentService(repo, directory, clock), repo, clock


async def submit(service: ContentService, action: Action, paths: list[str],
                 target_type: TargetType = TargetType.URL, account: Account = ACCOUNT,
                 host: str = "www.example.com") -> str:
    specs = [service.spec(account, action, target_type, f"http://{host}{p}",
                          block_ttl_seconds=60 if action is Action.BLOCK else None)
             for p in paths]
    return (await service.submit(Submission(account=account, specs=specs))).job.id


async def settle(repo: InMemoryTaskRepository, clock: FrozenClock, fail: set[str]) -> None:
    """Finish every claimable delivery: targets ending in one of ``fail`` fail."""
    items = await repo.claim("w", limit=1000, now=clock.now(), lease_seconds=60)
    records = [AttemptRecord(delivery_id=i.delivery_id, task_id=i.task_id,
                             started_at=clock.now(), latency_ms=1.0,
                             ok=not any(i.target.endswith(f) for f in fail),
                             code="ok" if not any(i.target.endswith(f) for f in fail)
                             else "edge_http_5xx", http_status=200, detail="",
                             retry_at=None)
               for i in items]
    await repo.record(records, clock.now())


_KEYS: dict[JobOrder, Callable[[JobSummary], Any]] = {
    JobOrder.CREATED_AT: lambda s: s.job.created_at,
    JobOrder.ACTION: lambda s: s.action.value,
    JobOrder.TOTAL: lambda s: s.total,
    JobOrder.PROCESSING: lambda s: s.processing,
    JobOrder.SUCCEEDED: lambda s: s.succeeded,
    JobOrder.FAILED: lambda s: s.failed,
}


async def reference(service: ContentService, flt: JobFilter, *, limit: int, offset: int,
                    order: JobOrder, descending: bool) -> JobPage:
    """The same query, naively: every task of the account, grouped by job in memory."""
    by_job: dict[str, list[Task]] = {}
    cursor: int | None = None
    while True:
        page = await service.tasks(TaskFilter(account_id=flt.account_id), limit=500,
                                   before_id=cursor)
        for task in page.items:
            by_job.setdefault(task.job_id, []).append(task)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    rows: list[JobSummary] = []
    for job_id, tasks in by_job.items():
        job, _ = await service.job(ACCOUNT, job_id)
        summary = summarize(job, tasks)
        if ((flt.job_ids is None or job_id in flt.job_ids)
                and (flt.actions is None or all(t.action in flt.actions for t in tasks))
                and (flt.types is None or all(t.type in flt.types for t in tasks))
                and (flt.statuses is None or summary.status in flt.statuses)
                and (flt.created_from is None or job.created_at >= flt.created_from)
                and (flt.created_to is None or job.created_at < flt.created_to)
                and (flt.sources is None or job.source in flt.sources)):
            rows.append(summary)
    rows.sort(key=lambda s: (_KEYS[order](s), s.job.created_at, s.job.id), reverse=descending)
    return JobPage(items=rows[offset:offset + limit], total=len(rows))


async def both(service: ContentService, flt: JobFilter, *, limit: int, offset: int = 0,
               order: JobOrder = JobOrder.CREATED_AT, descending: bool = True) -> JobPage:
    """The page from the service, checked against the naive reference."""
    page = await service.jobs(flt, limit=limit, offset=offset, order=order,
                              descending=descending)
    expected = await reference(service, flt, limit=limit, offset=offset, order=order,
                               descending=descending)
    assert page == expected
    return page


async def test_filters_counters_and_order(world):
    service, repo, clock = world
    one = await submit(service, Action.PURGE, ["/a"])
    clock.advance(1)
    three = await submit(service, Action.PURGE, ["/b", "/c", "/x-fail"])
    clock.advance(1)
    dirs = await submit(service, Action.PURGE, ["/d/", "/e/"], TargetType.PREFIX)
    clock.advance(1)
    warm = await submit(service, Action.PREFETCH, ["/w"])
    clock.advance(1)
    banned = await submit(service, Action.BLOCK, ["/z"])
    clock.advance(1)
    await submit(service, Action.PURGE, ["/o"], account=OTHER, host="www.other.example")
    await settle(repo, clock, fail={"-fail"})
    clock.advance(1)
    pending = await submit(service, Action.PURGE, ["/p", "/q"])

    refresh = JobFilter(account_id="1001", actions=[Action.PURGE, Action.PREFETCH],
                        types=[TargetType.URL])
    page = await both(service, refresh, limit=100)
    assert [s.job.id for s in page.items] == [pending, warm, three, one]
    assert page.total == 4
    by_id = {s.job.id: s for s in page.items}
    assert (by_id[three].total, by_id[three].succeeded, by_id[three].failed) == (3, 2, 1)
    assert by_id[three].status is JobStatus.FAILED
    assert by_id[one].status is JobStatus.SUCCEEDED
    assert by_id[pending].status is JobStatus.PROCESSING
    assert (by_id[pending].processing, by_id[warm].action) == (2, Action.PREFETCH)

    done = JobFilter(account_id="1001", actions=[Action.PURGE, Action.PREFETCH],
                     types=[TargetType.URL], statuses=[JobStatus.SUCCEEDED, JobStatus.FAILED])
    assert [s.job.id for s in (await both(service, done, limit=100)).items] == [warm, three, one]
    directories = JobFilter(account_id="1001", types=[TargetType.PREFIX])
    assert [s.job.id for s in (await both(service, directories, limit=10)).items] == [dirs]
    blocks = JobFilter(account_id="1001", actions=[Action.BLOCK, Action.UNBLOCK])
    [block] = (await both(service, blocks, limit=10)).items
    assert (block.job.id, block.action, block.status) == (banned, Action.BLOCK,
                                                          JobStatus.SUCCEEDED)

    by_total = await both(service, refresh, limit=2, offset=1, order=JobOrder.TOTAL,
                          descending=False)
    # totals: one 1, warm 1, pending 2, three 3; ties by creation time, same direction
    assert ([s.job.id for s in by_total.items], by_total.total) == ([warm, pending], 4)
    by_action = await both(service, refresh, limit=10, order=JobOrder.ACTION)
    assert by_action.items[-1].job.id == warm  # "prefetch" < "purge", descending
    failed_first = await both(service, refresh, limit=1, order=JobOrder.FAILED)
    assert failed_first.items[0].job.id == three
    window = JobFilter(account_id="1001", created_from=T0 + timedelta(seconds=1),
                       created_to=T0 + timedelta(seconds=3))
    assert [s.job.id for s in (await both(service, window, limit=10)).items] == [dirs, three]
    only = JobFilter(account_id="1001", job_ids=[one, dirs])
    assert {s.job.id for s in (await both(service, only, limit=10)).items} == {one, dirs}
    for order in JobOrder:
        await both(service, refresh, limit=3, order=order, descending=True)
        await both(service, refresh, limit=3, order=order, descending=False)


async def test_big_jobs(world):
    service, _repo, clock = world
    first = await submit(service, Action.PURGE, [f"/{i}" for i in range(900)])
    clock.advance(1)
    second = await submit(service, Action.PURGE, [f"/n{i}" for i in range(900)])
    page = await both(service, JobFilter(account_id="1001"), limit=10)
    assert [(s.job.id, s.total) for s in page.items] == [(second, 900), (first, 900)]
