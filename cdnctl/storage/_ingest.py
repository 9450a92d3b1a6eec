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
from datetime import timedelta
from typing import Any, LiteralString

from sqlalchemy import Connection, delete, select

from cdnctl.core.errors import IdempotencyConflictError
from cdnctl.core.model import DeliveryState, Job, Task, WorkItem
from cdnctl.core.ports import Lease, NewJob, NewTask, QuotaCharge
from cdnctl.storage import _driver, _rules
from cdnctl.storage._backend import Backend
from cdnctl.storage._queue import chunked
from cdnctl.storage._rows import job_from_row, task_from_row
from cdnctl.storage.schema import block_rules, deliveries, jobs, tasks

_TASK_COLUMNS = tuple(c.name for c in tasks.c)
_DELIVERY_COLUMNS = ("task_id", "node", "state", "attempts", "next_attempt_at", "lease_owner",
                     "lease_expires_at", "updated_at")
_PENDING, _CLAIMED = DeliveryState.PENDING.value, DeliveryState.CLAIMED.value


def job_tasks(conn: Connection, job_id: str) -> list[Task]:
    rows = conn.execute(select(tasks).where(tasks.c.job_id == job_id).order_by(tasks.c.id))
    return [task_from_row(r) for r in rows]


def create_job(
    conn: Connection, backend: Backend, job: NewJob, new: Sequence[NewTask],
    charges: Sequence[QuotaCharge], lease: Lease | None = None,
) -> tuple[Job, list[Task], bool, list[WorkItem]]:
    """The whole of ``TaskRepository.create_job`` (``create_job_leased`` with a
    ``lease``), inside the caller's write transaction."""
    if job.idempotency_key is not None:
        row = conn.execute(
            select(jobs).where(jobs.c.account_id == job.account_id,
                               jobs.c.idempotency_key == job.idempotency_key)
        ).first()
        if row is not None:
            if row.fingerprint != job.fingerprint:
                raise IdempotencyConflictError(
                    f"idempotency key {job.idempotency_key!r} was used for another request")
            return job_from_row(row), job_tasks(conn, row.id), False, []
    for charge in charges:
        _charge(conn, charge)
    ids = backend.allocate_task_ids(conn, len(new))
    bind_time = _driver.time_binder(conn)
    at, deadline = bind_time(job.created_at), bind_time(job.deadline)
    _driver.execute(conn, _JOB_SQL, (
        job.id, job.account_id, at, job.source, job.request_id, job.idempotency_key,
        job.fingerprint, len(new), json.dumps(job.meta) if job.meta else None))
    targets = [_rules.nodes_of(t) for t in new]
    if lease is not None and sum(map(len, targets)) > lease.limit:
        lease = None
    owner = None if lease is None else lease.worker_id
    until = None if lease is None else bind_time(
        job.created_at + timedelta(seconds=lease.seconds))
    delivery_state = _PENDING if lease is None else _CLAIMED
    # The bulk path bypasses SQLAlchemy's per-value processing: values are converted
    # here, once per distinct time, and go to the driver in one executemany / COPY.
    created: list[Task] = []
    task_rows: list[tuple[Any, ...]] = []
    delivery_rows: list[tuple[Any, ...]] = []
    for task_id, t, nodes in zip(ids, new, targets, strict=True):
        task = _rules.new_task(task_id, job, t, nodes, leased=lease is not None)
        created.append(task)
        task_rows.append((
            task.id, job.id, job.account_id, task.action.value, task.type.value,
            task.target, None if task.raw_target == task.target else task.raw_target,
            task.domain, task.method.value, task.state.value, at, at, deadline,
            at if task.finished_at else None, task.deliveries_total, 0, 0,
            task.error_code, task.description,
            json.dumps(task.headers) if task.headers else None, t.block_ttl_seconds,
            bind_time(task.block_expires_at), job.source, t.site_id,
        ))
        delivery_rows += [(task_id, node, delivery_state, 0, at, owner, until, at)
                          for node in nodes]
    if task_rows:
        backend.bulk_insert(conn, tasks, _TASK_COLUMNS, task_rows)
    work: list[WorkItem] = []
    if delivery_rows:
        backend.bulk_insert(conn, deliveries, _DELIVERY_COLUMNS, delivery_rows)
        if lease is None:
            backend.notify_work(conn)
        else:
            work = _leased_work(conn, created, new)
    _apply_block_rules(conn, backend, job, _rules.block_changes(zip(ids, new, strict=True)))
    stored = Job(id=job.id, account_id=job.account_id, created_at=job.created_at,
                 source=job.source, request_id=job.request_id,
                 idempotency_key=job.idempotency_key, task_count=len(new),
                 meta=dict(job.meta))
    return stored, created, True, work


def _leased_work(conn: Connection, created: list[Task], new: Sequence[NewTask]
                 ) -> list[WorkItem]:
    """The work items of the deliveries just inserted CLAIMED (their ids come from the
    database: the bulk insert returns none)."""
    by_task = {task.id: (task, t) for task, t in zip(created, new, strict=True)}
    work = []
    for part in chunked(sorted(by_task)):
        marks = ", ".join("?" * len(part))
        rows = _driver.execute(
            conn, "SELECT id, task_id, node FROM deliveries WHERE task_id IN (" + marks
            + ") ORDER BY id", part)
        for delivery_id, task_id, node in rows:
            task, t = by_task[task_id]
            work.append(_rules.work_item(task, t, delivery_id, node))
    return work


_JOB_SQL: LiteralString = (
    "INSERT INTO jobs (id, account_id, created_at, source, request_id, idempotency_key, "
    "fingerprint, task_count, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
# Adds the charge unless that passes the limit; no row back when it would.
_CHARGE_SQL: LiteralString = (
    "INSERT INTO quota_usage (scope, day, kind, used) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (scope, day, kind) DO UPDATE SET used = quota_usage.used + excluded.used "
    "WHERE quota_usage.used + excluded.used <= ? RETURNING used")
_USED_SQL: LiteralString = (
    "SELECT used FROM quota_usage WHERE scope = ? AND day = ? AND kind = ?")


def _charge(conn: Connection, charge: QuotaCharge) -> None:
    """Add ``charge.amount`` unless that passes the limit (atomic upsert)."""
    key = (charge.scope, charge.day, charge.kind.value)
    if charge.amount <= charge.limit and _driver.execute(
            conn, _CHARGE_SQL, (*key, charge.amount, charge.limit)):
        return
    used = _driver.execute(conn, _USED_SQL, key)
    raise _rules.quota_exceeded(charge, used[0][0] if used else 0)


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
