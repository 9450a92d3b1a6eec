"""Every documented Alibaba CDN error condition, as the official SDK raises it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alibabacloud_cdn20180510 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

from tests.dialects.alibaba import alibaba_sdk as sdk

FMT = "%Y-%m-%dT%H:%M:%SZ"


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime(FMT)


def error_of(call, *args) -> ClientException:
    with pytest.raises(ClientException) as info:
        call(*args)
    return info.value


@pytest.fixture(params=sdk.SCHEMES)
def client(request, cdnctl):
    return sdk.cdn(cdnctl.endpoint, request.param)


@pytest.fixture
def acs3(cdnctl):
    return sdk.cdn(cdnctl.endpoint)


DAY = timedelta(days=1)
DESCRIBE_ERRORS = [
    ({"task_id": "12a"}, 400, "InvalidTaskId.Malformed", "The specified TaskId is invalid."),
    ({"domain_name": "www.example.com"}, 400, "MissingParameter.ObjectType",
     "The ObjectType parameter is required if DomainName or Status is specified."),
    ({"status": "Complete"}, 400, "MissingParameter.ObjectType", None),
    ({"start_time": at(-DAY)}, 400, "MissingTimeParameter",
     "The StartTime and EndTime must be both specified."),
    ({"start_time": at(-DAY), "end_time": at(-2 * DAY)}, 400, "InvalidEndTime.Mismatch",
     "The specified EndTime is earlier than the StartTime."),
    ({"domain_name": "a.example,b.example", "object_type": "file"}, 400,
     "DomainNameOverLimit", None),
    ({"start_time": at(-4 * DAY), "end_time": at(-DAY)}, 400, "InvalidTime",
     "The query time cannot exceed the last 3 days."),
    ({"start_time": "2024-01-01 00:00:00", "end_time": at(-DAY)}, 400,
     "InvalidStartTime.Malformed", "The specified StartTime is invalid."),
    ({"start_time": at(-DAY), "end_time": "yesterday"}, 400, "InvalidEndTime.Malformed",
     "The specified EndTime is invalid."),
    ({"object_path": "www.example.com/a.txt"}, 400, "InvalidObjectPath.Malformed",
     "The specified ObjectPath is invalid."),
    ({"start_time": at(DAY), "end_time": at(2 * DAY)}, 400,
     "InvalidStartTime.ValueNotSupported", "The specified StartTime is invalid."),
    ({"start_time": at(-DAY), "end_time": at(DAY)}, 400, "InvalidEndTime.ValueNotSupported",
     "The specified EndTime is invalid."),
    ({"object_type": "folder"}, 400, "InvalidObjectType.ValueNotSupported",
     "The specified ObjectType is not supported."),
    ({"object_type": "file", "status": "Done"}, 400, "InvalidStatus.ValueNotSupported",
     "The specified Status is not supported."),
    ({"page_size": 101}, 400, "InvalidParameter",
     "The specified parameter PageSize is not valid."),
    ({"page_number": 0}, 400, "InvalidParameter", None),
]


@pytest.mark.parametrize(("params", "status", "code", "message"), DESCRIBE_ERRORS)
def test_describe_refresh_tasks_error_table(client, params, status, code, message):
    err = error_of(client.describe_refresh_tasks, m.DescribeRefreshTasksRequest(**params))
    assert (err.status_code, err.code) == (status, code)
    if message:
        assert err.data["Message"] == message
    assert err.data["HostId"] == "cdn.aliyuncs.com"
    assert err.request_id


def test_describe_refresh_tasks_qps_limit(cdnctl):
    tiny = sdk.cdn(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    codes = []
    for _ in range(4):
        try:
            tiny.describe_refresh_tasks(m.DescribeRefreshTasksRequest())
            codes.append(200)
        except ClientException as exc:
            codes.append((exc.status_code, exc.code, exc.data["Message"]))
    assert codes[0] == 200
    assert (429, "TooManyRequests", "The server is busy. Please try again later.") in codes


def refresh(client, path, kind="File"):
    return client.refresh_object_caches(m.RefreshObjectCachesRequest(object_path=path,
                                                                     object_type=kind))


REFRESH_ERRORS = [
    ("\n\n", "File", 400, "MissingParameter"),
    ("\n".join(f"http://www.example.com/{i}" for i in range(1001)), "File", 400,
     "SingleRequest.OverLimit"),
    ("\n".join(f"http://www.example.com/d{i}/" for i in range(101)), "Directory", 400,
     "SingleRequest.OverLimit"),
    ("http://www.example.com/a.*\nhttp://www.example.com/b.*", "Regex", 400,
     "SingleRequest.OverLimit"),
    ("http://www.example.com/" + "a" * 1100, "File", 400, "InvalidObjectPath.Size.Malformed"),
    ("http://www.example.com/a", "Folder", 400, "InvalidObjectType.Malformed"),
    ("ftp://www.example.com/a", "File", 400, "InvalidObjectPath.Malformed"),
    ("http://www.example.com/(unclosed", "Regex", 400, "InvalidObjectPath.Malformed"),
    ("http://*.example.com/a", "File", 400, "InvalidExtensiveDomain.ValueNotSupported"),
    ("http://www.other.example/a", "File", 404, "InvalidDomain.NotFound"),
    ("\n".join(f"http://h{i}.example.com/a" for i in range(11)), "File", 400,
     "DomainNameOverLimit"),
]


@pytest.mark.parametrize(("path", "kind", "status", "code"), REFRESH_ERRORS)
def test_refresh_object_caches_errors(client, path, kind, status, code):
    err = error_of(refresh, client, path, kind)
    assert (err.status_code, err.code) == (status, code)


def test_missing_object_path_is_the_gateway_error(acs3):
    err = error_of(acs3.refresh_object_caches, m.RefreshObjectCachesRequest())
    assert (err.code, err.data["Message"]) == ("MissingObjectPath",
                                              "ObjectPath is mandatory for this action.")


def test_domain_not_owned_message(acs3):
    err = error_of(refresh, acs3, "http://www.other.example/a")
    assert err.data["Message"] == "The domain provided does not belong to you."


def test_daily_quotas_are_enforced(cdnctl):
    tiny = sdk.cdn(cdnctl.endpoint, ak="tinyAK", sk="tinySK")
    paths = "\n".join(f"http://www.tiny.example/q{i}" for i in range(4))
    err = error_of(refresh, tiny, paths)
    assert (err.code, err.data["Message"]) == (
        "QuotaPerMinuteExceeded.Refresh",
        "You tried to refresh too frequently; please try again later.")
    err = error_of(refresh, tiny, "http://sub.wild.example/a\nhttp://sub.wild.example/b")
    assert err.code == "InvalidDomain.NotFound"  # not tiny's domain: refused before counting
    two_domains = "\n".join(f"http://{h}.tiny.example/q{i}" for h in ("img", "api")
                            for i in range(2))
    err = error_of(refresh, tiny, two_domains)
    assert (err.code, err.data["Message"]) == (
        "QuotaExceeded.Refresh", "Your refresh attempts have exceeded the daily limit.")
    refresh(tiny, "http://www.tiny.example/d/", "Directory")
    err = error_of(refresh, tiny, "http://www.tiny.example/e/", "Directory")
    assert err.code == "QuotaExceeded.Refresh"
    quota = tiny.describe_refresh_quota(m.DescribeRefreshQuotaRequest()).body
    assert (quota.dir_quota, quota.dir_remain, quota.url_quota) == ("1", "0", "3")
    tiny.push_object_cache(m.PushObjectCacheRequest(object_path="www.tiny.example/p1"))
    err = error_of(tiny.push_object_cache,
                   m.PushObjectCacheRequest(object_path="www.tiny.example/p2"))
    assert err.code == "QuotaExceeded.Preload"
    block = {"ObjectPath": "www.tiny.example/b1", "Type": "block"}
    sdk.generic(cdnctl.endpoint, "BlockObjectCaches", block, ak="tinyAK", sk="tinySK")
    with pytest.raises(ClientException) as info:
        sdk.generic(cdnctl.endpoint, "BlockObjectCaches",
                    {**block, "ObjectPath": "www.tiny.example/b2"}, ak="tinyAK", sk="tinySK")
    assert info.value.code == "QuotaExceeded.Block"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"object_path": "\n".join(f"www.example.com/{i}" for i in range(101))},
     "SingleRequest.OverLimit"),
    ({"object_path": "www.example.com/a", "area": "moon"}, "InvalidArea"),
    ({"object_path": "www.example.com/a", "with_header": "{not json"}, "InvalidWithHeader"),
    ({"object_path": "www.example.com/a", "with_header": '{"X":1}'}, "InvalidWithHeader"),
    ({"object_path": "www.other.example/a"}, "InvalidDomain.NotFound"),
    ({"object_path": "www.example.com/a", "l_2preload": "maybe"}, "InvalidL2Preload"),
])
def test_push_object_cache_errors(client, kwargs, code):
    err = error_of(client.push_object_cache, m.PushObjectCacheRequest(**kwargs))
    assert err.code == code


@pytest.mark.parametrize(("query", "code"), [
    ({"ObjectPath": "www.example.com/a"}, "MissingType"),
    ({"ObjectPath": "www.example.com/a", "Type": "hide"}, "InvalidType"),
    ({"ObjectPath": "www.example.com/a", "Type": "block", "Maxage": "0"}, "InvalidMaxage"),
    ({"ObjectPath": "www.example.com/a", "Type": "block", "Maxage": "x"}, "InvalidMaxage"),
    ({"ObjectPath": "\n".join(f"www.example.com/{i}" for i in range(101)), "Type": "block"},
     "SingleRequest.OverLimit"),
])
def test_block_object_caches_errors(cdnctl, query, code):
    with pytest.raises(ClientException) as info:
        sdk.generic(cdnctl.endpoint, "BlockObjectCaches", query)
    assert info.value.code == code


def test_cache_tag_errors(client):
    err = error_of(client.refresh_object_cache_by_cache_tag,
                   m.RefreshObjectCacheByCacheTagRequest(domain_name="www.other.example",
                                                         cache_tag="a"))
    assert (err.status_code, err.code) == (404, "InvalidDomain.NotFound")
    err = error_of(client.refresh_object_cache_by_cache_tag,
                   m.RefreshObjectCacheByCacheTagRequest(domain_name="www.example.com"))
    assert err.code == "MissingCacheTag"


def test_task_id_errors(client):
    many = ",".join(str(i) for i in range(1, 12))
    err = error_of(client.describe_refresh_task_by_id,
                   m.DescribeRefreshTaskByIdRequest(task_id=many))
    assert (err.code, err.data["Message"]) == ("InvalidTaskId",
                                              "The maximum number of taskIds is 10.")
    err = error_of(client.describe_refresh_task_by_id,
                   m.DescribeRefreshTaskByIdRequest(task_id="1,x"))
    assert err.code == "InvalidTaskId.Malformed"
    err = error_of(client.describe_preload_detail_by_id,
                   m.DescribePreloadDetailByIdRequest())
    assert err.code == "MissingTaskId"
    empty = client.describe_refresh_task_by_id(
        m.DescribeRefreshTaskByIdRequest(task_id="987654321")).body
    assert (empty.total_count, empty.tasks) == (0, [])


def test_unknown_action_and_version(cdnctl):
    with pytest.raises(ClientException) as info:
        sdk.generic(cdnctl.endpoint, "DescribeEverything", {})
    assert (info.value.status_code, info.value.code) == (404, "InvalidApi.NotFound")
    with pytest.raises(ClientException) as info:
        sdk.generic(cdnctl.endpoint, "DescribeRefreshQuota", {}, version="2014-11-11")
    assert (info.value.status_code, info.value.code) == (400, "InvalidVersion")


def test_unsigned_and_xml(cdnctl):
    r = httpx.get(cdnctl.url + "/", params={"Action": "DescribeRefreshQuota",
                                            "Version": "2018-05-10", "Format": "XML"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/xml;charset=utf-8"
    assert "<Code>MissingSignature</Code>" in r.text
    assert r.text.startswith("<?xml")
    r = httpx.get(cdnctl.url + "/", params={"Action": "DescribeRefreshQuota",
                                            "Version": "2018-05-10"},
                  headers={"accept": "application/json"})
    assert r.json()["Code"] == "MissingSignature"
    assert r.headers["x-acs-request-id"] == r.json()["RequestId"]


def test_rpc_v1_without_format_answers_xml(cdnctl):
    """A raw RPC v1 call (curl-style) without Format gets XML, as the real gateway's."""
    import base64
    import hashlib
    import hmac
    import uuid

    from cdnctl.auth.signatures.alibaba import rpc_string_to_sign

    params = {"Action": "DescribeRefreshQuota", "Version": "2018-05-10",
              "AccessKeyId": "testAK", "SignatureMethod": "HMAC-SHA1",
              "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
              "Timestamp": datetime.now(UTC).strftime(FMT)}
    digest = hmac.new(b"testSecret&", rpc_string_to_sign(params, "GET").encode(), hashlib.sha1)
    params["Signature"] = base64.b64encode(digest.digest()).decode()
    r = httpx.get(cdnctl.url + "/", params=params)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/xml;charset=utf-8"
    assert r.text.startswith("<?xml version='1.0' encoding='UTF-8'?><DescribeRefreshQuotaResponse>")
    assert "<UrlQuota>10000</UrlQuota>" in r.text
