"""The TaskRepository contract, run over every backend (memory, sqlite, postgres).

Everything a caller may rely on is asserted here once; an implementation passes this
suite or it is not a TaskRepository.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

import pytest

from cdnctl.core.errors import (
    IdempotencyConflictError,
    InvalidTransitionError,
    NotFoundError,
    QuotaExceededError,
)
from cdnctl.core.model import (
    Account,
    Action,
    DeliveryState,
    Method,
    Node,
    QuotaKind,
    Site,
    TargetType,
    TaskState,
    WorkItem,
)
from cdnctl.core.ports import (
    AttemptRecord,
    BlockRuleFilter,
    JobFilter,
    JobOrder,
    JobStatus,
    JobSummary,
    Lease,
    NewJob,
    NewTask,
    QuotaCharge,
    TaskFilter,
    TaskRepository,
)
from cdnctl.storage import open_repository

T0 = datetime(2024, 1, 1, 8, 0, 0, 123456, tzinfo=UTC)
HOUR = timedelta(hours=1)
_jobs = iter(range(1, 1_000_000))


class Backend(Protocol):
    """The ``backend`` fixture (tests/conftest.py): opens more repositories on one store."""

    def open(self) -> TaskRepository: ...


def task(
    target: str = "https://www.example.com/a.png",
    *,
    action: Action = Action.PURGE,
    type: TargetType = TargetType.URL,
    nodes: tuple[str, ...] = ("varnish-1", "varnish-2"),
    domain: str | None = "www.example.com",
    raw: str | None = None,
    **kw: object,
) -> NewTask:
    fields: dict[str, object] = {
        "method": "delete", "headers": {}, "block_ttl_seconds": None, "block_expires_at": None}
    fields.update(kw)
    return NewTask(action=action, type=type, target=target, raw_target=raw or target,
                   domain=domain, nodes=nodes, **fields)  # type: ignore[arg-type]


def job(
    *, account: str = "acme", at: datetime = T0, deadline: datetime | None = None,
    key: str | None = None, fingerprint: str = "fp", source: str = "native",
    meta: dict[str, object] | None = None,
) -> NewJob:
    return NewJob(id=f"job-{next(_jobs)}", account_id=account, created_at=at,
                  deadline=deadline or at + HOUR, source=source, request_id="req-1",
                  idempotency_key=key, fingerprint=fingerprint, meta=meta or {})


def charge(amount: int, limit: int, *, scope: str = "acme", kind: QuotaKind = QuotaKind.URL,
           day: str = "2024-01-01") -> QuotaCharge:
    return QuotaCharge(scope=scope, kind=kind, day=day, amount=amount, limit=limit)


def ok(item: WorkItem, at: datetime = T0, detail: str = "200 OK") -> AttemptRecord:
    return AttemptRecord(delivery_id=item.delivery_id, task_id=item.task_id, started_at=at,
                         latency_ms=1.5, ok=True, code="ok", http_status=200, detail=detail,
                         retry_at=None)


def fail(item: WorkItem, at: datetime = T0, *, retry_at: datetime | None = None,
         code: str = "connect", detail: str = "connection refused") -> AttemptRecord:
    return AttemptRecord(delivery_id=item.delivery_id, task_id=item.task_id, started_at=at,
                         latency_ms=3.0, ok=False, code=code, http_status=None, detail=detail,
                         retry_at=retry_at)


def everything(account: str = "acme", **kw: object) -> TaskFilter:
    return TaskFilter(account_id=account, **kw)  # type: ignore[arg-type]


async def claim_all(repo: TaskRepository, at: datetime = T0, worker: str = "w1",
                    lease: float = 30) -> list[WorkItem]:
    return await repo.claim(worker, limit=1000, now=at, lease_seconds=lease)


# -- create_job ------------------------------------------------------------------------


async def test_create_job_writes_tasks_and_one_pending_delivery_per_node(
    repository: TaskRepository,
) -> None:
    new = job(meta={"dialect": "native"})
    created, tasks, fresh = await repository.create_job(
        new, [task("https://www.example.com/1"), task("https://www.example.com/2"),
              task("https://www.example.com/3", nodes=("varnish-2", "nginx-1", "varnish-2"))],
        [])
    assert fresh
    assert (created.id, created.account_id, created.task_count) == (new.id, "acme", 3)
    assert (created.meta, created.created_at) == ({"dialect": "native"}, T0)
    assert [t.target for t in tasks] == [f"https://www.example.com/{i}" for i in (1, 2, 3)]
    assert tasks[0].id < tasks[1].id < tasks[2].id
    assert all(t.state is TaskState.QUEUED and t.job_id == new.id for t in tasks)
    assert [t.deliveries_total for t in tasks] == [2, 2, 2]  # a node listed twice counts once
    assert all(t.deadline == T0 + HOUR and t.updated_at == T0 for t in tasks)
    assert await repository.get_job("acme", new.id) == (created, tasks)
    deliveries = await repository.deliveries(tasks[2].id)
    assert [(d.node, d.state, d.attempts, d.history) for d in deliveries] == [
        ("nginx-1", DeliveryState.PENDING, 0, ()), ("varnish-2", DeliveryState.PENDING, 0, ())]
    assert all(d.next_attempt_at == T0 and d.task_id == tasks[2].id for d in deliveries)
    assert await repository.next_due() == T0


async def test_stored_task_round_trips_every_field(repository: TaskRepository) -> None:
    expires = T0 + timedelta(days=2, microseconds=7)
    _, (prefetch, block, soft), _ = await repository.create_job(job(), [
        task("https://www.example.com/p.js", action=Action.PREFETCH,
             raw="HTTP://WWW.EXAMPLE.COM/p.js", headers={"Accept-Encoding": "gzip"}),
        task("https://www.example.com/bad", action=Action.BLOCK, block_ttl_seconds=3600,
             block_expires_at=expires),
        task("tag-1", type=TargetType.TAG, domain=None, method="invalidate", site_id=7),
    ], [])
    assert prefetch.raw_target == "HTTP://WWW.EXAMPLE.COM/p.js"
    assert prefetch.headers == {"Accept-Encoding": "gzip"}
    assert (block.block_expires_at, soft.method) == (expires, Method.INVALIDATE)
    assert (prefetch.site_id, soft.site_id) == (None, 7)
    for stored in (prefetch, block, soft):
        assert await repository.get_task("acme", stored.id) == stored
    items = {i.task_id: i for i in await claim_all(repository)}
    assert items[block.id].block_ttl_seconds == 3600
    assert items[prefetch.id].headers == {"Accept-Encoding": "gzip"}
    soft_item = items[soft.id]
    assert (soft_item.method, soft_item.domain, soft_item.type, soft_item.deadline) == (
        Method.INVALIDATE, None, TargetType.TAG, T0 + HOUR)
    assert (soft_item.site_id, soft_item.account_id) == (7, "acme")
    assert (items[prefetch.id].site_id, items[prefetch.id].account_id) == (None, "acme")


async def test_task_with_no_node_or_rejected_is_settled_at_once(
    repository: TaskRepository,
) -> None:
    _, (nowhere, rejected), _ = await repository.create_job(job(), [
        task("https://www.example.com/x", nodes=()),
        task("https://www.example.com/y", error_code="InvalidDomain",
             description="domain not owned"),
    ], [])
    assert (nowhere.state, nowhere.finished_at, nowhere.deliveries_total) == (
        TaskState.SUCCEEDED, T0, 0)
    assert (rejected.state, rejected.error_code, rejected.description, rejected.finished_at) == (
        TaskState.FAILED, "InvalidDomain", "domain not owned", T0)
    assert rejected.deliveries_total == 0
    assert await repository.deliveries(rejected.id) == []
    assert await repository.get_task("acme", rejected.id) == rejected
    assert await claim_all(repository) == []
    assert await repository.next_due() is None


async def test_idempotent_replay_returns_the_stored_job_and_writes_nothing(
    repository: TaskRepository,
) -> None:
    first = job(key="k-1")
    created, tasks, fresh = await repository.create_job(first, [task()], [charge(1, 10)])
    replay = replace(job(key="k-1", at=T0 + HOUR), fingerprint=first.fingerprint)
    again, again_tasks, fresh_again = await repository.create_job(
        replay, [task(), task("https://www.example.com/b")], [charge(2, 10)])
    assert (fresh, fresh_again) == (True, False)
    assert (again, again_tasks) == (created, tasks)
    assert await repository.count_tasks(everything()) == 1
    assert await repository.quota_used("acme", "2024-01-01") == {QuotaKind.URL: 1}
    assert await repository.get_job("acme", replay.id) is None


async def test_idempotency_key_reused_for_another_request_conflicts(
    repository: TaskRepository,
) -> None:
    await repository.create_job(job(key="k-1", fingerprint="a"), [task()], [])
    with pytest.raises(IdempotencyConflictError):
        await repository.create_job(job(key="k-1", fingerprint="b"), [task()], [])
    # keys are per account
    _, _, fresh = await repository.create_job(job(account="other", key="k-1"), [task()], [])
    assert fresh


async def test_quota_is_charged_with_the_job_and_a_failing_charge_writes_nothing(
    repository: TaskRepository,
) -> None:
    await repository.create_job(job(), [task()], [charge(3, 5)])
    refused = job()
    with pytest.raises(QuotaExceededError) as err:
        await repository.create_job(refused, [task(), task()], [
            charge(1, 100, kind=QuotaKind.PREFETCH), charge(3, 5)])
    assert (err.value.kind, err.value.limit, err.value.remaining) == ("url", 5, 2)
    assert err.value.resets_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert await repository.quota_used("acme", "2024-01-01") == {QuotaKind.URL: 3}
    assert await repository.get_job("acme", refused.id) is None
    assert await repository.count_tasks(everything()) == 1
    with pytest.raises(QuotaExceededError):  # more than the whole limit at once
        await repository.create_job(job(), [task()], [charge(6, 5, day="2024-01-02")])
    await repository.create_job(job(), [task()], [charge(2, 5)])  # exactly up to the limit
    assert await repository.quota_used("acme", "2024-01-01") == {QuotaKind.URL: 5}
    assert await repository.quota_used("acme", "2024-01-02") == {}
    assert await repository.quota_used("other", "2024-01-01") == {}


async def test_a_refused_charge_resets_at_midnight_of_its_time_zone(
    repository: TaskRepository,
) -> None:
    beijing = timezone(timedelta(hours=8))
    refused = QuotaCharge(scope="acme", kind=QuotaKind.URL, day="2024-01-01", amount=2,
                          limit=1, tz=beijing)
    with pytest.raises(QuotaExceededError) as err:
        await repository.create_job(job(), [task()], [refused])
    assert err.value.resets_at == datetime(2024, 1, 1, 16, tzinfo=UTC)  # 00:00 UTC+8


async def test_concurrent_charges_never_pass_the_limit(backend: Backend) -> None:
    repos = [backend.open(), backend.open()]

    async def attempt(i: int) -> bool:
        try:
            await repos[i % 2].create_job(job(), [task()], [charge(3, 10)])
        except QuotaExceededError:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(12)))
    assert sum(results) == 3
    assert await repos[0].quota_used("acme", "2024-01-01") == {QuotaKind.URL: 9}
    assert await repos[1].count_tasks(everything()) == 3


async def test_unknown_or_foreign_objects_are_not_found(repository: TaskRepository) -> None:
    created, (t,), _ = await repository.create_job(job(), [task()], [])
    assert await repository.get_task("other", t.id) is None
    assert await repository.get_task("acme", t.id + 1000) is None
    assert await repository.get_job("other", created.id) is None
    assert await repository.get_job("acme", "no-such-job") is None
    assert await repository.deliveries(t.id + 1000) == []


async def test_sync_config_is_idempotent(repository: TaskRepository) -> None:
    accounts = [Account(id="acme", name="Acme")]
    sites = [Site(id=1, account_id="acme", name="www", zone_id="z-1",
                  domains=("www.example.com", "*.img.example.com"), pool="edge")]
    nodes = [Node(name="varnish-1", pool="edge", kind="varnish",
                  url="http://admin:secret@127.0.0.1:6081")]
    await repository.sync_config(accounts, sites, nodes)
    await repository.sync_config([Account(id="acme", name="Acme Inc")], sites, nodes)
    await repository.sync_config([], [], [])


# -- queries ---------------------------------------------------------------------------


async def _seed_for_filters(repo: TaskRepository) -> tuple[dict[str, int], str]:
    _, a, _ = await repo.create_job(job(at=T0, source="native"), [
        task("https://www.example.com/Img/a.png", site_id=1),
        task("https://www.example.com/dir/", type=TargetType.PREFIX, site_id=1),
        task("https://cdn.example.org/a.png", domain="cdn.example.org",
             raw="cdn.example.org/a.png", site_id=2),
    ], [])
    b_job, b, _ = await repo.create_job(job(at=T0 + HOUR, source="alibaba-cdn"), [
        task("https://www.example.com/p.png", action=Action.PREFETCH, site_id=1),
        task("https://www.example.com/x", error_code="InvalidUrl"),
    ], [])
    await repo.create_job(job(account="other"), [
        task("https://www.example.com/Img/a.png", site_id=1)], [])
    ids = {"a_img": a[0].id, "a_dir": a[1].id, "a_org": a[2].id, "b_pre": b[0].id,
           "b_bad": b[1].id}
    return ids, b_job.id


async def test_list_tasks_filters(repository: TaskRepository) -> None:
    ids, b_job = await _seed_for_filters(repository)

    async def listed(**kw: object) -> list[int]:
        page = await repository.list_tasks(everything(**kw), limit=50)
        assert await repository.count_tasks(everything(**kw)) == len(page.items)
        return [t.id for t in page.items]

    all_ids = sorted(ids.values())
    assert await listed() == all_ids[::-1]  # newest first; other accounts never show
    assert await listed(task_ids=[ids["a_dir"], ids["b_pre"], 10**9]) == [
        ids["b_pre"], ids["a_dir"]]
    assert await listed(job_id=b_job) == [ids["b_bad"], ids["b_pre"]]
    assert await listed(states=[TaskState.FAILED]) == [ids["b_bad"]]
    assert await listed(states=[TaskState.QUEUED, TaskState.FAILED]) == all_ids[::-1]
    assert await listed(states=[]) == []
    assert await listed(actions=[Action.PREFETCH]) == [ids["b_pre"]]
    assert await listed(types=[TargetType.PREFIX]) == [ids["a_dir"]]
    assert await listed(actions=[Action.PURGE], types=[TargetType.URL]) == [
        ids["b_bad"], ids["a_org"], ids["a_img"]]
    assert await listed(domains=["cdn.example.org"]) == [ids["a_org"]]
    assert await listed(target_contains="/Img/") == [ids["a_img"]]
    assert await listed(target_contains="/img/") == []  # case-sensitive
    assert await listed(target_contains="%") == []  # no LIKE wildcards
    assert await listed(target_equals="cdn.example.org/a.png") == [ids["a_org"]]  # raw
    assert await listed(target_equals="https://cdn.example.org/a.png") == [ids["a_org"]]
    assert await listed(created_from=T0 + HOUR) == [ids["b_bad"], ids["b_pre"]]
    assert await listed(created_to=T0 + HOUR) == [ids["a_org"], ids["a_dir"], ids["a_img"]]
    assert await listed(created_from=T0, created_to=T0 + timedelta(microseconds=1)) == [
        ids["a_org"], ids["a_dir"], ids["a_img"]]
    assert await listed(sources=["alibaba-cdn"]) == [ids["b_bad"], ids["b_pre"]]
    assert await listed(site_ids=[1]) == [ids["b_pre"], ids["a_dir"], ids["a_img"]]
    assert await listed(site_ids=[2]) == [ids["a_org"]]
    assert await listed(site_ids=[1, 2], created_from=T0 + HOUR) == [ids["b_pre"]]
    assert await listed(site_ids=[3]) == []
    assert await listed(site_ids=[]) == []
    assert await listed(domains=["www.example.com"], states=[TaskState.QUEUED],
                        actions=[Action.PURGE]) == [ids["a_dir"], ids["a_img"]]
    assert await listed(account="nobody") == []


async def test_keyset_pagination_and_offset(repository: TaskRepository) -> None:
    _, created, _ = await repository.create_job(
        job(), [task(f"https://www.example.com/{i}") for i in range(25)], [])
    newest_first = [t.id for t in reversed(created)]
    seen, cursor, pages = [], None, 0
    while True:
        page = await repository.list_tasks(everything(), limit=10, before_id=cursor)
        seen += [t.id for t in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        assert page.next_cursor == page.items[-1].id
        cursor = page.next_cursor
    assert (seen, pages) == (newest_first, 3)
    exact = await repository.list_tasks(everything(), limit=5, before_id=newest_first[19])
    assert ([t.id for t in exact.items], exact.next_cursor) == (newest_first[20:], None)
    by_number = await repository.list_tasks(everything(), limit=10, offset=20)
    assert [t.id for t in by_number.items] == newest_first[20:]
    assert by_number.next_cursor is None
    both = await repository.list_tasks(everything(), limit=3, before_id=newest_first[4],
                                       offset=2)
    assert [t.id for t in both.items] == newest_first[7:10]
    assert both.next_cursor == newest_first[9]
    assert await repository.count_tasks(everything()) == 25


async def test_time_window_pages_are_exact_for_big_windows(repository: TaskRepository) -> None:
    # Big enough that SqlTaskRepository steers the planner both ways (see _walk_ids).
    many = [task(f"https://www.example.com/{i}", nodes=()) for i in range(2100)]
    _, old, _ = await repository.create_job(job(at=T0), many, [])
    _, new, _ = await repository.create_job(job(at=T0 + HOUR), many, [])

    async def page(**kw: object) -> list[int]:
        return [t.id for t in (await repository.list_tasks(everything(**kw), limit=5)).items]

    assert await page(created_from=T0, created_to=T0 + 2 * HOUR) == [t.id for t in new[:-6:-1]]
    assert await page(created_from=T0 + HOUR) == [t.id for t in new[:-6:-1]]
    assert await page(created_to=T0 + HOUR) == [t.id for t in old[:-6:-1]]
    assert await page(created_from=T0, created_to=T0 + HOUR) == [t.id for t in old[:-6:-1]]
    assert await repository.count_tasks(everything(created_to=T0 + HOUR)) == 2100


# -- list_jobs -------------------------------------------------------------------------


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def _seed_jobs(repo: TaskRepository) -> dict[str, str]:
    """Seven jobs of acme, one in every aggregate state, plus noise that never shows."""
    a, a_tasks, _ = await repo.create_job(
        job(at=_at(0)), [task(f"https://www.example.com/a{i}", nodes=("n",)) for i in range(3)],
        [])
    b, _, _ = await repo.create_job(job(at=_at(1)), [
        task("https://www.example.com/b", action=Action.PREFETCH, nodes=("n",))], [])
    c, _, _ = await repo.create_job(job(at=_at(2)), [
        task("https://www.example.com/c", action=Action.PREFETCH, nodes=("n",)),
        task("https://www.example.com/c/", type=TargetType.PREFIX, nodes=("n",))], [])
    d, _, _ = await repo.create_job(job(at=_at(3), source="huawei-cdn"), [
        task("https://www.example.com/d1", nodes=()),
        task("https://www.example.com/d2", nodes=())], [])
    e, _, _ = await repo.create_job(job(at=_at(3), source="huawei-cdn"), [
        task("https://www.example.com/e", action=Action.BLOCK, nodes=())], [])
    claimed = {i.task_id: i for i in await claim_all(repo, _at(2))}  # a, b and c start
    first, second, third = (claimed[t.id] for t in a_tasks)
    await repo.record([ok(first), ok(second), fail(third)], _at(2))
    f, (f1, _), _ = await repo.create_job(job(at=_at(4)), [
        task("https://www.example.com/f1", nodes=("n",)),
        task("https://www.example.com/f2", error_code="InvalidUrl")], [])
    await repo.cancel_task("acme", f1.id, _at(4))
    g, _, _ = await repo.create_job(job(at=_at(5), deadline=_at(6)),
                                    [task("https://www.example.com/g", nodes=("n",))], [])
    assert len(await repo.expire(_at(7))) == 1
    await repo.create_job(job(at=_at(5)), [], [])  # a job without tasks is never listed
    await repo.create_job(job(account="other", at=_at(0)), [task()], [])
    return {"a": a.id, "b": b.id, "c": c.id, "d": d.id, "e": e.id, "f": f.id, "g": g.id}


async def test_list_jobs_counts_tasks_per_state(repository: TaskRepository) -> None:
    ids = await _seed_jobs(repository)
    page = await repository.list_jobs(JobFilter(account_id="acme"), limit=100)
    assert page.total == 7
    name = {v: k for k, v in ids.items()}
    got = {name[s.job.id]: (s.total, s.processing, s.succeeded, s.failed, s.action, s.type,
                            s.status) for s in page.items}
    busy, done, failed = JobStatus.PROCESSING, JobStatus.SUCCEEDED, JobStatus.FAILED
    url, purge, prefetch = TargetType.URL, Action.PURGE, Action.PREFETCH
    assert got == {
        "a": (3, 0, 2, 1, purge, url, failed),  # one delivery failed for good
        "b": (1, 1, 0, 0, prefetch, url, busy),  # running
        "c": (2, 2, 0, 0, prefetch, url, busy),  # queued + running; first task: the prefetch
        "d": (2, 0, 2, 0, purge, url, done),  # no node: settled at once
        "e": (1, 0, 1, 0, Action.BLOCK, url, done),
        "f": (2, 0, 0, 2, purge, url, failed),  # canceled + rejected at submit
        "g": (1, 0, 0, 1, purge, url, failed),  # timed out
    }
    for summary in page.items:
        stored = await repository.get_job("acme", summary.job.id)
        assert stored is not None
        assert summary.job == stored[0]
    d, e = sorted([ids["d"], ids["e"]], reverse=True)  # same created_at: by id
    assert [s.job.id for s in page.items] == [ids["g"], ids["f"], d, e, ids["c"], ids["b"],
                                              ids["a"]]


async def test_list_jobs_filters(repository: TaskRepository) -> None:
    ids = await _seed_jobs(repository)
    name = {v: k for k, v in ids.items()}

    async def listed(account: str = "acme", **kw: Any) -> str:
        page = await repository.list_jobs(JobFilter(account_id=account, **kw), limit=100)
        assert page.total == len(page.items)
        return "".join(name.get(s.job.id, "?") for s in page.items)

    de = "de" if ids["d"] > ids["e"] else "ed"
    assert await listed(actions=[Action.PURGE]) == "g" + "f" + "d" + "a"  # every task
    assert await listed(actions=[Action.PURGE, Action.PREFETCH]) == "gfdcba"
    assert await listed(actions=[Action.BLOCK, Action.UNBLOCK]) == "e"
    assert await listed(actions=[]) == ""
    assert await listed(types=[TargetType.URL]) == f"gf{de}ba"  # c has a prefix task
    assert await listed(types=[TargetType.PREFIX]) == ""
    assert await listed(types=[TargetType.URL, TargetType.PREFIX]) == f"gf{de}cba"
    assert await listed(statuses=[JobStatus.PROCESSING]) == "cb"
    assert await listed(statuses=[JobStatus.SUCCEEDED]) == de
    assert await listed(statuses=[JobStatus.FAILED]) == "gfa"
    assert await listed(statuses=[JobStatus.SUCCEEDED, JobStatus.FAILED]) == f"gf{de}a"
    assert await listed(statuses=[]) == ""
    assert await listed(job_ids=[ids["a"], ids["c"], "no-such-job"]) == "ca"
    assert await listed(job_ids=[ids["b"]]) == "b"
    assert await listed(job_ids=[]) == ""
    assert await listed(sources=["huawei-cdn"]) == de
    assert await listed(sources=["native", "huawei-cdn"]) == f"gf{de}cba"
    assert await listed(created_from=_at(3)) == f"gf{de}"  # inclusive
    assert await listed(created_to=_at(3)) == "cba"  # exclusive
    assert await listed(created_from=_at(1), created_to=_at(2) + timedelta(microseconds=1)) == (
        "cb")
    assert await listed(actions=[Action.PURGE], statuses=[JobStatus.FAILED],
                        created_from=_at(1)) == "gf"
    assert await listed(account="other") == "?"
    assert await listed(account="nobody") == ""


async def test_list_jobs_orders_pages_and_counts(repository: TaskRepository) -> None:
    ids = await _seed_jobs(repository)
    name = {v: k for k, v in ids.items()}
    flt = JobFilter(account_id="acme")
    everything = (await repository.list_jobs(flt, limit=100)).items

    def names(items: list[JobSummary]) -> str:
        return "".join(name[s.job.id] for s in items)

    by_total = await repository.list_jobs(flt, limit=100, order=JobOrder.TOTAL,
                                          descending=False)
    # totals b 1, e 1, g 1, c 2, d 2, f 2, a 3; ties by created_at, then id, ascending
    assert names(by_total.items) == "begcdfa"
    by_action = await repository.list_jobs(flt, limit=100, order=JobOrder.ACTION)
    de = "de" if ids["d"] > ids["e"] else "ed"
    assert names(by_action.items) == "gfda" + "cb" + "e"  # purge > prefetch > block
    assert names((await repository.list_jobs(flt, limit=100, descending=False)).items) == (
        f"abc{de[::-1]}fg")
    keys: dict[JobOrder, Any] = {
        JobOrder.CREATED_AT: lambda s: s.job.created_at, JobOrder.ACTION: lambda s: s.action,
        JobOrder.TOTAL: lambda s: s.total, JobOrder.PROCESSING: lambda s: s.processing,
        JobOrder.SUCCEEDED: lambda s: s.succeeded, JobOrder.FAILED: lambda s: s.failed}
    for order, key in keys.items():
        for descending in (True, False):
            expected = sorted(everything, key=lambda s: (key(s), s.job.created_at, s.job.id),
                              reverse=descending)
            full = await repository.list_jobs(flt, limit=100, order=order,
                                              descending=descending)
            assert names(full.items) == names(expected), (order, descending)
            page = await repository.list_jobs(flt, limit=2, offset=3, order=order,
                                              descending=descending)
            assert (names(page.items), page.total) == (names(expected[3:5]), 7)
    past = await repository.list_jobs(flt, limit=5, offset=7)
    assert (past.items, past.total) == ([], 7)
    none = await repository.list_jobs(flt, limit=0)
    assert (none.items, none.total) == ([], 7)
    last = await repository.list_jobs(JobFilter(account_id="acme", statuses=[
        JobStatus.FAILED]), limit=2, offset=2, order=JobOrder.FAILED)
    assert (names(last.items), last.total) == ("a", 3)  # f (2 failed), then g and a (1)


async def test_a_leased_job_is_created_claimed_and_returns_its_work(
    repository: TaskRepository,
) -> None:
    lease = Lease(worker_id="w1", seconds=30, limit=4)
    _created, tasks, fresh, work = await repository.create_job_leased(
        job(), [task("https://www.example.com/1"), task("https://www.example.com/2")], [], lease)
    assert fresh
    assert all(t.state is TaskState.RUNNING for t in tasks)
    assert sorted((i.task_id, i.node) for i in work) == sorted(
        (t.id, n) for t in tasks for n in ("varnish-1", "varnish-2"))
    assert all((i.attempts, i.account_id, i.deadline) == (0, "acme", T0 + HOUR) for i in work)
    stored = await repository.get_task("acme", tasks[0].id)
    assert stored is not None
    assert stored.state is TaskState.RUNNING
    delivered = await repository.deliveries(tasks[0].id)
    assert {d.state for d in delivered} == {DeliveryState.CLAIMED}
    assert {d.id for d in delivered} == {i.delivery_id for i in work if i.task_id == tasks[0].id}
    # Nobody else claims them while the lease holds; the lease's owner records them.
    assert await claim_all(repository, T0 + timedelta(seconds=29), worker="w2") == []
    assert await repository.next_due() == T0 + timedelta(seconds=30)
    done = await repository.record([ok(i) for i in work], T0, worker_id="w1")
    assert [(t.id, t.state) for t in done] == [(t.id, TaskState.SUCCEEDED) for t in tasks]


async def test_a_leased_job_outlives_its_worker(repository: TaskRepository) -> None:
    lease = Lease(worker_id="dead", seconds=30, limit=2)
    _, (t,), _, work = await repository.create_job_leased(job(), [task()], [], lease)
    assert len(work) == 2
    taken = await claim_all(repository, T0 + timedelta(seconds=31), worker="w2")
    assert sorted(i.delivery_id for i in taken) == sorted(i.delivery_id for i in work)
    assert await repository.record([ok(i) for i in work], T0, worker_id="dead") == []
    done = await repository.record([ok(i) for i in taken], T0, worker_id="w2")
    assert [(x.id, x.state) for x in done] == [(t.id, TaskState.SUCCEEDED)]


async def test_a_job_larger_than_its_lease_is_left_to_the_claim_loop(
    repository: TaskRepository,
) -> None:
    lease = Lease(worker_id="w1", seconds=30, limit=3)
    _, tasks, fresh, work = await repository.create_job_leased(
        job(), [task("https://www.example.com/1"), task("https://www.example.com/2")], [], lease)
    assert fresh
    assert work == []
    assert all(t.state is TaskState.QUEUED for t in tasks)
    assert len(await claim_all(repository)) == 4


async def test_a_leased_replay_or_refused_job_hands_out_no_work(
    repository: TaskRepository,
) -> None:
    lease = Lease(worker_id="w1", seconds=30, limit=10)
    first, tasks, _, work = await repository.create_job_leased(job(key="k"), [task()], [], lease)
    again, same, fresh, more = await repository.create_job_leased(
        job(key="k"), [task()], [], lease)
    assert (again, same, fresh, more) == (first, tasks, False, [])
    with pytest.raises(QuotaExceededError):
        await repository.create_job_leased(job(), [task()], [charge(5, 1)], lease)
    assert len(work) == 2
    assert len(await claim_all(repository, T0 + timedelta(seconds=31))) == 2  # the first only


# -- claim -----------------------------------------------------------------------------


async def test_claim_leases_due_deliveries_and_starts_their_tasks(
    repository: TaskRepository,
) -> None:
    _, (t,), _ = await repository.create_job(job(), [task()], [])
    assert await repository.claim("w1", limit=10, now=T0 - timedelta(seconds=1),
                                  lease_seconds=30) == []
    items = await claim_all(repository)
    assert sorted(i.node for i in items) == ["varnish-1", "varnish-2"]
    assert all((i.task_id, i.attempts, i.target, i.action) == (t.id, 0, t.target, Action.PURGE)
               for i in items)
    started = await repository.get_task("acme", t.id)
    assert started is not None
    assert started.state is TaskState.RUNNING
    assert started.updated_at == T0
    assert {d.state for d in await repository.deliveries(t.id)} == {DeliveryState.CLAIMED}
    assert await claim_all(repository, worker="w2") == []
    assert await repository.next_due() == T0 + timedelta(seconds=30)  # the lease's end


async def test_claim_takes_oldest_first_up_to_the_limit(repository: TaskRepository) -> None:
    await repository.create_job(job(at=T0 + timedelta(seconds=2)), [task(nodes=("n",))], [])
    _, (old,), _ = await repository.create_job(job(at=T0), [task(nodes=("n",))], [])
    later = T0 + timedelta(seconds=5)
    assert await repository.claim("w", limit=0, now=later, lease_seconds=30) == []
    first = await repository.claim("w", limit=1, now=later, lease_seconds=30)
    assert [i.task_id for i in first] == [old.id]
    assert len(await repository.claim("w", limit=5, now=later, lease_seconds=30)) == 1


async def test_an_expired_lease_is_claimed_again(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task()], [])
    first = await claim_all(repository, worker="w1", lease=30)
    assert await claim_all(repository, T0 + timedelta(seconds=29), worker="w2") == []
    taken = await claim_all(repository, T0 + timedelta(seconds=31), worker="w2")
    assert sorted(i.delivery_id for i in taken) == sorted(i.delivery_id for i in first)
    assert await claim_all(repository, T0 + timedelta(seconds=32), worker="w3") == []
    running = await repository.get_task("acme", t.id)
    assert running is not None
    assert running.state is TaskState.RUNNING


def _claim_until_empty(repo: TaskRepository, worker: str, out: list[int]) -> None:
    async def run() -> None:
        while items := await repo.claim(worker, limit=7, now=T0, lease_seconds=60):
            out.extend(i.delivery_id for i in items)

    asyncio.run(run())


async def test_concurrent_claimers_never_get_the_same_delivery(backend: Backend) -> None:
    repo = backend.open()
    for _ in range(4):
        await repo.create_job(job(), [task(f"https://www.example.com/{i}", nodes=("a", "b"))
                                      for i in range(25)], [])
    got: list[list[int]] = [[], []]
    threads = [threading.Thread(target=_claim_until_empty, args=(backend.open(), f"w{i}", got[i]))
               for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert len(got[0]) + len(got[1]) == 200
    assert len(set(got[0]) | set(got[1])) == 200


# -- record ----------------------------------------------------------------------------


async def test_record_success_settles_the_task_with_its_counters(
    repository: TaskRepository,
) -> None:
    # Every field comes back from the settling statement as from a read (times, JSON).
    _, (t,), _ = await repository.create_job(job(), [task(
        raw="https://WWW.example.com/a.png", headers={"Accept-Encoding": "gzip"}, site_id=7)],
        [])
    first, second = sorted(await claim_all(repository), key=lambda i: i.node)
    at = T0 + timedelta(seconds=1)
    assert await repository.record([ok(first, at)], at) == []
    halfway = await repository.get_task("acme", t.id)
    assert halfway is not None
    assert (halfway.state, halfway.deliveries_succeeded, halfway.progress) == (
        TaskState.RUNNING, 1, 50)
    (done,) = await repository.record([ok(second, at, "purged")], at)
    assert (done.id, done.state, done.finished_at) == (t.id, TaskState.SUCCEEDED, at)
    assert (done.deliveries_succeeded, done.deliveries_failed, done.error_code) == (2, 0, None)
    assert await repository.get_task("acme", t.id) == done
    d1, d2 = await repository.deliveries(t.id)
    assert (d1.state, d1.attempts, d1.http_status, d1.updated_at) == (
        DeliveryState.SUCCEEDED, 1, 200, at)
    (attempt,) = d2.history
    assert (attempt.delivery_id, attempt.number, attempt.started_at, attempt.outcome) == (
        second.delivery_id, 1, at, "ok")
    assert (attempt.latency_ms, attempt.http_status, attempt.detail) == (1.5, 200, "purged")
    assert await repository.next_due() is None


async def test_retry_then_final_failure_fails_the_task(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task(nodes=("varnish-1", "varnish-2"))],
                                             [])
    items = {i.node: i for i in await claim_all(repository)}
    retry_at = T0 + timedelta(seconds=10)
    assert await repository.record([fail(items["varnish-2"], retry_at=retry_at)], T0) == []
    pending = {d.node: d for d in await repository.deliveries(t.id)}["varnish-2"]
    assert (pending.state, pending.attempts, pending.next_attempt_at) == (
        DeliveryState.PENDING, 1, retry_at)
    assert pending.error_code == "connect"
    assert await repository.next_due() == retry_at
    assert await claim_all(repository, retry_at - timedelta(seconds=1)) == []
    (again,) = await claim_all(repository, retry_at)
    assert (again.node, again.attempts) == ("varnish-2", 1)
    assert await repository.record([ok(items["varnish-1"], retry_at)], retry_at) == []
    (failed,) = await repository.record([fail(again, retry_at)], retry_at)
    assert (failed.state, failed.error_code, failed.finished_at) == (
        TaskState.FAILED, "connect", retry_at)
    assert failed.description == "varnish-2: connection refused (2 attempts)"
    assert (failed.deliveries_succeeded, failed.deliveries_failed, failed.progress) == (
        1, 1, 100)
    history = {d.node: d for d in await repository.deliveries(t.id)}["varnish-2"].history
    assert [(a.number, a.outcome) for a in history] == [(1, "connect"), (2, "connect")]


async def test_failed_description_names_the_first_failed_delivery(
    repository: TaskRepository,
) -> None:
    await repository.create_job(job(), [task(nodes=("a", "b"))], [])
    items = {i.node: i for i in await claim_all(repository)}
    await repository.record([fail(items["b"], code="timeout", detail="no answer in 5s")], T0)
    (failed,) = await repository.record(
        [fail(items["a"], T0 + timedelta(seconds=1))], T0 + timedelta(seconds=1))
    assert (failed.error_code, failed.description) == ("timeout", "b: no answer in 5s (1 attempt)")


async def test_stale_and_duplicate_records_are_ignored(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task(nodes=("n",))], [])
    (old,) = await claim_all(repository, worker="w1", lease=30)
    later = T0 + timedelta(seconds=31)
    (new,) = await claim_all(repository, later, worker="w2")
    # SqlTaskRepository and the memory twin take the lease holder (see the report's port
    # change); without it, state CLAIMED alone guards against double counting.
    assert await repository.record([ok(old, later)], later, worker_id="w1") == []
    (done,) = await repository.record([ok(new, later), ok(new, later)], later, worker_id="w2")
    assert (done.deliveries_succeeded, done.deliveries_failed) == (1, 0)
    assert await repository.record([ok(new, later)], later) == []
    (d,) = await repository.deliveries(t.id)
    assert (d.attempts, len(d.history)) == (1, 1)


async def test_record_for_a_canceled_delivery_is_ignored(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task()], [])
    items = await claim_all(repository)
    await repository.cancel_task("acme", t.id, T0)
    assert await repository.record([ok(i) for i in items], T0) == []
    assert all(d.history == () and d.state is DeliveryState.CANCELED
               for d in await repository.deliveries(t.id))


async def test_record_naming_another_task_is_ignored(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task(nodes=("n",))], [])
    (item,) = await claim_all(repository)
    assert await repository.record([replace(ok(item), task_id=t.id + 1)], T0) == []
    (done,) = await repository.record([ok(item)], T0)
    assert done.state is TaskState.SUCCEEDED


async def test_attempt_detail_is_truncated(repository: TaskRepository) -> None:
    _, (t,), _ = await repository.create_job(job(), [task(nodes=("n",))], [])
    (item,) = await claim_all(repository)
    await repository.record([fail(item, detail="x" * 5000)], T0)
    (d,) = await repository.deliveries(t.id)
    assert d.history[0].detail == "x" * 511 + "…"


# -- cancel, expire --------------------------------------------------------------------


async def test_cancel_is_a_compare_and_set(repository: TaskRepository) -> None:
    _, (queued, running, finished), _ = await repository.create_job(
        job(), [task("https://www.example.com/1"), task("https://www.example.com/2"),
                task("https://www.example.com/3", nodes=())], [])
    at = T0 + timedelta(seconds=1)
    canceled = await repository.cancel_task("acme", queued.id, at)
    assert (canceled.state, canceled.finished_at, canceled.updated_at) == (
        TaskState.CANCELED, at, at)
    assert {d.state for d in await repository.deliveries(queued.id)} == {DeliveryState.CANCELED}
    items = await claim_all(repository, at)
    assert {i.task_id for i in items} == {running.id}
    stopped = await repository.cancel_task("acme", running.id, at)
    assert stopped.state is TaskState.CANCELED
    assert await claim_all(repository, at + HOUR) == []  # leases of canceled work are gone
    with pytest.raises(InvalidTransitionError):
        await repository.cancel_task("acme", queued.id, at)
    with pytest.raises(InvalidTransitionError):
        await repository.cancel_task("acme", finished.id, at)
    with pytest.raises(NotFoundError):
        await repository.cancel_task("other", running.id, at)
    with pytest.raises(NotFoundError):
        await repository.cancel_task("acme", finished.id + 1000, at)
    assert await repository.get_task("acme", finished.id) == finished


async def test_expire_times_out_unfinished_tasks_past_their_deadline(
    repository: TaskRepository,
) -> None:
    deadline = T0 + timedelta(seconds=60)
    _, (waiting, started, done), _ = await repository.create_job(
        job(deadline=deadline), [task("https://www.example.com/1"),
                                 task("https://www.example.com/2", nodes=("n",)),
                                 task("https://www.example.com/3", nodes=())], [])
    _, (later,), _ = await repository.create_job(job(deadline=deadline + HOUR), [task()], [])
    (item,) = [i for i in await claim_all(repository) if i.task_id == started.id]
    assert await repository.expire(deadline) == []
    gone = deadline + timedelta(seconds=1)
    expired = await repository.expire(gone)
    assert [t.id for t in expired] == [waiting.id, started.id]
    assert all(t.state is TaskState.TIMED_OUT and t.finished_at == gone for t in expired)
    assert {d.state for d in await repository.deliveries(waiting.id)} == {
        DeliveryState.CANCELED}
    assert await repository.record([ok(item, gone)], gone) == []
    assert await repository.get_task("acme", done.id) == done
    still = await repository.get_task("acme", later.id)
    assert still is not None
    assert still.state is TaskState.RUNNING
    assert await repository.expire(gone) == []


# -- block rules, prune ----------------------------------------------------------------


async def test_block_tasks_maintain_block_rules(repository: TaskRepository) -> None:
    a, b = "https://www.example.com/a", "https://www.example.com/b"
    _, (block_a, _), _ = await repository.create_job(job(), [
        task(a, action=Action.BLOCK, block_expires_at=T0 + HOUR),
        task(b, action=Action.BLOCK),
    ], [])
    await repository.create_job(job(account="other", at=T0 + timedelta(seconds=1)),
                                [task(a, action=Action.BLOCK)], [])
    rules = await repository.block_rules("acme", T0)  # newest first; ties: newest task
    assert [(r.url, r.expires_at, r.domain) for r in rules] == [
        (b, None, "www.example.com"), (a, T0 + HOUR, "www.example.com")]
    assert {r.task_id for r in rules if r.url == a} == {block_a.id}
    assert [r.account_id for r in await repository.block_rules(None, T0)] == [
        "other", "acme", "acme"]
    assert [r.url for r in await repository.block_rules("acme", T0 + HOUR)] == [b]
    assert len(await repository.block_rules(None, T0, limit=1, offset=1)) == 1
    later = T0 + timedelta(minutes=5)
    _, (reblock,), _ = await repository.create_job(job(at=later), [
        task(a, action=Action.BLOCK, block_expires_at=later + HOUR)], [])
    _, _, _ = await repository.create_job(job(at=later), [
        task(b, action=Action.UNBLOCK), task(b, action=Action.BLOCK, error_code="Quota")], [])
    (rule,) = await repository.block_rules("acme", later)
    assert (rule.url, rule.task_id, rule.created_at, rule.expires_at) == (
        a, reblock.id, later, later + HOUR)


async def test_list_block_rules_filters_pages_and_counts(repository: TaskRepository) -> None:
    urls = [f"https://www.example.com/Img/{i}.png" for i in range(5)]
    for i, url in enumerate(urls):  # one job a second; rule 4 expires after 10 minutes
        expires = T0 + timedelta(minutes=10) if i == 4 else None
        await repository.create_job(job(at=T0 + timedelta(seconds=i)), [
            task(url, action=Action.BLOCK, block_expires_at=expires)], [])
    await repository.create_job(job(at=T0 + timedelta(seconds=2)), [
        task("https://cdn.example.org/x%", domain="cdn.example.org", action=Action.BLOCK)], [])
    await repository.create_job(job(account="other"), [task(urls[0], action=Action.BLOCK)], [])
    now = T0 + timedelta(minutes=1)

    async def listed(limit: int = 50, offset: int = 0, at: datetime = now,
                     **kw: Any) -> tuple[list[str], int]:
        page = await repository.list_block_rules(BlockRuleFilter(account_id="acme", **kw), at,
                                                 limit=limit, offset=offset)
        assert all(r.account_id == "acme" for r in page.items)
        return [r.url.rsplit("/", 1)[-1] for r in page.items], page.total

    newest_first = ["4.png", "3.png", "x%", "2.png", "1.png", "0.png"]  # ties: newest task
    assert await listed() == (newest_first, 6)
    assert [r.url for r in await repository.block_rules("acme", now)] == [
        r.url for r in (await repository.list_block_rules(
            BlockRuleFilter(account_id="acme"), now, limit=50)).items]
    assert await listed(at=T0 + HOUR) == (newest_first[1:], 5)  # expired rules are gone
    assert await listed(url_equals=urls[3]) == (["3.png"], 1)
    assert await listed(url_equals=urls[3].upper()) == ([], 0)
    assert await listed(url_contains="/Img/") == (newest_first[:2] + newest_first[3:], 5)
    assert await listed(url_contains="/img/") == ([], 0)  # case-sensitive
    assert await listed(url_contains="%") == (["x%"], 1)  # no LIKE wildcards
    assert await listed(created_from=T0 + timedelta(seconds=2)) == (newest_first[:4], 4)
    assert await listed(created_to=T0 + timedelta(seconds=2)) == (["1.png", "0.png"], 2)
    assert await listed(created_from=T0 + timedelta(seconds=1),
                        created_to=T0 + timedelta(seconds=3), url_contains=".png") == (
        ["2.png", "1.png"], 2)
    assert await listed(limit=2) == (newest_first[:2], 6)
    assert await listed(limit=2, offset=4) == (newest_first[4:], 6)
    assert await listed(limit=4, offset=4) == (newest_first[4:], 6)
    assert await listed(limit=2, offset=6) == ([], 6)
    assert await listed(limit=0) == ([], 6)
    assert await listed(url_equals="https://nowhere.example/") == ([], 0)
    nobody = await repository.list_block_rules(BlockRuleFilter(account_id="nobody"), now,
                                               limit=10)
    assert (nobody.items, nobody.total) == ([], 0)


async def test_prune_removes_old_finished_jobs_and_expired_rules(
    repository: TaskRepository,
) -> None:
    old_done, (t1, _), _ = await repository.create_job(job(), [
        task("https://www.example.com/1", nodes=("n",)),
        task("https://www.example.com/2", action=Action.BLOCK, nodes=(),
             block_expires_at=T0 + timedelta(minutes=1)),
    ], [])
    _, (running,), _ = await repository.create_job(job(), [task(nodes=("n",))], [])
    recent, _, _ = await repository.create_job(job(at=T0 + 2 * HOUR), [task(nodes=())], [])
    for item in await claim_all(repository):
        if item.task_id == t1.id:
            await repository.record([ok(item)], T0)
    assert await repository.prune(T0 + HOUR) == 2
    assert await repository.get_job("acme", old_done.id) is None
    assert await repository.get_task("acme", t1.id) is None
    assert await repository.deliveries(t1.id) == []
    assert await repository.get_task("acme", running.id) is not None
    assert await repository.get_job("acme", recent.id) is not None
    assert await repository.block_rules(None, T0) == []
    assert await repository.prune(T0 + HOUR) == 0


async def test_task_ids_are_never_reused_after_prune(repository: TaskRepository) -> None:
    await repository.create_job(job(), [task(nodes=())], [])
    _, (newest,), _ = await repository.create_job(job(), [task(nodes=())], [])
    assert await repository.prune(T0 + HOUR) == 2
    _, (fresh,), _ = await repository.create_job(job(), [task()], [])
    assert fresh.id > newest.id


async def test_a_pruned_idempotency_key_can_be_used_again(repository: TaskRepository) -> None:
    await repository.create_job(job(key="k"), [task(nodes=())], [])
    await repository.prune(T0 + HOUR)
    _, _, fresh = await repository.create_job(job(key="k", fingerprint="new"), [task()], [])
    assert fresh


# -- PostgreSQL wake-ups (not part of the port) ----------------------------------------


async def _woken(listener: Any, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            await listener.wait()
    except TimeoutError:
        return False
    return True


@pytest.mark.servers
async def test_postgres_wakes_listeners_only_for_committed_jobs(postgres_database: str) -> None:
    repo = open_repository(postgres_database)
    listener = repo.listener()  # type: ignore[attr-defined]
    try:
        async with listener:
            with pytest.raises(QuotaExceededError):
                await repo.create_job(job(), [task()], [charge(5, 1, scope="wake")])
            assert not await _woken(listener, 0.3)  # rolled back: no wake-up
            await repo.create_job(job(), [task()], [])
            assert await _woken(listener, 5)
            for _ in range(3):
                await repo.create_job(job(), [task()], [])
            await asyncio.sleep(0.3)
            assert await _woken(listener, 5)  # several commits, one wake-up
            assert not await _woken(listener, 0.3)
    finally:
        await repo.close()
