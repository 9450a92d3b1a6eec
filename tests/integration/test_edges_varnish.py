"""VarnishEdge against a real varnishd running contrib/varnish/cdnctl.vcl.

Every assertion is about the cache itself: X-Cache / status of client requests
to varnishd and the origin's hit counters.  One varnishd serves the module, so
each test uses its own paths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from cdnctl.core.edge import (
    EdgeOp,
    EdgeRejectedError,
    EdgeTimeoutError,
    EdgeUnreachableError,
    EdgeUnsupportedError,
    OriginError,
)
from cdnctl.core.model import Action, Method, Node, TargetType
from cdnctl.edges import create_edge
from cdnctl.edges.varnish import VarnishEdge
from tests.servers import HungServer, Origin, VarnishServer, fetch

pytestmark = pytest.mark.servers

WWW = "www.example.com"
OTHER = "other.example.net"


@pytest.fixture
async def edge(varnish_server: VarnishServer) -> AsyncIterator[VarnishEdge]:
    adapter = create_edge(Node("v1", "pool", "varnish", varnish_server.url), timeout=5.0)
    assert isinstance(adapter, VarnishEdge)
    yield adapter
    await adapter.aclose()


def purge(type_: TargetType, target: str, *, method: Method = Method.DELETE,
          hosts: tuple[str, ...] = (), domain: str | None = WWW) -> EdgeOp:
    return EdgeOp(Action.PURGE, type_, target, domain, method=method, hosts=hosts)


async def warm(server: VarnishServer, *paths: str, host: str = WWW) -> None:
    """Cache ``paths`` and check they are now served from the cache."""
    for path in paths:
        await fetch(server.url, path, host=host)
        assert (await fetch(server.url, path, host=host)).x_cache == "HIT", path


async def cached(server: VarnishServer, path: str, host: str = WWW) -> bool:
    return (await fetch(server.url, path, host=host)).x_cache == "HIT"


async def test_url_purge_makes_next_request_a_miss(edge, varnish_server, origin: Origin):
    await warm(varnish_server, "/u/a.css")
    result = await edge.apply(purge(TargetType.URL, f"http://{WWW}/u/a.css"))
    assert result.http_status == 200
    assert "purged 1 object" in result.detail
    assert (await fetch(varnish_server.url, "/u/a.css")).x_cache == "MISS"
    assert origin.hits("/u/a.css") == 2
    again = await edge.apply(purge(TargetType.URL, f"http://{WWW}/u/not-cached.css"))
    assert "purged 0 object" in again.detail  # nothing to purge is a success


async def test_url_purge_drops_every_vary_variant(edge, varnish_server):
    path = "/u/vary?vary=Accept-Language"
    for lang in ("en", "fr"):
        await fetch(varnish_server.url, path, headers={"Accept-Language": lang})
        hit = await fetch(varnish_server.url, path, headers={"Accept-Language": lang})
        assert hit.x_cache == "HIT"
        assert f"lang={lang}" in hit.body
    result = await edge.apply(purge(TargetType.URL, f"http://{WWW}{path}"))
    assert "purged 2 object" in result.detail
    for lang in ("en", "fr"):
        miss = await fetch(varnish_server.url, path, headers={"Accept-Language": lang})
        assert miss.x_cache == "MISS"


async def test_soft_purge_serves_stale_once_and_refreshes(edge, varnish_server, origin):
    await warm(varnish_server, "/u/soft")
    origin.bump("/u/soft")
    result = await edge.apply(purge(TargetType.URL, f"http://{WWW}/u/soft",
                                    method=Method.INVALIDATE))
    assert "soft-purged 1 object" in result.detail
    stale = await fetch(varnish_server.url, "/u/soft")
    assert stale.x_cache == "HIT"
    assert " v0 " in stale.body  # still the old copy (grace) ...
    for _ in range(100):  # ... while varnish refreshes it in the background
        fresh = await fetch(varnish_server.url, "/u/soft")
        if " v1 " in fresh.body:
            break
        await asyncio.sleep(0.02)
    assert (fresh.x_cache, " v1 " in fresh.body) == ("HIT", True)
    assert origin.hits("/u/soft") == 2  # one background fetch, no stampede


async def test_prefetch_caches_the_object(edge, varnish_server, origin):
    op = EdgeOp(Action.PREFETCH, TargetType.URL, f"http://{WWW}/pf/a.js?v=1", WWW,
                headers={"X-Warm-Test": "yes"})
    result = await edge.apply(op)
    assert result.http_status == 200
    assert origin.hits("/pf/a.js?v=1") == 1
    assert origin.last_headers["/pf/a.js?v=1"]["X-Warm-Test"] == "yes"
    assert await cached(varnish_server, "/pf/a.js?v=1")
    assert origin.hits("/pf/a.js?v=1") == 1


async def test_prefetch_reports_origin_failures(edge):
    with pytest.raises(OriginError) as err:
        await edge.apply(EdgeOp(Action.PREFETCH, TargetType.URL,
                                f"http://{WWW}/pf/broken?status=500", WWW))
    assert (err.value.code, err.value.http_status) == ("origin_5xx", 500)
    with pytest.raises(OriginError) as err:  # first_byte_timeout is 1s in the test VCL
        await edge.apply(EdgeOp(Action.PREFETCH, TargetType.URL,
                                f"http://{WWW}/pf/slow?hang=3", WWW))
    assert err.value.code == "origin_timeout"
    with pytest.raises(OriginError) as err:
        await edge.apply(EdgeOp(Action.PREFETCH, TargetType.URL,
                                f"http://{WWW}/pf/gone?status=404", WWW))
    assert err.value.code == "origin_4xx"
    with pytest.raises(OriginError) as err:
        await edge.apply(EdgeOp(Action.PREFETCH, TargetType.URL,
                                f"http://{WWW}/pf/private?cc=private", WWW))
    assert (err.value.code, err.value.http_status) == ("origin_uncacheable", 200)


async def test_block_then_unblock(edge, varnish_server, origin):
    path = "/b/a.png?vary=Accept-Language"
    await warm(varnish_server, path)
    result = await edge.apply(EdgeOp(Action.BLOCK, TargetType.URL, f"http://{WWW}{path}", WWW))
    assert "until unblocked" in result.detail
    assert "dropped 1 cached object" in result.detail
    assert (await fetch(varnish_server.url, path)).status == 403
    blocked = await fetch(varnish_server.url, path, headers={"Accept-Language": "de"})
    assert blocked.status == 403  # every variant
    assert (await fetch(varnish_server.url, path, method="HEAD")).status == 403
    assert (await fetch(varnish_server.url, "/b/a.png?other=1")).status == 200  # exact URL only
    assert (await fetch(varnish_server.url, path, host=OTHER)).status == 200
    await edge.apply(EdgeOp(Action.UNBLOCK, TargetType.URL, f"http://{WWW}{path}", WWW))
    after = await fetch(varnish_server.url, path)
    assert (after.status, after.x_cache) == (200, "MISS")  # the cached copy was dropped
    assert origin.hits(path) == 3  # warm, the other host, and now


async def test_block_expires_by_itself(edge, varnish_server):
    path = "/b/ttl.png"
    await edge.apply(EdgeOp(Action.BLOCK, TargetType.URL, f"http://{WWW}{path}", WWW,
                            block_ttl_seconds=2))
    assert (await fetch(varnish_server.url, path)).status == 403
    await asyncio.sleep(2.2)
    assert (await fetch(varnish_server.url, path)).status == 200


async def test_purges_and_bans_do_not_lift_a_block(edge, varnish_server):
    path = "/b/keep.png?xkey=keep"
    url = f"http://{WWW}{path}"
    await warm(varnish_server, path)
    await edge.apply(EdgeOp(Action.BLOCK, TargetType.URL, url, WWW))
    for op in (purge(TargetType.URL, url), purge(TargetType.URL, url, method=Method.INVALIDATE),
               purge(TargetType.PREFIX, f"http://{WWW}/b/"), purge(TargetType.HOST, WWW),
               purge(TargetType.ALL, "site", hosts=(WWW,)),
               purge(TargetType.REGEX, r"https?://www\.example\.com/b/.*"),
               purge(TargetType.TAG, "keep"), purge(TargetType.TAG, "keep", hosts=(WWW,))):
        await edge.apply(op)
        assert (await fetch(varnish_server.url, path)).status == 403, op
    await edge.apply(EdgeOp(Action.UNBLOCK, TargetType.URL, url, WWW))
    assert (await fetch(varnish_server.url, path)).status == 200


async def test_prefix_purge_drops_exactly_the_prefix(edge, varnish_server):
    inside = ["/pre/a.png", "/pre/b/c.png?x=1", "/pre/"]
    outside = ["/prefix-sibling", "/other/pre/a.png"]
    await warm(varnish_server, *inside, *outside)
    await warm(varnish_server, "/pre/a.png", host=OTHER)
    await edge.apply(purge(TargetType.PREFIX, f"http://{WWW}/pre/"))
    assert [await cached(varnish_server, p) for p in inside] == [False] * 3
    assert [await cached(varnish_server, p) for p in outside] == [True] * 2
    assert await cached(varnish_server, "/pre/a.png", host=OTHER)


async def test_url_ignoring_query_purge(edge, varnish_server):
    gone = ["/iq/a?x=1", "/iq/a?y=2", "/iq/a"]
    await warm(varnish_server, *gone, "/iq/ab", "/iq/a/b")
    await edge.apply(purge(TargetType.URL_IGNORE_PARAMS, f"http://{WWW}/iq/a"))
    assert [await cached(varnish_server, p) for p in gone] == [False] * 3
    assert await cached(varnish_server, "/iq/ab")
    assert await cached(varnish_server, "/iq/a/b")


async def test_regex_purge(edge, varnish_server):
    gone = ["/rx/a.png", "/rx/b/c.png?v=1"]
    kept = ["/rx/a.jpg", "/x/rx/a.png"]
    await warm(varnish_server, *gone, *kept)
    await warm(varnish_server, "/rx/a.png", host=OTHER)
    await edge.apply(purge(TargetType.REGEX, r"https?://www\.example\.com/rx/.*\.png"))
    assert [await cached(varnish_server, p) for p in gone] == [False] * 2
    assert [await cached(varnish_server, p) for p in kept] == [True] * 2
    assert await cached(varnish_server, "/rx/a.png", host=OTHER)


async def test_tag_purge_drops_exactly_the_tagged_objects(edge, varnish_server):
    red = ["/t/1?xkey=red", "/t/2?tag=red,blue", "/t/3?xkey=green+red"]
    await warm(varnish_server, *red, "/t/4?xkey=blue", "/t/5")
    await warm(varnish_server, "/t/1?xkey=red", host=OTHER)
    result = await edge.apply(purge(TargetType.TAG, "red", hosts=(WWW,), domain=None))
    assert "purged 3 object" in result.detail
    assert [await cached(varnish_server, p) for p in red] == [False] * 3
    assert await cached(varnish_server, "/t/4?xkey=blue")
    assert await cached(varnish_server, "/t/5")
    assert await cached(varnish_server, "/t/1?xkey=red", host=OTHER)  # another site's tag
    await edge.apply(purge(TargetType.TAG, "red", domain=None))  # no hosts: every host
    assert not await cached(varnish_server, "/t/1?xkey=red", host=OTHER)


async def test_wildcard_site_tag_purge_stays_on_its_subdomains(edge, varnish_server):
    ours = ["a.example.org", "x.y.example.org", "p.q.r.s.example.org"]
    for host in ours:
        await warm(varnish_server, "/w/1?xkey=sale", host=host)
    await warm(varnish_server, "/w/1?xkey=sale", host=OTHER)  # another tenant, same tag
    await warm(varnish_server, "/w/1?xkey=sale", host="example.org")  # not a subdomain
    result = await edge.apply(purge(TargetType.TAG, "sale", hosts=("*.example.org",),
                                    domain=None))
    assert "purged 3 object" in result.detail
    for host in ours:
        assert not await cached(varnish_server, "/w/1?xkey=sale", host=host)
    assert await cached(varnish_server, "/w/1?xkey=sale", host=OTHER)
    assert await cached(varnish_server, "/w/1?xkey=sale", host="example.org")


async def test_host_and_all_purges_stay_on_their_hosts(edge, varnish_server):
    await warm(varnish_server, "/h/1", "/h/2?q=1")
    await warm(varnish_server, "/h/1", host=OTHER)
    await warm(varnish_server, "/h/1", host="img.example.org")
    await edge.apply(purge(TargetType.HOST, WWW))
    assert not await cached(varnish_server, "/h/1")
    assert not await cached(varnish_server, "/h/2?q=1")
    assert await cached(varnish_server, "/h/1", host=OTHER)
    await warm(varnish_server, "/h/1")
    result = await edge.apply(purge(TargetType.ALL, "site", hosts=(WWW, "*.example.org")))
    assert "(hard ban" not in result.detail
    assert not await cached(varnish_server, "/h/1")
    assert not await cached(varnish_server, "/h/1", host="img.example.org")
    assert await cached(varnish_server, "/h/1", host=OTHER)
    with pytest.raises(EdgeRejectedError):  # never ban the whole shared cache
        await edge.apply(purge(TargetType.ALL, "*", hosts=()))


async def test_soft_ban_is_a_documented_hard_ban(edge, varnish_server):
    await warm(varnish_server, "/sb/a")
    result = await edge.apply(purge(TargetType.PREFIX, f"http://{WWW}/sb/",
                                    method=Method.INVALIDATE))
    assert "hard ban" in result.detail
    assert not await cached(varnish_server, "/sb/a")


async def test_control_requests_need_the_acl(varnish_server, origin):
    # 127.0.0.2 is loopback too, but not in the cdnctl_control ACL.
    denied = await fetch(varnish_server.url, "/acl/a", method="PURGE", local_addr="127.0.0.2")
    assert denied.status == 405
    await fetch(varnish_server.url, "/acl/b", headers={"X-Cdnctl-Prefetch": "1"},
                local_addr="127.0.0.2")
    again = await fetch(varnish_server.url, "/acl/b", headers={"X-Cdnctl-Prefetch": "1"},
                        local_addr="127.0.0.2")
    assert again.x_cache == "HIT"  # an ordinary request: no forced miss
    assert origin.hits("/acl/b") == 1


async def test_unsupported_block_target(edge):
    with pytest.raises(EdgeUnsupportedError):
        await edge.apply(EdgeOp(Action.BLOCK, TargetType.PREFIX, f"http://{WWW}/x/", WWW))


async def test_health(edge):
    health = await edge.health()
    assert health.up
    assert health.latency_ms is not None


async def test_hung_node_times_out(hung_server: HungServer):
    edge = create_edge(Node("hung", "pool", "varnish", hung_server.url), timeout=0.5)
    t0 = time.monotonic()
    try:
        with pytest.raises(EdgeTimeoutError):
            await edge.apply(purge(TargetType.URL, f"http://{WWW}/x"))
    finally:
        await edge.aclose()
    assert time.monotonic() - t0 < 2


async def test_stopped_node_is_unreachable(edge, varnish_server):
    boot = (await edge.health()).instance
    assert boot, "the VCL's health answer carries a boot id (X-Cdnctl-Boot)"
    varnish_server.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(EdgeUnreachableError):
            await edge.apply(purge(TargetType.URL, f"http://{WWW}/x"))
        assert time.monotonic() - t0 < 1
        assert not (await edge.health()).up
    finally:
        varnish_server.start()
    health = await edge.health()
    assert health.up
    assert health.instance != boot  # a restart is visible, so blocks get re-applied


async def test_a_dropped_connection_is_retried_once():
    answers = [b"", b"HTTP/1.1 200 Purged\r\nX-Cdnctl-Result: Purged\r\nX-Cdnctl-Purged: 1\r\n"
                    b"Content-Length: 0\r\nConnection: close\r\n\r\n", b"", b""]
    seen = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answers[len(seen) - 1])  # b"": close without answering
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    edge = create_edge(Node("flaky", "pool", "varnish", f"http://127.0.0.1:{port}"), timeout=2)
    try:
        result = await edge.apply(purge(TargetType.URL, f"http://{WWW}/r"))
        assert (len(seen), result.detail) == (2, "purged 1 object(s)")
        with pytest.raises(EdgeUnreachableError):  # dropped twice: give up
            await edge.apply(purge(TargetType.URL, f"http://{WWW}/r"))
        assert len(seen) == 4
    finally:
        await edge.aclose()
        server.close()
        await server.wait_closed()
