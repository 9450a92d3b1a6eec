"""Signatures (a tampered signature, an unknown key, a replayed nonce, an expired
timestamp) through both current-SDK schemes and the legacy SDK, and every CDN
operation through the legacy ``aliyun-python-sdk-core`` + ``aliyun-python-sdk-cdn``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from alibabacloud_cdn20180510 import models as m
from alibabacloud_tea_openapi import utils as openapi_utils
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcdn.request.v20180510 import (
    DescribeCdnUserQuotaRequest,
    DescribePreloadDetailByIdRequest,
    DescribeRefreshQuotaRequest,
    DescribeRefreshTaskByIdRequest,
    DescribeRefreshTasksRequest,
    PushObjectCacheRequest,
    RefreshObjectCachesRequest,
)
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.request import CommonRequest
from aliyunsdkcore.utils import parameter_helper

from tests.dialects.alibaba import alibaba_sdk as sdk


def quota(client):
    return client.describe_refresh_quota(m.DescribeRefreshQuotaRequest())


@pytest.mark.parametrize("scheme", sdk.SCHEMES)
def test_wrong_secret_is_signature_does_not_match(cdnctl, scheme):
    with pytest.raises(ClientException) as info:
        quota(sdk.cdn(cdnctl.endpoint, scheme, sk="not-the-secret"))
    assert (info.value.status_code, info.value.code) == (400, "SignatureDoesNotMatch")
    assert info.value.data["Message"].startswith(
        "Specified signature is not matched with our calculation. server string to sign is:")


@pytest.mark.parametrize("scheme", sdk.SCHEMES)
def test_unknown_key(cdnctl, scheme):
    with pytest.raises(ClientException) as info:
        quota(sdk.cdn(cdnctl.endpoint, scheme, ak="nobody"))
    assert (info.value.status_code, info.value.code) == (404, "InvalidAccessKeyId.NotFound")


@pytest.mark.parametrize("scheme", sdk.SCHEMES)
def test_replayed_nonce(cdnctl, scheme, monkeypatch):
    nonce = f"fixed-nonce-{scheme}-{datetime.now(UTC).timestamp()}"
    monkeypatch.setattr(openapi_utils.Utils, "get_nonce", staticmethod(lambda: nonce))
    client = sdk.cdn(cdnctl.endpoint, scheme)
    assert quota(client).status_code == 200
    with pytest.raises(ClientException) as info:
        quota(client)
    assert (info.value.code, info.value.data["Message"]) == (
        "SignatureNonceUsed", "Specified signature nonce was used already.")


@pytest.mark.parametrize("scheme", sdk.SCHEMES)
def test_expired_timestamp(cdnctl, scheme, monkeypatch):
    old = (datetime.now(UTC) - timedelta(minutes=16)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(openapi_utils.Utils, "get_timestamp", staticmethod(lambda: old))
    with pytest.raises(ClientException) as info:
        quota(sdk.cdn(cdnctl.endpoint, scheme))
    assert (info.value.code, info.value.data["Message"]) == (
        "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")


def test_tampered_request_after_signing(cdnctl, monkeypatch):
    """A man in the middle changing a signed value: the signature no longer matches."""
    seen = {}
    client = sdk.cdn(cdnctl.endpoint)
    quota(client)  # the SDK works untampered
    original = requests.Session.send

    def tamper(self, request, **kw):
        request.url = request.url.replace("ObjectPath=", "ObjectPath=x")
        seen["url"] = request.url
        return original(self, request, **kw)

    monkeypatch.setattr(requests.Session, "send", tamper)
    with pytest.raises(ClientException) as info:
        client.push_object_cache(m.PushObjectCacheRequest(object_path="www.example.com/t"))
    assert info.value.code == "SignatureDoesNotMatch"
    assert "ObjectPath=xwww" in seen["url"]


# -- the legacy SDK ----------------------------------------------------------------------

def test_legacy_wrong_secret_is_relabelled_by_the_sdk(cdnctl):
    client = sdk.legacy(cdnctl.endpoint, sk="wrong")
    with pytest.raises(ServerException) as info:
        sdk.legacy_call(client, DescribeRefreshQuotaRequest.DescribeRefreshQuotaRequest())
    # aliyunsdkcore compares our echoed string-to-sign with its own and, as they are
    # equal, reports the helpful InvalidAccessKeySecret.
    assert info.value.get_error_code() == "InvalidAccessKeySecret"


def test_legacy_replay_and_expiry(cdnctl, monkeypatch):
    nonce = f"legacy-{datetime.now(UTC).timestamp()}"
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: nonce)
    client = sdk.legacy(cdnctl.endpoint)
    sdk.legacy_call(client, DescribeRefreshQuotaRequest.DescribeRefreshQuotaRequest())
    with pytest.raises(ServerException) as info:
        sdk.legacy_call(client, DescribeRefreshQuotaRequest.DescribeRefreshQuotaRequest())
    assert info.value.get_error_code() == "SignatureNonceUsed"
    monkeypatch.undo()
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: old)
    with pytest.raises(ServerException) as info:
        sdk.legacy_call(client, DescribeRefreshQuotaRequest.DescribeRefreshQuotaRequest())
    assert info.value.get_error_code() == "InvalidTimeStamp.Expired"


def test_legacy_sdk_every_operation(cdnctl):
    client = sdk.legacy(cdnctl.endpoint)
    path = f"/legacy-{datetime.now(UTC).timestamp()}.txt"
    cdnctl.cache(path)
    assert cdnctl.cache(path).x_cache == "HIT"
    req = RefreshObjectCachesRequest.RefreshObjectCachesRequest()
    req.set_ObjectPath(f"http://www.example.com{path}")
    req.set_ObjectType("File")
    ids = sdk.legacy_call(client, req)["RefreshTaskId"]
    cdnctl.wait_task(ids)
    assert cdnctl.cache(path).x_cache == "MISS"

    push = PushObjectCacheRequest.PushObjectCacheRequest()
    push.set_ObjectPath(f"www.example.com{path}-pre")
    push.set_Area("domestic")
    push_id = sdk.legacy_call(client, push)["PushTaskId"]
    cdnctl.wait_task(push_id)
    assert cdnctl.cache(f"{path}-pre").x_cache == "HIT"

    tag = CommonRequest(domain=cdnctl.endpoint, version="2018-05-10",
                        action_name="RefreshObjectCacheByCacheTag")  # not in the legacy SDK
    tag.add_query_param("DomainName", "www.example.com")
    tag.add_query_param("CacheTag", "legacy-tag")
    tag.add_query_param("Force", "true")
    assert sdk.legacy_call(client, tag)["RefreshTaskId"]

    block = CommonRequest(domain=cdnctl.endpoint, version="2018-05-10",
                          action_name="BlockObjectCaches")  # not in the legacy SDK either
    block.add_query_param("ObjectPath", f"www.example.com{path}-blocked")
    block.add_query_param("Type", "block")
    block.add_query_param("Maxage", "60")
    cdnctl.wait_task(sdk.legacy_call(client, block)["BlockTaskId"])
    assert cdnctl.cache(f"{path}-blocked").status == 403

    listed = DescribeRefreshTasksRequest.DescribeRefreshTasksRequest()
    listed.set_TaskId(ids)
    body = sdk.legacy_call(client, listed)
    assert body["TotalCount"] == 1
    assert body["Tasks"]["CDNTask"][0]["Status"] == "Complete"
    by_id = DescribeRefreshTaskByIdRequest.DescribeRefreshTaskByIdRequest()
    by_id.set_TaskId(f"{ids},{push_id}")
    assert sdk.legacy_call(client, by_id)["TotalCount"] == 2
    detail = DescribePreloadDetailByIdRequest.DescribePreloadDetailByIdRequest()
    detail.set_TaskId(push_id)
    assert sdk.legacy_call(client, detail)["UrlDetails"][0]["Status"] == "Complete"
    q = sdk.legacy_call(client, DescribeRefreshQuotaRequest.DescribeRefreshQuotaRequest())
    assert isinstance(q["UrlRemain"], str)
    u = sdk.legacy_call(client, DescribeCdnUserQuotaRequest.DescribeCdnUserQuotaRequest())
    assert isinstance(u["RefreshUrlRemain"], int)


def test_legacy_errors(cdnctl):
    client = sdk.legacy(cdnctl.endpoint)
    req = RefreshObjectCachesRequest.RefreshObjectCachesRequest()
    req.set_ObjectPath("http://www.other.example/x")
    with pytest.raises(ServerException) as info:
        sdk.legacy_call(client, req)
    assert (info.value.get_http_status(), info.value.get_error_code(),
            info.value.get_error_msg()) == (404, "InvalidDomain.NotFound",
                                            "The domain provided does not belong to you.")
    listed = DescribeRefreshTasksRequest.DescribeRefreshTasksRequest()
    listed.set_Status("Complete")
    with pytest.raises(ServerException) as info:
        sdk.legacy_call(client, listed)
    assert info.value.get_error_code() == "MissingParameter.ObjectType"


def test_request_line_over_256_kib(cdnctl):
    """The legacy SDK puts ObjectPath in the query: 1,000 long URLs -> ~300 KiB line."""
    client = sdk.legacy(cdnctl.endpoint)
    req = RefreshObjectCachesRequest.RefreshObjectCachesRequest()
    urls = [f"http://img.example.com/long/{i:04d}/" + "x" * 280 for i in range(1000)]
    req.set_ObjectPath("\n".join(urls))
    ids = sdk.legacy_call(client, req)["RefreshTaskId"].split(",")
    assert len(ids) == 1000
    assert len("\n".join(urls)) > 256 * 1024
