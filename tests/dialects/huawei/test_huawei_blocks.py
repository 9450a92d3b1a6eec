"""URL ban / unban through the v2 SDK and raw HTTP: a real, stateful rule on every Varnish
node of the domain's pool — 403 while banned, 200 at once after an unban, and 200 again
by itself once ``ban_duration`` has passed (a day lasts ``DAY_SECONDS`` here)."""

from __future__ import annotations

import inspect
import time
import uuid

from huaweicloudsdkcdn.v2 import model as m2

from cdnctl.dispatch.reconciler import BlockReconciler
from tests.dialects.huawei.huawei_harness import DAY_SECONDS, Cdnctl


def ban(hw: Cdnctl, action: str, urls: list[str], days: int | None = None) -> str:
    body = m2.AccessControlUrls(urls=urls, ban_duration=days)
    r = hw.v2().create_access_control_task(m2.CreateAccessControlTaskRequest(
        action=action, body=m2.UrlAccessControlTaskRequestBody(access_control_urls=body)))
    return str(r.task_id)


def statuses(hw: Cdnctl, path: str, host: str = "www.example.com") -> list[int]:
    return [hw.get(node, path, host).status for node in hw.varnish]


def banned_urls(hw: Cdnctl, **query: object) -> dict[str, m2.BanUrlList]:
    page = hw.v2().list_ban_url(m2.ListBanUrlRequest(**query))
    assert page.total == len(page.ban_urls) or "page_size" in query
    return {b.url: b for b in page.ban_urls}


def test_ban_then_unban(hw: Cdnctl):
    path = f"/ban-{uuid.uuid4().hex[:8]}.html"
    url = f"http://www.example.com{path}"
    assert statuses(hw, path) == [200, 200]
    before = int(time.time() * 1000)
    task_id = ban(hw, "ban", [url])
    [task] = hw.wait_job(task_id)["tasks"]
    assert task["status"] == "succeeded"
    # default ban_duration: 7 days
    expires = task["block_expires_at"]
    assert expires is not None
    assert statuses(hw, path) == [403, 403]
    listed = banned_urls(hw)[url]
    assert listed.type == "static"
    assert listed.create_time >= before - 1000
    assert listed.modify_time == listed.create_time
    assert list(banned_urls(hw, url=url)) == [url]
    assert banned_urls(hw, url=url + "-other") == {}
    tasks = hw.v2().list_access_control_task(m2.ListAccessControlTaskRequest(status="succeed"))
    mine = [t for t in tasks.access_control_tasks if t.id == task_id]
    assert [(t.action, t.status, t.urls) for t in mine] == [("ban", "succeed", [url])]
    assert tasks.total >= 1

    unban_id = ban(hw, "unban", [url])
    hw.wait_job(unban_id)
    assert statuses(hw, path) == [200, 200]
    assert url not in banned_urls(hw)
    now = int(time.time() * 1000)
    window = hw.v2().list_access_control_task(m2.ListAccessControlTaskRequest(
        start_time=before - 1, end_time=now, offset=0, limit=100))
    assert [(t.id, t.action) for t in window.access_control_tasks] == [
        (unban_id, "unban"), (task_id, "ban")]
    assert window.total == 2
    second = hw.v2().list_access_control_task(m2.ListAccessControlTaskRequest(
        start_time=before - 1, end_time=now, offset=1, limit=1))
    assert ([t.id for t in second.access_control_tasks], second.total) == ([task_id], 2)


def test_ban_expires_by_itself(hw: Cdnctl):
    path = f"/expire-{uuid.uuid4().hex[:8]}.png"
    url = f"http://www.example.com{path}"
    job_id = ban(hw, "ban", [url], days=1)
    hw.wait_job(job_id)
    banned_at = time.monotonic()
    assert statuses(hw, path) == [403, 403]
    assert url in banned_urls(hw)
    time.sleep(max(0.0, DAY_SECONDS + 0.5 - (time.monotonic() - banned_at)))
    assert statuses(hw, path) == [200, 200]
    assert url not in banned_urls(hw)


def test_ban_with_token_and_paging(hw: Cdnctl):
    stem = f"http://www.example.com/page-{uuid.uuid4().hex[:8]}"
    urls = [f"{stem}/{i}" for i in range(3)]
    r = hw.raw("POST", "/v1.0/cdn/content/access-control-urls/ban",
               json={"access_control_urls": {"urls": urls, "ban_duration": 30}})
    assert r.status_code == 200, r.text
    hw.wait_job(r.json()["task_id"])
    listed = hw.raw("GET", "/v1.0/cdn/content/ban-urls?page_size=2&page_number=1").json()
    assert listed["total"] >= 3
    assert len(listed["ban_urls"]) == 2
    now = int(time.time() * 1000)
    window = hw.raw("GET", f"/v1.0/cdn/content/ban-urls?start_time={now - 60_000}"
                    f"&end_time={now}&page_size=50&page_number=1").json()
    assert set(urls) <= {b["url"] for b in window["ban_urls"]}
    hw.wait_job(hw.raw("POST", "/v1.0/cdn/content/access-control-urls/unban",
                       json={"access_control_urls": {"urls": urls}}).json()["task_id"])


def reconcile_interval() -> float:
    """How often cdnctl health-checks the nodes to re-apply blocks (the reconciler's default)."""
    interval = inspect.signature(BlockReconciler.__init__).parameters["interval"].default
    return float(interval)


def test_node_down_during_ban_enforces_it_when_back(hw: Cdnctl):
    """The only node of the pool is down when the ban is issued (the task fails); once it
    is back, cdnctl's block reconciler re-applies the rule and the URL answers 403."""
    path = f"/recover-{uuid.uuid4().hex[:8]}.html"
    url = f"http://recover.example.com{path}"
    node = hw.recover
    assert hw.get(node, path, "recover.example.com").status == 200
    interval = reconcile_interval()
    node.stop()
    try:
        down_at = time.monotonic()
        job = hw.wait_job(ban(hw, "ban", [url]), timeout=20)
        assert job["tasks"][0]["status"] == "failed"  # the only node was down
        assert url in banned_urls(hw)  # the rule stands in cdnctl
        # stay down long enough for a health check to notice
        time.sleep(max(0.0, interval + 0.5 - (time.monotonic() - down_at)))
    finally:
        node.start()
    deadline = time.monotonic() + interval + 3
    while hw.get(node, path, "recover.example.com").status != 403:
        assert time.monotonic() < deadline, "the restarted node does not enforce the ban"
        time.sleep(0.2)
    hw.wait_job(ban(hw, "unban", [url]))
    assert hw.get(node, path, "recover.example.com").status == 200
