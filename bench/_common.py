"""Shared helpers for the benchmarks: percentiles, a runtime on a temporary database,
and a probe that learns the moment a task's terminal state is committed."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from typing import Any

from cdnctl.config import Settings, parse
from cdnctl.core.model import Task


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: Sequence[float]) -> str:
    return (f"p50 {pct(values, 50):7.2f} ms  p90 {pct(values, 90):7.2f} ms  "
            f"p99 {pct(values, 99):7.2f} ms  mean {statistics.fmean(values):7.2f} ms")


def settings_for(db_url: str, nodes: list[dict[str, Any]], **extra: Any) -> Settings:
    data: dict[str, Any] = {
        "database": {"url": db_url},
        "server": {"workers": 1},
        "accounts": [{"id": "1000000001", "name": "bench", "tokens": ["bench-token"],
                      "quotas": dict.fromkeys(("url", "prefix", "prefetch", "block"), 10 ** 9)}],
        "sites": [{"account": "bench", "id": 1, "zone_id": "zone-bench", "name": "example.com",
                   "domains": ["www.example.com"], "pool": "edge"}],
        "nodes": nodes,
        "limits": {"rate": 0, "max_targets": 1000},
    }
    for key, value in extra.items():
        data.setdefault(key, {}).update(value)
    return parse(data)


class FinishProbe:
    """Wraps a repository: resolves a future when ``record`` settles a watched task, and
    notes when the submission's and the recording's transactions start and end
    (``marks``: perf_counter times, for the stages of one fan-out)."""

    def __init__(self, repo: Any) -> None:
        self._repo = repo
        self._waiting: dict[int, asyncio.Future[Task]] = {}
        self.marks: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)

    def watch(self, task_id: int) -> asyncio.Future[Task]:
        fut: asyncio.Future[Task] = asyncio.get_running_loop().create_future()
        self._waiting[task_id] = fut
        return fut

    async def create_job_leased(self, *args: Any, **kwargs: Any) -> Any:
        self.marks["commit"] = time.perf_counter()
        try:
            return await self._repo.create_job_leased(*args, **kwargs)
        finally:
            self.marks["committed"] = time.perf_counter()

    async def record(self, records: Any, now: Any, **kwargs: Any) -> list[Task]:
        self.marks["record"] = time.perf_counter()
        finished: list[Task] = await self._repo.record(records, now, **kwargs)
        self.marks["recorded"] = time.perf_counter()
        for task in finished:
            fut = self._waiting.pop(task.id, None)
            if fut is not None and not fut.done():
                fut.set_result(task)
        return finished
