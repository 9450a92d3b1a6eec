"""The claim loop: lease deliveries from the database, fan them out to the edges
with a concurrency limit per node, and record outcomes in small batches.

Latency path for one task: the API commits the job with its deliveries already
leased to a worker of the same process (:meth:`Worker.offer`, :meth:`Worker.hand`),
which calls every node concurrently over kept-alive connections at once; finished
attempts are flushed together (one transaction), which settles the task. Work
committed elsewhere (another process, a retry, an expired lease, a job too large for
the lease) is claimed by the loop (one transaction) after ``wake()`` or a poll.
Nothing is held only in memory: a killed worker's leases expire and another worker
claims the same deliveries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cdnctl.core.directory import Directory
from cdnctl.core.edge import EdgeAdapter
from cdnctl.core.model import WorkItem
from cdnctl.core.ports import AttemptRecord, Clock, Lease, Metrics, TaskRepository
from cdnctl.core.uploads import UploadRepository
from cdnctl.dispatch.executor import attempt
from cdnctl.dispatch.retry import RetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    attempt_timeout: float = 5.0
    node_concurrency: int = 8
    lease_seconds: float = 60.0
    claim_batch: int = 256
    poll_interval: float = 1.0
    housekeeping_interval: float = 1.0
    retention_seconds: float | None = 30 * 86400.0
    prune_interval: float = 3600.0
    flush_delay: float = 0.002  # max wait for the rest of a fan-out before recording
    retry: RetryPolicy = RetryPolicy()  # noqa: RUF009 - frozen value object, safe to share


class Worker:
    def __init__(
        self,
        repo: TaskRepository,
        directory: Directory,
        edges: Mapping[str, EdgeAdapter],
        clock: Clock,
        settings: WorkerSettings | None = None,
        *,
        metrics: Metrics | None = None,
        worker_id: str | None = None,
        uploads: UploadRepository | None = None,
    ) -> None:
        self.repo = repo
        self.uploads = uploads  # upload tasks are pruned with the tasks
        self.directory = directory
        self.edges = edges
        self.clock = clock
        self.settings = settings or WorkerSettings()
        self.metrics = metrics
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._done: list[AttemptRecord] = []
        self._inflight = 0
        self._reserved = 0  # deliveries leased to submissions still committing
        self._unreserved = asyncio.Event()  # set whenever _reserved is 0
        self._unreserved.set()
        self._stop: asyncio.Event | None = None  # set while run() accepts leases
        self._full = False  # claim_batch deliveries in flight: wait for a free slot
        self._idle = asyncio.Event()  # set whenever no delivery is in flight
        self._next_retry: datetime | None = None  # earliest retry this worker scheduled
        self._slots = {name: asyncio.Semaphore(self.settings.node_concurrency) for name in edges}
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_housekeeping = 0.0
        self._last_prune = time.monotonic()

    def wake(self) -> None:
        """New work was committed: claim now instead of at the next poll."""
        self._wake.set()

    notify = wake  # so a Worker can serve as the service's WakeUp port

    def offer(self, deliveries: int) -> Lease | None:
        """A lease on ``deliveries`` new deliveries if this worker runs and has room for
        them (see :class:`~cdnctl.core.ports.Dispatcher`); return it through :meth:`hand`."""
        stop = self._stop
        if stop is None or stop.is_set():
            return None
        if self._inflight + self._reserved + deliveries > self.settings.claim_batch:
            return None
        self._reserved += deliveries
        self._unreserved.clear()
        return Lease(worker_id=self.id, seconds=self.settings.lease_seconds, limit=deliveries)

    def hand(self, lease: Lease, items: Sequence[WorkItem]) -> None:
        """Run ``items``, committed CLAIMED under ``lease``; give back its reservation."""
        self._reserved -= lease.limit
        if not self._reserved:
            self._unreserved.set()
        self._start(items)

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        flusher = asyncio.create_task(self._flusher(stop))
        try:
            while not stop.is_set():
                if not await self._claim_once():
                    await self._housekeeping()
                    await self._sleep(stop)
        finally:
            await self._unreserved.wait()  # submissions committing under a lease: run theirs
            await self._drain()
            stop.set()
            self._flush.set()
            await flusher

    async def run_until_idle(self) -> None:
        """Process everything due now, then return (tests, benchmarks, ``--once``)."""
        while await self._claim_once():
            pass
        await self._drain()
        await self._flush_now()

    # -- claiming -------------------------------------------------------------
    async def _claim_once(self) -> bool:
        """Claim what is due; True when more may be due right now (a full batch came back).

        A short batch means the queue is drained: the loop then sleeps instead of asking
        again, which would take the database's write lock just when the recording of the
        deliveries it started needs it.
        """
        # Cleared before claiming, so a wake-up for work committed after this claim
        # started is never lost (the sleep then returns at once).
        self._wake.clear()
        room = self.settings.claim_batch - self._inflight - self._reserved
        if room <= 0:
            self._full = True  # a finishing delivery wakes the loop
            return False
        try:
            items = await self.repo.claim(self.id, limit=room, now=self.clock.now(),
                                          lease_seconds=self.settings.lease_seconds)
        except Exception:
            log.exception("claim failed; retrying after the poll interval")
            return False
        self._start(items)
        return len(items) == room

    def _start(self, items: Sequence[WorkItem]) -> None:
        for item in items:
            self._inflight += 1
            t = asyncio.create_task(self._deliver(item))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until woken (new work committed here, a slot freed), until this worker's own
        earliest retry is due, or at most ``poll_interval``: the poll is what finds work
        committed by other processes, their retries and expired leases. No query here:
        it would compete with the recording of the deliveries just started."""
        timeout = self.settings.poll_interval
        if self._next_retry is not None:
            until = (self._next_retry - self.clock.now()).total_seconds()
            if until <= timeout:
                self._next_retry = None
            timeout = min(timeout, until)
        timeout = max(timeout, 0.005)  # never spin on the database
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()

    # -- delivering -----------------------------------------------------------
    async def _deliver(self, item: WorkItem) -> None:
        try:
            slot = self._slots.get(item.node)
            edge = self.edges.get(item.node)
            if slot is None:
                record = await attempt(item, edge, self.directory, self.clock,
                                       self.settings.retry, self.settings.attempt_timeout)
            else:
                async with slot:
                    record = await attempt(item, edge, self.directory, self.clock,
                                           self.settings.retry, self.settings.attempt_timeout)
            if self.metrics is not None:
                self.metrics.attempt(item.node, record.latency_ms, record.ok, record.code)
            self._done.append(record)
            self._flush.set()
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()
            if self._full:
                self._full = False
                self._wake.set()

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- recording ------------------------------------------------------------
    async def _flusher(self, stop: asyncio.Event) -> None:
        while True:
            await self._flush.wait()
            if self._inflight > 0 and not stop.is_set():
                # The other nodes of a fan-out answer within a millisecond or so: wait a
                # little for them, so one transaction records (and settles) the task.
                self._idle.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), self.settings.flush_delay)
            self._flush.clear()
            await self._flush_now()
            if stop.is_set() and not self._done and not self._tasks:
                return

    async def _flush_now(self) -> None:
        while self._done:
            batch, self._done = self._done, []
            try:
                finished = await self.repo.record(batch, self.clock.now(), worker_id=self.id)
            except Exception:
                # The leases still hold: if recording keeps failing they expire and the
                # deliveries are claimed and attempted again. Nothing is lost.
                log.exception("recording %d attempts failed", len(batch))
                await asyncio.sleep(0.5)
                continue
            if self.metrics is not None:
                for task in finished:
                    self.metrics.task_finished(task.state)
            retries = [r.retry_at for r in batch if r.retry_at is not None]
            if retries:
                soonest = min(retries)
                if self._next_retry is None or soonest < self._next_retry:
                    self._next_retry = soonest

    # -- housekeeping -----------------------------------------------------------
    async def _housekeeping(self) -> None:
        mono = time.monotonic()
        if mono - self._last_housekeeping < self.settings.housekeeping_interval:
            return
        self._last_housekeeping = mono
        now = self.clock.now()
        try:
            for task in await self.repo.expire(now):
                if self.metrics is not None:
                    self.metrics.task_finished(task.state)
            keep = self.settings.retention_seconds
            if keep is not None and mono - self._last_prune >= self.settings.prune_interval:
                self._last_prune = mono
                before = now - timedelta(seconds=keep)
                await self.repo.prune(before)
                if self.uploads is not None:
                    await self.uploads.prune(before)
        except Exception:
            log.exception("housekeeping failed")
