"""InMemoryTaskRepository: the TaskRepository contract in pure Python."""


from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cdnctl.core import states
from cdnctl.core.errors import IdempotencyConflictError, NotFoundError
from cdnctl.core.model import (
    Account,
    Attempt,
    BlockRule,
    Delivery,
    DeliveryState,
    Job,
    Node,
    QuotaKind,
    Site,
    Task,
    TaskState,
    WorkItem,
)
from cdnctl.core.ports import (
    AttemptRecord,
    BlockRuleFilter,
    BlockRulePage,
    JobFilter,
    JobOrder,
    JobPage,
    JobSummary,
    Lease,
    NewJob,
    NewTask,
    Page,
    QuotaCharge,
    TaskFilter,
)
from cdnctl.storage import _rules

_D = DeliveryState
_OPEN = (_D.PENDING, _D.CLAIMED)
_UNFINISHED = (TaskState.QUEUED, TaskState.RUNNING)
_JOB_KEYS: dict[JobOrder, Callable[[JobSummary], Any]] = {
    JobOrder.CREATED_AT: lambda s: s.job.created_at,
    JobOrder.ACTION: lambda s: s.action.value,
    JobOrder.TOTAL: lambda s: s.total,
    JobOrder.PROCESSING: lambda s: s.processing,
    JobOrder.SUCCEEDED: lambda s: s.succeeded,
    JobOrder.FAILED: lambda s: s.failed,
}



# -- in-memory repository ----------------------------------------------------------------


@dataclass
class _Delivery:
    id: int
    task_id: int
    node: str
    state: DeliveryState
    next_attempt_at: datetime
    updated_at: datetime
    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    http_status: int | None = None
    error_code: str | None = None
    description: str | None = None
    history: list[Attempt] = field(default_factory=list)

    def freeze(self) -> Delivery:
        return Delivery(
            id=self.id, task_id=self.task_id, node=self.node, state=self.state,
            attempts=self.attempts, next_attempt_at=self.next_attempt_at,
            updated_at=self.updated_at, http_status=self.http_status,
            error_code=self.error_code, description=self.description,
            history=tuple(self.history),
        )


@dataclass(frozen=True, slots=True)
class _StoredTask:
    task: Task
    source: str
    block_ttl_seconds: int | None


