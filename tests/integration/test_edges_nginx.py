"""NginxEdge against a real nginx running contrib/nginx/cdnctl.conf.

Every assertion is about the cache itself: X-Cache / status of client requests
to nginx and the origin's hit counters.  One nginx serves the module, so each
test uses its own paths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cdnctl.core.edge import (
    EdgeOp,
    EdgeTimeoutError,
    EdgeUnreachableError,
    EdgeUnsupportedError,
    OriginError,
)
from cdnctl.core.model import Action, Capability, Method, Node, TargetType
from cdnctl.edges import create_edge
from cdnctl.edges.nginx import NginxEdge
from tests.servers import HungServer, NginxServer, Origin, fetch

pytestmark = pytest.mark.servers

WWW = "www.example.com"
OTHER = "other.example.net"


@pytest.fixture
async def edge(nginx_server: NginxServer) -> AsyncIterator[NginxEdge]:
    adapter = create_edge(Node("n1", "pool", "nginx", nginx_server.url), timeout=5.0)
    assert isinstance(adapter, NginxEdge)
    yield adapter
    await adapter.aclose()
    assert nginx_server.crashes() == 0


def url_op(action: Action, path: str, **kwargs: object) -> EdgeOp:
    return EdgeOp(action, TargetType.URL, f"http://{WWW}{path}", WWW, **kwargs)  # type: ignore[arg-type]


async def cached(server: NginxServer, path: str, host: str = WWW, **headers: str) -> bool:
    return (await fetch(server.url, path, host=host, headers=headers)).x_cache == "HIT"


async def warm(server: NginxServer, *paths: str, host: str = WWW) -> None:
    for path in paths:
        await fetch(server.url, path, host=host)
        assert await cached(server, path, host), path


async def test_capabilities_are_truthful(edge):
    assert edge.capabilities == {Capability.PURGE_URL, Capability.PREFETCH, Capability.BLOCK}
    off = create_edge(Node("n2", "pool", "nginx", edge.base, {"block": False}), timeout=1)
    assert Capability.BLOCK not in off.capabilities
    for type_, target in ((TargetType.PREFIX, f"http://{WWW}/a/"), (TargetType.HOST, WWW),
                          (TargetType.ALL, "site"), (TargetType.TAG, "red"),
                          (TargetType.REGEX, r"https?://www\.example\.com/.*"),
                          (TargetType.URL_IGNORE_PARAMS, f"http://{WWW}/a")):
        with pytest.raises(EdgeUnsupportedError):
            await edge.apply(EdgeOp(Action.PURGE, type_, target, WWW, hosts=(WWW,)))
    with pytest.raises(EdgeUnsupportedError):  # no soft purge
        await edge.apply(url_op(Action.PURGE, "/a", method=Method.INVALIDATE))


async def test_url_purge_makes_next_request_a_miss(edge, nginx_server, origin: Origin):
    await warm(nginx_server, "/u/a.css?v=2")
    await warm(nginx_server, "/u/a.css?v=2", host=OTHER)
    result = await edge.apply(url_op(Action.PURGE, "/u/a.css?v=2"))
    assert (result.http_status, result.detail) == (200, "purged")
    assert (await fetch(nginx_server.url, "/u/a.css?v=2")).x_cache == "MISS"
    assert origin.hits("/u/a.css?v=2") == 3
    assert await cached(nginx_server, "/u/a.css?v=2", host=OTHER)
    absent = await edge.apply(url_op(Action.PURGE, "/u/never-cached"))
    assert absent.http_status in (404, 412)  # nothing to purge: success
    assert "not cached" in absent.detail


async def test_url_purge_and_vary(edge, nginx_server):
    # Documented limitation: ngx_cache_purge 2.3 deletes the entry stored under
    # the main key; a Vary variant stored under a secondary key can come back.
    path = "/u/vary?vary=Accept-Language"
    await warm(nginx_server, path)
    await fetch(nginx_server.url, path, headers={"Accept-Language": "fr"})
    assert await cached(nginx_server, path, **{"Accept-Language": "fr"})
    await edge.apply(url_op(Action.PURGE, path))
    assert not await cached(nginx_server, path)  # the main entry is gone
    survivor = await fetch(nginx_server.url, path, headers={"Accept-Language": "fr"})
    assert survivor.x_cache == "HIT"  # the orphaned variant (see docs/edges.md)


async def test_prefetch_caches_the_object(edge, nginx_server, origin):
    result = await edge.apply(url_op(Action.PREFETCH, "/pf/a.js", headers={"X-Warm-Test": "ok"}))
    assert result.http_status == 200
    assert origin.hits("/pf/a.js") == 1
    assert origin.last_headers["/pf/a.js"]["X-Warm-Test"] == "ok"
    assert await cached(nginx_server, "/pf/a.js")
    origin.bump("/pf/a.js")
    await edge.apply(url_op(Action.PREFETCH, "/pf/a.js"))  # a refresh replaces the copy
    fresh = await fetch(nginx_server.url, "/pf/a.js")
    assert (fresh.x_cache, " v1 " in fresh.body) == ("HIT", True)
    assert origin.hits("/pf/a.js") == 2


async def test_prefetch_reports_origin_failures(edge):
    with pytest.raises(OriginError) as err:
        await edge.apply(url_op(Action.PREFETCH, "/pf/broken?status=503"))
    assert (err.value.code, err.value.http_status) == ("origin_5xx", 503)
    with pytest.raises(OriginError) as err:  # proxy_read_timeout is 1s in the test config
        await edge.apply(url_op(Action.PREFETCH, "/pf/slow?hang=3"))
    assert err.value.code == "origin_timeout"


async def test_block_then_unblock(edge, nginx_server, origin):
    path = "/b/a.png?x=1"
    await warm(nginx_server, path)
    result = await edge.apply(url_op(Action.BLOCK, path))
    assert "until unblocked" in result.detail
    assert (await fetch(nginx_server.url, path)).status == 403
    assert (await fetch(nginx_server.url, path, method="HEAD")).status == 403
    assert (await fetch(nginx_server.url, "/b/a.png?x=2")).status == 200  # exact URL only
    assert (await fetch(nginx_server.url, path, host=OTHER)).status == 200
    # An ordinary purge does not lift the block.
    await edge.apply(url_op(Action.PURGE, path))
    assert (await fetch(nginx_server.url, path)).status == 403
    unblocked = await edge.apply(url_op(Action.UNBLOCK, path))
    assert unblocked.detail == "unblocked"
    after = await fetch(nginx_server.url, path)
    assert (after.status, after.x_cache) == (200, "MISS")  # the cached copy was dropped
    again = await edge.apply(url_op(Action.UNBLOCK, path))
    assert again.detail == "was not blocked"


async def test_block_expires_by_itself(edge, nginx_server):
    await edge.apply(url_op(Action.BLOCK, "/b/ttl", block_ttl_seconds=2))
    assert (await fetch(nginx_server.url, "/b/ttl")).status == 403
    await asyncio.sleep(1.5)
    assert (await fetch(nginx_server.url, "/b/ttl")).status == 403
    # nginx keeps time in whole seconds: a marker lapses within ttl .. ttl + 1 s.
    await asyncio.sleep(1.6)
    assert (await fetch(nginx_server.url, "/b/ttl")).status == 200


async def test_control_requests_need_the_acl(nginx_server, origin):
    await warm(nginx_server, "/acl/a")
    denied = await fetch(nginx_server.url, "/acl/a", method="PURGE", local_addr="127.0.0.2")
    assert denied.status == 403
    assert await cached(nginx_server, "/acl/a")
    block = await fetch(nginx_server.url, "/acl/a", headers={"X-Cdnctl-Block": "60"},
                        local_addr="127.0.0.2")
    assert block.status == 200  # an ordinary request
    assert (await fetch(nginx_server.url, "/acl/a")).status == 200
    health = await fetch(nginx_server.url, "/.cdnctl/health", local_addr="127.0.0.2")
    assert health.status == 403


async def test_health(edge):
    health = await edge.health()
    assert health.up
    assert health.latency_ms is not None


async def test_hung_node_times_out(hung_server: HungServer):
    edge = create_edge(Node("hung", "pool", "nginx", hung_server.url), timeout=0.5)
    t0 = time.monotonic()
    try:
        with pytest.raises(EdgeTimeoutError):
            await edge.apply(url_op(Action.PURGE, "/x"))
    finally:
        await edge.aclose()
    assert time.monotonic() - t0 < 2


async def test_stopped_node_is_unreachable(edge, nginx_server):
    nginx_server.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(EdgeUnreachableError):
            await edge.apply(url_op(Action.PURGE, "/x"))
        assert time.monotonic() - t0 < 1
        assert not (await edge.health()).up
    finally:
        nginx_server.start()
    assert (await edge.health()).up
