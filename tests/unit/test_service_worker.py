"""The use cases and the worker over the in-memory repository and fake edges (no I/O)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from cdnctl.core.directory import Directory, hash_token
from cdnctl.core.edge import EdgeRejectedError, EdgeUnreachableError, OriginError
from cdnctl.core.errors import (
    IdempotencyConflictError,
    InvalidDomainError,
    InvalidTransitionError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import (
    Account,
    Action,
    Capability,
    Method,
    Node,
    QuotaKind,
    Site,
    TargetType,
    TaskState,
)
from cdnctl.core.ports import TaskFilter
from cdnctl.core.service import ContentService, Limits, Submission
from cdnctl.dispatch.retry import RetryPolicy
from cdnctl.dispatch.worker import Worker, WorkerSettings
from cdnctl.limits.ratelimit import MemoryRateLimiter
from cdnctl.testing import FakeEdge, FrozenClock, InMemoryTaskRepository, RecordingMetrics

ACME = Account(id="1000000001", name="acme", token_hashes=frozenset({hash_token("t")}),
               quotas={QuotaKind.REGEX: 2})
OTHER = Account(id="1000000002", name="other")
SITES = [Site(id=1, account_id=ACME.id, name="example.com", zone_id="z1",
              domains=("www.example.com", "img.example.com"), pool="edge"),
         Site(id=2, account_id=OTHER.id, name="other.com", zone_id="z2",
              domains=("www.other.com",), pool="edge")]
NODES = [Node(name="a", pool="edge", kind="fake", url=""),
         Node(name="b", pool="edge", kind="fake", url="")]
NO_SOFT = frozenset(Capability) - {Capability.SOFT_PURGE}


class Rig:
    def __init__(self, *, edges: dict[str, FakeEdge] | None = None, limits: Limits | None = None,
                 retry: RetryPolicy | None = None, dispatch: bool = False,
                 claim_batch: int = 256) -> None:
        self.clock = FrozenClock()
        self.repo = InMemoryTaskRepository()
        self.edges = edges or {n.name: FakeEdge(n.name) for n in NODES}
        self.directory = Directory([ACME, OTHER], SITES, NODES,
                                   {k: e.capabilities for k, e in self.edges.items()})
        self.metrics = RecordingMetrics()
        self.worker = Worker(self.repo, self.directory, self.edges, self.clock,
                             WorkerSettings(retry=retry or RetryPolicy(wait=1, jitter=0),
                                            claim_batch=claim_batch),
                             metrics=self.metrics, worker_id="w1")
        self.service = ContentService(self.repo, self.directory, self.clock,
                                      limiter=MemoryRateLimiter(), metrics=self.metrics,
                                      limits=limits, wakeup=self.worker if dispatch else None,
                                      dispatcher=self.worker if dispatch else None)

    async def submit(self, action=Action.PURGE, kind=TargetType.URL, *targets, account=ACME,
                     **kw):
        specs = [self.service.spec(account, action, kind, t, **kw) for t in targets]
        return await self.service.submit(Submission(account=account, specs=specs))


async def test_purge_reaches_every_node_and_succeeds():
    rig = Rig()
    done = await rig.submit(Action.PURGE, TargetType.URL, "https://www.example.com/a.png")
    (task,) = done.tasks
    assert task.state is TaskState.QUEUED
    assert task.deliveries_total == 2
    await rig.worker.run_until_idle()
    task, deliveries = await rig.service.task_detail(ACME, task.id)
    assert task.state is TaskState.SUCCEEDED
    assert task.progress == 100
    assert {d.node for d in deliveries} == {"a", "b"}
    assert all(d.history and d.history[0].outcome == "ok" for d in deliveries)
    op = rig.edges["a"].calls[0]
    assert (op.type, op.target, op.domain) == (TargetType.URL, "https://www.example.com/a.png",
                                               "www.example.com")
    assert rig.metrics.finished == [TaskState.SUCCEEDED]


async def test_transient_failure_is_retried_then_succeeds():
    a = FakeEdge("a", script=[EdgeUnreachableError("refused")])
    rig = Rig(edges={"a": a, "b": FakeEdge("b")})
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    await rig.worker.run_until_idle()
    assert (await rig.service.task(ACME, task.id)).state is TaskState.RUNNING
    rig.clock.advance(1.5)  # past the 1 s backoff
    await rig.worker.run_until_idle()
    task, deliveries = await rig.service.task_detail(ACME, task.id)
    assert task.state is TaskState.SUCCEEDED
    hist = next(d for d in deliveries if d.node == "a").history
    assert [h.outcome for h in hist] == ["edge_unreachable", "ok"]


async def test_node_down_fails_after_retries_with_description():
    down = FakeEdge("a", script=[EdgeUnreachableError("connection refused")] * 3)
    rig = Rig(edges={"a": down, "b": FakeEdge("b")})
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    for _ in range(4):
        await rig.worker.run_until_idle()
        rig.clock.advance(10)
    task = await rig.service.task(ACME, task.id)
    assert task.state is TaskState.FAILED
    assert task.error_code == "edge_unreachable"
    assert "a: connection refused" in (task.description or "")
    assert len(down.calls) == 3


async def test_permanent_errors_are_not_retried():
    rig = Rig(edges={"a": FakeEdge("a", script=[OriginError("503 from origin", code="origin_5xx")]),
                     "b": FakeEdge("b", script=[EdgeRejectedError("403 forbidden")])})
    (task,) = (await rig.submit(Action.PREFETCH, TargetType.URL,
                                "http://www.example.com/x")).tasks
    await rig.worker.run_until_idle()
    task = await rig.service.task(ACME, task.id)
    assert task.state is TaskState.FAILED
    assert task.error_code in {"origin_5xx", "edge_rejected"}


async def test_deadline_times_out_the_task():
    flaky = FakeEdge("a", script=[EdgeUnreachableError("x")] * 9)
    rig = Rig(edges={"a": flaky, "b": FakeEdge("b")}, limits=Limits(task_deadline_seconds=5))
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    await rig.worker.run_until_idle()
    rig.clock.advance(6)
    assert [t.id for t in await rig.repo.expire(rig.clock.now())] == [task.id]
    assert (await rig.service.task(ACME, task.id)).state is TaskState.TIMED_OUT


async def test_cancel_is_a_guarded_transition():
    rig = Rig()
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    assert (await rig.service.cancel(ACME, task.id)).state is TaskState.CANCELED
    with pytest.raises(InvalidTransitionError):
        await rig.service.cancel(ACME, task.id)
    with pytest.raises(NotFoundError):
        await rig.service.cancel(OTHER, task.id)  # another account's task is invisible
    await rig.worker.run_until_idle()
    assert rig.edges["a"].calls == []


async def test_validation_ownership_capability_and_limits():
    rig = Rig(edges={"a": FakeEdge("a", capabilities=NO_SOFT), "b": FakeEdge("b")})
    with pytest.raises(InvalidDomainError):
        rig.service.spec(ACME, Action.PURGE, TargetType.URL, "http://www.other.com/x")
    with pytest.raises(UnsupportedError, match=r"a \(fake\)"):
        rig.service.spec(ACME, Action.PURGE, TargetType.URL, "http://www.example.com/x",
                         method=Method.INVALIDATE)
    with pytest.raises(ValidationError, match="URL targets only"):
        rig.service.spec(ACME, Action.PREFETCH, TargetType.PREFIX, "http://www.example.com/")
    with pytest.raises(ValidationError, match="block TTL"):
        rig.service.spec(ACME, Action.BLOCK, TargetType.URL, "http://www.example.com/x",
                         block_ttl_seconds=0)
    small = Rig(limits=Limits(max_targets=2))
    with pytest.raises(LimitExceededError):
        await small.submit(Action.PURGE, TargetType.URL,
                           *[f"http://www.example.com/{i}" for i in range(3)])


async def test_all_targets_a_site_and_carries_its_hosts():
    rig = Rig()
    (task,) = (await rig.submit(Action.PURGE, TargetType.ALL, "img.example.com")).tasks
    assert task.target == "example.com"
    await rig.worker.run_until_idle()
    assert rig.edges["a"].calls[0].hosts == ("www.example.com", "img.example.com")
    with pytest.raises(InvalidDomainError):
        rig.service.spec(ACME, Action.PURGE, TargetType.ALL, "other.com")


async def test_daily_quota_is_enforced_atomically():
    rig = Rig()
    regex = r"https?://www\.example\.com/a.*"
    await rig.submit(Action.PURGE, TargetType.REGEX, regex, regex)
    with pytest.raises(QuotaExceededError) as err:
        await rig.submit(Action.PURGE, TargetType.REGEX, regex)
    assert err.value.limit == 2
    assert err.value.remaining == 0
    quota = {q.kind: q for q in await rig.service.quota(ACME)}
    assert quota[QuotaKind.REGEX].remaining == 0
    assert quota[QuotaKind.URL].remaining == 10_000
    rig.clock.advance(86400)
    await rig.submit(Action.PURGE, TargetType.REGEX, regex)  # a new UTC day


async def test_idempotency_key_replays_and_detects_conflicts():
    rig = Rig()
    spec = rig.service.spec(ACME, Action.PURGE, TargetType.URL, "http://www.example.com/x")
    first = await rig.service.submit(Submission(ACME, [spec], idempotency_key="k1"))
    again = await rig.service.submit(Submission(ACME, [spec], idempotency_key="k1"))
    assert (again.created, again.job.id) == (False, first.job.id)
    other = rig.service.spec(ACME, Action.PURGE, TargetType.URL, "http://www.example.com/y")
    with pytest.raises(IdempotencyConflictError):
        await rig.service.submit(Submission(ACME, [other], idempotency_key="k1"))


async def test_rate_limit_per_account_and_operation():
    rig = Rig()
    acct = Account(id=ACME.id, name="acme", rate_limits={"Describe": 2})
    rig.service.check_rate(acct, "Describe")
    rig.service.check_rate(acct, "Describe")
    with pytest.raises(RateLimitedError) as err:
        rig.service.check_rate(acct, "Describe")
    assert err.value.retry_after > 0
    rig.service.check_rate(OTHER, "Describe")  # buckets are per account


async def test_listing_filters_by_state_and_domain():
    rig = Rig()
    await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/1",
                     "http://img.example.com/2")
    page = await rig.service.tasks(TaskFilter(account_id=ACME.id, domains=["img.example.com"]),
                                   limit=10)
    assert [t.domain for t in page.items] == ["img.example.com"]
    await rig.worker.run_until_idle()
    done = await rig.service.count(TaskFilter(account_id=ACME.id, states=[TaskState.SUCCEEDED]))
    assert done == 2
    assert await rig.service.count(TaskFilter(account_id=OTHER.id)) == 0


async def test_lease_expiry_lets_another_worker_finish():
    rig = Rig()
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    # a worker claims and then dies without recording anything
    claimed = await rig.repo.claim("dead", limit=10, now=rig.clock.now(), lease_seconds=30)
    assert len(claimed) == 2
    await rig.worker.run_until_idle()
    assert rig.edges["a"].calls == []  # still leased to the dead worker
    rig.clock.advance(31)
    await rig.worker.run_until_idle()
    assert (await rig.service.task(ACME, task.id)).state is TaskState.SUCCEEDED
    assert rig.clock.now() - task.created_at >= timedelta(seconds=31)


async def _settled(rig: Rig, task_id: int) -> TaskState:
    for _ in range(200):
        state = (await rig.service.task(ACME, task_id)).state
        if state.terminal:
            return state
        await asyncio.sleep(0.005)
    raise AssertionError(f"task {task_id} did not settle")


async def test_a_running_worker_takes_a_new_job_in_its_own_transaction():
    rig = Rig(dispatch=True)
    claimed: list[int] = []
    claim = rig.repo.claim

    async def counting_claim(*args, **kwargs):
        items = await claim(*args, **kwargs)
        claimed.append(len(items))
        return items

    rig.repo.claim = counting_claim  # type: ignore[method-assign]
    stop = asyncio.Event()
    running = asyncio.create_task(rig.worker.run(stop))
    await asyncio.sleep(0.01)
    (task,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/x")).tasks
    assert task.state is TaskState.RUNNING  # leased as it was committed
    assert await _settled(rig, task.id) is TaskState.SUCCEEDED
    assert [len(e.calls) for e in rig.edges.values()] == [1, 1]
    assert sum(claimed) == 0  # no claim transaction was needed
    stop.set()
    await running


async def test_a_lease_is_offered_only_by_a_running_worker_with_room():
    rig = Rig(dispatch=True, claim_batch=3)
    assert rig.worker.offer(1) is None  # not running: the claim loop will take the job
    (queued,) = (await rig.submit(Action.PURGE, TargetType.URL, "http://www.example.com/q")).tasks
    assert queued.state is TaskState.QUEUED
    stop = asyncio.Event()
    running = asyncio.create_task(rig.worker.run(stop))
    await asyncio.sleep(0.01)
    assert await _settled(rig, queued.id) is TaskState.SUCCEEDED
    assert rig.worker.offer(4) is None  # more than claim_batch
    lease = rig.worker.offer(3)
    assert lease is not None
    assert lease.limit == 3
    assert rig.worker.offer(1) is None  # all room reserved
    rig.worker.hand(lease, [])
    # A submission refused by the repository (quota) gives its lease back.
    regex = r"https?://www\.example\.com/a.*"
    with pytest.raises(QuotaExceededError):
        await rig.submit(Action.PURGE, TargetType.REGEX, regex, regex, regex)
    lease = rig.worker.offer(3)
    assert lease is not None
    rig.worker.hand(lease, [])
    stop.set()
    await asyncio.wait_for(running, 5)  # no lease outstanding: the worker stops