class InMemoryTaskRepository:
    """The repository contract in pure Python, one lock around each method.

    Same semantics as :class:`cdnctl.storage.repository.SqlTaskRepository` (both use
    :mod:`cdnctl.storage._rules`); data lives as long as the object.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.sites: dict[int, Site] = {}
        self.nodes: dict[str, Node] = {}
        self._jobs: dict[str, tuple[Job, str]] = {}  # id -> (job, fingerprint)
        self._keys: dict[tuple[str, str], str] = {}  # (account, idempotency key) -> job id
        self._tasks: dict[int, _StoredTask] = {}
        self._deliveries: dict[int, _Delivery] = {}
        self._quota: dict[tuple[str, str, QuotaKind], int] = {}
        self._blocks: dict[tuple[str, str], BlockRule] = {}
        self._next_task_id = 1
        self._next_delivery_id = 1

    async def sync_config(
        self, accounts: Sequence[Account], sites: Sequence[Site], nodes: Sequence[Node]
    ) -> None:
        with self._lock:
            self.accounts.update((a.id, a) for a in accounts)
            self.sites.update((s.id, s) for s in sites)
            self.nodes.update((n.name, n) for n in nodes)

    # -- jobs --------------------------------------------------------------------------

    async def create_job(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge]
    ) -> tuple[Job, list[Task], bool]:
        stored, created, made, _ = self._create(job, tasks, charges, None)
        return stored, created, made

    async def create_job_leased(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge],
        lease: Lease,
    ) -> tuple[Job, list[Task], bool, list[WorkItem]]:
        return self._create(job, tasks, charges, lease)

    def _create(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge],
        lease: Lease | None,
    ) -> tuple[Job, list[Task], bool, list[WorkItem]]:
        with self._lock:
            if job.idempotency_key is not None:
                known = self._keys.get((job.account_id, job.idempotency_key))
                if known is not None:
                    stored, fingerprint = self._jobs[known]
                    if fingerprint != job.fingerprint:
                        raise IdempotencyConflictError(
                            f"idempotency key {job.idempotency_key!r} was used for another "
                            "request")
                    return stored, self._job_tasks(known), False, []
            if job.id in self._jobs:
                raise ValueError(f"job {job.id!r} exists")
            self._charge(charges)
            created = Job(id=job.id, account_id=job.account_id, created_at=job.created_at,
                          source=job.source, request_id=job.request_id,
                          idempotency_key=job.idempotency_key, task_count=len(tasks),
                          meta=dict(job.meta))
            self._jobs[job.id] = (created, job.fingerprint)
            if job.idempotency_key is not None:
                self._keys[(job.account_id, job.idempotency_key)] = job.id
            ids = list(range(self._next_task_id, self._next_task_id + len(tasks)))
            self._next_task_id += len(tasks)
            if lease is not None and sum(len(_rules.nodes_of(t)) for t in tasks) > lease.limit:
                lease = None
            work: list[WorkItem] = []
            out = [self._add_task(task_id, job, t, lease, work)
                   for task_id, t in zip(ids, tasks, strict=True)]
            for url, change in _rules.block_changes(zip(ids, tasks, strict=True)).items():
                if change is None:
                    self._blocks.pop((job.account_id, url), None)
                else:
                    task_id, t = change
                    self._blocks[(job.account_id, url)] = BlockRule(
                        account_id=job.account_id, url=url, domain=t.domain,
                        created_at=job.created_at, expires_at=t.block_expires_at,
                        task_id=task_id)
            return created, out, True, work

    def _charge(self, charges: Sequence[QuotaCharge]) -> None:
        pending = dict(self._quota)
        for c in charges:
            key = (c.scope, c.day, c.kind)
            used = pending.get(key, 0)
            if used + c.amount > c.limit:
                raise _rules.quota_exceeded(c, used)
            pending[key] = used + c.amount
        self._quota = pending

    def _add_task(self, task_id: int, job: NewJob, t: NewTask, lease: Lease | None,
                  work: list[WorkItem]) -> Task:
        targets = _rules.nodes_of(t)
        task = _rules.new_task(task_id, job, t, targets, leased=lease is not None)
        self._tasks[task_id] = _StoredTask(task, job.source, t.block_ttl_seconds)
        for node in targets:
            d = _Delivery(id=self._next_delivery_id, task_id=task_id, node=node,
                          state=_D.PENDING, next_attempt_at=job.created_at,
                          updated_at=job.created_at)
            if lease is not None:
                d.state, d.lease_owner = _D.CLAIMED, lease.worker_id
                d.lease_expires_at = job.created_at + timedelta(seconds=lease.seconds)
                work.append(_rules.work_item(task, t, d.id, node))
            self._deliveries[d.id] = d
            self._next_delivery_id += 1
        return task

    def _job_tasks(self, job_id: str) -> list[Task]:
        return sorted((s.task for s in self._tasks.values() if s.task.job_id == job_id),
                      key=lambda t: t.id)

    async def get_job(self, account_id: str, job_id: str) -> tuple[Job, list[Task]] | None:
        with self._lock:
            found = self._jobs.get(job_id)
            if found is None or found[0].account_id != account_id:
                return None
            return found[0], self._job_tasks(job_id)

    async def list_jobs(
        self,
        flt: JobFilter,
        *,
        limit: int,
        offset: int = 0,
        order: JobOrder = JobOrder.CREATED_AT,
        descending: bool = True,
    ) -> JobPage:
        with self._lock:
            by_job: dict[str, list[Task]] = {}
            for stored in self._tasks.values():
                by_job.setdefault(stored.task.job_id, []).append(stored.task)
            found = [summary for job, _ in self._jobs.values()
                     if (summary := _job_summary(flt, job, by_job.get(job.id, [])))]
        key = _JOB_KEYS[order]
        found.sort(key=lambda s: (key(s), s.job.created_at, s.job.id), reverse=descending)
        return JobPage(items=found[max(offset, 0):max(offset, 0) + max(limit, 0)],
                       total=len(found))

    # -- queries -----------------------------------------------------------------------

    async def get_task(self, account_id: str, task_id: int) -> Task | None:
        with self._lock:
            stored = self._tasks.get(task_id)
            return stored.task if stored and stored.task.account_id == account_id else None

    def _matching(self, flt: TaskFilter) -> list[Task]:
        def keep(s: _StoredTask) -> bool:
            t = s.task
            return (
                t.account_id == flt.account_id
                and (flt.task_ids is None or t.id in flt.task_ids)
                and (flt.job_id is None or t.job_id == flt.job_id)
                and (flt.states is None or t.state in flt.states)
                and (flt.actions is None or t.action in flt.actions)
                and (flt.types is None or t.type in flt.types)
                and (flt.domains is None or t.domain in flt.domains)
                and (flt.site_ids is None or t.site_id in flt.site_ids)
                and (flt.sources is None or s.source in flt.sources)
                and (flt.target_contains is None or flt.target_contains in t.target)
                and (flt.target_equals is None or flt.target_equals in (t.target, t.raw_target))
                and (flt.created_from is None or t.created_at >= flt.created_from)
                and (flt.created_to is None or t.created_at < flt.created_to)
            )

        with self._lock:
            found = [s.task for s in self._tasks.values() if keep(s)]
        return sorted(found, key=lambda t: t.id, reverse=True)

    async def list_tasks(
        self, flt: TaskFilter, *, limit: int, before_id: int | None = None, offset: int = 0
    ) -> Page:
        found = [t for t in self._matching(flt) if before_id is None or t.id < before_id]
        items = found[offset : offset + limit + 1]
        more = len(items) > limit
        del items[limit:]
        return Page(items=items, next_cursor=items[-1].id if more and items else None)

    async def count_tasks(self, flt: TaskFilter) -> int:
        return len(self._matching(flt))

    async def deliveries(self, task_id: int) -> list[Delivery]:
        with self._lock:
            found = [d for d in self._deliveries.values() if d.task_id == task_id]
            return [d.freeze() for d in sorted(found, key=lambda d: (d.node, d.id))]

    async def quota_used(self, scope: str, day: str) -> dict[QuotaKind, int]:
        with self._lock:
            return {k: used for (s, d, k), used in self._quota.items() if (s, d) == (scope, day)}

    def _active_blocks(self, account_id: str | None, now: datetime) -> list[BlockRule]:
        with self._lock:
            active = [r for r in self._blocks.values()
                      if (account_id is None or r.account_id == account_id)
                      and (r.expires_at is None or r.expires_at > now)]
        return sorted(active, key=lambda r: (r.created_at, r.task_id), reverse=True)

    async def block_rules(
        self, account_id: str | None, now: datetime, *, limit: int = 1000, offset: int = 0
    ) -> list[BlockRule]:
        return self._active_blocks(account_id, now)[offset : offset + limit]

    async def list_block_rules(
        self, flt: BlockRuleFilter, now: datetime, *, limit: int, offset: int = 0
    ) -> BlockRulePage:
        found = [r for r in self._active_blocks(flt.account_id, now)
                 if (flt.url_equals is None or r.url == flt.url_equals)
                 and (flt.url_contains is None or flt.url_contains in r.url)
                 and (flt.created_from is None or r.created_at >= flt.created_from)
                 and (flt.created_to is None or r.created_at < flt.created_to)]
        start = max(offset, 0)
        return BlockRulePage(items=found[start : start + max(limit, 0)], total=len(found))

    # -- state changes -----------------------------------------------------------------

    def _move(self, task_id: int, new: TaskState, now: datetime, **changes: Any) -> Task:
        stored = self._tasks[task_id]
        states.check(stored.task.state, new)
        task = dataclasses.replace(stored.task, state=new, updated_at=now, **changes)
        self._tasks[task_id] = dataclasses.replace(stored, task=task)
        return task

    def _cancel_deliveries(self, task_id: int, now: datetime) -> None:
        for d in self._deliveries.values():
            if d.task_id == task_id and d.state in _OPEN:
                d.state, d.updated_at = _D.CANCELED, now
                d.lease_owner = d.lease_expires_at = None

    async def cancel_task(self, account_id: str, task_id: int, now: datetime) -> Task:
        with self._lock:
            stored = self._tasks.get(task_id)
            if stored is None or stored.task.account_id != account_id:
                raise NotFoundError(f"task {task_id} not found")
            task = self._move(task_id, TaskState.CANCELED, now, finished_at=now)
            self._cancel_deliveries(task_id, now)
            return task

    async def claim(
        self, worker_id: str, *, limit: int, now: datetime, lease_seconds: float
    ) -> list[WorkItem]:
        with self._lock:
            expired = sorted((d for d in self._deliveries.values() if d.state is _D.CLAIMED
                              and d.lease_expires_at is not None and d.lease_expires_at < now),
                             key=lambda d: (d.lease_expires_at or now, d.id))[: max(limit, 0)]
            due = sorted((d for d in self._deliveries.values()
                          if d.state is _D.PENDING and d.next_attempt_at <= now),
                         key=lambda d: (d.next_attempt_at, d.id))[: max(limit - len(expired), 0)]
            leased = sorted(expired + due, key=lambda d: (d.next_attempt_at, d.id))
            items = []
            for d in leased:
                d.state, d.lease_owner, d.updated_at = _D.CLAIMED, worker_id, now
                d.lease_expires_at = now + timedelta(seconds=lease_seconds)
                stored = self._tasks[d.task_id]
                if stored.task.state is TaskState.QUEUED:
                    self._move(d.task_id, TaskState.RUNNING, now)
                t = stored.task
                items.append(WorkItem(
                    delivery_id=d.id, task_id=d.task_id, account_id=t.account_id, node=d.node,
                    attempts=d.attempts, action=t.action, type=t.type, target=t.target,
                    domain=t.domain, method=t.method, headers=dict(t.headers),
                    block_ttl_seconds=stored.block_ttl_seconds, deadline=t.deadline,
                    site_id=t.site_id))
            return items

    async def record(
        self, records: Sequence[AttemptRecord], now: datetime, *, worker_id: str | None = None
    ) -> list[Task]:
        with self._lock:
            touched: set[int] = set()
            first: dict[int, AttemptRecord] = {}
            for rec in records:
                first.setdefault(rec.delivery_id, rec)
            for rec in first.values():
                d = self._deliveries.get(rec.delivery_id)
                if (d is None or d.task_id != rec.task_id or d.state is not _D.CLAIMED
                        or (worker_id is not None and d.lease_owner != worker_id)):
                    continue
                state, retry_at = _rules.outcome(rec)
                detail = _rules.clip(rec.detail)
                d.attempts += 1
                d.history.append(Attempt(
                    delivery_id=d.id, number=d.attempts, started_at=rec.started_at,
                    latency_ms=rec.latency_ms, outcome=rec.code, http_status=rec.http_status,
                    detail=detail))
                d.state, d.updated_at, d.lease_owner, d.lease_expires_at = state, now, None, None
                d.next_attempt_at = retry_at or d.next_attempt_at
                d.http_status, d.description = rec.http_status, detail
                d.error_code = None if rec.ok else rec.code
                if state is not _D.PENDING:
                    t = self._tasks[d.task_id].task
                    ok, failed = (1, 0) if state is _D.SUCCEEDED else (0, 1)
                    self._tasks[d.task_id] = dataclasses.replace(
                        self._tasks[d.task_id], task=dataclasses.replace(
                            t, deliveries_succeeded=t.deliveries_succeeded + ok,
                            deliveries_failed=t.deliveries_failed + failed, updated_at=now))
                    touched.add(d.task_id)
            return [task for task_id in sorted(touched) if (task := self._settle(task_id, now))]

    def _settle(self, task_id: int, now: datetime) -> Task | None:
        t = self._tasks[task_id].task
        new = states.settle(t.deliveries_total, t.deliveries_succeeded, t.deliveries_failed)
        if new is None or t.state.terminal:
            return None
        if new is TaskState.SUCCEEDED:
            return self._move(task_id, new, now, finished_at=now)
        first = min((d for d in self._deliveries.values()
                     if d.task_id == task_id and d.state is _D.FAILED),
                    key=lambda d: (d.updated_at, d.id))
        return self._move(task_id, new, now, finished_at=now, error_code=first.error_code,
                          description=_rules.failure_description(
                              first.node, first.description, first.error_code, first.attempts))

    async def expire(self, now: datetime) -> list[Task]:
        with self._lock:
            overdue = sorted(s.task.id for s in self._tasks.values()
                             if not s.task.state.terminal and s.task.deadline < now)
            moved = []
            for task_id in overdue:
                moved.append(self._move(task_id, TaskState.TIMED_OUT, now, finished_at=now,
                                        description=_rules.TIMEOUT_DESCRIPTION))
                self._cancel_deliveries(task_id, now)
            return moved

    async def next_due(self) -> datetime | None:
        with self._lock:
            times = [d.next_attempt_at for d in self._deliveries.values() if d.state is _D.PENDING]
            times += [d.lease_expires_at for d in self._deliveries.values()
                      if d.state is _D.CLAIMED and d.lease_expires_at is not None]
            return min(times, default=None)

    async def prune(self, before: datetime) -> int:
        with self._lock:
            by_job: dict[str, list[int]] = {}
            for s in self._tasks.values():
                by_job.setdefault(s.task.job_id, []).append(s.task.id)
            removed = 0
            for job_id, (job, _) in list(self._jobs.items()):
                task_ids = by_job.get(job_id, [])
                if job.created_at >= before or any(
                        not self._tasks[i].task.state.terminal for i in task_ids):
                    continue
                for d in [d for d in self._deliveries.values() if d.task_id in task_ids]:
                    del self._deliveries[d.id]
                for i in task_ids:
                    del self._tasks[i]
                removed += len(task_ids)
                del self._jobs[job_id]
                if job.idempotency_key is not None:
                    self._keys.pop((job.account_id, job.idempotency_key), None)
            self._blocks = {k: r for k, r in self._blocks.items()
                            if r.expires_at is None or r.expires_at > before}
            return removed

    async def close(self) -> None:
        """Nothing to release."""


def _job_summary(flt: JobFilter, job: Job, tasks: list[Task]) -> JobSummary | None:
    """The job's summary if it matches ``flt`` (a job without tasks never does)."""
    if (not tasks or job.account_id != flt.account_id
            or (flt.job_ids is not None and job.id not in flt.job_ids)
            or (flt.sources is not None and job.source not in flt.sources)
            or (flt.created_from is not None and job.created_at < flt.created_from)
            or (flt.created_to is not None and job.created_at >= flt.created_to)
            or (flt.actions is not None and any(t.action not in flt.actions for t in tasks))
            or (flt.types is not None and any(t.type not in flt.types for t in tasks))):
        return None
    first = min(tasks, key=lambda t: t.id)
    processing = sum(1 for t in tasks if t.state in _UNFINISHED)
    succeeded = sum(1 for t in tasks if t.state is TaskState.SUCCEEDED)
    summary = JobSummary(job=job, action=first.action, type=first.type, total=len(tasks),
                         processing=processing, succeeded=succeeded,
                         failed=len(tasks) - processing - succeeded)
    if flt.statuses is not None and summary.status not in flt.statuses:
        return None
    return summary
