"""The work-queue statements: claim, record, expire, next_due, cancel deliveries.

Each function runs inside the caller's transaction (a write transaction: ``BEGIN
IMMEDIATE`` on SQLite). Row locks are always taken deliveries first, then their tasks,
in id order, so claim / record / cancel / expire cannot deadlock one another on
PostgreSQL; ``with_for_update`` renders nothing on SQLite, where the write lock
already serialises them.

The statements are built once, at import, with bound parameters: building a
SQLAlchemy statement costs more than SQLite takes to run it, and claim and record sit
on the fan-out latency path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, LiteralString, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    bindparam,
    func,
    select,
    text,
    update,
)

from cdnctl.core import states
from cdnctl.core.model import DeliveryState, Task, TaskState, WorkItem
from cdnctl.core.ports import AttemptRecord
from cdnctl.storage import _driver, _rows, _rules
from cdnctl.storage._rows import task_from_row, work_item_from_rows
from cdnctl.storage.schema import UNFINISHED_TASKS, UTCDateTime, deliveries, tasks

_T = TypeVar("_T")
CHUNK = 500  # ids per IN list: far below SQLite's and psycopg's parameter limits
_D, _S = DeliveryState, TaskState
_d, _t = deliveries.c, tasks.c


def chunked(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``, as ``=`` for one value so planners see an equality."""
    if len(values) == 1:
        return column == values[0]  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]


def _moving_to(target: TaskState) -> ColumnElement[bool]:
    """The compare-and-set guard: the task is in a state ``target`` may be reached from."""
    return in_(_t.state, sorted(s.value for s in states.sources_of(target)))


_NOW = bindparam("b_now", type_=UTCDateTime())
_IDS: BindParameter[Any] = bindparam("b_ids", expanding=True)
_OPEN = _d.state.in_([_D.PENDING.value, _D.CLAIMED.value])
_LEASED = (_d.id, _d.task_id, _d.node, _d.attempts, _d.next_attempt_at)
_LEASE = {"lease_owner": bindparam("b_worker"), "updated_at": _NOW,
          "lease_expires_at": bindparam("b_until", type_=UTCDateTime())}


def _lease(due: ColumnElement[bool], order: Any, **values: Any) -> Any:
    """UPDATE up to ``b_limit`` rows matching ``due`` (oldest first, skipping locked rows)."""
    ids = (select(_d.id).where(due).order_by(order).limit(bindparam("b_limit"))
           .with_for_update(skip_locked=True))
    return update(deliveries).where(_d.id.in_(ids)).values(**_LEASE, **values).returning(*_LEASED)


_RECLAIM = _lease((_d.state == _D.CLAIMED.value) & (_d.lease_expires_at < _NOW),
                  _d.lease_expires_at)
_CLAIM_DUE = _lease((_d.state == _D.PENDING.value) & (_d.next_attempt_at <= _NOW),
                    _d.next_attempt_at, state=_D.CLAIMED.value)
_WORK_OF = select(_t.id, _t.account_id, _t.action, _t.type, _t.target, _t.domain, _t.method,
                  _t.headers, _t.block_ttl_seconds, _t.deadline,
                  _t.site_id).where(_t.id.in_(_IDS))
_START = (update(tasks).where(_t.id.in_(_IDS), _moving_to(_S.RUNNING))
          .values(state=_S.RUNNING.value, updated_at=_NOW))

# ``record`` sits on the fan-out latency path: its fixed statements go straight to the
# driver (see _driver), with times bound as the UTCDateTime column type stores them.
_FINISH_SQL: LiteralString = (
    "UPDATE deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, "
    "http_status = ?, error_code = ?, description = ?, lease_owner = NULL, "
    "lease_expires_at = NULL, updated_at = ? WHERE id = ? AND state = 'claimed'")
