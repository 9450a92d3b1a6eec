"""Row -> domain mappers, one per entity (procrastinate's ``Job.from_row``).

Rows come from ``select(<table>)`` (every column, accessed by name) or are anything
else with the columns as attributes; the repository never hands a row to its callers.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def task_from_row(row: _Row) -> Task:
    return Task(
        id=row.id,
        job_id=row.job_id,
        account_id=row.account_id,
        action=Action(row.action),
        type=TargetType(row.type),
        target=row.target,
        raw_target=row.target if row.raw_target is None else row.raw_target,
        domain=row.domain,
        method=Method(row.method),
        state=TaskState(row.state),
        created_at=row.created_at,
        updated_at=row.updated_at,
        deadline=row.deadline,
        deliveries_total=row.deliveries_total,
        deliveries_succeeded=row.deliveries_succeeded,
        deliveries_failed=row.deliveries_failed,
        error_code=row.error_code,
        description=row.description,
        finished_at=row.finished_at,
        headers=row.headers or {},
        block_expires_at=row.block_expires_at,
        site_id=row.site_id,
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
