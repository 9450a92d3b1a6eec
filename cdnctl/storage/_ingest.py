"""The statements of ``create_job``: one job, its tasks and deliveries, quota, block rules.

The bulk path avoids per-row work: all task ids come from one statement, tasks and
deliveries go to the driver in one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL)
each, with values converted here once per distinct time instead of per value by
SQLAlchemy. Quota charges are atomic upserts that refuse to pass the limit, so a
refused charge raises before anything is written and the transaction rolls back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from cdnctl.core.errors import IdempotencyConflictError
from cdnctl.core.model import DeliveryState, Job, Task
from cdnctl.core.ports import NewJob, NewTask, QuotaCharge
from cdnctl.storage import _rules
from cdnctl.storage._backend import Backend
from cdnctl.storage._queue import chunked
from cdnctl.storage._rows import job_from_row, task_from_row
from cdnctl.storage.schema import UTCDateTime, block_rules, deliveries, jobs, quota_usage, tasks

_TASK_COLUMNS = tuple(c.name for c in tasks.c)
_DELIVERY_COLUMNS = ("task_id", "node", "state", "attempts", "next_attempt_at", "updated_at")
_PENDING = DeliveryState.PENDING.value
_db_time = UTCDateTime().process_bind_param  # (value, dialect) -> what the driver takes


def job_tasks(conn: Connection, job_id: str) -> list[Task]:
    rows = conn.execute(select(tasks).where(tasks.c.job_id == job_id).order_by(tasks.c.id))
    return [task_from_row(r) for r in rows]


def create_job(
    conn: Connection, backend: Backend, job: NewJob, new: Sequence[NewTask],
    charges: Sequence[QuotaCharge],
) -> tuple[Job, list[Task], bool]:
    """The whole of ``TaskRepository.create_job``, inside the caller's write transaction."""
    if job.idempotency_key is not None:
        row = conn.execute(
            select(jobs).where(jobs.c.account_id == job.account_id,
                               jobs.c.idempotency_key == job.idempotency_key)
        ).first()
        if row is not None:
            if row.fingerprint != job.fingerprint:
                raise IdempotencyConflictError(
                    f"idempotency key {job.idempotency_key!r} was used for another request")
            return job_from_row(row), job_tasks(conn, row.id), False
    for charge in charges:
        _charge(conn, backend, charge)
    ids = backend.allocate_task_ids(conn, len(new))
    conn.execute(jobs.insert(), [{
        "id": job.id, "account_id": job.account_id, "created_at": job.created_at,
        "source": job.source, "request_id": job.request_id,
        "idempotency_key": job.idempotency_key, "fingerprint": job.fingerprint,
        "task_count": len(new), "meta": job.meta or None,
    }])
    # The bulk path bypasses SQLAlchemy's per-value processing: values are converted
    # here, once per distinct time, and go to the driver in one executemany / COPY.
    dialect = conn.dialect
    at, deadline = _db_time(job.created_at, dialect), _db_time(job.deadline, dialect)
    created: list[Task] = []
    task_rows: list[tuple[Any, ...]] = []
    delivery_rows: list[tuple[Any, ...]] = []
    for task_id, t in zip(ids, new, strict=True):
        targets = _rules.nodes_of(t)
        task = _rules.new_task(task_id, job, t, targets)
        created.append(task)
        task_rows.append((
            task.id, job.id, job.account_id, task.action.value, task.type.value,
            task.target, None if task.raw_target == task.target else task.raw_target,
            task.domain, task.method.value, task.state.value, at, at, deadline,
            at if task.finished_at else None, task.deliveries_total, 0, 0,
            task.error_code, task.description,
            json.dumps(task.headers) if task.headers else None, t.block_ttl_seconds,
            _db_time(task.block_expires_at, dialect), job.source, t.site_id,
        ))
        delivery_rows += [(task_id, node, _PENDING, 0, at, at) for node in targets]
    if task_rows:
        backend.bulk_insert(conn, tasks, _TASK_COLUMNS, task_rows)
    if delivery_rows:
        backend.bulk_insert(conn, deliveries, _DELIVERY_COLUMNS, delivery_rows)
        backend.notify_work(conn)
    _apply_block_rules(conn, backend, job, _rules.block_changes(zip(ids, new, strict=True)))
    stored = Job(id=job.id, account_id=job.account_id, created_at=job.created_at,
                 source=job.source, request_id=job.request_id,
                 idempotency_key=job.idempotency_key, task_count=len(new),
                 meta=dict(job.meta))
    return stored, created, True


def _charge(conn: Connection, backend: Backend, charge: QuotaCharge) -> None:
    """Add ``charge.amount`` unless that passes the limit (atomic upsert)."""
    key = {"scope": charge.scope, "day": charge.day, "kind": charge.kind.value}
    if charge.amount <= charge.limit:
        stmt = backend.upsert(quota_usage).values(**key, used=charge.amount)
        stmt = stmt.on_conflict_do_update(
            index_elements=["scope", "day", "kind"],
            set_={"used": quota_usage.c.used + stmt.excluded.used},
            where=quota_usage.c.used + stmt.excluded.used <= charge.limit,
        ).returning(quota_usage.c.used)
        if conn.execute(stmt).first() is not None:
            return
    used = conn.execute(
        select(quota_usage.c.used).where(*(quota_usage.c[k] == v for k, v in key.items()))
    ).scalar_one_or_none()
    raise _rules.quota_exceeded(charge, used or 0)


def _apply_block_rules(
    conn: Connection, backend: Backend, job: NewJob,
    changes: dict[str, tuple[int, NewTask] | None],
) -> None:
    blocks = []
    for url, change in changes.items():
        if change is not None:
            task_id, t = change
            blocks.append({"account_id": job.account_id, "url": url, "domain": t.domain,
                           "created_at": job.created_at, "expires_at": t.block_expires_at,
                           "task_id": task_id})
    if blocks:
        stmt = backend.upsert(block_rules)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["account_id", "url"],
            set_={k: stmt.excluded[k] for k in ("domain", "created_at", "expires_at",
                                                "task_id")},
        ), blocks)
    unblocked = [url for url, change in changes.items() if change is None]
    for part in chunked(unblocked):
        conn.execute(delete(block_rules).where(block_rules.c.account_id == job.account_id,
                                               block_rules.c.url.in_(part)))
