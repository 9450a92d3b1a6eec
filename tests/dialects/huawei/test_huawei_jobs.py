"""Listing jobs as Huawei history / access-control tasks, over the in-memory repository
(no I/O): filters, counters, ordering, paging and totals. Runs through the service's
``jobs()`` port when storage offers it, through the dialect's fallback otherwise —
and, when both exist, checks they agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cdnctl.api.dialects.huawei_cdn._jobs import (
    JobFilter,
    JobOrder,
    JobPage,
    JobStatus,
    _from_tasks,
    list_jobs,
)
from cdnctl.core.directory import Directory
from cdnctl.core.model import AccessKey, Account, Action, Capability, Node, Site, TargetType
from cdnctl.core.ports import AttemptRecord
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


async def both(service: ContentService, flt: JobFilter, *, limit: int, offset: int = 0,
               order: JobOrder = JobOrder.CREATED_AT, descending: bool = True) -> JobPage:
    """The page from the port (or the fallback), checked against the fallback."""
    kw = {"limit": limit, "offset": offset, "order": order, "descending": descending}
    page = await list_jobs(service, ACCOUNT, flt, limit=limit, offset=offset, order=order,
                           descending=descending)
    reference = await _from_tasks(service, ACCOUNT, flt, **kw)
    assert [(s.job.id, s.total, s.processing, s.succeeded, s.failed) for s in page.items] == [
        (s.job.id, s.total, s.processing, s.succeeded, s.failed) for s in reference.items]
    assert page.total == reference.total
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


async def test_the_fallback_pages_through_many_tasks(world):
    service, _repo, clock = world
    first = await submit(service, Action.PURGE, [f"/{i}" for i in range(900)])
    clock.advance(1)
    second = await submit(service, Action.PURGE, [f"/n{i}" for i in range(900)])
    page = await both(service, JobFilter(account_id="1001"), limit=10)
    assert [(s.job.id, s.total) for s in page.items] == [(second, 900), (first, 900)]
