"""ESA upload tasks through ``alibabacloud-esa20240910`` (ACS3 and v2): a real file
server for the URL lists, real purge/prefetch tasks on Varnish, the aggregated status,
the seed's ListUploadTasks, and every documented error."""

from __future__ import annotations

import itertools
import time

import pytest
from alibabacloud_cdn20180510 import models as m
from alibabacloud_esa20240910 import models as e
from alibabacloud_tea_openapi.exceptions import ClientException

from cdnctl.api.dialects.alibaba import esa_upload
from tests.dialects.alibaba import alibaba_sdk as sdk

SITE = 11
_seq = itertools.count()


@pytest.fixture(params=sdk.SCHEMES)
def client(request, cdnctl):
    return sdk.esa(cdnctl.endpoint, request.param)


def unique(stem: str) -> str:
    return f"/up-{next(_seq)}-{stem}"


def upload(client, url: str, kind: str = "file", site: int = SITE, name: str = "t1") -> int:
    r = client.upload_file(e.UploadFileRequest(site_id=site, type=kind, upload_task_name=name,
                                               url=url))
    assert isinstance(r.body.upload_id, int)
    return r.body.upload_id


def wait_final(client, upload_id: int, site: int = SITE, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get_upload_task(e.GetUploadTaskRequest(site_id=site,
                                                             upload_id=upload_id)).body
        if body.status in ("success", "partial", "fail"):
            return body
        assert time.monotonic() < deadline, f"upload {upload_id} still {body.status}"
        time.sleep(0.1)


def test_mixed_validity_file(cdnctl, file_server, client):
    good = [unique("a.txt"), unique("b.txt")]
    for p in good:
        cdnctl.cache(p)
        assert cdnctl.cache(p).x_cache == "HIT"
    lines = [f"http://www.example.com{good[0]}", "", "not a url",
             f"www.example.com{good[1]}", "http://www.other.example/x",
             "http://sim.example.com/x", "ftp://www.example.com/y"]
    url = file_server.put(unique("list.txt"), "\r\n".join(lines).encode())
    upload_id = upload(client, url, name="purge_file_task")
    got = client.get_upload_task(e.GetUploadTaskRequest(site_id=SITE, upload_id=upload_id))
    assert got.body.status == "init"
    r = client.submit_upload_task(e.SubmitUploadTaskRequest(site_id=SITE, upload_id=upload_id,
                                                            force=True))
    assert r.body.upload_id == upload_id
    final = wait_final(client, upload_id)
    assert final.status == "partial"
    assert "2 invalid url (line 3, 7)" in final.description
    assert "2 domain not in this site (line 5, 6)" in final.description
    assert [cdnctl.cache(p).x_cache for p in good] == ["MISS", "MISS"]
    listed = client.list_upload_tasks(e.ListUploadTasksRequest(site_id=SITE, type="file")).body
    [row] = [t for t in listed.tasks if t.upload_id == str(upload_id)]
    assert (row.upload_task_name, row.status, row.type, row.error_code) == (
        "purge_file_task", "Complete", "file", "InvalidUrl,InvalidDomain")
    assert row.create_time.endswith("Z")
    purges = client.describe_purge_tasks(e.DescribePurgeTasksRequest(
        site_id=SITE, content=f"http://www.example.com{good[0]}")).body
    assert purges.total_count == 1
    assert purges.tasks[0].status == "Complete"


def test_preload_upload_succeeds(cdnctl, file_server, client):
    paths = [unique("p1.bin"), unique("p2.bin")]
    url = file_server.put(unique("pre.txt"),
                          "".join(f"http://img.example.com{p}\n" for p in paths).encode())
    upload_id = upload(client, url, kind="preload")
    client.submit_upload_task(e.SubmitUploadTaskRequest(site_id=SITE, upload_id=upload_id))
    final = wait_final(client, upload_id)
    assert (final.status, final.description) == ("success", "2 tasks complete")
    assert [cdnctl.cache(p, "img.example.com").x_cache for p in paths] == ["HIT", "HIT"]
    row = next(t for t in client.list_upload_tasks(e.ListUploadTasksRequest(
        site_id=SITE, type="preload")).body.tasks if t.upload_id == str(upload_id))
    assert (row.status, row.error_code) == ("Complete", "")


def test_quota_excess_lines(cdnctl, file_server):
    tiny = sdk.esa(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    body = "".join(f"http://www.tiny.example/up{i}\n" for i in range(5)).encode()
    upload_id = upload(tiny, file_server.put(unique("quota.txt"), body), site=44)
    tiny.submit_upload_task(e.SubmitUploadTaskRequest(site_id=44, upload_id=upload_id))
    final = wait_final(tiny, upload_id, site=44)
    assert final.status == "partial"
    assert "over the daily quota" in final.description
    row = tiny.list_upload_tasks(e.ListUploadTasksRequest(site_id=44)).body.tasks[0]
    assert "QuotaExcess" in row.error_code.split(",")


def test_nothing_valid_fails(cdnctl, file_server, client):
    url = file_server.put(unique("bad.txt"), b"nope\nhttp://www.other.example/a\n")
    upload_id = upload(client, url, kind="directory")
    client.submit_upload_task(e.SubmitUploadTaskRequest(site_id=SITE, upload_id=upload_id))
    assert wait_final(client, upload_id).status == "fail"
    row = next(t for t in client.list_upload_tasks(e.ListUploadTasksRequest(
        site_id=SITE)).body.tasks if t.upload_id == str(upload_id))
    assert (row.status, row.type) == ("Failed", "directory")


def error_of(call, request) -> ClientException:
    with pytest.raises(ClientException) as info:
        call(request)
    return info.value


def test_upload_file_errors(cdnctl, file_server, client, monkeypatch):
    big = file_server.put(unique("big.txt"), b"x" * (10 * 1024 * 1024 + 1))
    err = error_of(client.upload_file, e.UploadFileRequest(
        site_id=SITE, type="file", upload_task_name="big", url=big))
    assert (err.code, err.data["Message"]) == (
        "ExceedFileUpload",
        "The size of the uploaded file exceeds the upper limit. Select a file less than 10 MB.")
    missing = file_server.put(unique("gone.txt"), b"", status=404)
    for url in (missing, "ftp://127.0.0.1/x", "http://127.0.0.1:1/refused"):
        err = error_of(client.upload_file, e.UploadFileRequest(
            site_id=SITE, type="file", upload_task_name="x", url=url))
        assert (err.code, err.data["Message"]) == ("InvalidParameters.InvalidUrls",
                                                  "The specified urls are invalid.")
    monkeypatch.setattr(esa_upload, "FETCH_BUDGET", 0.5)
    hung = file_server.put(unique("hang.txt"), b"", status=0)
    err = error_of(client.upload_file, e.UploadFileRequest(
        site_id=SITE, type="file", upload_task_name="x", url=hung))
    assert err.code == "InvalidParameters.InvalidUrls"
    err = error_of(client.upload_file, e.UploadFileRequest(
        site_id=SITE, type="hostname", upload_task_name="x", url=missing))
    assert err.code == "InvalidType"
    err = error_of(client.upload_file, e.UploadFileRequest(site_id=SITE, type="file",
                                                           url=missing))
    assert err.code == "MissingUploadTaskName"


def test_upload_task_lookup_errors(client):
    err = error_of(client.get_upload_task, e.GetUploadTaskRequest(site_id=SITE,
                                                                  upload_id=987654))
    assert (err.code, err.data["Message"]) == ("InvalidParameters",
                                              "The specified parameters are invalid.")
    err = error_of(client.submit_upload_task, e.SubmitUploadTaskRequest(site_id=SITE))
    assert err.code == "InvalidParameters"
    err = error_of(client.get_upload_task, e.GetUploadTaskRequest(upload_id=1))
    assert err.code == "MissingSiteId"


@pytest.mark.parametrize(("kwargs", "code", "message"), [
    ({"site_id": SITE, "start_time": "2026-01-01T00:00:00Z"}, "MissingTimeParameter",
     "The StartTime and EndTime must be both specified."),
    ({"site_id": SITE, "end_time": "2026-01-01T00:00:00Z"}, "MissingTimeParameter", None),
    ({"site_id": SITE, "start_time": "NOW", "end_time": "2026-01-01T00:00:00Z"},
     "InvalidStartTime.Malformed", None),
    ({"site_id": SITE, "type": "everything"}, "InvalidParameters", None),
    ({}, "MissingSiteId", None),
])
def test_list_upload_tasks_errors(client, kwargs, code, message):
    err = error_of(client.list_upload_tasks, e.ListUploadTasksRequest(**kwargs))
    assert (err.status_code, err.code) == (400, code)
    if message:
        assert err.data["Message"] == message


def test_list_upload_tasks_window_errors(client):
    from datetime import UTC, datetime, timedelta

    def at(days: float) -> str:
        return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    err = error_of(client.list_upload_tasks, e.ListUploadTasksRequest(
        site_id=SITE, start_time=at(-1), end_time=at(-2)))
    assert (err.code, err.data["Message"]) == (
        "InvalidEndTime.Mismatch", "The specified EndTime is earlier than the StartTime.")
    err = error_of(client.list_upload_tasks, e.ListUploadTasksRequest(
        site_id=SITE, start_time=at(-5), end_time=at(-4)))
    assert (err.code, err.data["Message"]) == (
        "InvalidTime", "The query time cannot exceed the last 3 days.")
    ok = client.list_upload_tasks(e.ListUploadTasksRequest(
        site_id=SITE, start_time=at(-1), end_time=at(0))).body
    assert isinstance(ok.tasks, list)


def test_million_lines_stream_without_blocking(cdnctl, file_server):
    """10 MB of 1,000,000 short lines: the expansion runs in chunks off the event loop
    while the server keeps answering quickly."""
    tiny = sdk.esa(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    body = b"".join(b"x/%d\n" % i for i in range(1_000_000))
    assert len(body) <= 10 * 1024 * 1024
    upload_id = upload(tiny, file_server.put(unique("million.txt"), body), site=44)
    tiny.submit_upload_task(e.SubmitUploadTaskRequest(site_id=44, upload_id=upload_id))
    cdn = sdk.cdn(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    slowest = 0.0
    deadline = time.monotonic() + 60
    while True:
        t0 = time.monotonic()
        cdn.describe_refresh_quota(m.DescribeRefreshQuotaRequest())
        slowest = max(slowest, time.monotonic() - t0)
        status = tiny.get_upload_task(e.GetUploadTaskRequest(site_id=44,
                                                             upload_id=upload_id)).body
        if status.status in ("success", "partial", "fail"):
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status.status == "fail"
    assert "1000000 domain not in this site" in status.description
    assert slowest < 1.0
