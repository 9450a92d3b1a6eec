"""Alibaba CDN through the current SDK (``alibabacloud-cdn20180510``), ACS3 and RPC v1
(``signature_algorithm='v2'``), against cdnctl with a real Varnish: the tasks purge,
prefetch and block on the node, and are visible through the native API too."""

from __future__ import annotations

import itertools

import pytest
from alibabacloud_cdn20180510 import models as m

from tests.dialects.alibaba import alibaba_sdk as sdk

_seq = itertools.count()


@pytest.fixture(params=sdk.SCHEMES)
def client(request, cdnctl):
    return sdk.cdn(cdnctl.endpoint, request.param)


def unique(stem: str) -> str:
    return f"/cdn-{next(_seq)}-{stem}"


def warm(cdnctl, path: str, host: str = "www.example.com") -> None:
    cdnctl.cache(path, host)
    assert cdnctl.cache(path, host).x_cache == "HIT"


def done(cdnctl, ids: str) -> list[dict]:
    return [cdnctl.wait_task(i) for i in ids.split(",")]


def test_refresh_file_purges_the_node(cdnctl, client):
    a, b = unique("a.txt"), unique("b b.txt").replace(" ", "%20")
    for p in (a, b):
        warm(cdnctl, p)
    r = client.refresh_object_caches(m.RefreshObjectCachesRequest(
        object_path=f"http://www.example.com{a}\r\nwww.example.com{b}\n", object_type="File"))
    assert r.status_code == 200
    assert r.body.request_id
    ids = r.body.refresh_task_id.split(",")
    assert len(ids) == 2
    tasks = done(cdnctl, r.body.refresh_task_id)
    assert all(t["status"] == "succeeded" for t in tasks)
    assert cdnctl.cache(a).x_cache == "MISS"
    assert cdnctl.cache(b).x_cache == "MISS"
    listed = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(task_id=ids[0]))
    [row] = listed.body.tasks.cdntask
    assert (row.task_id, row.object_type, row.status, row.process, row.description) == (
        ids[0], "file", "Complete", "100%", "")
    assert row.object_path == f"http://www.example.com{a}"
    assert row.creation_time.endswith("Z")


def test_refresh_directory_regex_ignoreparams(cdnctl, client):
    d = unique("dir")
    paths = [f"{d}/x.png", f"{d}/y.png?v=1", f"{d}/z.jpg"]
    for p in paths:
        warm(cdnctl, p)
    r = client.refresh_object_caches(m.RefreshObjectCachesRequest(
        object_path=f"http://www.example.com{d}/", object_type="Directory", force=True))
    done(cdnctl, r.body.refresh_task_id)
    assert [cdnctl.cache(p).x_cache for p in paths] == ["MISS"] * 3

    for p in paths:
        warm(cdnctl, p)
    r = client.refresh_object_caches(m.RefreshObjectCachesRequest(
        object_path=rf"http://www.example.com{d}/.*\.png", object_type="Regex"))
    done(cdnctl, r.body.refresh_task_id)
    assert [cdnctl.cache(p).x_cache for p in paths] == ["MISS", "MISS", "HIT"]

    q = unique("q.css")
    for p in (f"{q}?a=1", f"{q}?b=2"):
        warm(cdnctl, p)
    r = client.refresh_object_caches(m.RefreshObjectCachesRequest(
        object_path=f"http://www.example.com{q}?a=1", object_type="IgnoreParams"))
    done(cdnctl, r.body.refresh_task_id)
    assert cdnctl.cache(f"{q}?b=2").x_cache == "MISS"
    rows = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        task_id=r.body.refresh_task_id)).body.tasks.cdntask
    assert rows[0].object_type == "ignoreParams"


def test_refresh_by_cache_tag(cdnctl, client):
    tagged, other = unique("t.js") + "?tag=red,blue", unique("o.js") + "?tag=green"
    for p in (tagged, other):
        warm(cdnctl, p)
    r = client.refresh_object_cache_by_cache_tag(m.RefreshObjectCacheByCacheTagRequest(
        domain_name="www.example.com", cache_tag="blue", force=True))
    done(cdnctl, r.body.refresh_task_id)
    assert cdnctl.cache(tagged).x_cache == "MISS"
    assert cdnctl.cache(other).x_cache == "HIT"
    soft = client.refresh_object_cache_by_cache_tag(m.RefreshObjectCacheByCacheTagRequest(
        domain_name="www.example.com", cache_tag="green"))  # Force absent: revalidate
    [task] = done(cdnctl, soft.body.refresh_task_id)
    assert (task["method"], task["domain"], task["status"]) == (
        "invalidate", "www.example.com", "succeeded")


def test_push_object_cache_prefetches(cdnctl, client):
    p = unique("pre.bin")
    r = client.push_object_cache(m.PushObjectCacheRequest(
        object_path=f"www.example.com{p}", area="domestic", l_2preload=True, query_hashkey=False,
        with_header='{"Accept-Language":["fr"]}'))
    [task] = done(cdnctl, r.body.push_task_id)
    assert task["status"] == "succeeded"
    assert cdnctl.origin.hits(p) == 1
    headers = cdnctl.origin.last_headers[p]
    assert headers.get("Accept-Language") == "fr"
    hit = cdnctl.cache(p)
    assert hit.x_cache == "HIT"
    assert cdnctl.origin.hits(p) == 1
    rows = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        task_id=r.body.push_task_id, object_type="preload", status="Complete")).body
    assert rows.total_count == 1
    assert rows.tasks.cdntask[0].object_path == f"http://www.example.com{p}"
    detail = client.describe_preload_detail_by_id(m.DescribePreloadDetailByIdRequest(
        task_id=r.body.push_task_id)).body
    assert detail.total_count == 1
    [d] = detail.url_details
    assert (d.domain, d.status, d.ret_code, d.process) == ("www.example.com", "Complete", "0",
                                                          "100%")
    assert d.urls[0].success == "100%"
    assert d.urls[0].description == "Successfully preloaded"


