"""Every Huawei operation driven by the official SDK (v1 and v2 modules) against a
running cdnctl whose nodes are real Varnish processes; assertions are about the
caches (HIT / MISS) and the vendor-shaped answers."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from huaweicloudsdkcdn.v1 import model as m1
from huaweicloudsdkcdn.v2 import model as m2

from tests.dialects.huawei.huawei_harness import ACME, Cdnctl

# The v1 module marks its methods deprecated (the v2 module supersedes it); still supported.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:huaweicloudsdkcdn")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def unique(prefix: str) -> str:
    return f"/{prefix}-{uuid.uuid4().hex[:8]}"


def prime(hw: Cdnctl, path: str, host: str = "www.example.com") -> None:
    """Fill every node's cache with ``path`` and check it is a HIT."""
    for node in hw.varnish:
        hw.get(node, path, host)
        assert hw.get(node, path, host).x_cache == "HIT", (node.url, path)


def refresh_v2(hw: Cdnctl, urls: list[str], **body: object) -> str:
    r = hw.v2().create_refresh_tasks(m2.CreateRefreshTasksRequest(
        body=m2.RefreshTaskRequest(refresh_task=m2.RefreshTaskRequestBody(urls=urls, **body))))
    assert HEX32.match(r.refresh_task)
    assert HEX32.match(r.x_request_id)
    return str(r.refresh_task)


def detail(hw: Cdnctl, job_id: str, **query: object) -> m2.ShowHistoryTaskDetailsResponse:
    return hw.v2().show_history_task_details(
        m2.ShowHistoryTaskDetailsRequest(history_tasks_id=job_id, **query))


def test_refresh_file_purges_every_node(hw: Cdnctl):
    path = unique("file") + ".txt"
    prime(hw, path)
    job_id = refresh_v2(hw, [f"http://www.example.com{path}"], type="file")
    hw.wait_job(job_id)
    for node in hw.varnish:
        assert hw.get(node, path).x_cache == "MISS"
    d = detail(hw, job_id)
    assert (d.id, d.task_type, d.status, d.file_type) == (job_id, "refresh", "task_done", "file")
    assert (d.total, d.succeed, d.failed, d.processing) == (1, 1, 0, 0)
    [url] = d.urls
    assert (url.url, url.status, url.task_id, url.task_type) == (
        f"http://www.example.com{path}", "succeed", job_id, "REFRESH")
    assert abs(url.create_time - time.time() * 1000) < 60_000
    assert url.fail_classify is None
    assert HEX32.match(d.x_request_id)
    # the same job, seen by the native API with one delivery per node
    [task] = hw.job(job_id)["tasks"]
    assert task["counts"] == {"total": 2, "succeeded": 2, "failed": 0, "pending": 0}


def test_refresh_directory_with_v1_module(hw: Cdnctl):
    base = unique("dir")
    prime(hw, f"{base}/a.css")
    prime(hw, f"{base}/deep/b.js")
    prime(hw, base + "-sibling.txt")
    client = hw.v1(domain_id=None)  # capture 18: no X-Domain-Id, the AK names the account
    r = client.create_refresh_tasks(m1.CreateRefreshTasksRequest(
        body=m1.RefreshTaskRequest(refresh_task=m1.RefreshTaskRequestBody(
            type="directory", urls=[f"http://www.example.com{base}/"]))))
    hw.wait_job(r.refresh_task)
    for node in hw.varnish:
        assert hw.get(node, f"{base}/a.css").x_cache == "MISS"
        assert hw.get(node, f"{base}/deep/b.js").x_cache == "MISS"
        assert hw.get(node, base + "-sibling.txt").x_cache == "HIT"
    d = client.show_history_task_details(m1.ShowHistoryTaskDetailsRequest(
        history_tasks_id=r.refresh_task))
    assert (d.file_type, d.status, d.succeed, d.urls[0].url) == (
        "directory", "task_done", 1, f"http://www.example.com{base}/")


