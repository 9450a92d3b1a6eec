"""Every documented EdgeOne error through the official SDK: the exception carries the
code, the message in the requested language and the response's RequestId. Plus the
authentication failures (tampered signature, unknown key, skewed clock), the rate
limit, and the raw wire rules (HTTP 200, ``Content-Type: application/json``).
"""

from __future__ import annotations

import json
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.teo.v20220901.teo_client import TeoClient

from tests.dialects.tencent.teo_harness import TeoServer, call, patched, sdk_error

pytestmark = pytest.mark.servers
URL = "http://www.example.com/e.txt"
NOW = datetime.now(UTC)
WINDOW = {"StartTime": (NOW - timedelta(hours=1)).isoformat(),
          "EndTime": (NOW + timedelta(hours=1)).isoformat()}


def code(teo: TeoServer, action: str, **fields: Any) -> str:
    return sdk_error(lambda: call(teo.client(), action, **fields)).get_code()


def json_code(teo: TeoServer, action: str, params: dict[str, Any], **kw: Any) -> str:
    client = teo.client(**kw)
    return sdk_error(lambda: client.call_json(action, params)).get_code()


@pytest.mark.parametrize(("action", "fields", "expected"), [
    ("CreatePurgeTask", {"Type": "purge_url", "Targets": [URL]}, "MissingParameter"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Targets": [URL]}, "MissingParameter"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_dir", "Targets": [URL]},
     "InvalidParameterValue"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_prefix", "Method": "soft",
                         "Targets": [URL]}, "InvalidParameterValue"),
    ("CreatePurgeTask", {"ZoneId": "zone-nope", "Type": "purge_url", "Targets": [URL]},
     "ResourceUnavailable.ZoneNotFound"),
    ("CreatePurgeTask", {"ZoneId": "zone-other", "Type": "purge_url", "Targets": [URL]},
     "ResourceUnavailable.ZoneNotFound"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_url"}, "InvalidParameter.Target"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_url", "Targets": ["www.x/a"]},
     "InvalidParameter.Target"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_host", "Targets": ["bad host"]},
     "InvalidParameter.Target"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_url",
                         "Targets": ["http://www.other.example/a"]},
     "InvalidParameter.DomainNotFound"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_cache_tag", "Targets": ["t"],
                         "CacheTag": {"Domains": ["sim.example.net"]}},
     "InvalidParameter.DomainNotFound"),
    ("CreatePurgeTask", {"ZoneId": "*", "Type": "purge_all"}, "InvalidParameter.ParameterError"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_all", "Targets": [URL]},
     "InvalidParameterValue"),
    ("CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_url",
                         "Targets": [f"{URL}?n={i}" for i in range(1001)]},
     "LimitExceeded.BatchQuota"),
    ("CreatePurgeTask", {"ZoneId": "zone-lim", "Type": "purge_prefix",
                         "Targets": ["http://lim.example.net/d/"]}, "LimitExceeded.PackNotAllow"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc"}, "InvalidParameter.Target"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc", "Targets": [URL], "Mode": "fast"},
     "InvalidParameterValue"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc", "Targets": [URL],
                            "PrefetchMediaSegments": "on"}, "UnsupportedOperation"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc", "Targets": [URL],
                            "Headers": [{"Name": "Bad Name", "Value": "1"}]},
     "InvalidParameterValue"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc", "Targets": [URL], "Headers": [{"Name": "X"}]},
     "MissingParameter"),
    ("CreatePrefetchTask", {"ZoneId": "zone-lim", "Targets": ["http://lim.example.net/a"]},
     "UnsupportedOperation"),
    ("CreatePrefetchTask", {"ZoneId": "zone-abc", "Targets": ["http://www.other.example/a"]},
     "InvalidParameter.DomainNotFound"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc"}, "InvalidParameter.ParameterError"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", "StartTime": WINDOW["StartTime"]},
     "InvalidParameter.ParameterError"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", "StartTime": "2022-02-01T00:00:00+08:00",
                            "EndTime": "2022-02-09T00:00:00+08:00"},
     "InvalidParameter.ParameterError"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", "StartTime": WINDOW["EndTime"],
                            "EndTime": WINDOW["StartTime"]}, "InvalidParameter.ParameterError"),
    ("DescribePurgeTasks", {**WINDOW}, "MissingParameter"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW, "Limit": 1001},
     "InvalidParameterValue"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW, "Offset": -1},
     "InvalidParameterValue"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW, "StartTime": "yesterday"},
     "InvalidParameterValue"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW,
                            "Filters": [{"Name": "zone", "Values": ["x"]}]},
     "InvalidParameter.InvalidFilterName"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW,
                            "Filters": [{"Name": "domains", "Values": ["d"] * 21}]},
     "InvalidParameter.TooManyFilterValues"),
    ("DescribePurgeTasks", {"ZoneId": "zone-abc", **WINDOW,
                            "Filters": [{"Name": "type", "Values": ["purge_url"]}] * 6},
     "InvalidParameter.TooManyFilters"),
    ("DescribePrefetchTasks", {"ZoneId": "zone-abc", **WINDOW,
                               "Filters": [{"Name": "type", "Values": ["purge_url"]}]},
     "InvalidParameter.InvalidFilterName"),
    ("DescribePrefetchTasks", {"ZoneId": "zone-abc", "StartTime": "2022-02-01T00:00:00Z",
                               "EndTime": "2022-02-08T00:00:01Z"},
     "InvalidParameter.ParameterError"),
    ("DescribeContentQuota", {}, "MissingParameter"),
    ("DescribeContentQuota", {"ZoneId": "zone-other"}, "ResourceUnavailable.ZoneNotFound"),
])
def test_documented_errors(teo: TeoServer, action: str, fields: dict[str, Any],
                           expected: str) -> None:
    assert code(teo, action, **fields) == expected


