"""The Huawei routes in-process (``httpx.ASGITransport``) over the in-memory repository,
simulated nodes and a frozen clock: the time-dependent rules (lookup horizons, ban
expiry dates), the finer URL status filters, many block rules, an oversized streamed
body, an internal error — things a live server cannot reach quickly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cdnctl.api.app import create_app
from cdnctl.api.dialects.huawei_cdn import DIALECT, HuaweiCdnDialect
from cdnctl.app import Runtime, make_worker
from cdnctl.testing import FrozenClock
from tests.dialects.huawei.huawei_harness import inprocess_runtime

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
TOKEN = {"X-Auth-Token": "tok-acme"}


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    built = inprocess_runtime(FrozenClock(T0))
    await built.repo.sync_config(built.directory.accounts, built.directory.sites,
                                 built.directory.nodes)
    yield built
    await built.aclose()


@pytest.fixture
async def http(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://cdnctl.test",
                                 headers=TOKEN) as client:
        yield client


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def refresh(http: httpx.AsyncClient, *paths: str, action: str = "refresh") -> str:
    key = {"refresh": "refresh_task", "preheat": "preheating_task"}[action]
    path = {"refresh": "refresh-tasks", "preheat": "preheating-tasks"}[action]
    r = await http.post(f"/v1.0/cdn/content/{path}",
                        json={key: {"urls": [f"http://www.example.com{p}" for p in paths]}})
    assert r.status_code == 200, r.text
    job_id: str = r.json()[key]
    return job_id


async def settle(rt: Runtime) -> None:
    """Run a worker until no delivery is due (it claims a bounded batch per round)."""
    worker = make_worker(rt)
    for _ in range(20):
        await worker.run_until_idle()
        due = await rt.repo.next_due()
        if due is None or due > rt.clock.now():
            return
    raise AssertionError("deliveries still due after 20 rounds")


async def test_detail_lookup_horizons(rt: Runtime, http: httpx.AsyncClient):
    job_id = await refresh(http, "/a")
    clock = rt.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(8 * 86400)
    gone = await http.get(f"/v1.0/cdn/historytasks/{job_id}/detail")
    assert (gone.status_code, gone.json()["error"]["error_code"]) == (404, "CDN.0003")
    found = await http.get(f"/v1.0/cdn/historytasks/{job_id}/detail",
                           params={"create_time": ms(T0)})
    assert found.status_code == 200
    clock.advance(8 * 86400)
    too_old = await http.get(f"/v1.0/cdn/historytasks/{job_id}/detail",
                             params={"create_time": ms(clock.now())})
    assert too_old.status_code == 404


async def test_url_status_filters(rt: Runtime, http: httpx.AsyncClient):
    purge = await refresh(http, "/q1", "/q2")
    warm = await refresh(http, "/w1", action="preheat")

    async def statuses(job_id: str, status: str) -> list[str]:
        r = await http.get(f"/v1.0/cdn/historytasks/{job_id}/detail",
                           params={"status": status})
        assert r.status_code == 200, r.text
        return [u["status"] for u in r.json()["urls"]]

    assert await statuses(purge, "waiting") == ["processing", "processing"]
    assert await statuses(purge, "processing") == ["processing", "processing"]
    assert await statuses(purge, "refreshing") == []
    # claim the deliveries without finishing them: the tasks are running
    await rt.repo.claim("w", limit=10, now=rt.clock.now(), lease_seconds=60)
    assert await statuses(purge, "refreshing") == ["processing", "processing"]
    assert await statuses(purge, "waiting") == []
    assert await statuses(purge, "preheating") == []
    assert await statuses(warm, "preheating") == ["processing"]
    assert await statuses(warm, "refreshing") == []
    page = (await http.get("/v1.0/cdn/historytasks", params={"status": "task_inprocess"})).json()
    assert {t["id"] for t in page["tasks"]} == {purge, warm}


async def test_ban_expiry_date_and_many_rules(rt: Runtime, http: httpx.AsyncClient):
    r = await http.post("/v1.0/cdn/content/access-control-urls/ban", json={
        "access_control_urls": {"urls": [f"http://www.example.com/b/{i}" for i in range(1000)]}})
    assert r.status_code == 200, r.text
    rt.clock.advance(1)  # type: ignore[attr-defined]
    r = await http.post("/v1.0/cdn/content/access-control-urls/ban", json={
        "access_control_urls": {"urls": ["http://www.example.com/last"], "ban_duration": 2}})
    last_job = r.json()["task_id"]
    await settle(rt)
    rules = await rt.repo.block_rules("1001", rt.clock.now(), limit=2000)
    expiry = {rule.url: rule.expires_at for rule in rules}
    assert expiry["http://www.example.com/b/0"] == T0 + timedelta(days=7)
    assert expiry["http://www.example.com/last"] == T0 + timedelta(days=2, seconds=1)
    listed = (await http.get("/v1.0/cdn/content/ban-urls",
                             params={"page_size": 50, "page_number": 21})).json()
    assert listed["total"] == 1001
    assert len(listed["ban_urls"]) == 1
    one = (await http.get("/v1.0/cdn/content/ban-urls",
                          params={"url": "HTTP://WWW.EXAMPLE.COM/last"})).json()
    assert [b["url"] for b in one["ban_urls"]] == ["http://www.example.com/last"]
    tasks = (await http.get("/v1.0/cdn/content/access-control-tasks")).json()
    assert [(t["status"], len(t["urls"])) for t in tasks["access_control_tasks"]] == [
        ("succeed", 1), ("succeed", 1000)]
    assert tasks["access_control_tasks"][0]["id"] == last_job
    rt.clock.advance(4 * 86400)  # type: ignore[attr-defined]
    listed = (await http.get("/v1.0/cdn/content/ban-urls")).json()
    assert listed["total"] == 1000  # the 2-day ban has expired
    assert (await http.get("/v1.0/cdn/content/access-control-tasks")).json()["total"] == 0


async def test_streamed_body_too_large(http: httpx.AsyncClient):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"refresh_task": {"urls": ["'
        for _ in range(70):
            yield b"x" * 1000
        yield b'"]}}'

    r = await http.post("/v1.0/cdn/content/refresh-tasks", content=chunks())
    assert r.status_code == 413
    assert r.json()["error_code"] == "APIGW.0201"


async def test_internal_error_is_an_envelope(rt: Runtime, http: httpx.AsyncClient,
                                             monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture):
    async def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rt.service, "quota", broken)
    r = await http.get("/v1.0/cdn/quota")
    assert r.status_code == 500
    assert r.json() == {"error": {"error_code": "CDN.0000", "error_msg": "Internal system error."}}
    assert "disk on fire" not in r.text
    assert "ShowQuota failed" in caplog.text


async def test_routes_without_the_app_middleware(rt: Runtime):
    """Mounted on a bare Starlette app, the dialect makes its own request ids."""
    app = Starlette(routes=HuaweiCdnDialect().routes(rt))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://cdnctl.test") as client:
        r = await client.get("/v1.0/cdn/quota", headers=TOKEN)
    assert r.status_code == 200
    assert len(r.headers["X-Request-Id"]) == 32


def test_dialect_contract():
    assert DIALECT.name == "huawei-cdn"
    assert DIALECT.claims(None, {}) is False  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="day_seconds"):
        HuaweiCdnDialect(day_seconds=0)
