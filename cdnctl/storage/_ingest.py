"""The statements of ``create_job``: one job, its tasks and deliveries, quota, block rules.

The bulk path avoids per-row work: all task ids come from one statement, tasks and
deliveries go to the driver in one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL)
each, with values converted here once per distinct time instead of per value by
SQLAlchemy. Quota charges are atomic upserts that refuse to pass the limit, so a
refused charge raises before anything is written and the transaction rolls back.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, LiteralString

from sqlalchemy import Connection, Dialect, delete, select

from cdnctl.core.errors import IdempotencyConflictError
from cdnctl.core.model import DeliveryState, Job, Task, TaskState, WorkItem
from cdnctl.core.ports import Lease, NewJob, NewTask, QuotaCharge
from cdnctl.storage import _driver, _rules
from cdnctl.storage._backend import Backend
from cdnctl.storage._queue import chunked
from cdnctl.storage._rows import job_from_row, task_from_row
from cdnctl.storage.schema import UTCDateTime, block_rules, deliveries, jobs, tasks

_TASK_COLUMNS = tuple(c.name for c in tasks.c)
_DELIVERY_COLUMNS = ("task_id", "node", "state", "attempts", "next_attempt_at", "lease_owner",
                     "lease_expires_at", "updated_at")
_PENDING, _CLAIMED = DeliveryState.PENDING.value, DeliveryState.CLAIMED.value
_db_time = UTCDateTime().process_bind_param  # (value, dialect) -> what the driver takes


def job_tasks(conn: Connection, job_id: str) -> list[Task]:
    rows = conn.execute(select(tasks).where(tasks.c.job_id == job_id).order_by(tasks.c.id))
    return [task_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A job's rows, built before its write transaction (see :func:`prepare`)."""

    job: NewJob
    new: Sequence[NewTask]
    lease: Lease | None  # None if the job has more deliveries than the lease allows
    nodes: list[tuple[str, ...]]  # per task: the nodes it gets a delivery on
    states: list[TaskState]  # per task: the state it starts in
    job_row: tuple[Any, ...]
    task_rows: list[tuple[Any, ...]]  # every column but the id, which the database gives
    delivery_tail: tuple[Any, ...]  # every column after (task_id, node)


@dataclass(frozen=True, slots=True)
class Written:
    """What the transaction did: the ids it gave, or the stored job it replayed."""

    job: Job
    ids: list[int]
    replayed: list[Task] | None = None
    leased: list[tuple[int, int, str]] | None = None  # (delivery id, task id, node)


def prepare(dialect: Dialect, job: NewJob, new: Sequence[NewTask], lease: Lease | None
            ) -> Prepared:
    """Everything about the rows that does not need the database, so the write
    transaction (which holds SQLite's one write lock) only adds ids and inserts."""
    bind_time = functools.partial(_db_time, dialect=dialect)
    at, deadline = bind_time(job.created_at), bind_time(job.deadline)
    nodes = [_rules.nodes_of(t) for t in new]
    if lease is not None and sum(map(len, nodes)) > lease.limit:
        lease = None
    owner, until, delivery_state = None, None, _PENDING
    if lease is not None:
        owner, delivery_state = lease.worker_id, _CLAIMED
        until = bind_time(job.created_at + timedelta(seconds=lease.seconds))
    task_rows = []
    states = []
    for t, targets in zip(new, nodes, strict=True):
        state = _rules.initial_state(t, len(targets), leased=lease is not None)
        states.append(state)
        task_rows.append((
            job.id, job.account_id, t.action.value, t.type.value, t.target,
            None if t.raw_target == t.target else t.raw_target, t.domain, t.method,
            state.value, at, at, deadline, at if state.terminal else None, len(targets), 0, 0,
            t.error_code, t.description, json.dumps(t.headers) if t.headers else None,
            t.block_ttl_seconds, bind_time(t.block_expires_at), job.source, t.site_id,
        ))
    job_row = (job.id, job.account_id, at, job.source, job.request_id, job.idempotency_key,
               job.fingerprint, len(new), json.dumps(job.meta) if job.meta else None)
    return Prepared(job=job, new=new, lease=lease, nodes=nodes, states=states, job_row=job_row,
                    task_rows=task_rows, delivery_tail=(delivery_state, 0, at, owner, until, at))


def create_job(conn: Connection, backend: Backend, p: Prepared,
               charges: Sequence[QuotaCharge]) -> Written:
    """The write transaction of ``TaskRepository.create_job`` / ``create_job_leased``."""
    job = p.job
    if job.idempotency_key is not None:
        row = conn.execute(
            select(jobs).where(jobs.c.account_id == job.account_id,
                               jobs.c.idempotency_key == job.idempotency_key)
        ).first()
        if row is not None:
            if row.fingerprint != job.fingerprint:
                raise IdempotencyConflictError(
                    f"idempotency key {job.idempotency_key!r} was used for another request")
            return Written(job_from_row(row), [], replayed=job_tasks(conn, row.id))
    for charge in charges:
        _charge(conn, charge)
    ids = backend.allocate_task_ids(conn, len(p.new))
    _driver.execute(conn, _JOB_SQL, p.job_row)
    if ids:
        backend.bulk_insert(conn, tasks, _TASK_COLUMNS,
                            [(i, *row) for i, row in zip(ids, p.task_rows, strict=True)])
    tail = p.delivery_tail
    delivery_rows = [(i, node, *tail) for i, nodes in zip(ids, p.nodes, strict=True)
                     for node in nodes]
    leased = None
    if delivery_rows:
        backend.bulk_insert(conn, deliveries, _DELIVERY_COLUMNS, delivery_rows)
        if p.lease is None:
            backend.notify_work(conn)
        else:
            leased = _leased(conn, ids)
    _apply_block_rules(conn, backend, job, _rules.block_changes(zip(ids, p.new, strict=True)))
    stored = Job(id=job.id, account_id=job.account_id, created_at=job.created_at,
                 source=job.source, request_id=job.request_id,
                 idempotency_key=job.idempotency_key, task_count=len(p.new),
                 meta=dict(job.meta))
    return Written(stored, ids, leased=leased)


def finish(p: Prepared, done: Written) -> tuple[Job, list[Task], bool, list[WorkItem]]:
    """The created tasks and, under a lease, their work items (after the commit)."""
    if done.replayed is not None:
        return done.job, done.replayed, False, []
    created = [_rules.new_task(i, p.job, t, nodes, state=state)
               for i, t, nodes, state in zip(done.ids, p.new, p.nodes, p.states, strict=True)]
    work: list[WorkItem] = []
    if done.leased:
        by_id = {task.id: (task, t) for task, t in zip(created, p.new, strict=True)}
        for delivery_id, task_id, node in done.leased:
            task, t = by_id[task_id]
            work.append(_rules.work_item(task, t, delivery_id, node))
    return done.job, created, True, work


def _leased(conn: Connection, ids: list[int]) -> list[tuple[int, int, str]]:
    """``(id, task_id, node)`` of the deliveries of tasks ``ids``: their ids come from
    the database (a bulk insert returns none)."""
    found: list[tuple[int, int, str]] = []
    for part in chunked(ids):
        marks = ", ".join("?" * len(part))
        found += _driver.execute(
            conn, "SELECT id, task_id, node FROM deliveries WHERE task_id IN (" + marks
            + ") ORDER BY id", part)
    return found


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