_ADD_ATTEMPTS_SQL: LiteralString = (
    "INSERT INTO attempts (delivery_id, number, started_at, latency_ms, outcome, "
    "http_status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
_COUNT_SQL: LiteralString = (
    "UPDATE tasks SET deliveries_succeeded = deliveries_succeeded + ?, "
    "deliveries_failed = deliveries_failed + ?, updated_at = ? WHERE id = ? "
    "RETURNING id, deliveries_total, deliveries_succeeded, deliveries_failed")
# The settling compare-and-set to SUCCEEDED, returning the tasks' fields in Task order.
_TASK_COLUMNS = tuple(tasks.c[name] for name in _rows.TASK_FIELDS)
_SUCCEED_SQL: LiteralString = (
    "UPDATE tasks SET state = 'succeeded', updated_at = ?, finished_at = ? WHERE "
    + UNFINISHED_TASKS + " AND id IN ")
if states.sources_of(_S.SUCCEEDED) != {_S.QUEUED, _S.RUNNING}:  # what UNFINISHED_TASKS says
    raise ImportError("cdnctl.storage._queue: _SUCCEED_SQL must match states.ALLOWED")
_RETURNING_TASK_SQL: LiteralString = (
    " RETURNING id, job_id, account_id, action, type, target, raw_target, domain, method, "
    "state, created_at, updated_at, deadline, deliveries_total, deliveries_succeeded, "
    "deliveries_failed, error_code, description, finished_at, headers, block_expires_at, "
    "site_id")
if tuple(" ".join(_RETURNING_TASK_SQL.split()[1:]).split(", ")) != _rows.TASK_FIELDS:
    raise ImportError("cdnctl.storage._queue: _RETURNING_TASK_SQL must list TASK_FIELDS")


def _live(conn: Connection, ids: Sequence[int], worker_id: str | None) -> list[Any]:
    """``(id, task_id, attempts, next_attempt_at)`` of the deliveries among ``ids`` still
    CLAIMED (by ``worker_id`` if given), locked, in id order."""
    sql = ("SELECT id, task_id, attempts, next_attempt_at FROM deliveries WHERE id IN ("
           + ", ".join("?" * len(ids)) + ") AND state = 'claimed'")
    params: list[Any] = list(ids)
    if worker_id is not None:
        sql += " AND lease_owner = ?"
        params.append(worker_id)
    return _driver.execute(conn, sql + " ORDER BY id" + _driver.for_update(conn), params)


def _succeed(conn: Connection, ids: Sequence[int], now: datetime) -> list[Task]:
    """SUCCEEDED for the tasks ``ids`` still unfinished (compare-and-set); the moved."""
    bound = _driver.time_binder(conn)(now)
    rows = _driver.execute(conn, _SUCCEED_SQL + "(" + ", ".join("?" * len(ids)) + ")"
                           + _RETURNING_TASK_SQL, [bound, bound, *ids])
    convert = _driver.converter(conn, _TASK_COLUMNS)
    return [_rows.task_from_values(convert(r)) for r in rows]

_FIRST_FAILURES = (select(_d.task_id, _d.node, _d.error_code, _d.description, _d.attempts)
                   .where(_d.task_id.in_(_IDS), _d.state == _D.FAILED.value)
                   .order_by(_d.task_id, _d.updated_at, _d.id))
_FAIL = (update(tasks).where(_t.id == bindparam("b_id"), _moving_to(_S.FAILED))
         .values(state=_S.FAILED.value, updated_at=_NOW, finished_at=_NOW,
                 error_code=bindparam("b_code"), description=bindparam("b_description"))
         .returning(*tasks.c))

_OVERDUE = select(_t.id).where(text(UNFINISHED_TASKS), _t.deadline < _NOW).order_by(_t.id)
_LOCK_OPEN = select(_d.id).where(_d.task_id.in_(_IDS), _OPEN).order_by(_d.id).with_for_update()
_TIME_OUT = (update(tasks).where(_t.id.in_(_IDS), _moving_to(_S.TIMED_OUT), _t.deadline < _NOW)
             .values(state=_S.TIMED_OUT.value, updated_at=_NOW, finished_at=_NOW,
                     description=_rules.TIMEOUT_DESCRIPTION)
             .returning(*tasks.c))
_CANCEL_OPEN = (update(deliveries).where(_d.task_id.in_(_IDS), _OPEN)
                .values(state=_D.CANCELED.value, lease_owner=None, lease_expires_at=None,
                        updated_at=_NOW))
_NEXT_PENDING = select(func.min(_d.next_attempt_at)).where(_d.state == _D.PENDING.value)
_NEXT_LEASE_END = select(func.min(_d.lease_expires_at)).where(_d.state == _D.CLAIMED.value)


def claim(
    conn: Connection, worker_id: str, limit: int, now: datetime, lease_seconds: float
) -> list[WorkItem]:
    """Lease expired claims first (they are the oldest work), then due pending ones."""
    if limit <= 0:
        return []
    params = {"b_now": now, "b_worker": worker_id, "b_limit": limit,
              "b_until": now + timedelta(seconds=lease_seconds)}
    rows = list(conn.execute(_RECLAIM, params))
    if len(rows) < limit:
        rows += conn.execute(_CLAIM_DUE, {**params, "b_limit": limit - len(rows)})
    if not rows:
        return []
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    work: dict[int, Any] = {}
    for part in chunked(sorted({r.task_id for r in rows})):
        work.update((t.id, t) for t in conn.execute(_WORK_OF, {"b_ids": part}))
        conn.execute(_START, {"b_ids": part, "b_now": now})
    return [work_item_from_rows(r, work[r.task_id]) for r in rows]


def record(
    conn: Connection, records: Sequence[AttemptRecord], now: datetime, worker_id: str | None
) -> list[Task]:
    by_id: dict[int, AttemptRecord] = {}
    for rec in records:
        by_id.setdefault(rec.delivery_id, rec)
    live = []
    for part in chunked(sorted(by_id)):
        live += [r for r in _live(conn, part, worker_id) if r[1] == by_id[r[0]].task_id]
    if not live:
        return []
    changes, history = [], []
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # task -> [succeeded, failed]
    bind_time = _driver.time_binder(conn)
    bound_now = bind_time(now)
    for delivery_id, task_id, attempts, next_attempt_at in live:
        rec = by_id[delivery_id]
        state, retry_at = _rules.outcome(rec)
        detail = _rules.clip(rec.detail)
        # next_attempt_at comes back from the driver as stored: bind it as it is.
        changes.append((state.value, next_attempt_at if retry_at is None else bind_time(retry_at),
                        rec.http_status, None if rec.ok else rec.code, detail, bound_now,
                        delivery_id))
        history.append((delivery_id, attempts + 1, bind_time(rec.started_at), rec.latency_ms,
                        rec.code, rec.http_status, detail))
        if state is not _D.PENDING:
            counts[task_id][1 if state is _D.FAILED else 0] += 1
    _driver.executemany(conn, _FINISH_SQL, changes)
    _driver.executemany(conn, _ADD_ATTEMPTS_SQL, history)
    # The counters move and come back in one statement per task (in id order: the
    # lock order), then the tasks whose deliveries are all done settle.
    done: dict[int, TaskState] = {}
    for task_id, (ok, failed) in sorted(counts.items()):
        for _, total, n_ok, n_failed in _driver.execute(
                conn, _COUNT_SQL, (ok, failed, bound_now, task_id)):
            settled = states.settle(total, n_ok, n_failed)
            if settled is not None:
                done[task_id] = settled
    return _settle(conn, done, now)


def _settle(conn: Connection, done: dict[int, TaskState], now: datetime) -> list[Task]:
    """Move the tasks ``done`` (all deliveries finished) to SUCCEEDED / FAILED (CAS)."""
    succeeded = [i for i, s in done.items() if s is _S.SUCCEEDED]
    failed = [i for i, s in done.items() if s is _S.FAILED]
    finished: list[Task] = []
    for part in chunked(succeeded):
        finished += _succeed(conn, part, now)
    settled: list[Any] = []
    first_failure: dict[int, Any] = {}
    for part in chunked(failed):
        for r in conn.execute(_FIRST_FAILURES, {"b_ids": part}):
            first_failure.setdefault(r.task_id, r)
    for task_id in failed:
        f = first_failure[task_id]
        settled += conn.execute(_FAIL, {
            "b_id": task_id, "b_now": now, "b_code": f.error_code,
            "b_description": _rules.failure_description(f.node, f.description, f.error_code,
                                                        f.attempts)})
    finished += (task_from_row(r) for r in settled)
    return sorted(finished, key=lambda t: t.id)


def expire(conn: Connection, now: datetime) -> list[Task]:
    """TIMED_OUT for unfinished tasks past their deadline; their open deliveries cancel."""
    moved: list[Any] = []
    for part in chunked(list(conn.execute(_OVERDUE, {"b_now": now}).scalars())):
        conn.execute(_LOCK_OPEN, {"b_ids": part})
        rows = list(conn.execute(_TIME_OUT, {"b_ids": part, "b_now": now}))
        cancel_deliveries(conn, [r.id for r in rows], now)
        moved += rows
    return sorted((task_from_row(r) for r in moved), key=lambda t: t.id)


def cancel_deliveries(conn: Connection, task_ids: Sequence[int], now: datetime) -> None:
    for part in chunked(task_ids):
        conn.execute(_CANCEL_OPEN, {"b_ids": part, "b_now": now})


def next_due(conn: Connection) -> datetime | None:
    """The earliest due PENDING delivery, or lease expiry of a CLAIMED one."""
    times = [conn.execute(_NEXT_PENDING).scalar(), conn.execute(_NEXT_LEASE_END).scalar()]
    return min((t for t in times if t is not None), default=None)
