"""The statements of the counted listings: ``list_jobs`` and ``list_block_rules``.

Each function runs inside the caller's read transaction, which the repository opens as a
snapshot (``REPEATABLE READ`` on PostgreSQL; any SQLite read transaction in WAL mode), so
a page and its total always agree.

``list_jobs`` is one grouped query: the account's jobs in the window (the
``(account_id, created_at, id)`` index of ``jobs``) joined to their tasks (``(job_id,
id)``), grouped in that index's order (so without sorting every task of the window),
one row per job with its per-state counters and its first task's id; the "every task
has one of these actions / types" and status criteria are ``HAVING`` terms on those
sums. The page joins the first task back for its action and type, and carries the
total as a window count.

``list_block_rules`` pages an account's active rules newest first (``(account_id,
created_at)``; an exact URL is the primary key) and counts them only when the page does
not already tell the total.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    asc,
    case,
    desc,
    exists,
    false,
    func,
    or_,
    select,
)

from cdnctl.core.model import TaskState
from cdnctl.core.ports import (
    BlockRuleFilter,
    BlockRulePage,
    JobFilter,
    JobOrder,
    JobPage,
    JobStatus,
)
from cdnctl.storage._backend import Backend
from cdnctl.storage._queue import in_
from cdnctl.storage._rows import block_rule_from_row, job_summary_from_row
from cdnctl.storage.schema import block_rules, jobs, tasks

_j, _t = jobs.c, tasks.c
_PROCESSING = [TaskState.QUEUED.value, TaskState.RUNNING.value]
_FAILED = [TaskState.FAILED.value, TaskState.TIMED_OUT.value, TaskState.CANCELED.value]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


_TOTAL = func.count(_t.id)
_PROCESSING_N = _count_if(_t.state.in_(_PROCESSING))
_SUCCEEDED_N = _count_if(_t.state == TaskState.SUCCEEDED.value)
_FAILED_N = _count_if(_t.state.in_(_FAILED))
_STATUS: dict[JobStatus, ColumnElement[bool]] = {
    JobStatus.PROCESSING: _PROCESSING_N > 0,
    JobStatus.SUCCEEDED: _SUCCEEDED_N == _TOTAL,
    JobStatus.FAILED: and_(_PROCESSING_N == 0, _FAILED_N > 0),
}


def _only(column: Any, values: list[str]) -> ColumnElement[bool]:
    """Every task of the group has ``column`` in ``values`` (no task outside them)."""
    if not values:
        return false()
    return _count_if(~in_(column, values)) == 0


def _first_task_in(flt: JobFilter) -> ColumnElement[bool] | None:
    """A cheap necessary condition for the actions / types criteria: the job's first task
    (one probe of ``(job_id, id)``) has an allowed action and type. A job that fails it
    is dropped before its tasks are read; the ``HAVING`` terms check the rest."""
    if flt.actions is None and flt.types is None:
        return None
    probe, earlier = tasks.alias("probe"), tasks.alias("earlier")
    first_id = (select(func.min(earlier.c.id)).where(earlier.c.job_id == _j.id)
                .correlate(jobs).scalar_subquery())
    terms = [probe.c.id == first_id]
    if flt.actions is not None:
        terms.append(in_(probe.c.action, [a.value for a in flt.actions]))
    if flt.types is not None:
        terms.append(in_(probe.c.type, [t.value for t in flt.types]))
    return exists().where(*terms).correlate(jobs)


def _grouped(flt: JobFilter, *columns: Any) -> Any:
    """One row per matching job: ``columns`` (of ``jobs``), the counters, ``first_id``."""
    where = [_j.account_id == flt.account_id]
    if flt.job_ids is not None:
        where.append(in_(_j.id, list(flt.job_ids)) if flt.job_ids else false())
    if flt.sources is not None:
        where.append(in_(_j.source, list(flt.sources)) if flt.sources else false())
    if flt.created_from is not None:
        where.append(_j.created_at >= flt.created_from)
    if flt.created_to is not None:
        where.append(_j.created_at < flt.created_to)
    if (first_in := _first_task_in(flt)) is not None:
        where.append(first_in)
    having: list[ColumnElement[bool]] = []
    if flt.actions is not None:
        having.append(_only(_t.action, [a.value for a in flt.actions]))
    if flt.types is not None:
        having.append(_only(_t.type, [t.value for t in flt.types]))
    if flt.statuses is not None:
        wanted = [_STATUS[s] for s in dict.fromkeys(flt.statuses)]
        having.append(or_(*wanted) if wanted else false())
    stmt = (
        # The job's own columns come along (they depend on its id, the group key)
        # rather than being joined back: no second lookup per job.
        select(*columns, _TOTAL.label("total"), _PROCESSING_N.label("processing"),
               _SUCCEEDED_N.label("succeeded"), _FAILED_N.label("failed"),
               func.min(_t.id).label("first_id"))
        .select_from(jobs.join(tasks, _t.job_id == _j.id))
        .where(*where)
        .group_by(_j.created_at, _j.id)  # the index order: no sort to group
    )
    return (stmt.having(*having) if having else stmt).subquery("grouped")


def list_jobs(conn: Connection, flt: JobFilter, *, limit: int, offset: int, order: JobOrder,
              descending: bool) -> JobPage:
    grouped = _grouped(flt, *jobs.c)
    g = grouped.c
    first = tasks.alias("first_task")
    keys: dict[JobOrder, Any] = {
        JobOrder.CREATED_AT: g.created_at,
        JobOrder.ACTION: first.c.action,
        JobOrder.TOTAL: g.total,
        JobOrder.PROCESSING: g.processing,
        JobOrder.SUCCEEDED: g.succeeded,
        JobOrder.FAILED: g.failed,
    }
    direction: Callable[[Any], Any] = desc if descending else asc
    ordering = [direction(keys[order])] if order is not JobOrder.CREATED_AT else []
    ordering += [direction(g.created_at), direction(g.id)]
    # The total rides along as a window count over the whole grouped result (evaluated
    # before LIMIT), so the jobs are aggregated once; only an empty page needs the
    # separate count.
    page = (
        select(grouped, first.c.action.label("first_action"),
               first.c.type.label("first_type"), func.count().over().label("matched"))
        .select_from(grouped.join(first, first.c.id == g.first_id))
        .order_by(*ordering)
        .limit(max(limit, 0))
        .offset(max(offset, 0))
    )
    rows = conn.execute(page).all() if limit > 0 else []
    if rows:
        total = int(rows[0].matched)
    elif offset <= 0 < limit:
        total = 0  # the first page is empty: nothing matches
    else:
        ids = _grouped(flt, _j.id)
        total = int(conn.execute(select(func.count()).select_from(ids)).scalar_one())
    return JobPage(items=[job_summary_from_row(r) for r in rows], total=total)


def list_block_rules(conn: Connection, backend: Backend, flt: BlockRuleFilter, now: datetime, *,
                     limit: int, offset: int) -> BlockRulePage:
    b = block_rules.c
    where = [b.account_id == flt.account_id, or_(b.expires_at.is_(None), b.expires_at > now)]
    if flt.url_equals is not None:
        where.append(b.url == flt.url_equals)
    if flt.url_contains is not None:
        where.append(backend.contains(b.url, flt.url_contains))
    if flt.created_from is not None:
        where.append(b.created_at >= flt.created_from)
    if flt.created_to is not None:
        where.append(b.created_at < flt.created_to)
    limit, offset = max(limit, 0), max(offset, 0)
    page = (select(block_rules).where(*where)
            .order_by(b.created_at.desc(), b.task_id.desc()).limit(limit).offset(offset))
    items = [block_rule_from_row(r) for r in conn.execute(page)] if limit else []
    if 0 < len(items) < limit or (not items and offset == 0 and limit):
        return BlockRulePage(items=items, total=offset + len(items))  # the last page
    count = select(func.count()).select_from(block_rules).where(*where)
    return BlockRulePage(items=items, total=int(conn.execute(count).scalar_one()))
