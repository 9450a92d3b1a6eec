"""Decisions both repositories make the same way, as pure functions.

:class:`~cdnctl.storage.repository.SqlTaskRepository` and the in-memory twin in
:mod:`cdnctl.testing` share these so they cannot drift apart: the state a new task
starts in, what an attempt does to its delivery, the wording of a failed task's
description, the quota error, and which block rules a job leaves behind.
No I/O and no SQLAlchemy here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cdnctl.core import states
from cdnctl.core.model import Action, DeliveryState, Method, Task, TaskState, WorkItem
from cdnctl.core.ports import AttemptRecord, NewJob, NewTask
from cdnctl.core.quotas import exceeded

#: Longest attempt detail kept (the rest of a node's answer is dropped).
MAX_DETAIL = 512


def nodes_of(task: NewTask) -> tuple[str, ...]:
    """The nodes a task gets a delivery on: none if rejected at submit, each node once."""
    if task.error_code is not None:
        return ()
    return tuple(dict.fromkeys(task.nodes))


def initial_state(task: NewTask, deliveries: int, *, leased: bool = False) -> TaskState:
    """QUEUED with deliveries to make (RUNNING if a worker leased them as they were
    created); FAILED if rejected at submit; settled if no node."""
    if task.error_code is not None:
        return TaskState.FAILED
    return states.settle(deliveries, 0, 0) or (TaskState.RUNNING if leased else TaskState.QUEUED)


def new_task(task_id: int, job: NewJob, t: NewTask, nodes: tuple[str, ...], *,
             leased: bool = False, state: TaskState | None = None) -> Task:
    """The task as ``create_job`` stores it, with deliveries on ``nodes_of(t)``
    (``state``: its :func:`initial_state`, if the caller has it already)."""
    if state is None:
        state = initial_state(t, len(nodes), leased=leased)
    at = job.created_at
    # Positional, in Task's field order (a thousand of these per bulk submission; _rows
    # refuses to import if that order changes).
    return Task(
        task_id, job.id, job.account_id, t.action, t.type, t.target, t.raw_target, t.domain,
        _METHODS[t.method], state, at, at, job.deadline, len(nodes), 0, 0, t.error_code,
        t.description, None if state is TaskState.QUEUED or state is TaskState.RUNNING else at,
        dict(t.headers) if t.headers else {}, t.block_expires_at, t.site_id,
    )


_METHODS = {m.value: m for m in Method}


def work_item(task: Task, t: NewTask, delivery_id: int, node: str) -> WorkItem:
    """What a worker needs to run the new delivery ``delivery_id`` of ``task`` on ``node``."""
    return WorkItem(
        delivery_id=delivery_id, task_id=task.id, account_id=task.account_id, node=node,
        attempts=0, action=task.action, type=task.type, target=task.target,
        domain=task.domain, method=task.method, headers=dict(task.headers),
        block_ttl_seconds=t.block_ttl_seconds, deadline=task.deadline, site_id=task.site_id)


def clip(detail: str) -> str:
    return detail if len(detail) <= MAX_DETAIL else detail[: MAX_DETAIL - 1] + "…"


def outcome(rec: AttemptRecord) -> tuple[DeliveryState, datetime | None]:
    """The delivery's next state after this attempt, and when to retry (if it will)."""
    if rec.ok:
        return DeliveryState.SUCCEEDED, None
    if rec.retry_at is None:
        return DeliveryState.FAILED, None
    return DeliveryState.PENDING, rec.retry_at


def failure_description(node: str, description: str | None, code: str | None, n: int) -> str:
    """E.g. ``varnish-2: connection refused (3 attempts)``."""
    what = description or code or "failed"
    return f"{node}: {what} ({n} attempt{'' if n == 1 else 's'})"


#: The description of a task moved to TIMED_OUT.
TIMEOUT_DESCRIPTION = "the deadline passed before every delivery finished"


quota_exceeded = exceeded  # the refusal of a charge (see core.quotas)


def block_changes(created: Iterable[tuple[int, NewTask]]) -> dict[str, tuple[int, NewTask] | None]:
    """URL -> the block task that leaves a rule on it, or None (an unblock removes it).

    Later tasks of a job win over earlier ones on the same URL; tasks rejected at
    submit change nothing.
    """
    final: dict[str, tuple[int, NewTask] | None] = {}
    for task_id, task in created:
        if task.error_code is not None:
            continue
        if task.action is Action.BLOCK:
            final[task.target] = (task_id, task)
        elif task.action is Action.UNBLOCK:
            final[task.target] = None
    return final
