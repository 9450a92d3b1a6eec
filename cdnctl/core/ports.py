"""Ports: what the core needs from the world, as narrow Protocols.

Storage implements :class:`TaskRepository` (SQLite and PostgreSQL, plus the
in-memory twin in :mod:`cdnctl.testing`); ``cdnctl.edges`` implements
:class:`~cdnctl.core.edge.EdgeAdapter`; ``cdnctl.limits`` the rate limiter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Protocol

from cdnctl.core.model import (
    Account,
    Action,
    BlockRule,
    Delivery,
    Job,
    Node,
    QuotaKind,
    Site,
    TargetType,
    Task,
    TaskState,
    WorkItem,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


@dataclass(frozen=True, slots=True)
class NewTask:
    action: Action
    type: TargetType
    target: str
    raw_target: str
    domain: str | None
    method: str
    headers: dict[str, str]
    block_ttl_seconds: int | None
    block_expires_at: datetime | None
    nodes: tuple[str, ...]  # one delivery per node
    error_code: str | None = None  # set with state FAILED for a task rejected at submit
    description: str | None = None
    site_id: int | None = None  # see Target.site_id


@dataclass(frozen=True, slots=True)
class NewJob:
    id: str
    account_id: str
    created_at: datetime
    deadline: datetime  # for every task of the job
    source: str
    request_id: str
    idempotency_key: str | None
    fingerprint: str  # hash of the request, to tell a replay from a key reuse
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QuotaCharge:
    """Consume ``amount`` of a daily quota, atomically with the job insert."""

    scope: str  # usually the account id; dialects may use e.g. "zone:zone-acme"
    kind: QuotaKind
    day: str  # YYYY-MM-DD, in ``tz`` (see core.quotas.day_of)
    amount: int
    limit: int
    tz: tzinfo = UTC  # the time zone the quota day is counted in (for resets_at)


@dataclass(frozen=True, slots=True)
class TaskFilter:
    account_id: str
    task_ids: Sequence[int] | None = None
    job_id: str | None = None
    states: Sequence[TaskState] | None = None
    actions: Sequence[Action] | None = None
    types: Sequence[TargetType] | None = None
    domains: Sequence[str] | None = None
    target_contains: str | None = None
    target_equals: str | None = None  # matches target or raw_target exactly
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    sources: Sequence[str] | None = None
    site_ids: Sequence[int] | None = None  # Task.site_id in (an account-wide tag purge has none)


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Task]
    next_cursor: int | None  # pass as ``before_id`` to get the next page


class JobStatus(StrEnum):
    """A job's aggregate state, derived from its tasks."""

    PROCESSING = "processing"  # at least one task QUEUED or RUNNING
    SUCCEEDED = "succeeded"  # every task SUCCEEDED
    FAILED = "failed"  # every task terminal, at least one FAILED, TIMED_OUT or CANCELED


class JobOrder(StrEnum):
    CREATED_AT = "created_at"
    ACTION = "action"  # the job's action (see JobSummary.action), by its string value
    TOTAL = "total"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobFilter:
    account_id: str
    job_ids: Sequence[str] | None = None
    actions: Sequence[Action] | None = None  # EVERY task of the job has one of these actions
    types: Sequence[TargetType] | None = None  # EVERY task of the job has one of these types
    statuses: Sequence[JobStatus] | None = None  # the job's aggregate status is one of these
    created_from: datetime | None = None  # job.created_at >= (inclusive)
    created_to: datetime | None = None  # job.created_at <  (exclusive)
    sources: Sequence[str] | None = None  # job.source in


@dataclass(frozen=True, slots=True)
class JobSummary:
    job: Job
    action: Action  # action of the job's first task (lowest task id)
    type: TargetType  # target type of the job's first task
    total: int  # number of tasks
    processing: int  # tasks QUEUED or RUNNING
    succeeded: int  # tasks SUCCEEDED
    failed: int  # tasks FAILED, TIMED_OUT or CANCELED
    # invariant: processing + succeeded + failed == total

    @property
    def status(self) -> JobStatus:
        if self.processing:
            return JobStatus.PROCESSING
        return JobStatus.FAILED if self.failed else JobStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class JobPage:
    items: list[JobSummary]
    total: int  # jobs matching the filter, ignoring limit/offset


@dataclass(frozen=True, slots=True)
class BlockRuleFilter:
    account_id: str
    url_equals: str | None = None  # BlockRule.url exactly
    url_contains: str | None = None  # a substring of BlockRule.url (case-sensitive)
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class BlockRulePage:
    items: list[BlockRule]
    total: int  # rules matching the filter, ignoring limit/offset


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """The outcome of one attempt at one claimed delivery."""

    delivery_id: int
    task_id: int
    started_at: datetime
    latency_ms: float
    ok: bool
    code: str  # "ok" or the EdgeError code
    http_status: int | None
    detail: str
    retry_at: datetime | None  # None: final (succeeded, or failed for good)


