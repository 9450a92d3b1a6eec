"""Row -> domain mappers, one per entity (procrastinate's ``Job.from_row``).

Rows come from ``select(<table>)`` (every column, accessed by name) or are anything
else with the columns as attributes; the repository never hands a row to its callers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from cdnctl.core.model import (
    Action,
    Attempt,
    BlockRule,
    Delivery,
    DeliveryState,
    Job,
    Method,
    TargetType,
    Task,
    TaskState,
    WorkItem,
)
from cdnctl.core.ports import JobSummary

_Row = Any  # a sqlalchemy Row, or a SimpleNamespace of insert parameters


TASK_FIELDS = (
    "id", "job_id", "account_id", "action", "type", "target", "raw_target", "domain",
    "method", "state", "created_at", "updated_at", "deadline", "deliveries_total",
    "deliveries_succeeded", "deliveries_failed", "error_code", "description", "finished_at",
    "headers", "block_expires_at", "site_id",
)
if tuple(f.name for f in dataclasses.fields(Task)) != TASK_FIELDS:  # task_from_values needs it
    raise ImportError("cdnctl.storage._rows: TASK_FIELDS must list Task's fields in order")
# Where each field sits in a result of a given shape: a Row read by position is several
# times cheaper than by name, and a 100-task page maps 2,200 values. One itemgetter per
# shape picks the 22 values in the order above in one call.
_PICKERS: dict[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] = {}
_ACTIONS = {a.value: a for a in Action}
_TYPES = {t.value: t for t in TargetType}
_METHODS = {m.value: m for m in Method}
_STATES = {s.value: s for s in TaskState}


def _picker(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    pick = _PICKERS.get(fields)
    if pick is None:
        pick = _PICKERS[fields] = itemgetter(*(fields.index(name) for name in TASK_FIELDS))
    return pick


def task_from_row(row: _Row) -> Task:
    fields = getattr(row, "_fields", None)
    if fields is None:  # a SimpleNamespace of insert parameters
        return task_from_values(tuple(getattr(row, name) for name in TASK_FIELDS))
    return task_from_values(_picker(fields)(row))


def tasks_from_rows(rows: Sequence[_Row]) -> list[Task]:
    """The tasks of rows of one result (one shape): the shape is looked up once, not per
    row (``Row._fields`` builds a new tuple on every access)."""
    if not rows:
        return []
    pick = _picker(rows[0]._fields)
    return [task_from_values(pick(row)) for row in rows]


def task_from_values(values: tuple[Any, ...]) -> Task:
    """A task from its values in :data:`TASK_FIELDS` order, as the column types give them."""
    (id_, job_id, account_id, action, type_, target, raw_target, domain, method, state,
     created_at, updated_at, deadline, total, succeeded, failed, error_code, description,
     finished_at, headers, block_expires_at, site_id) = values
    # Positional, in the dataclass's field order (cheaper than keywords).
    return Task(
        id_, job_id, account_id, _ACTIONS[action], _TYPES[type_], target,
        target if raw_target is None else raw_target, domain, _METHODS[method], _STATES[state],
        created_at, updated_at, deadline, total, succeeded, failed, error_code, description,
        finished_at, headers or {}, block_expires_at, site_id,
    )


def job_from_row(row: _Row) -> Job:
    return Job(
        id=row.id,
        account_id=row.account_id,
        created_at=row.created_at,
        source=row.source,
        request_id=row.request_id,
        idempotency_key=row.idempotency_key,
        task_count=row.task_count,
        meta=row.meta or {},
    )


def job_summary_from_row(row: _Row) -> JobSummary:
    """A ``list_jobs`` row: the job's columns, its counters and its first task's fields."""
    return JobSummary(
        job=job_from_row(row),
        action=Action(row.first_action),
        type=TargetType(row.first_type),
        total=int(row.total),
        processing=int(row.processing),
        succeeded=int(row.succeeded),
        failed=int(row.failed),
    )


def attempt_from_row(row: _Row) -> Attempt:
    return Attempt(
        delivery_id=row.delivery_id,
        number=row.number,
        started_at=row.started_at,
        latency_ms=row.latency_ms,
        outcome=row.outcome,
        http_status=row.http_status,
        detail=row.detail,
    )


def delivery_from_row(row: _Row, history: Sequence[Attempt] = ()) -> Delivery:
    return Delivery(
        id=row.id,
        task_id=row.task_id,
        node=row.node,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        updated_at=row.updated_at,
        http_status=row.http_status,
        error_code=row.error_code,
        description=row.description,
        history=tuple(history),
    )


def work_item_from_rows(delivery: _Row, task: _Row) -> WorkItem:
    """A claimed delivery (``id, task_id, node, attempts``) with its task's fields."""
    return WorkItem(
        delivery_id=delivery.id,
        task_id=delivery.task_id,
        account_id=task.account_id,
        node=delivery.node,
        attempts=delivery.attempts,
        action=Action(task.action),
        type=TargetType(task.type),
        target=task.target,
        domain=task.domain,
        method=Method(task.method),
        headers=task.headers or {},
        block_ttl_seconds=task.block_ttl_seconds,
        deadline=task.deadline,
        site_id=task.site_id,
    )


def block_rule_from_row(row: _Row) -> BlockRule:
    return BlockRule(
        account_id=row.account_id,
        url=row.url,
        domain=row.domain,
        created_at=row.created_at,
        expires_at=row.expires_at,
        task_id=row.task_id,
    )
