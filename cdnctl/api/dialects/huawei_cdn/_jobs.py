"""Huawei "history tasks" and access-control tasks are cdnctl jobs, listed with filters.

The types below are the ``list_jobs`` port addition requested from storage
(``/tmp/briefs/huawei_port_request.md``), field for field. When the service
offers ``jobs(...)`` it is used; until then :func:`list_jobs` answers the same
query from ``service.tasks()`` pages grouped by job in memory — the same result,
at O(tasks in the window) cost. Delete the fallback (and import the types from
``cdnctl.core.ports``) once the port lands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from cdnctl.core.model import Account, Action, Job, TargetType, Task, TaskState
from cdnctl.core.ports import TaskFilter

if TYPE_CHECKING:
    from cdnctl.core.service import ContentService

_PAGE = 1000
_FAILED = frozenset({TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELED})


class JobStatus(StrEnum):
    PROCESSING = "processing"  # at least one task queued or running
    SUCCEEDED = "succeeded"  # every task succeeded
    FAILED = "failed"  # every task finished, at least one did not succeed


class JobOrder(StrEnum):
    CREATED_AT = "created_at"
    ACTION = "action"
    TOTAL = "total"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobFilter:
    account_id: str
    job_ids: Sequence[str] | None = None
    actions: Sequence[Action] | None = None  # every task of the job has one of these
    types: Sequence[TargetType] | None = None  # every task of the job has one of these
    statuses: Sequence[JobStatus] | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    sources: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class JobSummary:
    job: Job
    action: Action  # of the job's first task
    type: TargetType  # of the job's first task
    total: int
    processing: int  # tasks queued or running
    succeeded: int
    failed: int  # tasks failed, timed out or canceled

    @property
    def status(self) -> JobStatus:
        if self.processing:
            return JobStatus.PROCESSING
        return JobStatus.FAILED if self.failed else JobStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class JobPage:
    items: list[JobSummary]
    total: int  # every matching job, ignoring limit/offset


def summarize(job: Job, tasks: Sequence[Task]) -> JobSummary:
    """Counters of one job from its tasks (which must not be empty)."""
    first = min(tasks, key=lambda t: t.id)
    succeeded = sum(1 for t in tasks if t.state is TaskState.SUCCEEDED)
    failed = sum(1 for t in tasks if t.state in _FAILED)
    return JobSummary(job=job, action=first.action, type=first.type, total=len(tasks),
                      processing=len(tasks) - succeeded - failed, succeeded=succeeded,
                      failed=failed)


async def list_jobs(service: ContentService, account: Account, flt: JobFilter, *, limit: int,
                    offset: int = 0, order: JobOrder = JobOrder.CREATED_AT,
                    descending: bool = True) -> JobPage:
    port: Any = getattr(service, "jobs", None)
    if port is not None:
        page: JobPage = await port(flt, limit=limit, offset=offset, order=order,
                                   descending=descending)
        return page
    return await _from_tasks(service, account, flt, limit=limit, offset=offset, order=order,
                             descending=descending)


async def _from_tasks(service: ContentService, account: Account, flt: JobFilter, *,
                      limit: int, offset: int, order: JobOrder, descending: bool) -> JobPage:
    by_job: dict[str, list[Task]] = {}
    base = TaskFilter(account_id=flt.account_id, created_from=flt.created_from,
                      created_to=flt.created_to, sources=flt.sources)
    cursor: int | None = None
    while True:
        page = await service.tasks(base, limit=_PAGE, before_id=cursor)
        for task in page.items:
            by_job.setdefault(task.job_id, []).append(task)
        if page.next_cursor is None or not page.items:
            break
        cursor = page.next_cursor
    rows: list[tuple[str, list[Task], JobSummary]] = []
    for job_id, tasks in by_job.items():
        if flt.job_ids is not None and job_id not in flt.job_ids:
            continue
        if flt.actions is not None and any(t.action not in flt.actions for t in tasks):
            continue
        if flt.types is not None and any(t.type not in flt.types for t in tasks):
            continue
        stub = Job(id=job_id, account_id=flt.account_id,
                   created_at=min(t.created_at for t in tasks), source="", request_id="",
                   idempotency_key=None, task_count=len(tasks))
        summary = summarize(stub, tasks)
        if flt.statuses is not None and summary.status not in flt.statuses:
            continue
        rows.append((job_id, tasks, summary))
    rows.sort(key=lambda r: (_key(r[2], order), r[2].job.created_at, r[0]), reverse=descending)
    items: list[JobSummary] = []
    for job_id, tasks, _stub in rows[offset:offset + limit]:
        job, _ = await service.job(account, job_id)
        items.append(summarize(job, tasks))
    return JobPage(items=items, total=len(rows))


_KEYS: dict[JobOrder, Callable[[JobSummary], Any]] = {
    JobOrder.CREATED_AT: lambda s: s.job.created_at,
    JobOrder.ACTION: lambda s: s.action.value,
    JobOrder.TOTAL: lambda s: s.total,
    JobOrder.PROCESSING: lambda s: s.processing,
    JobOrder.SUCCEEDED: lambda s: s.succeeded,
    JobOrder.FAILED: lambda s: s.failed,
}


def _key(s: JobSummary, order: JobOrder) -> Any:
    return _KEYS[order](s)
