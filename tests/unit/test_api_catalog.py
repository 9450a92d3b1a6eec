"""/v1/sites, /v1/domains, /v1/nodes (live health), /healthz, /metrics."""

from __future__ import annotations

import asyncio

from test_api_harness import AUTH, OTHER, build, client, purge, settle

from cdnctl.api.native.catalog import HealthCache
from cdnctl.core.edge import EdgeServerError, NodeHealth
from cdnctl.testing import InMemoryTaskRepository


async def test_sites_and_domains_are_the_callers() -> None:
    async with client(build()) as c:
        sites = (await c.get("/v1/sites", headers=AUTH)).json()["sites"]
        domains = (await c.get("/v1/domains", headers=AUTH)).json()["domains"]
        other = (await c.get("/v1/sites", headers=OTHER)).json()["sites"]
    assert [s["name"] for s in sites] == ["example.com", "legacy.example"]
    assert sites[0] == {"id": 1, "name": "example.com", "zone_id": "zone-acme",
                        "domains": ["www.example.com", "img.example.com"], "pool": "edge"}
    assert [d["domain"] for d in domains] == ["www.example.com", "img.example.com",
                                              "old.example.org"]
    assert domains[2] == {"domain": "old.example.org", "site": "legacy.example", "pool": "basic"}
    assert [s["name"] for s in other] == ["other.example"]


async def test_nodes_with_live_health() -> None:
    rt = build()
    rt.edges["edge-2"].health_result = NodeHealth(False, None, "connection refused")
    rt.edges["basic-1"].health_result = RuntimeError("adapter bug")
    async with client(rt) as c:
        nodes = (await c.get("/v1/nodes", headers=AUTH)).json()["nodes"]
        other = (await c.get("/v1/nodes", headers=OTHER)).json()["nodes"]
    by_name = {n["name"]: n for n in nodes}
    assert list(by_name) == ["edge-1", "edge-2", "basic-1"]
    assert by_name["edge-1"]["health"]["up"] is True
    assert by_name["edge-1"]["health"]["latency_ms"] == 1.5
    assert by_name["edge-2"]["health"] == {**by_name["edge-2"]["health"], "up": False,
                                           "detail": "connection refused"}
    assert by_name["basic-1"]["health"]["up"] is False
    assert "RuntimeError: adapter bug" in by_name["basic-1"]["health"]["detail"]
    assert "purge_regex" in by_name["edge-1"]["capabilities"]
    assert "purge_regex" not in by_name["basic-1"]["capabilities"]
    assert [n["name"] for n in other] == ["edge-1", "edge-2"]  # pool "edge" only
    assert "url" not in by_name["edge-1"]  # internal addresses stay internal


async def test_health_is_cached_and_bounded_by_a_timeout() -> None:
    rt = build()
    slow = rt.edges["edge-2"]
    slow.health_delay = 5.0
    cache = HealthCache(ttl=60.0, timeout=0.05)
    first = await cache.get(rt.edges, ["edge-1", "edge-2"])
    second = await cache.get(rt.edges, ["edge-1", "edge-2"])
    assert first["edge-2"].health.up is False
    assert "no answer within 0.05s" in first["edge-2"].health.detail
    assert second == first
    assert rt.edges["edge-1"].health_calls == 1
    expired = HealthCache(ttl=0.0, timeout=0.05)
    await expired.get(rt.edges, ["edge-1"])
    await asyncio.sleep(0.001)
    await expired.get(rt.edges, ["edge-1"])
    assert rt.edges["edge-1"].health_calls == 3


async def test_healthz_checks_the_database() -> None:
    class DeadRepo(InMemoryTaskRepository):
        async def count_tasks(self, flt):  # type: ignore[no-untyped-def]
            raise ConnectionError("database is gone")

    async with client(build()) as c:
        ok = await c.get("/healthz")
    async with client(build(repo=DeadRepo())) as c:
        bad = await c.get("/healthz")
    assert ok.status_code == 200
    assert ok.json()["status"] == "ok"
    assert ok.json()["checks"]["database"]["ok"] is True
    assert bad.status_code == 503
    assert bad.json() == {"status": "failing", "checks": {"database": {
        "ok": False, "latency_ms": None, "detail": "ConnectionError"}}}


async def test_metrics_has_task_counts_latency_and_edge_errors() -> None:
    rt = build()
    rt.edges["edge-2"].fail = lambda _op: EdgeServerError("boom", http_status=502)
    async with client(rt) as c:
        await purge(c, "https://www.example.com/a", "https://www.example.com/b")
        await c.post("/v1/tasks", headers=OTHER, json={
            "action": "purge", "targets": ["https://www.other.example/x"]})
        await settle(rt)
        await purge(c, "https://www.example.com/queued")
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'cdnctl_tasks{state="failed"} 3.0' in text
    assert 'cdnctl_tasks{state="queued"} 1.0' in text
    assert 'cdnctl_tasks{state="succeeded"} 0.0' in text
    assert 'cdnctl_delivery_attempt_latency_ms_count{node="edge-1"} 3.0' in text
    assert 'cdnctl_edge_errors_total{code="edge_http_5xx",node="edge-2"} 6.0' in text
