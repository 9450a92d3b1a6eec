"""SqlTaskRepository: the TaskRepository port over SQLAlchemy Core (SQLite, PostgreSQL).

Every method is one transaction, run on a small dedicated thread pool with a sync
engine so the event loop never blocks on the database. The statements for queries,
cancel, quotas, block rules and pruning live here; ``create_job``'s bulk insert in
:mod:`cdnctl.storage._ingest`; the grouped ``list_jobs`` query in ``_listing``; the
work-queue statements (claim, record, expire) in :mod:`cdnctl.storage._queue`; what
differs per dialect behind ``_backend.Backend`` in ``_sqlite`` / ``_postgres``; row
mappers in ``_rows``; shared decisions in ``_rules``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from cdnctl.core import states
from cdnctl.core.errors import (
    ConcurrentUpdateError,
    NotFoundError,
)
from cdnctl.core.model import (
    Account,
    BlockRule,
    Delivery,
    Job,
    Node,
    QuotaKind,
    Site,
    Task,
    TaskState,
    WorkItem,
)
from cdnctl.core.ports import (
    AttemptRecord,
    BlockRuleFilter,
    BlockRulePage,
    JobFilter,
    JobOrder,
    JobPage,
    Lease,
    NewJob,
    NewTask,
    Page,
    QuotaCharge,
    TaskFilter,
)
from cdnctl.storage import _ingest, _listing, _queue, _sqlite, schema
from cdnctl.storage._backend import backend_for
from cdnctl.storage._inline import BUSY, InlineRunner
from cdnctl.storage._queue import chunked, in_
from cdnctl.storage._rows import (
    attempt_from_row,
    block_rule_from_row,
    delivery_from_row,
    job_from_row,
    task_from_row,
    tasks_from_rows,
)
from cdnctl.storage.schema import (
    attempts,
    block_rules,
    deliveries,
    jobs,
    quota_usage,
    tasks,
)

if TYPE_CHECKING:
    from cdnctl.storage._postgres import Listener

_T = TypeVar("_T")
_MAX_TRIES = 3  # runs of one transaction when the database asks for a retry
_UNFINISHED = (TaskState.QUEUED.value, TaskState.RUNNING.value)
# Transactions at most this large may run inline (see _inline): about a millisecond of
# SQLite work at most, less than the thread hop saves on the small ones.
INLINE_TASKS = 64
INLINE_DELIVERIES = 256
#: A WAL longer than this (frames of a page) after a checkpoint is checkpointed again
#: under the write gate (see ``_checkpoint``): 8,192 frames of 4 KiB, 32 MiB.
WAL_RESTART_FRAMES = 8192


class SqlTaskRepository:
    """:class:`~cdnctl.core.ports.TaskRepository` on a SQLite or PostgreSQL engine.

    Build it with :func:`cdnctl.storage.open_repository`, which configures the engine
    (pragmas and ``BEGIN IMMEDIATE`` on SQLite, the psycopg pool on PostgreSQL).
    """

    def __init__(self, engine: Engine, *, threads: int = 4) -> None:
        self._backend = backend_for(engine)
        self.engine = engine
        self._writer = engine.execution_options(**{_sqlite.WRITE: True})
        self._snapshot = engine.execution_options(**self._backend.SNAPSHOT_OPTIONS)
        self._statement = engine.execution_options(**self._backend.STATEMENT_OPTIONS)
        lock = threading.Lock() if self._backend.SERIALIZE_WRITES else None
        self._gate: contextlib.AbstractContextManager[Any] = lock or contextlib.nullcontext()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cdnctl-db")
        # Small transactions on the fan-out path skip the thread hop when they cannot
        # block (SQLite only; see _inline).
        self._inline = (InlineRunner(engine, lock, self._checkpoint_later)
                        if lock is not None else None)

    # -- plumbing ------------------------------------------------------------------

    async def _run(
        self, fn: Callable[[Connection], _T], *, write: bool, snapshot: bool = False,
        inline: bool = False, single: bool = False,
    ) -> _T:
        """Run ``fn`` in one transaction on the pool: a write transaction, or a read one
        (``snapshot``: whose statements all see the same snapshot; ``single``: whose
        answer is one statement's, so it needs no transaction around it: on PostgreSQL
        that saves the BEGIN and COMMIT round trips). ``inline``: ``fn`` is small, so
        run it on this thread if it need not wait for a lock (SQLite)."""
        if inline and self._inline is not None:
            done = self._inline.run(fn, write=write)
            if done is not BUSY:
                return done  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        engine = (self._writer if write else self._snapshot if snapshot
                  else self._statement if single else self.engine)
        return await loop.run_in_executor(self._executor, self._transaction, fn, write,
                                          engine)

    async def _read(
        self, fn: Callable[[Connection], _T], *, snapshot: bool = False, inline: bool = False,
        single: bool = False,
    ) -> _T:
        """:meth:`_run` for ``fn`` that only reads (SELECT statements): run again, once,
        on a fresh connection when the first one turns out to be dead.

        PostgreSQL's pool does not ping each connection it hands out (see
        ``_postgres.check_connection``): a session the server ended unnoticed by the
        client (closed while checked out, or a peer gone without a word) fails on its
        first statement, and SQLAlchemy then discards every pooled connection opened
        before. Running a read again has no effect but its answer. Writes are never run
        again this way: whether a failed COMMIT took effect is unknown.
        """
        try:
            return await self._run(fn, write=False, snapshot=snapshot, inline=inline,
                                   single=single)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._run(fn, write=False, snapshot=snapshot, inline=inline,
                               single=single)

    async def run(self, fn: Callable[[Connection], _T], *, write: bool) -> _T:
        """Run ``fn`` in one transaction on this repository's engine, thread pool and
        write gate: for the package's other repositories on the same database
        (:class:`~cdnctl.storage.uploads.SqlUploadRepository`)."""
        return await self._run(fn, write=write)

    def _transaction(self, fn: Callable[[Connection], _T], write: bool,
                     engine: Engine | None = None) -> _T:
        if engine is None:
            engine = self._writer if write else self.engine
        gate = self._gate if write else None
        for attempt in range(1, _MAX_TRIES + 1):
            try:
                with gate or contextlib.nullcontext(), engine.begin() as conn:
                    return fn(conn)
            except DBAPIError as exc:
                if attempt == _MAX_TRIES or not self._backend.is_retryable(exc):
                    raise
        raise AssertionError("unreachable")

    def _checkpoint_later(self) -> None:
        """Copy the WAL into the database on a pool thread (SQLite; see _inline)."""
        with contextlib.suppress(RuntimeError):  # the pool is shut down, and so are we
            self._executor.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        # Outside the write gate: a checkpoint copies pages and fsyncs, milliseconds that
        # a writer waiting for the gate would add to its own latency (it was the fan-out's
        # p99). A checkpoint ending with every frame copied lets the next write start the
        # WAL over; one with writes running alongside may trail them, so once the WAL
        # passes WAL_RESTART_FRAMES the checkpoint runs again under the gate, and ends.
        if self._backend.checkpoint(self.engine) > WAL_RESTART_FRAMES:
            with self._gate:
                self._backend.checkpoint(self.engine)

    def listener(self) -> Listener | None:
        """Wake-ups when another process commits new work (PostgreSQL LISTEN/NOTIFY);
        None on SQLite, where workers poll ``next_due()``."""
        if self.engine.dialect.name != "postgresql":
            return None
        from cdnctl.storage._postgres import Listener

        return Listener(self.engine.url)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        if self._inline is not None:
            self._inline.close()
        self.engine.dispose()

    # -- configuration -------------------------------------------------------------

    async def sync_config(
        self, accounts: Sequence[Account], sites: Sequence[Site], nodes: Sequence[Node]
    ) -> None:
        rows: list[tuple[Table, list[str], list[dict[str, Any]]]] = [
            (schema.accounts, ["id"], [{"id": a.id, "name": a.name} for a in accounts]),
            (schema.sites, ["id"], [
                {"id": s.id, "account_id": s.account_id, "name": s.name, "zone_id": s.zone_id,
                 "domains": list(s.domains), "pool": s.pool} for s in sites
            ]),
            (schema.nodes, ["name"], [
                {"name": n.name, "pool": n.pool, "kind": n.kind, "url": _without_password(n.url)}
                for n in nodes
            ]),
        ]

        def run(conn: Connection) -> None:
            for table, key, values in rows:
                if not values:
                    continue
                stmt = self._backend.upsert(table)
                update_cols = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in key}
                conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=update_cols),
                             values)

        await self._run(run, write=True)

    # -- jobs ----------------------------------------------------------------------

    async def create_job(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge]
    ) -> tuple[Job, list[Task], bool]:
        stored, created, made, _ = await self._create(job, tasks, charges, None)
        return stored, created, made

    async def create_job_leased(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge],
        lease: Lease,
    ) -> tuple[Job, list[Task], bool, list[WorkItem]]:
        return await self._create(job, tasks, charges, lease)

    async def _create(
        self, job: NewJob, tasks: Sequence[NewTask], charges: Sequence[QuotaCharge],
        lease: Lease | None,
    ) -> tuple[Job, list[Task], bool, list[WorkItem]]:
        # The rows are built here, outside the transaction: it holds SQLite's write lock.
        prepared = _ingest.prepare(self.engine.dialect, job, tasks, lease)

        def run(conn: Connection) -> _ingest.Written:
            return _ingest.create_job(conn, self._backend, prepared, charges)

        small = len(tasks) <= INLINE_TASKS
        try:
            written = await self._run(run, write=True, inline=small)
        except IntegrityError:
            if job.idempotency_key is None:
                raise
            # A concurrent request with the same key won the race; this run replays it.
            written = await self._run(run, write=True, inline=small)
        return _ingest.finish(prepared, written)

    async def get_job(self, account_id: str, job_id: str) -> tuple[Job, list[Task]] | None:
        def run(conn: Connection) -> tuple[Job, list[Task]] | None:
            row = conn.execute(
                select(jobs).where(jobs.c.id == job_id, jobs.c.account_id == account_id)
            ).first()
            return None if row is None else (job_from_row(row), _ingest.job_tasks(conn, job_id))

        return await self._read(run)

    async def list_jobs(
        self,
        flt: JobFilter,
        *,
        limit: int,
        offset: int = 0,
        order: JobOrder = JobOrder.CREATED_AT,
        descending: bool = True,
    ) -> JobPage:
        return await self._read(
            lambda conn: _listing.list_jobs(conn, flt, limit=limit, offset=offset, order=order,
                                            descending=descending),
            snapshot=True)

    # -- queries -------------------------------------------------------------------

    async def get_task(self, account_id: str, task_id: int) -> Task | None:
        stmt = select(tasks).where(tasks.c.id == task_id, tasks.c.account_id == account_id)

        def run(conn: Connection) -> Task | None:
            row = conn.execute(stmt).first()
            return None if row is None else task_from_row(row)

        return await self._read(run, inline=True, single=True)

    def _where(self, flt: TaskFilter) -> list[ColumnElement[bool]]:
        c = tasks.c
        where = [c.account_id == flt.account_id]
        if flt.task_ids is not None:
            where.append(in_(c.id, list(flt.task_ids)))
        if flt.job_id is not None:
            where.append(c.job_id == flt.job_id)
        for column, values in ((c.state, flt.states), (c.action, flt.actions),
                               (c.type, flt.types)):
            if values is not None:
                where.append(in_(column, [v.value for v in values]))
        if flt.domains is not None:
            where.append(in_(c.domain, list(flt.domains)))
        if flt.site_ids is not None:
            where.append(in_(c.site_id, list(flt.site_ids)))
        if flt.sources is not None:
            where.append(in_(c.source, list(flt.sources)))
        if flt.target_contains is not None:
            where.append(self._backend.contains(c.target, flt.target_contains))
        if flt.target_equals is not None:
            where.append(or_(c.target == flt.target_equals, c.raw_target == flt.target_equals))
        return where

    @staticmethod
    def _window(flt: TaskFilter) -> list[ColumnElement[bool]]:
        window = []
        if flt.created_from is not None:
            window.append(tasks.c.created_at >= flt.created_from)
        if flt.created_to is not None:
            window.append(tasks.c.created_at < flt.created_to)
        return window

    async def list_tasks(
        self, flt: TaskFilter, *, limit: int, before_id: int | None = None, offset: int = 0
    ) -> Page:
        simple = _single_valued(flt)
        # Built per page only where no statement built once per shape serves it.
        where = [] if simple else self._where(flt)

        def run(conn: Connection) -> Page:
            if simple:
                return _simple_page(conn, flt, limit, before_id, offset)
            window = self._window(flt)
            if (window and offset <= 0 and len(where) == 1 and limit < _PROBE_ROWS
                    and conn.dialect.name == "postgresql"):
                # Only a time window: most often a recent one, holding the account's
                # newest tasks. Try the page among those first, without the planning
                # probe: one statement and round trip instead of two. (Not on SQLite,
                # where the probe costs no round trip; measured there, 'last 24 h' was
                # no faster this way.)
                page = _recent_window_page(conn, flt, limit, before_id)
                if page is not None:
                    return page
            key: ColumnElement[Any] = tasks.c.id
            walk = True
            if window:
                walk = _walk_ids(conn, flt, window, None if before_id is None
                                 else (before_id, where, limit + max(offset, 0)))
                window, key = self._backend.steer_window(window, walk)
            if before_id is not None:
                # Where the window is read and sorted, the cursor is a filter on it, not
                # a range of an id index to walk (as the planners would: to its end).
                window.append((tasks.c.id if walk else tasks.c.id + 0) < before_id)
            if walk and offset <= 0 and _index_ordered(flt):
                # An index hands out the matching ids newest first, so the planner walks
                # it and stops after the page; reading each row as it goes costs less
                # than a second lookup of the page's ids (PostgreSQL: about 0.2 ms of
                # planning and execution per page).
                stmt = (select(tasks).where(*where, *window).order_by(tasks.c.id.desc())
                        .limit(limit + 1))
            else:
                # Deferred join: page through ids (index-only where the filters allow),
                # then read just the rows of the page. Wins when the ids come from a
                # sort (a time window, several values of a filter) or an offset skips
                # rows.
                ids = (select(tasks.c.id).where(*where, *window).order_by(key.desc())
                       .limit(limit + 1).offset(offset))
                stmt = select(tasks).where(tasks.c.id.in_(ids)).order_by(tasks.c.id.desc())
            items = tasks_from_rows(conn.execute(stmt).all())
            more = len(items) > limit
            del items[limit:]
            return Page(items=items, next_cursor=items[-1].id if more and items else None)

        # A page that is one walk of one index, every entry read being returned, is as
        # small as the transactions run inline (SQLite: skips the thread hop, ~0.2 ms).
        small = limit <= INLINE_PAGE and offset <= 0 and _one_walk(flt)
        # The page is its last statement's answer (a probe before it only picks a plan).
        return await self._read(run, inline=small, single=True)

    async def count_tasks(self, flt: TaskFilter) -> int:
        stmt = select(func.count()).select_from(tasks).where(*self._where(flt),
                                                             *self._window(flt))
        return await self._read(lambda conn: int(conn.execute(stmt).scalar_one()), single=True)

    async def deliveries(self, task_id: int) -> list[Delivery]:
        def run(conn: Connection) -> list[Delivery]:
            rows = conn.execute(select(deliveries).where(deliveries.c.task_id == task_id)
                                .order_by(deliveries.c.node, deliveries.c.id)).all()
            history: dict[int, list[Any]] = {r.id: [] for r in rows}
            for part in chunked(list(history)):
                for a in conn.execute(select(attempts).where(attempts.c.delivery_id.in_(part))
                                      .order_by(attempts.c.delivery_id, attempts.c.number)):
                    history[a.delivery_id].append(attempt_from_row(a))
            return [delivery_from_row(r, history[r.id]) for r in rows]

        return await self._read(run, inline=True)

    async def quota_used(self, scope: str, day: str) -> dict[QuotaKind, int]:
        stmt = select(quota_usage.c.kind, quota_usage.c.used).where(
            quota_usage.c.scope == scope, quota_usage.c.day == day)

        def run(conn: Connection) -> dict[QuotaKind, int]:
            return {QuotaKind(kind): used for kind, used in conn.execute(stmt)}

        return await self._read(run)

    async def block_rules(
        self, account_id: str | None, now: datetime, *, limit: int = 1000, offset: int = 0
    ) -> list[BlockRule]:
        b = block_rules.c
        stmt = select(block_rules).where(or_(b.expires_at.is_(None), b.expires_at > now))
        if account_id is not None:
            stmt = stmt.where(b.account_id == account_id)
        stmt = stmt.order_by(b.created_at.desc(), b.task_id.desc()).limit(limit).offset(offset)
        return await self._read(
            lambda conn: [block_rule_from_row(r) for r in conn.execute(stmt)])

    async def list_block_rules(
        self, flt: BlockRuleFilter, now: datetime, *, limit: int, offset: int = 0
    ) -> BlockRulePage:
        return await self._read(
            lambda conn: _listing.list_block_rules(conn, self._backend, flt, now, limit=limit,
                                                   offset=offset),
            snapshot=True)

    # -- state changes -------------------------------------------------------------

    async def cancel_task(self, account_id: str, task_id: int, now: datetime) -> Task:
        canceled = TaskState.CANCELED

        def run(conn: Connection) -> Task:
            # Lock order everywhere: deliveries before their task (see _queue).
            conn.execute(select(deliveries.c.id).where(deliveries.c.task_id == task_id)
                         .order_by(deliveries.c.id).with_for_update())
            row = conn.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.account_id == account_id,
                       tasks.c.state.in_([s.value for s in states.sources_of(canceled)]))
                .values(state=canceled.value, updated_at=now, finished_at=now)
                .returning(*tasks.c)
            ).first()
            if row is None:
                current = conn.execute(select(tasks.c.state).where(
                    tasks.c.id == task_id, tasks.c.account_id == account_id)).scalar()
                if current is None:
                    raise NotFoundError(f"task {task_id} not found")
                states.check(TaskState(current), canceled)  # raises InvalidTransitionError
                raise ConcurrentUpdateError(f"task {task_id} changed while being canceled")
            _queue.cancel_deliveries(conn, [task_id], now)
            return task_from_row(row)

        return await self._run(run, write=True)

    async def claim(
        self, worker_id: str, *, limit: int, now: datetime, lease_seconds: float
    ) -> list[WorkItem]:
        return await self._run(
            lambda conn: _queue.claim(conn, worker_id, limit, now, lease_seconds), write=True,
            inline=limit <= INLINE_DELIVERIES)

    async def record(
        self, records: Sequence[AttemptRecord], now: datetime, *, worker_id: str | None = None
    ) -> list[Task]:
        """See the port. With ``worker_id``, a record only counts while that worker still
        holds the lease, so a worker whose lease expired and was taken over cannot
        overwrite the new holder's attempt (without it, state CLAIMED is the only guard).
        """
        if not records:
            return []
        return await self._run(lambda conn: _queue.record(conn, records, now, worker_id),
                               write=True, inline=len(records) <= INLINE_DELIVERIES)

    async def expire(self, now: datetime) -> list[Task]:
        return await self._run(lambda conn: _queue.expire(conn, now), write=True)

    async def next_due(self) -> datetime | None:
        return await self._run(_queue.next_due, write=False)

    async def prune(self, before: datetime) -> int:
        finished = (
            select(jobs.c.id)
            .where(jobs.c.created_at < before,
                   ~exists().where(tasks.c.job_id == jobs.c.id, tasks.c.state.in_(_UNFINISHED)))
        )

        def run(conn: Connection) -> int:
            job_ids = list(conn.execute(finished).scalars())
            removed = 0
            for part in chunked(job_ids):
                # Children first: no reliance on ON DELETE CASCADE being enforced.
                task_ids = select(tasks.c.id).where(tasks.c.job_id.in_(part))
                delivery_ids = select(deliveries.c.id).where(deliveries.c.task_id.in_(task_ids))
                conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
                conn.execute(delete(deliveries).where(deliveries.c.task_id.in_(task_ids)))
                removed += conn.execute(delete(tasks).where(tasks.c.job_id.in_(part))).rowcount
                conn.execute(delete(jobs).where(jobs.c.id.in_(part)))
            conn.execute(delete(block_rules).where(block_rules.c.expires_at.is_not(None),
                                                   block_rules.c.expires_at <= before))
            return removed

        return await self._run(run, write=True)


def _index_ordered(flt: TaskFilter) -> bool:
    """Does an index hand out the tasks matching ``flt`` in id order, so that a page is
    an early-stopping walk: ``(account_id, id)``, ``(job_id, id)``, or ``(account_id,
    <column>, id)`` for one state, domain or site (one value each; several values, or an
    action or type, which share ``(account_id, action, type, id)``, need a sort)."""
    if (flt.task_ids is not None or flt.actions is not None or flt.types is not None
            or flt.sources is not None or flt.target_contains is not None
            or flt.target_equals is not None):
        return False
    return all(values is None or len(values) == 1
               for values in (flt.states, flt.domains, flt.site_ids))


#: Pages at most this large, read by one index walk (_one_walk), may run inline.
INLINE_PAGE = 100


def _one_walk(flt: TaskFilter) -> bool:
    """Is a page of ``flt`` one walk of one index that returns every entry it reads, so
    that its cost is bounded by the page size: no time window, and at most one other
    criterion, a single state, domain or site (``(account_id, <column>, id)``) or a job
    (``(job_id, id)``, whose tasks are all the account's)?"""
    if flt.created_from is not None or flt.created_to is not None or not _index_ordered(flt):
        return False
    return sum(x is not None for x in (flt.states, flt.domains, flt.site_ids, flt.job_id)) <= 1


#: Rows a planning probe counts, at most (an index-only range scan: well under 1 ms).
_PROBE_ROWS = 2000


def _walk_ids(conn: Connection, flt: TaskFilter, window: list[ColumnElement[bool]],
              cursor: tuple[int, list[ColumnElement[bool]], int] | None = None) -> bool:
    """Should a newest-first page with a time window walk ``(account_id, id)``?

    Walking ids is cheap when few rows are newer than the window and the window is big
    enough to fill a page soon; otherwise range-scanning ``(account_id, created_at)``
    and sorting the window is. Neither planner can tell (time and id correlate), so
    counts, each stopping at ``_PROBE_ROWS``, decide.

    A page after a cursor (``cursor``: the id, the page's criteria, the rows it needs)
    walks from there, not from the top: on the last pages of a big window few of its
    rows are left below the cursor, and the walk would go on through every older task
    of the account (0.2 s to over a minute with 1,000,000 tasks). So the
    ``_PROBE_ROWS`` tasks just below the cursor are read: the walk is taken when they
    hold the page, are all in the window, or are all there is; otherwise only when
    fewer than ``_PROBE_ROWS`` tasks lie outside the window on either side.
    """

    def at_least_probe(*terms: ColumnElement[bool]) -> bool:
        probe = (select(tasks.c.id).where(tasks.c.account_id == flt.account_id, *terms)
                 .limit(_PROBE_ROWS).subquery())
        return int(conn.execute(select(func.count()).select_from(probe)).scalar_one()) >= (
            _PROBE_ROWS)

    def many_newer() -> bool:  # a walk from the top would pass them first
        return flt.created_to is not None and at_least_probe(
            tasks.c.created_at >= flt.created_to)

    if not at_least_probe(*window):
        return False  # a small window: sorting it is cheap
    if cursor is None:
        return not many_newer()
    before_id, criteria, needed = cursor
    inside = and_(*window)
    below = (select(case((inside, 1), else_=0).label("inside"),
                    case((and_(inside, *criteria), 1), else_=0).label("hit"))
             .where(tasks.c.account_id == flt.account_id, tasks.c.id < before_id)
             .order_by(tasks.c.id.desc()).limit(_PROBE_ROWS).subquery())
    read, kept, hits = conn.execute(
        select(func.count(), func.sum(below.c.inside), func.sum(below.c.hit))).one()
    if read < _PROBE_ROWS or (hits or 0) > needed or (kept or 0) == read:
        return True
    many_older = flt.created_from is not None and at_least_probe(
        tasks.c.created_at < flt.created_from)
    return not many_older and not many_newer()


def _single_valued(flt: TaskFilter) -> bool:
    """Is ``flt`` the account and at most one value of each of job, state, action, type,
    domain and site (no ids, sources, targets or time window)?"""
    if (flt.task_ids is not None or flt.sources is not None or flt.target_contains is not None
            or flt.target_equals is not None or flt.created_from is not None
            or flt.created_to is not None):
        return False
    return all(values is None or len(values) == 1
               for values in (flt.states, flt.actions, flt.types, flt.domains, flt.site_ids))


def _simple_page(conn: Connection, flt: TaskFilter, limit: int, before_id: int | None,
                 offset: int) -> Page:
    """The page of a :func:`_single_valued` filter, by a statement built once per shape:
    one early-stopping walk of an index when it yields the tasks in id order
    (:func:`_index_ordered`, no offset), else the deferred join (see ``list_tasks``)."""
    value: dict[str, Any] = {
        "job_id": flt.job_id,
        "state": None if flt.states is None else flt.states[0].value,
        "action": None if flt.actions is None else flt.actions[0].value,
        "type": None if flt.types is None else flt.types[0].value,
        "domain": None if flt.domains is None else flt.domains[0],
        "site_id": None if flt.site_ids is None else flt.site_ids[0],
    }
    walk = offset <= 0 and _index_ordered(flt)
    stmt = _simple_statement(walk, before_id is not None, offset > 0,
                             *(value[name] is not None for name in _SIMPLE_CRITERIA))
    rows = conn.execute(stmt, {**value, "account_id": flt.account_id, "before_id": before_id,
                               "page": limit + 1, "offset": offset}).all()
    items = tasks_from_rows(rows)
    more = len(items) > limit
    del items[limit:]
    return Page(items=items, next_cursor=items[-1].id if more and items else None)


#: The criteria of a _single_valued filter besides the account, in _simple_statement's
#: order.
_SIMPLE_CRITERIA = ("job_id", "state", "action", "type", "domain", "site_id")


@functools.cache
def _simple_statement(walk: bool, cursor: bool, skip: bool, *criteria: bool) -> Select[Any]:
    # Built once per shape: building the page's statement cost ~0.15 ms (more with the
    # deferred join's subquery), and SQLAlchemy then computed its cache key every time.
    terms = [tasks.c.account_id == bindparam("account_id")]
    terms += [tasks.c[name] == bindparam(name)
              for name, present in zip(_SIMPLE_CRITERIA, criteria, strict=True) if present]
    if cursor:
        terms.append(tasks.c.id < bindparam("before_id"))
    if walk:
        return (select(tasks).where(*terms).order_by(tasks.c.id.desc())
                .limit(bindparam("page")))
    ids = select(tasks.c.id).where(*terms).order_by(tasks.c.id.desc()).limit(bindparam("page"))
    if skip:
        ids = ids.offset(bindparam("offset"))
    return select(tasks).where(tasks.c.id.in_(ids)).order_by(tasks.c.id.desc())


def _recent_window_page(conn: Connection, flt: TaskFilter, limit: int,
                        before_id: int | None) -> Page | None:
    """The page of a filter that is only a time window when the account's
    ``_PROBE_ROWS`` newest tasks (below the cursor) hold it, else None.

    They are read newest first and stop at the page's ``limit + 1``-th task in the
    window: if it is found, no older task can be in the page (ids order the page), so
    this is the page, read by a walk of ``(account_id, id)`` bounded by ``_PROBE_ROWS``
    rows whatever the window. Otherwise nothing is known, and the caller asks the
    probes how to read the window (:func:`_walk_ids`).
    """
    stmt = _recent_window_statement(before_id is not None, flt.created_from is not None,
                                    flt.created_to is not None)
    rows = conn.execute(stmt, {"account_id": flt.account_id, "before_id": before_id,
                               "recent": _PROBE_ROWS, "created_from": flt.created_from,
                               "created_to": flt.created_to, "page": limit + 1}).all()
    if len(rows) <= limit:
        return None
    items = tasks_from_rows(rows)
    del items[limit:]
    return Page(items=items, next_cursor=items[-1].id)


@functools.cache
def _recent_window_statement(cursor: bool, since: bool, until: bool) -> Select[Any]:
    # Built once per shape: a subquery's 24 column proxies cost ~0.3 ms to build.
    recent = select(tasks).where(tasks.c.account_id == bindparam("account_id"))
    if cursor:
        recent = recent.where(tasks.c.id < bindparam("before_id"))
    newest = recent.order_by(tasks.c.id.desc()).limit(bindparam("recent")).subquery()
    stmt = select(newest)
    if since:
        stmt = stmt.where(newest.c.created_at >= bindparam("created_from"))
    if until:
        stmt = stmt.where(newest.c.created_at < bindparam("created_to"))
    return stmt.order_by(newest.c.id.desc()).limit(bindparam("page"))


def _without_password(url: str) -> str:
    """Node URLs are stored for display; credentials stay in the configuration."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
