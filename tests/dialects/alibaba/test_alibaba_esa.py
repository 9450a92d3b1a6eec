"""Alibaba ESA through ``alibabacloud-esa20240910`` (ACS3 and v2) against cdnctl with a
real Varnish: purges, prefetches and blocks reach the node; the task lists, the quota
and every documented error."""

from __future__ import annotations

import itertools

import pytest
from alibabacloud_esa20240910 import models as e
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.dialects.alibaba import alibaba_sdk as sdk

SITE = 11  # www.example.com + img.example.com on the varnish pool
_seq = itertools.count()


@pytest.fixture(params=sdk.SCHEMES)
def client(request, cdnctl):
    return sdk.esa(cdnctl.endpoint, request.param)


def unique(stem: str) -> str:
    return f"/esa-{next(_seq)}-{stem}"


def warm(cdnctl, path: str, host: str = "www.example.com") -> None:
    cdnctl.cache(path, host)
    assert cdnctl.cache(path, host).x_cache == "HIT"


def purge(client, kind: str, site: int = SITE, force: bool | None = None, **content):
    return client.purge_caches(e.PurgeCachesRequest(
        site_id=site, type=kind, force=force, content=e.PurgeCachesRequestContent(**content)))


def tasks_of(client, **kw):
    return client.describe_purge_tasks(e.DescribePurgeTasksRequest(site_id=SITE, **kw)).body


def settle(cdnctl, client, task_id: str):
    cdnctl.wait_task(task_id)


def test_purge_files_and_cache_keys(cdnctl, client):
    a, b = unique("a.jpg"), unique("b.jpg")
    for p in (a, b):
        warm(cdnctl, p)
    r = purge(client, "file", files=[f"http://www.example.com{a}",
                                     {"Url": f"http://www.example.com{b}",
                                      "Headers": {"UserGeo": "CN"}}])
    assert r.status_code == 200
    task_id = r.body.task_id
    assert isinstance(task_id, str)
    settle(cdnctl, client, task_id)
    body = tasks_of(client, content=f"http://www.example.com{b}")
    assert body.total_count == 1
    row = body.tasks[0]
    assert (row.type, row.status, row.process) == ("file", "Complete", "100%")
    cdnctl.wait_task(row.task_id)
    assert cdnctl.cache(a).x_cache == "MISS"
    assert cdnctl.cache(b).x_cache == "MISS"


def test_purge_every_type(cdnctl, client):
    d, tagged, q = unique("dir"), unique("t.css") + "?tag=esa-red", unique("q.js")
    for p in (f"{d}/1.png", tagged, f"{q}?v=1"):
        warm(cdnctl, p)
    host_page = unique("h.html")
    warm(cdnctl, host_page, "img.example.com")
    ids = [
        purge(client, "directory", force=True, directories=[f"http://www.example.com{d}/"]),
        purge(client, "cachetag", force=True, cache_tags=["esa-red"]),
        purge(client, "ignoreParams", ignore_params=[f"http://www.example.com{q}"]),
        purge(client, "hostname", force=True, hostnames=["img.example.com"]),
    ]
    for r in ids:
        settle(cdnctl, client, r.body.task_id)
    assert cdnctl.cache(f"{d}/1.png").x_cache == "MISS"
    assert cdnctl.cache(tagged).x_cache == "MISS"
    assert cdnctl.cache(f"{q}?v=1").x_cache == "MISS"
    assert cdnctl.cache(host_page, "img.example.com").x_cache == "MISS"
    warm(cdnctl, host_page, "img.example.com")
    r = purge(client, "purgeall", force=True, purge_all=True)
    settle(cdnctl, client, r.body.task_id)
    assert cdnctl.cache(host_page, "img.example.com").x_cache == "MISS"
    types = {t.type for t in tasks_of(client, page_size=50).tasks}
    assert {"directory", "cachetag", "ignoreParams", "hostname", "purgeall"} <= types
    only_dirs = tasks_of(client, type="directory", status="Complete")
    assert {t.type for t in only_dirs.tasks} == {"directory"}


def test_preload_with_headers(cdnctl, client):
    p = unique("warm.bin")
    r = client.preload_caches(e.PreloadCachesRequest(
        site_id=SITE, content=[f"http://www.example.com{p}"],
        headers={"Accept-Language": "de"}))
    settle(cdnctl, client, r.body.task_id)
    assert cdnctl.origin.last_headers[p]["Accept-Language"] == "de"
    assert cdnctl.origin.last_headers[p]["Accept-Encoding"] == "gzip"
    assert cdnctl.cache(p).x_cache == "HIT"
    rows = client.describe_preload_tasks(e.DescribePreloadTasksRequest(
        site_id=SITE, content=f"http://www.example.com{p}", status="Complte")).body
    assert rows.total_count == 1
    assert rows.tasks[0].status == "Complete"
    assert not hasattr(rows.tasks[0], "type") or rows.tasks[0].to_map().get("Type") is None


def test_block_and_unblock(cdnctl, client):
    p = unique("blocked.png")
    assert cdnctl.cache(p).status == 200
    r = client.block_object(e.BlockObjectRequest(
        site_id=SITE, type="block", content=[f"http://www.example.com{p}"], maxage=3600))
    settle(cdnctl, client, r.body.task_id)
    assert cdnctl.cache(p).status == 403
    r = client.block_object(e.BlockObjectRequest(
        site_id=SITE, type="unblock", content=[f"http://www.example.com{p}"]))
    settle(cdnctl, client, r.body.task_id)
    assert cdnctl.cache(p).status == 200