def test_detect_modify_refresh_and_zh_url_encode(hw: Cdnctl):
    base = unique("zh")
    encoded = f"{base}/%E4%B8%AD%E6%96%87.txt"
    prime(hw, encoded)
    # zh_url_encode: the Chinese characters are encoded first, only that URL is purged
    job_id = refresh_v2(hw, [f"http://www.example.com{base}/中文.txt"], zh_url_encode=True)
    hw.wait_job(job_id)
    for node in hw.varnish:
        assert hw.get(node, encoded).x_cache == "MISS"
    assert detail(hw, job_id).urls[0].url == f"http://www.example.com{encoded}"
    prime(hw, f"{base}/x.txt")
    dir_job = refresh_v2(hw, [f"http://www.example.com{base}/"], type="directory",
                         mode="detect_modify_refresh")
    [task] = hw.wait_job(dir_job)["tasks"]
    assert (task["method"], task["status"]) == ("invalidate", "succeeded")
    for node in hw.varnish:
        assert hw.get(node, f"{base}/x.txt").x_cache == "MISS"


def test_preheat_warms_every_node(hw: Cdnctl):
    path = unique("warm") + ".bin"
    r = hw.v2().create_preheating_tasks(m2.CreatePreheatingTasksRequest(
        body=m2.PreheatingTaskRequest(preheating_task=m2.PreheatingTaskRequestBody(
            urls=[f"http://www.example.com{path}"]))))
    assert HEX32.match(r.preheating_task)
    assert r.x_request_id
    hw.wait_job(r.preheating_task)
    for node in hw.varnish:
        assert hw.get(node, path).x_cache == "HIT"
    d = detail(hw, r.preheating_task)
    assert (d.task_type, d.urls[0].task_type, d.urls[0].status) == (
        "preheating", "PREHEATING", "succeed")
    # v1 module, same operation
    path1 = unique("warm1")
    r1 = hw.v1().create_preheating_tasks(m1.CreatePreheatingTasksRequest(
        body=m1.PreheatingTaskRequest(preheating_task=m1.PreheatingTaskRequestBody(
            urls=[f"http://www.example.com{path1}"], zh_url_encode=False))))
    hw.wait_job(r1.preheating_task)
    assert hw.get(hw.varnish[0], path1).x_cache == "HIT"


def test_failed_prefetch_is_classified(hw: Cdnctl):
    path = unique("broken")
    hw.origin.route(path, status=503, cache_control=None)
    r = hw.v2().create_preheating_tasks(m2.CreatePreheatingTasksRequest(
        body=m2.PreheatingTaskRequest(preheating_task=m2.PreheatingTaskRequestBody(
            urls=[f"http://www.example.com{path}"]))))
    hw.wait_job(r.preheating_task)
    d = detail(hw, r.preheating_task)
    assert (d.status, d.failed, d.succeed, d.total) == ("task_done", 1, 0, 1)
    [url] = d.urls
    assert (url.status, url.fail_classify) == ("failed", "ORIGIN_ERROR")
    assert url.fail_desc
    failed_only = detail(hw, r.preheating_task, status="failed")
    assert len(failed_only.urls) == 1
    assert detail(hw, r.preheating_task, status="succeed").urls == []


def test_history_filters_ordering_and_paging(hw: Cdnctl):
    start = int(time.time() * 1000)
    base = unique("hist")
    one = refresh_v2(hw, [f"http://www.example.com{base}/1"])
    three = refresh_v2(hw, [f"http://www.example.com{base}/{i}" for i in range(3)])
    two_dirs = refresh_v2(hw, [f"http://www.example.com{base}/d{i}/" for i in range(2)],
                          type="directory")
    for job_id in (one, three, two_dirs):
        hw.wait_job(job_id)
    end = int(time.time() * 1000)
    client = hw.v2()

    def ids(**query: object) -> tuple[int, list[str]]:
        page = client.show_history_tasks(m2.ShowHistoryTasksRequest(
            start_date=start, end_date=end, **query))
        return page.total, [t.id for t in page.tasks]

    assert ids() == (2, [three, one])  # file_type defaults to file; newest first
    assert ids(file_type="directory") == (1, [two_dirs])
    assert ids(task_type="preheating") == (0, [])
    assert ids(order_field="total", order_type="asc") == (2, [one, three])
    assert ids(order_field="total", order_type="desc") == (2, [three, one])
    assert ids(order_field="succeed", order_type="asc", page_size=1, page_number=2) == (
        2, [three])
    assert ids(status="task_done") == (2, [three, one])
    assert ids(status="task_inprocess") == (0, [])
    page = client.show_history_tasks(m2.ShowHistoryTasksRequest(
        start_date=start, end_date=end, task_type="refresh", file_type="directory",
        enterprise_project_id="all"))
    [task] = page.tasks
    assert (task.id, task.task_type, task.status, task.file_type) == (
        two_dirs, "refresh", "task_done", "directory")
    assert (task.total, task.succeed, task.processing, task.failed) == (2, 2, 0, 0)
    assert start <= task.create_time <= end
    # v1 module without parameters (capture 19)
    v1 = hw.v1().show_history_tasks(m1.ShowHistoryTasksRequest())
    assert v1.total >= 2
    assert all(t.file_type == "file" for t in v1.tasks)