class TaskRepository(Protocol):
    """Jobs, tasks and deliveries; also the work queue. Every method is one transaction."""

    async def sync_config(
        self, accounts: Sequence[Account], sites: Sequence[Site], nodes: Sequence[Node]
    ) -> None:
        """Upsert the configured accounts, sites and nodes (idempotent)."""
        ...

    async def create_job(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge]
    ) -> tuple[Job, list[Task], bool]:
        """Insert the job, its tasks and one PENDING delivery per (task, node), and charge
        the quotas, all in one transaction; raise QuotaExceededError (and write nothing)
        if a charge would pass its limit. A task with no node is created already settled.

        If ``job.idempotency_key`` was used before by the account: same fingerprint ->
        return the stored job and tasks with ``False`` (nothing written); different
        fingerprint -> IdempotencyConflictError. Otherwise returns ``True``.
        Block tasks upsert a block rule; unblock tasks delete it.
        """
        ...

    async def create_job_leased(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge],
        lease: Lease,
    ) -> tuple[Job, list[Task], bool, list[WorkItem]]:
        """:meth:`create_job`, but when the job has at most ``lease.limit`` deliveries
        they are inserted CLAIMED by ``lease.worker_id`` (lease ending ``lease.seconds``
        after ``job.created_at``), their tasks start RUNNING, and they are returned as
        work items for that worker to run. Otherwise (a larger job, or an idempotent
        replay) exactly :meth:`create_job` with no work items."""
        ...

    async def get_job(self, account_id: str, job_id: str) -> tuple[Job, list[Task]] | None: ...

    async def list_jobs(
        self,
        flt: JobFilter,
        *,
        limit: int,
        offset: int = 0,
        order: JobOrder = JobOrder.CREATED_AT,
        descending: bool = True,
    ) -> JobPage:
        """Jobs of ``flt.account_id`` matching every given criterion, each with its
        per-state task counters. Sorted by ``order`` in the given direction; ties
        broken by ``created_at`` then job id, in the same direction; then
        ``offset``/``limit`` are applied. ``total`` counts every matching job.
        One transaction (a consistent snapshot of items and total).

        A job without tasks has no action, type or status and is never listed."""
        ...

    async def get_task(self, account_id: str, task_id: int) -> Task | None: ...

    async def list_tasks(
        self, flt: TaskFilter, *, limit: int, before_id: int | None = None, offset: int = 0
    ) -> Page:
        """Newest first (by id). Keyset pagination with ``before_id``; ``offset`` for the
        vendor APIs that page by number."""
        ...

    async def count_tasks(self, flt: TaskFilter) -> int: ...

    async def deliveries(self, task_id: int) -> list[Delivery]:
        """The task's deliveries, each with its attempt history, ordered by node."""
        ...

    async def cancel_task(self, account_id: str, task_id: int, now: datetime) -> Task:
        """Compare-and-set the task to CANCELED (from QUEUED or RUNNING) and cancel its
        unfinished deliveries. NotFoundError / InvalidTransitionError otherwise."""
        ...

    async def quota_used(self, scope: str, day: str) -> dict[QuotaKind, int]: ...

    async def claim(
        self, worker_id: str, *, limit: int, now: datetime, lease_seconds: float
    ) -> list[WorkItem]:
        """Lease up to ``limit`` PENDING deliveries due by ``now`` (and CLAIMED ones whose
        lease expired), oldest first, moving their tasks QUEUED -> RUNNING."""
        ...

    async def record(
        self, records: Sequence[AttemptRecord], now: datetime, *, worker_id: str | None = None
    ) -> list[Task]:
        """Store attempts (with ``worker_id``: only while that worker holds the lease);
        move each delivery to SUCCEEDED / FAILED (final) or back to PENDING with
        ``next_attempt_at = retry_at``; update task counters and settle tasks whose
        deliveries are all done. Returns the tasks that reached a terminal state.
        Records for deliveries no longer CLAIMED (canceled, timed out) are ignored."""
        ...

    async def expire(self, now: datetime) -> list[Task]:
        """Move unfinished tasks past their deadline to TIMED_OUT, canceling their
        unfinished deliveries. Returns the tasks it moved."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest PENDING delivery becomes due (for the worker's sleep)."""
        ...

    async def block_rules(
        self, account_id: str | None, now: datetime, *, limit: int = 1000, offset: int = 0
    ) -> list[BlockRule]:
        """Active (unexpired at ``now``) block rules of one account, or of every account
        (``None``: the block reconciler's walk), newest first (``created_at``, then
        ``task_id``)."""
        ...

    async def list_block_rules(
        self, flt: BlockRuleFilter, now: datetime, *, limit: int, offset: int = 0
    ) -> BlockRulePage:
        """Active (unexpired at ``now``) rules of ``flt.account_id`` matching every given
        criterion, newest first as ``block_rules``; ``total`` counts every matching rule.
        One transaction (a consistent snapshot of items and total)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete finished jobs created before ``before`` (with their tasks, deliveries,
        attempts) and expired block rules. Returns the number of tasks removed."""
        ...

    async def close(self) -> None: ...


class RateLimiter(Protocol):
    def acquire(self, key: str, rate: float, burst: float) -> float:
        """Take one token from bucket ``key``; 0.0 if granted, else seconds to wait."""
        ...


class WakeUp(Protocol):
    """Tells workers new work was committed (in-process event, or LISTEN/NOTIFY)."""

    def notify(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker of this process taking a new job's deliveries in the job's own
    transaction (see :meth:`TaskRepository.create_job_leased`): they are inserted
    CLAIMED by ``worker_id`` for ``seconds``, so no claim transaction stands between
    the commit and the first edge call. If the process dies, the lease expires and any
    worker claims them again, as after any claim."""

    worker_id: str
    seconds: float
    limit: int  # the most deliveries the worker takes; a larger job is left PENDING


class Dispatcher(Protocol):
    """The in-process workers, as the service sees them when it submits."""

    def offer(self, deliveries: int) -> Lease | None:
        """A lease for ``deliveries`` new deliveries, or None (no worker has room).
        Every lease given must be returned through :meth:`hand`."""
        ...

    def hand(self, lease: Lease, items: Sequence[WorkItem]) -> None:
        """Start ``items`` (committed CLAIMED under ``lease``; may be empty) and
        release the rest of the lease."""
        ...


class Metrics(Protocol):
    def task_finished(self, state: TaskState) -> None: ...

    def attempt(self, node: str, latency_ms: float, ok: bool, code: str) -> None: ...