def test_generic_request_errors(teo: TeoServer) -> None:
    assert json_code(teo, "DescribeZones", {}) == "InvalidAction"
    assert json_code(teo, "DescribeContentQuota", {"ZoneId": "zone-abc", "Foo": 1}) == (
        "UnknownParameter")
    assert json_code(teo, "DescribePurgeTasks", {"ZoneId": "zone-abc", "Limit": "ten"}) == (
        "InvalidParameter")
    assert json_code(teo, "DescribePurgeTasks", {"ZoneId": "zone-abc", "Limit": "ten"},
                     method="GET") == "InvalidParameter"
    assert json_code(teo, "CreatePurgeTask", {"ZoneId": "zone-abc", "Type": "purge_url",
                                              "Targets": [URL], "EncodeUrl": "yes"},
                     method="GET") == "InvalidParameter"
    old = CommonClient("teo", "2020-09-01", credential.Credential("AKIDtest", "SKtest"), "",
                       ClientProfile(httpProfile=HttpProfile(protocol="http",
                                                             endpoint=teo.endpoint)))
    exc = sdk_error(lambda: old.call_json("DescribeContentQuota", {"ZoneId": "zone-abc"}))
    assert exc.get_code() == "NoSuchVersion"


def test_legacy_request_size_limit(teo: TeoServer) -> None:
    long = [f"{URL}?{'x' * 1100}{i}" for i in range(1000)]
    exc = sdk_error(lambda: call(teo.client(sign="HmacSHA256"), "CreatePurgeTask",
                                 ZoneId="zone-abc", Type="purge_url", Targets=long))
    assert exc.get_code() == "RequestSizeLimitExceeded"


def test_messages_follow_the_language(teo: TeoServer) -> None:
    fields = {"ZoneId": "zone-abc", "StartTime": "2022-02-01T00:00:00Z",
              "EndTime": "2022-02-09T00:00:00Z"}
    en = sdk_error(lambda: call(teo.client(language="en-US"), "DescribePurgeTasks", **fields))
    zh = sdk_error(lambda: call(teo.client(language="zh-CN"), "DescribePurgeTasks", **fields))
    assert en.get_message() == ('Parameter error: Invalid "End time". The interval between '
                                "the start and end time cannot exceed 7 days.")
    assert zh.get_message().startswith("参数错误")
    legacy = sdk_error(lambda: call(teo.client(sign="HmacSHA1", language="zh-CN"),
                                    "DescribeContentQuota", ZoneId="zone-nope"))
    assert legacy.get_message() == "站点 zone-nope 不存在或不属于该账号。"
    assert en.get_request_id() != zh.get_request_id()


