"""Shared pieces of the native API tests: a runtime over the in-memory repository,
scriptable fake edges, and an in-process HTTP client (``httpx.ASGITransport``).

Imported by the other ``test_api_*`` modules; the two tests at the end check the
harness itself (a fake edge that failed silently would make every test moot).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx

from cdnctl.api.app import create_app
from cdnctl.app import Runtime, make_worker
from cdnctl.config import Settings, parse
from cdnctl.core.edge import EdgeError, EdgeOp, EdgeResult, EdgeServerError, NodeHealth
from cdnctl.core.model import Capability
from cdnctl.core.service import ContentService
from cdnctl.limits.ratelimit import MemoryRateLimiter
from cdnctl.metrics import PrometheusMetrics
from cdnctl.storage import open_upload_repository
from cdnctl.testing import FrozenClock, InMemoryTaskRepository

TOKEN = "tok-acme"
OTHER_TOKEN = "tok-other"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OTHER = {"Authorization": f"Bearer {OTHER_TOKEN}"}
ALL_CAPS = frozenset(Capability)


def config(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "server": {"max_body_bytes": 4096},
        "dispatch": {"max_attempts": 2, "backoff_initial": 0.0},
        "accounts": [
            {"id": "1001", "name": "acme", "tokens": [TOKEN]},
            {"id": "1002", "name": "other", "tokens": [OTHER_TOKEN]},
        ],
        "sites": [
            {"account": "acme", "id": 1, "zone_id": "zone-acme", "name": "example.com",
             "domains": ["www.example.com", "img.example.com"], "pool": "edge"},
            {"account": "acme", "id": 2, "zone_id": "zone-legacy", "name": "legacy.example",
             "domains": ["old.example.org"], "pool": "basic"},
            {"account": "other", "id": 3, "zone_id": "zone-other", "name": "other.example",
             "domains": ["www.other.example"], "pool": "edge"},
        ],
        "nodes": [
            {"name": "edge-1", "pool": "edge", "kind": "simulated"},
            {"name": "edge-2", "pool": "edge", "kind": "simulated"},
            {"name": "basic-1", "pool": "basic", "kind": "simulated"},
        ],
    }
    data.update(overrides)
    return data


class FakeEdge:
    """An EdgeAdapter that records operations and answers from a script."""

    def __init__(self, name: str, capabilities: frozenset[Capability] = ALL_CAPS) -> None:
        self.name = name
        self.kind = "fake"
        self.capabilities = capabilities
        self.ops: list[EdgeOp] = []
        self.fail: Callable[[EdgeOp], EdgeError | None] = lambda _op: None
        self.health_result: NodeHealth | BaseException = NodeHealth(True, 1.5, "ok")
        self.health_delay = 0.0
        self.health_calls = 0

    async def apply(self, op: EdgeOp) -> EdgeResult:
        self.ops.append(op)
        err = self.fail(op)
        if err is not None:
            raise err
        return EdgeResult(200, f"{self.name} did {op.action}")

    async def health(self) -> NodeHealth:
        self.health_calls += 1
        if self.health_delay:
            await asyncio.sleep(self.health_delay)
        if isinstance(self.health_result, BaseException):
            raise self.health_result
        return self.health_result

    async def aclose(self) -> None:
        return None


def build(settings: Settings | None = None, *, edges: dict[str, FakeEdge] | None = None,
          clock: FrozenClock | None = None, repo: Any = None) -> Runtime:
    settings = settings or parse(config())
    clock = clock or FrozenClock()
    directory = settings.directory()
    edges = edges if edges is not None else {
        n.name: FakeEdge(n.name, ALL_CAPS - ({Capability.PURGE_REGEX}
                                             if n.pool == "basic" else set()))
        for n in directory.nodes}
    directory = replace(directory, capabilities={k: e.capabilities for k, e in edges.items()})
    metrics = PrometheusMetrics()
    repository = repo if repo is not None else InMemoryTaskRepository()
    service = ContentService(repository, directory, clock, limiter=MemoryRateLimiter(),
                             metrics=metrics, limits=settings.core_limits())
    return Runtime(settings=settings, directory=directory, repo=repository,
                   uploads=open_upload_repository(repository), service=service,
                   clock=clock, edges=dict(edges), metrics=metrics)


@asynccontextmanager
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cdnctl.test") as c:
        yield c


async def settle(runtime: Runtime) -> None:
    """Run a worker until no delivery is due (retries included) on the frozen clock."""
    worker = make_worker(runtime)
    for _ in range(20):
        await worker.run_until_idle()
        due = await runtime.repo.next_due()
        if due is None or due > runtime.clock.now():
            return
    raise AssertionError("deliveries still due after 20 rounds")


async def purge(c: httpx.AsyncClient, *targets: str, **body: Any) -> httpx.Response:
    payload = {"action": "purge", "targets": list(targets), **body}
    return await c.post("/v1/tasks", json=payload, headers=AUTH)


async def test_fake_edge_runs_and_fails_on_script() -> None:
    rt = build()
    async with client(rt) as c:
        r = await purge(c, "https://www.example.com/a")
        assert r.status_code == 202
        rt.edges["edge-2"].fail = lambda _op: EdgeServerError("boom", http_status=503)
        await settle(rt)
    assert [op.target for op in rt.edges["edge-1"].ops] == ["https://www.example.com/a"]
    assert len(rt.edges["edge-2"].ops) == 2  # max_attempts = 2, both failed


async def test_build_uses_settings_limits() -> None:
    rt = build(parse(config(limits={"max_targets": 3})))
    assert rt.service.limits.max_targets == 3
