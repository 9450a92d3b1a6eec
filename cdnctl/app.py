"""Wiring: build the running system from :class:`~cdnctl.config.Settings`.

The only place (with the CLI) that picks concrete backends: the repository by
database URL, one edge adapter per configured node, the in-memory rate limiter,
Prometheus metrics, and the in-process workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cdnctl import storage
from cdnctl.clock import SystemClock
from cdnctl.config import Settings
from cdnctl.core.directory import Directory
from cdnctl.core.edge import EdgeAdapter
from cdnctl.core.model import WorkItem
from cdnctl.core.ports import Clock, Lease, TaskRepository
from cdnctl.core.service import ContentService
from cdnctl.core.uploads import UploadRepository
from cdnctl.dispatch.reconciler import BlockReconciler
from cdnctl.dispatch.retry import RetryPolicy
from cdnctl.dispatch.worker import Worker, WorkerSettings
from cdnctl.edges import create_edge
from cdnctl.limits.ratelimit import MemoryRateLimiter
from cdnctl.metrics import PrometheusMetrics

log = logging.getLogger(__name__)


class _WakeAll:
    """The service's view of the in-process workers: fans 'work committed' out to all
    of them, and offers a new job's deliveries to the first with room for them."""

    def __init__(self) -> None:
        self.workers: list[Worker] = []
        self._by_id: dict[str, Worker] = {}

    def notify(self) -> None:
        for w in self.workers:
            w.wake()

    def offer(self, deliveries: int) -> Lease | None:
        for w in self.workers:
            lease = w.offer(deliveries)
            if lease is not None:
                self._by_id[lease.worker_id] = w
                return lease
        return None

    def hand(self, lease: Lease, items: Sequence[WorkItem]) -> None:
        self._by_id[lease.worker_id].hand(lease, items)


@dataclass
class Runtime:
    settings: Settings
    directory: Directory
    repo: TaskRepository
    uploads: UploadRepository  # upload tasks (Alibaba ESA UploadFile), same database
    service: ContentService
    clock: Clock
    edges: dict[str, EdgeAdapter]
    metrics: PrometheusMetrics
    workers: list[Worker] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _runs: list[asyncio.Task[None]] = field(default_factory=list)
    _relay: asyncio.Task[None] | None = None

    def start_workers(self, count: int | None = None) -> None:
        """Start ``count`` dispatch workers (default: ``server.workers``) in this event loop,
        plus the block reconciler when there is at least one."""
        n = self.settings.server.workers if count is None else count
        wake = self.service.wakeup
        if n > 0 and not self._runs:
            d = self.settings.dispatch
            reconciler = BlockReconciler(self.repo, self.directory, self.edges, self.clock,
                                         timeout=d.attempt_timeout,
                                         interval=d.block_check_interval,
                                         resync_interval=d.block_resync_interval)
            self._runs.append(asyncio.create_task(reconciler.run(self._stop)))
        for i in range(n):
            worker = make_worker(self, worker_id=None if n == 1 else f"inproc-{i}")
            self.workers.append(worker)
            if isinstance(wake, _WakeAll):
                wake.workers.append(worker)
            self._runs.append(asyncio.create_task(worker.run(self._stop)))
        if n > 0 and self._relay is None:
            self._relay = asyncio.create_task(self._relay_notifications())

    async def _relay_notifications(self) -> None:
        """Wake this process's workers when any process commits work (PostgreSQL NOTIFY).

        Without it a worker in another process than the API finds new work only at its
        next poll. SQLite has no such channel (``listener()`` is None): workers poll.
        """
        make = getattr(self.repo, "listener", None)
        while make is not None and not self._stop.is_set():
            listener = make()
            if listener is None:
                return
            try:
                async with listener:
                    async for _ in listener:
                        for worker in self.workers:
                            worker.wake()
            except Exception as exc:  # connection lost: polling covers the gap; reconnect
                log.warning("LISTEN for new work failed (%s); reconnecting in 1 s", exc)
                await asyncio.sleep(1.0)

    async def aclose(self) -> None:
        self._stop.set()
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relay
        for run in self._runs:
            with contextlib.suppress(Exception):
                await run
        for edge in self.edges.values():
            with contextlib.suppress(Exception):
                await edge.aclose()
        await self.repo.close()


def worker_settings(settings: Settings) -> WorkerSettings:
    d = settings.dispatch
    return WorkerSettings(
        attempt_timeout=d.attempt_timeout, node_concurrency=d.node_concurrency,
        lease_seconds=d.lease_seconds, claim_batch=d.claim_batch, poll_interval=d.poll_interval,
        retention_seconds=settings.database.retention_days * 86400,
        retry=RetryPolicy(max_attempts=d.max_attempts, wait=d.backoff_initial,
                          max_wait=d.backoff_max),
    )


def make_worker(rt: Runtime, worker_id: str | None = None) -> Worker:
    return Worker(rt.repo, rt.directory, rt.edges, rt.clock, worker_settings(rt.settings),
                  metrics=rt.metrics, worker_id=worker_id, uploads=rt.uploads)


async def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Open (and migrate) the database, sync the config into it, connect the edges."""
    clock = clock or SystemClock()
    repo = await asyncio.to_thread(storage.open_repository, settings.database.url, migrate=True)
    uploads = storage.open_upload_repository(repo)
    directory = settings.directory()
    try:
        await repo.sync_config(directory.accounts, directory.sites, directory.nodes)
        timeout = settings.dispatch.attempt_timeout
        edges = {n.name: create_edge(n, timeout=timeout) for n in directory.nodes}
    except BaseException:
        await repo.close()
        raise
    directory = replace(directory, capabilities={k: e.capabilities for k, e in edges.items()})
    metrics = PrometheusMetrics()
    workers = _WakeAll()
    service = ContentService(
        repo, directory, clock, wakeup=workers, dispatcher=workers, limiter=MemoryRateLimiter(),
        metrics=metrics, limits=settings.core_limits(),
    )
    return Runtime(settings=settings, directory=directory, repo=repo, uploads=uploads,
                   service=service, clock=clock, edges=edges, metrics=metrics)