def test_detail_url_filter_and_paging(hw: Cdnctl):
    base = unique("page")
    urls = [f"http://www.example.com{base}/{i}" for i in range(5)]
    job_id = refresh_v2(hw, urls)
    hw.wait_job(job_id)
    assert [u.url for u in detail(hw, job_id, page_size=2, page_number=2).urls] == urls[2:4]
    only = detail(hw, job_id, url=urls[3], create_time=int(time.time() * 1000))
    assert [u.url for u in only.urls] == [urls[3]]
    assert only.total == 5  # the counters are the task's, whatever the page


def test_quota_counts_todays_urls(hw: Cdnctl):
    def used() -> dict[str, tuple[int, int]]:
        q = hw.v2().show_quota(m2.ShowQuotaRequest())
        assert all(x.user_domain_id == ACME for x in q.quotas)
        return {x.type: (x.quota_limit, x.used) for x in q.quotas}

    before = used()
    assert set(before) == {"file_refresh", "dir_refresh", "preheat"}
    assert before["file_refresh"][0] == 2000
    assert before["dir_refresh"][0] == 100
    assert before["preheat"][0] == 1000
    base = unique("quota")
    hw.wait_job(refresh_v2(hw, [f"http://www.example.com{base}/a",
                                f"http://www.example.com{base}/b"]))
    after = used()
    assert after["file_refresh"][1] == before["file_refresh"][1] + 2
    v1 = hw.v1().show_quota(m1.ShowQuotaRequest())
    assert {x.type for x in v1.quotas} == set(before)


def test_raw_http_with_token(hw: Cdnctl):
    path = unique("raw")
    prime(hw, path)
    r = hw.raw("POST", "/v1.0/cdn/content/refresh-tasks?enterprise_project_id=0",
               json={"refresh_task": {"urls": [f"http://www.example.com{path}"]}})
    assert r.status_code == 200, r.text
    job_id = r.json()["refresh_task"]
    assert r.headers["X-Request-Id"]
    hw.wait_job(job_id)
    assert hw.get(hw.varnish[1], path).x_cache == "MISS"
    listed = hw.raw("GET", f"/v1.0/cdn/historytasks/{job_id}/detail")
    assert listed.status_code == 200
    assert listed.json()["urls"][0]["status"] == "succeed"
    # the client's own request id is echoed
    echoed = hw.raw("GET", "/v1.0/cdn/quota", headers={"X-Request-Id": "my-request-1"})
    assert echoed.headers["X-Request-Id"] == "my-request-1"


def test_docs_snippet(hw: Cdnctl):
    """The quick-start of docs/dialects/huawei-cdn.md runs as written (endpoint and
    account adapted to the test server)."""
    doc = Path(__file__).resolve().parents[3] / "docs" / "dialects" / "huawei-cdn.md"
    code = doc.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8080", hw.url).replace('"1001"', f'"{ACME}"')
    printed: list[str] = []
    exec(compile(code, str(doc), "exec"), {"print": lambda *a: printed.append(repr(a))})
    assert len(printed) == 3
    assert "CDN.0001" in printed[2]
