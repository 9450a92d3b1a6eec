"""Huawei "history tasks" and access-control tasks are cdnctl jobs.

They are listed through the core's ``ContentService.jobs()`` (the ``list_jobs`` port:
filters, per-state counters, ordering and the total in one storage query); the types
are :mod:`cdnctl.core.ports`'s ``JobFilter``, ``JobOrder``, ``JobPage``, ``JobStatus``
and ``JobSummary``. What remains here is the summary of one job already read whole
(``ShowHistoryTaskDetails``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cdnctl.core.model import Job, Task, TaskState
from cdnctl.core.ports import JobSummary

_PROCESSING = frozenset({TaskState.QUEUED, TaskState.RUNNING})
_SUCCEEDED = frozenset({TaskState.SUCCEEDED})


def summarize(job: Job, tasks: Sequence[Task]) -> JobSummary:
    """Counters of one job from its tasks (which must not be empty), as ``list_jobs``
    computes them."""
    first = min(tasks, key=lambda t: t.id)
    processing = sum(1 for t in tasks if t.state in _PROCESSING)
    succeeded = sum(1 for t in tasks if t.state in _SUCCEEDED)
    return JobSummary(job=job, action=first.action, type=first.type, total=len(tasks),
                      processing=processing, succeeded=succeeded,
                      failed=len(tasks) - processing - succeeded)
