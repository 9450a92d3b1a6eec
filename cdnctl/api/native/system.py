"""``/healthz`` (is the database answering?) and ``/metrics`` (Prometheus text).

Neither needs a token: load balancers and scrapers call them. Neither reveals
tenant data beyond aggregate task counts.
"""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cdnctl.api.native.deps import runtime_of
from cdnctl.api.native.schemas import CheckOut, Healthz
from cdnctl.api.native.tasks import ok
from cdnctl.core.model import TaskState
from cdnctl.core.ports import TaskFilter

log = logging.getLogger("cdnctl.api")
CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    rt = runtime_of(request)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            # A primary-key lookup that matches nothing: cheap, but a real round trip.
            await rt.repo.count_tasks(TaskFilter(account_id="", task_ids=[0]))
        db = CheckOut(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 3))
    except TimeoutError:
        db = CheckOut(ok=False, detail=f"no answer within {CHECK_TIMEOUT:g}s")
    except Exception as exc:
        log.warning("health check: database failed: %s", exc)
        db = CheckOut(ok=False, detail=f"{type(exc).__name__}")
    body = Healthz(status="ok" if db.ok else "failing", checks={"database": db})
    return ok(body, 200 if db.ok else 503, {"Cache-Control": "no-store"})


async def task_counts(request: Request) -> dict[TaskState, int]:
    """Tasks stored, by state, over every account (one count per account and state)."""
    rt = runtime_of(request)
    counts = dict.fromkeys(TaskState, 0)
    for account in rt.directory.accounts:
        for state in TaskState:
            counts[state] += await rt.service.count(
                TaskFilter(account_id=account.id, states=[state]))
    return counts


async def metrics(request: Request) -> Response:
    rt = runtime_of(request)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            rt.metrics.set_task_counts(await task_counts(request))
    except Exception as exc:  # still serve the in-process series
        log.warning("metrics: counting tasks failed: %s", exc)
    return Response(rt.metrics.render(), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def routes() -> list[BaseRoute]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
