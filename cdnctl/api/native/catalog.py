"""``/v1/sites``, ``/v1/domains``, ``/v1/nodes``: what the caller owns and who serves it.

Node health is probed live (``EdgeAdapter.health()``) with a short timeout,
all nodes at once, and cached for a few seconds so a dashboard polling this
endpoint does not hammer the fleet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cdnctl.api.native.deps import authenticate, runtime_of
from cdnctl.api.native.schemas import (
    DomainList,
    DomainOut,
    HealthOut,
    NodeList,
    NodeOut,
    SiteList,
    SiteOut,
)
from cdnctl.api.native.tasks import ok, only
from cdnctl.core.edge import EdgeAdapter, NodeHealth

DETAIL_MAX = 200


@dataclass(frozen=True, slots=True)
class Probe:
    health: NodeHealth
    checked_at: datetime
    at: float  # monotonic


class HealthCache:
    """Per-node health results, refreshed when older than ``ttl`` seconds."""

    def __init__(self, ttl: float = 5.0, timeout: float = 2.0) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._probes: dict[str, Probe] = {}
        self._lock = asyncio.Lock()

    async def get(self, edges: Mapping[str, EdgeAdapter], names: Sequence[str]) -> dict[str, Probe]:
        async with self._lock:  # one refresh at a time; latecomers read its results
            now = time.monotonic()
            stale = [n for n in names
                     if n not in self._probes or now - self._probes[n].at > self.ttl]
            fresh = await asyncio.gather(*(self._probe(edges.get(n)) for n in stale))
            stamp, mono = datetime.now(UTC), time.monotonic()
            for name, health in zip(stale, fresh, strict=True):
                self._probes[name] = Probe(health, stamp, mono)
            return {n: self._probes[n] for n in names}

    async def _probe(self, edge: EdgeAdapter | None) -> NodeHealth:
        if edge is None:
            return NodeHealth(up=False, latency_ms=None, detail="no adapter for this node")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                return await edge.health()
        except TimeoutError:
            return NodeHealth(up=False, latency_ms=None,
                              detail=f"no answer within {self.timeout:g}s")
        except Exception as exc:  # a probe must never break the listing
            return NodeHealth(up=False, latency_ms=(time.perf_counter() - started) * 1000,
                              detail=f"{type(exc).__name__}: {exc}"[:DETAIL_MAX])


def health_cache(request: Request) -> HealthCache:
    cache = getattr(request.app.state, "health", None)
    if not isinstance(cache, HealthCache):
        cache = HealthCache()
        request.app.state.health = cache
    return cache


async def sites(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    only(request, ())
    return ok(SiteList(sites=[
        SiteOut(id=s.id, name=s.name, zone_id=s.zone_id, domains=list(s.domains), pool=s.pool)
        for s in rt.directory.sites_of(account.id)]))


async def domains(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    only(request, ())
    return ok(DomainList(domains=[
        DomainOut(domain=d, site=s.name, pool=s.pool)
        for s in rt.directory.sites_of(account.id) for d in s.domains]))


async def nodes(request: Request) -> Response:
    """The nodes of every pool serving one of the caller's sites, with live health."""
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, ())
    pools = dict.fromkeys(s.pool for s in rt.directory.sites_of(account.id))
    members = [n for p in pools for n in rt.directory.pool(p)]
    probes = await health_cache(request).get(rt.edges, [n.name for n in members])
    out = []
    for n in members:
        probe = probes[n.name]
        caps = sorted(c.value for c in rt.directory.capabilities.get(n.name, frozenset()))
        out.append(NodeOut(
            name=n.name, pool=n.pool, kind=n.kind, capabilities=caps,
            health=HealthOut(up=probe.health.up, latency_ms=probe.health.latency_ms,
                             detail=probe.health.detail[:DETAIL_MAX],
                             checked_at=probe.checked_at)))
    return ok(NodeList(nodes=out))


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/sites", sites, methods=["GET"]),
        Route("/v1/domains", domains, methods=["GET"]),
        Route("/v1/nodes", nodes, methods=["GET"]),
    ]