def test_failed_prefetches_say_why(cdnctl, client):
    bad, slow = unique("err") + "?status=503", unique("slow") + "?hang=3"
    r = client.push_object_cache(m.PushObjectCacheRequest(
        object_path=f"http://www.example.com{bad}\nhttp://www.example.com{slow}"))
    ids = r.body.push_task_id.split(",")
    [slow_row] = client.describe_refresh_task_by_id(m.DescribeRefreshTaskByIdRequest(
        task_id=ids[1])).body.tasks
    assert (slow_row.status, slow_row.process, slow_row.description) == (
        "Refreshing", "0%", "")  # the origin is still hanging
    done(cdnctl, r.body.push_task_id)
    rows = {t.task_id: t for t in client.describe_refresh_task_by_id(
        m.DescribeRefreshTaskByIdRequest(task_id=r.body.push_task_id)).body.tasks}
    assert rows[ids[0]].status == "Failed"
    assert rows[ids[0]].description == "Origin Return StatusCode 5XX"
    assert rows[ids[1]].status == "Failed"
    assert rows[ids[1]].description == "Origin Timeout"
    detail = client.describe_preload_detail_by_id(m.DescribePreloadDetailByIdRequest(
        task_id=ids[0])).body.url_details[0]
    assert detail.ret_code == "OriginReturnStatusCode 5XX"
    assert "varnish-1" in detail.urls[0].description


def test_block_and_unblock_through_the_generic_call(cdnctl, client):
    scheme = "v2" if client._signature_algorithm == "v2" else "acs3"
    p = unique("secret.pdf")
    assert cdnctl.cache(p).status == 200
    r = sdk.generic(cdnctl.endpoint, "BlockObjectCaches",
                    {"ObjectPath": f"www.example.com{p}", "Type": "block", "Maxage": "600"},
                    scheme)
    assert r["statusCode"] == 200
    done(cdnctl, r["body"]["BlockTaskId"])
    assert cdnctl.cache(p).status == 403
    rows = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        task_id=r["body"]["BlockTaskId"])).body.tasks.cdntask
    assert rows[0].object_type == "block"
    r = sdk.generic(cdnctl.endpoint, "BlockObjectCaches",
                    {"ObjectPath": f"www.example.com{p}", "Type": "unblock"}, scheme)
    done(cdnctl, r["body"]["BlockTaskId"])
    assert cdnctl.cache(p).status == 200


def test_describe_refresh_tasks_filters_and_pages(cdnctl, client):
    base = unique("page")
    urls = [f"http://img.example.com{base}-{i}.gif" for i in range(5)]
    r = client.refresh_object_caches(m.RefreshObjectCachesRequest(object_path="\n".join(urls)))
    ids = r.body.refresh_task_id.split(",")
    done(cdnctl, r.body.refresh_task_id)
    page = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        domain_name="img.example.com", object_type="file", page_size=2, page_number=2)).body
    assert (page.page_number, page.page_size) == (2, 2)
    assert page.total_count >= 5
    assert len(page.tasks.cdntask) == 2
    newest_first = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        domain_name="img.example.com", object_type="file", page_size=5)).body.tasks.cdntask
    assert [t.task_id for t in newest_first] == ids[::-1]
    both = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        task_id=ids[1], object_path=urls[1])).body
    assert [t.task_id for t in both.tasks.cdntask] == [ids[1]]
    neither = client.describe_refresh_tasks(m.DescribeRefreshTasksRequest(
        task_id=ids[1], object_path=urls[2])).body
    assert (neither.total_count, neither.tasks.cdntask) == (0, [])
    by_id = client.describe_refresh_task_by_id(m.DescribeRefreshTaskByIdRequest(
        task_id=",".join([*ids[:3], "999999999"]))).body
    assert by_id.total_count == 3
    assert {t.task_id for t in by_id.tasks} == set(ids[:3])


def test_quotas_are_reported_and_consumed(cdnctl, client):
    before = client.describe_refresh_quota(m.DescribeRefreshQuotaRequest()).body
    assert isinstance(before.url_quota, str)
    assert before.url_quota == "10000"
    assert (before.dir_quota, before.regex_quota, before.ignore_params_quota,
            before.preload_quota, before.block_quota) == ("100", "20", "100", "1000", "100")
    client.refresh_object_caches(m.RefreshObjectCachesRequest(
        object_path=f"http://www.example.com{unique('q1')}\nhttp://www.example.com{unique('q2')}"))
    after = client.describe_refresh_quota(m.DescribeRefreshQuotaRequest()).body
    assert int(after.url_remain) == int(before.url_remain) - 2
    user = client.describe_cdn_user_quota(m.DescribeCdnUserQuotaRequest()).body
    assert user.refresh_url_quota == 10000
    assert user.refresh_url_remain == int(after.url_remain)
    assert user.domain_quota == 4
