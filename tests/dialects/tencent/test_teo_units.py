"""Tencent EdgeOne dialect: parsing, rendering, error mapping and filters, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cdnctl.api.dialects.tencent_teo import DIALECT, describe, errors, parsing, quotas, rendering
from cdnctl.api.dialects.tencent_teo.create import encode_url
from cdnctl.api.dialects.tencent_teo.errors import TeoError
from cdnctl.auth.signatures import SignatureError, SignedRequest
from cdnctl.core.errors import (
    AuthError,
    IdempotencyConflictError,
    InvalidDomainError,
    InvalidUrlError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import Action, Method, TargetType, Task, TaskState

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def code_of(fn: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(TeoError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    return info.value.code


# -- flattened parameters ----------------------------------------------------------------


def test_unflatten_rebuilds_lists_and_objects() -> None:
    flat = {"ZoneId": "zone-abc", "Filters.0.Name": "target", "Filters.0.Values.0": "a",
            "Filters.0.Values.1": "b", "Filters.0.Fuzzy": "True", "Filters.1.Name": "type",
            "Filters.1.Values.0": "purge_url", "CacheTag.Domains.0": "www.example.com"}
    assert parsing.unflatten(flat) == {
        "ZoneId": "zone-abc",
        "Filters": [{"Name": "target", "Values": ["a", "b"], "Fuzzy": "True"},
                    {"Name": "type", "Values": ["purge_url"]}],
        "CacheTag": {"Domains": ["www.example.com"]},
    }


@pytest.mark.parametrize("flat", [
    {"Targets.1": "x"},  # gap: no index 0
    {"Targets": "x", "Targets.0": "y"},  # scalar and list at once
    {"Targets..0": "x"},  # empty segment
    {"0": "x"},  # an index at the top level
])
def test_unflatten_refuses_malformed_keys(flat: dict[str, str]) -> None:
    assert code_of(parsing.unflatten, flat) in (
        "InvalidParameter", "InvalidParameterValue", "UnknownParameter")


def test_flat_params_are_coerced_json_params_are_strict() -> None:
    flat = parsing.Params({"Limit": "5", "EncodeUrl": "False", "Fuzzy": "true"}, flat=True)
    assert flat.integer("Limit", 20) == 5
    assert flat.boolean("EncodeUrl") is False
    assert flat.boolean("Fuzzy") is True
    assert flat.integer("Offset", 0) == 0
    assert code_of(parsing.Params({"Limit": "five"}, flat=True).integer, "Limit", 20) == (
        "InvalidParameter")
    strict = parsing.Params({"Limit": "5", "EncodeUrl": 1, "Offset": True}, flat=False)
    assert code_of(strict.integer, "Limit", 20) == "InvalidParameter"
    assert code_of(strict.boolean, "EncodeUrl") == "InvalidParameter"
    assert code_of(strict.integer, "Offset", 0) == "InvalidParameter"


def test_nested_params_name_the_full_path() -> None:
    p = parsing.Params({"Filters": [{"Name": "x", "Values": ["a", 3]}]}, flat=False)
    (item,) = p.objects("Filters") or []
    with pytest.raises(TeoError) as info:
        item.strings("Values")
    assert info.value.en == "The value type of parameter `Filters.0.Values.1` is not valid."
    with pytest.raises(TeoError) as info:
        p.check_known(("ZoneId",))
    assert info.value.code == "UnknownParameter"
    assert "`Filters`" in info.value.en
    assert code_of(p.required, "ZoneId") == "MissingParameter"


def _req(method: str = "POST", body: bytes = b"{}", ctype: str = "application/json",
         **headers: str) -> SignedRequest:
    return SignedRequest.create(method, "/", "", {"Content-Type": ctype,
                                                  "Authorization": "TC3-HMAC-SHA256 x",
                                                  **headers}, body)


def test_action_params_by_shape() -> None:
    p = parsing.action_params(_req(body=b'{"ZoneId": "z", "Limit": 3}'), {})
    assert not p.flat
    assert p.integer("Limit", 20) == 3
    p = parsing.action_params(_req("GET", b"", parsing.FORM),
                              {"ZoneId": "z", "Limit": "3", "Action": "X", "Nonce": "1"})
    assert p.flat
    assert dict(p.data) == {"ZoneId": "z", "Limit": "3"}  # common parameters left out
    assert code_of(parsing.action_params, _req(body=b"{nope"), {}) == "InvalidRequest"
    assert code_of(parsing.action_params, _req(body=b"[1]"), {}) == "InvalidRequest"
    assert code_of(parsing.action_params, _req(ctype="text/xml"), {}) == "InvalidRequest"


def test_language_defaults_to_chinese() -> None:
    assert parsing.language(_req(**{"X-TC-Language": "en-US"}), {}) == errors.EN
    assert parsing.language(_req(**{"X-TC-Language": "zh-CN"}), {}) == errors.ZH
    assert parsing.language(_req(), {}) == errors.ZH
    legacy = SignedRequest.create("POST", "/", "", {"Content-Type": parsing.FORM}, b"")
    assert parsing.language(legacy, {"Language": "en-US"}) == errors.EN


def test_size_limits() -> None:
    assert code_of(parsing.check_size, _req(body=b"x" * 2048), 1024) == (
        "RequestSizeLimitExceeded")
    parsing.check_size(_req(body=b"x" * 2048), 4096)
    big_get = SignedRequest.create("GET", "/", "a=" + "x" * (parsing.GET_LIMIT + 1), {}, b"")
    assert code_of(parsing.check_size, big_get, 1 << 30) == "RequestSizeLimitExceeded"


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "code"), [
    (InvalidDomainError(domain="x.com"), "InvalidParameter.DomainNotFound"),
    (errors.ZoneDomainError(domain="x.com", zone_id="zone-a"), "InvalidParameter.DomainNotFound"),
    (InvalidUrlError("bad"), "InvalidParameter.Target"),
    (ValidationError("bad tag"), "InvalidParameter.Target"),
    (LimitExceededError("too many"), "LimitExceeded.BatchQuota"),
    (UnsupportedError("no"), "LimitExceeded.PackNotAllow"),
    (QuotaExceededError(kind="url", limit=1, remaining=0, resets_at=NOW),
     "LimitExceeded.DailyQuota"),
    (RateLimitedError("rate limit of 20 requests/s for X exceeded"), "RequestLimitExceeded"),
    (NotFoundError("x"), "ResourceNotFound"),
    (IdempotencyConflictError("x"), "FailedOperation"),
    (AuthError("x"), "AuthFailure.UnauthorizedOperation"),
])
def test_core_errors_map_to_tencent_codes(exc: Exception, code: str) -> None:
    mapped = errors.from_core(exc)  # type: ignore[arg-type]
    assert mapped.code == code
    assert mapped.en
    assert mapped.zh != mapped.en


def test_zone_mismatch_names_the_zone() -> None:
    mapped = errors.from_core(errors.ZoneDomainError(domain="x.com", zone_id="zone-a"))
    assert mapped.en == "The domain name x.com does not belong to the site zone-a."
    assert mapped.zh == "域名 x.com 不属于站点 zone-a。"


def test_daily_quota_message_uses_the_edgeone_type() -> None:
    exc = QuotaExceededError(kind="prefetch", limit=5, remaining=1, resets_at=NOW)
    assert "prefetch_url limit 5, 1 left today" in errors.from_core(exc).en


def test_rate_limit_message_names_the_limit() -> None:
    mapped = errors.from_core(RateLimitedError("rate limit of 20 requests/s for X exceeded"))
    assert "`20`" in mapped.en
    assert "`20`" in mapped.zh


def test_signature_errors_get_chinese_text() -> None:
    for code in ("AuthFailure.SignatureFailure", "AuthFailure.SignatureExpire",
                 "AuthFailure.SecretIdNotFound", "AuthFailure.InvalidAuthorization"):
        mapped = errors.from_signature(SignatureError(code, "english text", 200))
        assert (mapped.code, mapped.en) == (code, "english text")
        assert mapped.zh == errors.MESSAGES[code][1]
    missing = errors.from_signature(SignatureError(
        "MissingParameter", "The request is missing a required parameter `Nonce`.", 200))
    assert missing.zh == "缺少必填参数`Nonce`。"


# -- rendering -----------------------------------------------------------------------------


def task(state: TaskState, **kw: object) -> Task:
    url = "http://www.example.com/a.txt"
    base: dict[str, object] = {
        "id": 7, "job_id": "job1", "account_id": "1001", "action": Action.PURGE,
        "type": TargetType.URL, "target": url, "raw_target": url, "domain": "www.example.com",
        "method": Method.DELETE, "state": state, "created_at": NOW,
        "updated_at": NOW + timedelta(seconds=3), "deadline": NOW + timedelta(minutes=10),
        "deliveries_total": 2, "deliveries_succeeded": 1, "deliveries_failed": 0}
    base.update(kw)
    return Task(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "status"), [
    (TaskState.QUEUED, "processing"), (TaskState.RUNNING, "processing"),
    (TaskState.SUCCEEDED, "success"), (TaskState.FAILED, "failed"),
    (TaskState.TIMED_OUT, "timeout"), (TaskState.CANCELED, "canceled"),
])
def test_status_table(state: TaskState, status: str) -> None:
    assert rendering.task(task(state))["Status"] == status


def test_task_row_shape() -> None:
    done = task(TaskState.SUCCEEDED, finished_at=NOW + timedelta(seconds=9))
    assert rendering.task(done) == {
        "JobId": "job1", "Target": "http://www.example.com/a.txt", "Type": "purge_url",
        "Status": "success", "CreateTime": "2026-11-22T12:00:00Z",
        "UpdateTime": "2026-11-22T12:00:09Z", "Method": "delete"}
    failed = rendering.task(task(TaskState.FAILED, action=Action.PREFETCH,
                                 error_code="origin_5xx", description="origin said 503"))
    assert failed["Type"] == "prefetch_url"
    assert "Method" not in failed
    assert (failed["FailType"], failed["FailMessage"]) == ("originPullFailed", "origin said 503")
    assert rendering.task(task(TaskState.TIMED_OUT))["FailType"] == "taskFailed"


def test_envelopes_are_http_200_exact_json() -> None:
    ok = rendering.success({"JobId": "j"}, "rid-1")
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/json"
    assert json.loads(ok.body) == {"Response": {"JobId": "j", "RequestId": "rid-1"}}
    bad = rendering.error(errors.missing("ZoneId"), errors.EN, "rid-2")
    assert bad.status_code == 200
    assert bad.headers["content-type"] == "application/json"
    assert json.loads(bad.body) == {"Response": {"Error": {
        "Code": "MissingParameter",
        "Message": "The request is missing a required parameter `ZoneId`."},
        "RequestId": "rid-2"}}
    zh = json.loads(rendering.error(errors.missing("ZoneId"), errors.ZH, "r").body)
    assert zh["Response"]["Error"]["Message"] == "缺少必填参数`ZoneId`。"


# -- filters, windows, quotas, URLs ----------------------------------------------------------


def filters(*items: dict[str, object]) -> describe.Query:
    return describe.parse_filters(parsing.Params({"Filters": list(items)}, flat=False),
                                  describe.PURGE)


def test_filters_translate() -> None:
    q = filters({"Name": "statuses", "Values": ["processing", "timeout"]},
                {"Name": "target", "Values": ["a.txt"], "Fuzzy": True},
                {"Name": "domains", "Values": ["WWW.example.com"]},
                {"Name": "type", "Values": ["purge_prefix"]},
                {"Name": "job-id", "Values": ["j1"]})
    assert q.states == sorted([TaskState.QUEUED, TaskState.RUNNING, TaskState.TIMED_OUT])
    assert (q.target, q.fuzzy, q.job_id) == ("a.txt", True, "j1")
    assert q.domains == ["www.example.com"]
    assert q.types == [TargetType.PREFIX]


@pytest.mark.parametrize(("items", "code"), [
    ([{"Name": "nope", "Values": ["x"]}], "InvalidParameter.InvalidFilterName"),
    ([{"Name": "job-id", "Values": ["a", "b"]}], "InvalidParameter.TooManyFilterValues"),
    ([{"Name": "domains", "Values": [f"d{i}.com" for i in range(21)]}],
     "InvalidParameter.TooManyFilterValues"),
    ([{"Name": "statuses", "Values": ["x"]}] * 6, "InvalidParameter.TooManyFilters"),
    ([{"Name": "statuses", "Values": ["done"]}], "InvalidParameterValue"),
    ([{"Name": "type", "Values": ["purge_regex"]}], "InvalidParameterValue"),
    ([{"Name": "statuses", "Values": ["success"], "Fuzzy": True}], "InvalidParameterValue"),
    ([{"Name": "statuses", "Values": ["success"]}] * 2, "InvalidParameterValue"),
    ([{"Name": "statuses", "Values": []}], "MissingParameter"),
    ([{"Values": ["x"]}], "MissingParameter"),
])
def test_bad_filters(items: list[dict[str, object]], code: str) -> None:
    assert code_of(filters, *items) == code


def test_prefetch_filters_differ() -> None:
    p = parsing.Params({"Filters": [{"Name": "statuses", "Values": ["invalid"]}]}, flat=False)
    assert describe.parse_filters(p, describe.PREFETCH).states == []
    p = parsing.Params({"Filters": [{"Name": "type", "Values": ["purge_url"]}]}, flat=False)
    assert code_of(describe.parse_filters, p, describe.PREFETCH) == (
        "InvalidParameter.InvalidFilterName")
    p = parsing.Params({"Filters": [{"Name": "target", "Values": ["a"], "Fuzzy": True}]},
                       flat=False)
    assert code_of(describe.parse_filters, p, describe.PREFETCH) == "InvalidParameterValue"


def test_time_window() -> None:
    p = parsing.Params({"StartTime": "2022-02-09T00:00:00+08:00",
                        "EndTime": "2022-02-09T23:59:00Z"}, flat=False)
    assert describe.parse_time(p, "StartTime") == datetime(2022, 2, 8, 16, tzinfo=UTC)
    assert describe.parse_time(p, "EndTime") == datetime(2022, 2, 9, 23, 59, tzinfo=UTC)
    assert code_of(describe.parse_time, parsing.Params({"StartTime": "yesterday"}, flat=False),
                   "StartTime") == "InvalidParameterValue"


def test_quota_limits_follow_the_core_batch_cap() -> None:
    table = quotas.limits("zone-a", 1000)
    assert set(table) == set(quotas.KINDS)
    assert table["purge_url"] == quotas.Limit(batch=1000, daily=10000)
    assert quotas.limits("zone-a", 5000)["purge_url"].batch == 2000


def test_encode_url() -> None:
    assert encode_url("http://www.example.com/中文 a.txt?q=é") == (
        "http://www.example.com/%E4%B8%AD%E6%96%87%20a.txt?q=%C3%A9")
    assert encode_url("http://www.example.com/a%20b.txt") == "http://www.example.com/a%20b.txt"
    assert encode_url("http://例子.com/a") == "http://xn--fsqu00a.com/a"


class _Req:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


@pytest.mark.parametrize(("headers", "params", "ours"), [
    ({"x-tc-action": "DescribePurgeTasks"}, {}, True),
    ({}, {"Action": "DescribeContentQuota", "Version": "2022-09-01", "SecretId": "AKID",
          "Nonce": "1", "SignatureMethod": "HmacSHA256"}, True),
    ({}, {"Action": "DescribeContentQuota", "Version": "2022-09-01", "SecretId": "AKID",
          "Nonce": "1"}, True),
    # Alibaba RPC (AccessKeyId, SignatureNonce) and other versions are not ours
    ({}, {"Action": "DescribeRefreshTasks", "Version": "2018-05-10", "AccessKeyId": "a",
          "SignatureNonce": "1", "SignatureMethod": "HMAC-SHA1"}, False),
    ({}, {"Action": "DescribeContentQuota", "Version": "2018-05-10", "SecretId": "AKID",
          "Nonce": "1"}, False),
    ({}, {"Action": "X", "Version": "2022-09-01", "SecretId": "AKID", "Nonce": "1",
          "SignatureMethod": "HMAC-SHA1"}, False),
    ({"x-acs-action": "ListUploadTasks"}, {}, False),
])
def test_claims(headers: dict[str, str], params: dict[str, str], ours: bool) -> None:
    assert DIALECT.claims(_Req(headers), params) is ours  # type: ignore[arg-type]