def test_purge_quota(cdnctl, client):
    before = client.get_purge_quota(e.GetPurgeQuotaRequest(site_id=SITE, type="file")).body
    assert before.quota == "10000"
    assert isinstance(before.usage, str)
    assert (before.quota_30day, before.usage_30day) == ("0", "0")
    purge(client, "file", files=[f"http://www.example.com{unique('quota')}"])
    after = client.get_purge_quota(e.GetPurgeQuotaRequest(site_id=SITE, type="file")).body
    assert int(after.usage) == int(before.usage) + 1
    dirs = client.get_purge_quota(e.GetPurgeQuotaRequest(site_id=SITE, type="directory")).body
    assert dirs.quota == "100"


def esa_error(call, request) -> ClientException:
    with pytest.raises(ClientException) as info:
        call(request)
    return info.value


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"type": "file"}, 400, "MissingSiteId"),
    ({"site_id": 33, "type": "file", "files": ["http://www.other.example/a"]}, 404,
     "SiteNotFound"),
    ({"site_id": 999, "type": "file", "files": ["http://x/a"]}, 404, "SiteNotFound"),
    ({"site_id": SITE, "files": ["http://www.example.com/a"]}, 400, "MissingType"),
    ({"site_id": SITE, "type": "everything"}, 400, "InvalidType"),
    ({"site_id": SITE, "type": "file"}, 400, "InvalidParameters"),
    ({"site_id": SITE, "type": "file", "files": [f"http://www.example.com/{i}"
                                                 for i in range(1001)]}, 400,
     "InvalidParameters"),
    ({"site_id": SITE, "type": "cachetag", "cache_tags": [f"t{i}" for i in range(31)]}, 400,
     "InvalidParameters"),
    ({"site_id": SITE, "type": "hostname", "hostnames": [f"h{i}.example.com"
                                                         for i in range(11)]}, 400,
     "InvalidParameters"),
    ({"site_id": SITE, "type": "file", "files": ["not a url"]}, 400,
     "InvalidParameters.InvalidUrls"),
    ({"site_id": SITE, "type": "file", "files": ["http://sim.example.com/a"]}, 404,
     "InvalidDomain.NotFound"),
    ({"site_id": SITE, "type": "file", "files": ["http://www.other.example/a"]}, 404,
     "InvalidDomain.NotFound"),
])
def test_purge_caches_errors(client, kwargs, status, code):
    names = ("files", "cache_tags", "hostnames")
    content = {k: v for k, v in kwargs.items() if k in names}
    rest = {k: v for k, v in kwargs.items() if k not in names}
    request = e.PurgeCachesRequest(**rest, content=e.PurgeCachesRequestContent(**content))
    err = esa_error(client.purge_caches, request)
    assert (err.status_code, err.code) == (status, code)
    assert err.data["HostId"] == "esa.cn-hangzhou.aliyuncs.com"


def test_preload_and_block_errors(client):
    err = esa_error(client.preload_caches, e.PreloadCachesRequest(
        site_id=SITE, content=[f"http://www.example.com/{i}" for i in range(101)]))
    assert err.code == "InvalidParameters"
    err = esa_error(client.preload_caches, e.PreloadCachesRequest(site_id=SITE))
    assert err.code == "MissingContent"
    err = esa_error(client.block_object, e.BlockObjectRequest(
        site_id=SITE, type="hide", content=["http://www.example.com/a"]))
    assert err.code == "InvalidType"
    err = esa_error(client.block_object, e.BlockObjectRequest(
        site_id=SITE, type="block", content=["http://www.example.com/a"], maxage=-5))
    assert err.code == "InvalidMaxage"
    err = esa_error(client.get_purge_quota, e.GetPurgeQuotaRequest(site_id=SITE, type="x"))
    assert err.code == "InvalidType"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({}, "MissingSiteId"),
    ({"site_id": SITE, "page_size": 51}, "InvalidParameters"),
    ({"site_id": SITE, "type": "bogus"}, "InvalidParameters"),
    ({"site_id": SITE, "status": "Done"}, "InvalidStatus.ValueNotSupported"),
    ({"site_id": SITE, "start_time": "2024-01-01T00:00:00Z"}, "MissingTimeParameter"),
    ({"site_id": SITE, "start_time": "2020-01-01T00:00:00Z",
      "end_time": "2020-01-02T00:00:00Z"}, "InvalidTime"),
])
def test_describe_purge_tasks_errors(client, kwargs, code):
    err = esa_error(client.describe_purge_tasks, e.DescribePurgeTasksRequest(**kwargs))
    assert (err.status_code, err.code) == (400, code)


def test_esa_qps_limit(cdnctl):
    tiny = sdk.esa(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    codes = []
    for _ in range(4):
        try:
            tiny.describe_purge_tasks(e.DescribePurgeTasksRequest(site_id=44))
        except ClientException as exc:
            codes.append((exc.status_code, exc.code, exc.data["Message"]))
    assert (400, "TooManyRequests", "Too many requests.Please try again later.") in codes


def test_site_quota_is_enforced(cdnctl):
    tiny = sdk.esa(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    err = esa_error(tiny.purge_caches, e.PurgeCachesRequest(
        site_id=44, type="file", content=e.PurgeCachesRequestContent(
            files=[f"http://www.tiny.example/esa{i}" for i in range(4)])))
    assert (err.code, err.data["Message"]) == ("QuotaExceeded", "The quota is exceeded.")