@pytest.mark.parametrize(("method", "sign"), [("POST", "TC3-HMAC-SHA256"),
                                              ("GET", "TC3-HMAC-SHA256"), ("POST", "HmacSHA256")])
def test_authentication_failures(teo: TeoServer, method: str, sign: str) -> None:
    def fail(**kw: Any) -> str:
        client = teo.client(method=method, sign=sign, **kw)
        return sdk_error(lambda: call(client, "DescribeContentQuota", ZoneId="zone-abc")
                         ).get_code()

    assert fail(secret="SKwrong") == "AuthFailure.SignatureFailure"
    assert fail(key="AKIDnobody") == "AuthFailure.SecretIdNotFound"
    for skew in (-400, 400):
        clock = types.SimpleNamespace(time=lambda s=skew: time.time() + s)
        with patched(abstract_client, "time", clock):
            assert fail() == "AuthFailure.SignatureExpire"
    clock = types.SimpleNamespace(time=lambda: time.time() - 200)
    with patched(abstract_client, "time", clock):  # inside the 5-minute window
        assert call(teo.client(method=method, sign=sign), "DescribeContentQuota",
                    ZoneId="zone-abc").PurgeQuota


def test_unsigned_payload_is_accepted(teo: TeoServer) -> None:
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=teo.endpoint))
    profile.unsignedPayload = True
    client = TeoClient(credential.Credential("AKIDtest", "SKtest"), "", profile)
    assert call(client, "DescribeContentQuota", ZoneId="zone-abc").PurgeQuota


def raw(teo: TeoServer, **kw: Any) -> httpx.Response:
    return httpx.post(f"http://{teo.endpoint}/", timeout=10, **kw)


def test_raw_wire_rules(teo: TeoServer) -> None:
    bad_auth = raw(teo, content=b'{"ZoneId": "zone-abc"}', headers={
        "Content-Type": "application/json", "X-TC-Action": "DescribeContentQuota",
        "X-TC-Version": "2022-09-01", "X-TC-Timestamp": str(int(time.time())),
        "Authorization": "Basic abc"})
    no_auth = raw(teo, content=b"{}", headers={
        "Content-Type": "application/json", "X-TC-Action": "DescribeContentQuota",
        "X-TC-Language": "en-US"})
    for resp, expected in ((bad_auth, "AuthFailure.InvalidAuthorization"),
                           (no_auth, "AuthFailure.InvalidAuthorization")):
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/json"
        body = resp.json()["Response"]
        assert body["Error"]["Code"] == expected
        assert body["RequestId"] == resp.headers["x-request-id"]
    assert no_auth.json()["Response"]["Error"]["Message"].startswith("Authorization")
    assert json.loads(bad_auth.content)["Response"]["Error"]["Message"].startswith("请求头部")


def burst(fn: Callable[[], Any], times: int) -> list[tuple[str, str]]:
    """(code, message) of each of ``times`` back-to-back calls (``ok`` for a success)."""
    out = []
    for _ in range(times):
        try:
            fn()
            out.append(("ok", ""))
        except TencentCloudSDKException as exc:
            out.append((exc.get_code(), exc.get_message()))
    return out


def test_rate_limits(teo: TeoServer) -> None:
    slow = teo.client(key="AKIDslow", secret="SKslow")
    codes = [c for c, _ in burst(lambda: call(slow, "DescribeContentQuota",
                                              ZoneId="zone-thr"), 4)]
    assert codes[:2] == ["ok", "ok"]
    assert "RequestLimitExceeded" in codes[2:]  # configured: 2 per second
    assert call(slow, "CreatePrefetchTask", ZoneId="zone-thr",
                Targets=["http://thr.example.net/a"]).JobId  # limits are per action
    other = teo.client(key="AKIDother", secret="SKother")
    results = burst(lambda: call(other, "DescribeContentQuota", ZoneId="zone-other"), 40)
    assert [c for c, _ in results].count("ok") >= 20  # default: 20/s per account and action
    limited = [m for c, m in results if c == "RequestLimitExceeded"]
    assert limited
    assert "`20`" in limited[0]
