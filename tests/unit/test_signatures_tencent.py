# ruff: noqa: E501  (the wire captures below are kept verbatim, long lines included)
"""Tencent TC3-HMAC-SHA256 and legacy form-signature verifiers against the
captures in shared/spec/tencent-huawei.md §4 (SecretId ``AKIDtest``, SecretKey
``SKtest``), the §1.2 test vectors, the §1.3 error codes, and requests signed
live by the official SDK (tencentcloud-sdk-python-common).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from cdnctl.auth.signatures import (
    SecretLookup,
    SignatureError,
    SignedRequest,
    detect_tencent,
    verify_legacy,
    verify_tc3,
    verify_tencent,
)
from cdnctl.auth.signatures.tencent_tc3 import legacy_string_to_sign

lookup = {"AKIDtest": "SKtest"}.get
NO_KEYS: dict[str, str] = {}

CAPTURE_1 = r"""POST / HTTP/1.1
User-Agent: python-requests/2.34.2
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
X-TC-TraceId: 7faf5c59-6d6e-41e0-a822-7e3337e94882
Content-Type: application/json
Host: 127.0.0.1:38517
X-TC-Action: CreatePurgeTask
X-TC-RequestClient: SDK_PYTHON_3.1.194
X-TC-Timestamp: 1795384141
X-TC-Version: 2022-09-01
X-TC-Language: en-US
Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host, Signature=9fd9354e90284e9ee6f03f6b09dde75f3f761d7890370a29bcd6260fc34f9ef4
Content-Length: 150

{"ZoneId": "zone-abc", "Type": "purge_url", "Targets": ["http://www.example.com/a.txt", "http://www.example.com/\u4e2d\u6587.txt"], "EncodeUrl": true}
"""

# Capture 2 carries "the same header set as capture 1" with its own signature and body.
CAPTURE_2 = (
    CAPTURE_1.split("Authorization:")[0]
    + r"""Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host, Signature=40e124c0d605371e8aeeba391f51a39721afb9242c0bf70397b126e2014e771b
Content-Length: 136

{"ZoneId": "zone-abc", "Type": "purge_cache_tag", "Method": "delete", "Targets": ["tag1"], "CacheTag": {"Domains": ["www.example.com"]}}
"""
)

CAPTURE_6 = r"""POST / HTTP/1.1
User-Agent: python-requests/2.34.2
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
X-TC-TraceId: ceb99c4f-cca3-4a5d-8e1e-05dafd726576
Content-Type: application/json
Host: 127.0.0.1:38517
X-TC-Action: DescribeContentQuota
X-TC-RequestClient: SDK_PYTHON_3.1.194
X-TC-Timestamp: 1795384015
X-TC-Version: 2022-09-01
X-TC-Token: TMP-TOKEN
X-TC-Language: zh-CN
Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host, Signature=215881b6f50ed2201c0e15b7e653843ba1b5210d6884af1678c8c83cd7fab3cf
Content-Length: 22

{"ZoneId": "zone-abc"}
"""

CAPTURE_7 = r"""GET /?ZoneId=zone-abc&Limit=5&Filters.0.Name=statuses&Filters.0.Values.0=success&Filters.0.Values.1=failed HTTP/1.1
User-Agent: python-requests/2.34.2
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
X-TC-TraceId: cfcbdfca-f217-4f9d-9543-7796b751670b
Content-Type: application/x-www-form-urlencoded
Host: 127.0.0.1:38517
X-TC-Action: DescribePurgeTasks
X-TC-RequestClient: SDK_PYTHON_3.1.194
X-TC-Timestamp: 1795383890
X-TC-Version: 2022-09-01
X-TC-Region: ap-guangzhou
X-TC-Language: zh-CN
Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host, Signature=b9af9ddfd2ba62f52a2fc02d8b2dcd3a0f5c00fb06ebb120633f5e43015d1fd7

"""

CAPTURE_8 = r"""POST / HTTP/1.1
User-Agent: python-requests/2.34.2
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
X-TC-TraceId: db987de4-fc84-4080-a244-b869ebe33805
Content-Type: application/x-www-form-urlencoded
Host: 127.0.0.1:38517
Content-Length: 267

ZoneId=zone-abc&Action=DescribeContentQuota&RequestClient=SDK_PYTHON_3.1.194&Nonce=5610655459463651559&Timestamp=1795383890&Version=2022-09-01&SecretId=AKIDtest&SignatureMethod=HmacSHA256&Language=en-US&Signature=VUzWG8gbCBZX6%2BjrKM%2Fmcnb%2B2W18X%2Bpfc6ouEiOZRZ8%3D
"""

# §1.2 test vectors: SDK with the clock pinned at 1700000000 (2023-11-14 UTC).
VECTOR_POST = r"""POST / HTTP/1.1
Content-Type: application/json
Host: 127.0.0.1:38517
X-TC-Action: DescribeContentQuota
X-TC-Timestamp: 1700000000
X-TC-Version: 2022-09-01
Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2023-11-14/teo/tc3_request, SignedHeaders=content-type;host, Signature=4ecc57fd412b7e1c8ced6ef150c74173e1f49bafe5da49626d68a391a66e5f8d
Content-Length: 22

{"ZoneId": "zone-abc"}
"""

VECTOR_GET = r"""GET /?ZoneId=zone-abc&Limit=5&Filters.0.Name=target&Filters.0.Values.0=http%3A%2F%2Fa.com%2Fx+y&Filters.0.Fuzzy=True HTTP/1.1
Content-Type: application/x-www-form-urlencoded
Host: 127.0.0.1:38517
X-TC-Action: DescribePurgeTasks
X-TC-Timestamp: 1700000000
X-TC-Version: 2022-09-01
Authorization: TC3-HMAC-SHA256 Credential=AKIDtest/2023-11-14/teo/tc3_request, SignedHeaders=content-type;host, Signature=e8671abd4fe21a74fd7ac0ced80c13e2cc067a267e6a5afa6151f90bb03b80df

"""

TC3 = {
    "capture1-CreatePurgeTask": CAPTURE_1,
    "capture2-CreatePurgeTask-cache-tag": CAPTURE_2,
    "capture6-DescribeContentQuota-token": CAPTURE_6,
    "capture7-DescribePurgeTasks-GET": CAPTURE_7,
    "vector-POST": VECTOR_POST,
    "vector-GET": VECTOR_GET,
}


def parse(raw: str) -> SignedRequest:
    head, _, body = raw.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, target = request_line.split(" ")[:2]
    headers = [(n, v) for n, _, v in (line.partition(": ") for line in header_lines)]
    req = SignedRequest.create(method, target, headers=headers, body=body.rstrip("\n").encode())
    declared = req.header("content-length")
    if declared is not None:  # guards the transcription of the body
        assert int(declared) == len(req.body)
    return req


def stamp(req: SignedRequest) -> float:
    value = req.header("x-tc-timestamp") or dict(req.form())["Timestamp"]
    return float(value)


def changed(
    req: SignedRequest,
    *,
    headers: dict[str, str | None] | None = None,
    raw_query: str | None = None,
    body: bytes | None = None,
) -> SignedRequest:
    """A copy of ``req`` with some parts replaced (a header set to None is removed)."""
    merged = dict(req.headers)
    for name, value in (headers or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return SignedRequest.create(
        req.method,
        req.path,
        raw_query if raw_query is not None else req.raw_query,
        merged,
        body if body is not None else req.body,
    )


def error_of(req: SignedRequest, now: float, lookup_: SecretLookup = lookup) -> SignatureError:
    with pytest.raises(SignatureError) as info:
        verify_tencent(req, lookup_, now=now)
    assert info.value.http_status == 200  # Tencent reports every error in a 200 body
    return info.value


# --- every capture and vector verifies --------------------------------------------------


@pytest.mark.parametrize("name", list(TC3))
def test_tc3_capture_verifies(name: str) -> None:
    req = parse(TC3[name])
    assert detect_tencent(req) == "tc3"
    assert verify_tc3(req, lookup, now=stamp(req) + 5) == "AKIDtest"


def test_legacy_capture_verifies() -> None:
    req = parse(CAPTURE_8)
    assert detect_tencent(req) == "legacy"
    assert verify_tencent(req, lookup, now=stamp(req)) == "AKIDtest"
    params = dict(req.form())
    assert verify_legacy(params, "POST", "127.0.0.1:38517", "/", lookup, stamp(req)) == "AKIDtest"


def test_legacy_string_to_sign() -> None:
    params = dict(parse(CAPTURE_8).form())
    assert legacy_string_to_sign(params, "POST", "127.0.0.1:38517", "/") == (
        "POST127.0.0.1:38517/?Action=DescribeContentQuota&Language=en-US"
        "&Nonce=5610655459463651559&RequestClient=SDK_PYTHON_3.1.194&SecretId=AKIDtest"
        "&SignatureMethod=HmacSHA256&Timestamp=1795383890&Version=2022-09-01&ZoneId=zone-abc"
    )
    assert legacy_string_to_sign({"A_b": "1", "Signature": "x"}, "get", "h", "/") == "GETh/?A.b=1"


# --- TC3 failures -----------------------------------------------------------------------


def test_tc3_tampered_body() -> None:
    req = parse(CAPTURE_1)
    tampered = changed(req, body=req.body.replace(b"purge_url", b"purge_prefix"))
    err = error_of(tampered, stamp(req))
    assert (err.code, err.message) == (
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated. Please check your signature is correct.",
    )


def test_tc3_tampered_get_query() -> None:
    req = parse(CAPTURE_7)
    tampered = changed(req, raw_query=req.raw_query.replace("Limit=5", "Limit=50"))
    assert error_of(tampered, stamp(req)).code == "AuthFailure.SignatureFailure"


def test_tc3_get_query_is_signed_as_sent() -> None:
    # Same pairs, different order on the wire: the SDK signs its exact urlencode output.
    req = parse(VECTOR_GET)
    pairs = req.raw_query.split("&")
    tampered = changed(req, raw_query="&".join(reversed(pairs)))
    assert error_of(tampered, stamp(req)).code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize(
    ("header", "value"), [("host", "127.0.0.1:38518"), ("content-type", "text/plain")]
)
def test_tc3_tampered_signed_header(header: str, value: str) -> None:
    req = parse(CAPTURE_6)
    assert error_of(changed(req, headers={header: value}), stamp(req)).code == (
        "AuthFailure.SignatureFailure"
    )


def test_tc3_unsigned_headers_may_change_and_header_values_are_lowercased() -> None:
    req = parse(CAPTURE_6)
    req = changed(req, headers={"x-tc-language": "en-US", "x-tc-token": "OTHER"})
    assert verify_tc3(req, lookup, now=stamp(req)) == "AKIDtest"
    upper = changed(req, headers={"content-type": "Application/JSON"})
    assert verify_tc3(upper, lookup, now=stamp(req)) == "AKIDtest"


def test_tc3_wrong_secret_and_unknown_id() -> None:
    req = parse(CAPTURE_1)
    assert error_of(req, stamp(req), {"AKIDtest": "x"}.get).code == "AuthFailure.SignatureFailure"
    err = error_of(req, stamp(req), NO_KEYS.get)
    assert err.code == "AuthFailure.SecretIdNotFound"
    assert err.message.startswith("Key does not exist.")


@pytest.mark.parametrize("offset", [301, -301, 86400])
def test_tc3_expired(offset: int) -> None:
    req = parse(CAPTURE_2)
    err = error_of(req, stamp(req) + offset)
    assert err.code == "AuthFailure.SignatureExpire"
    assert err.message.startswith("Signature expired. Timestamp and server time cannot differ")


@pytest.mark.parametrize("offset", [300, -300])
def test_tc3_skew_edges_accepted(offset: int) -> None:
    req = parse(CAPTURE_2)
    assert verify_tc3(req, lookup, now=stamp(req) + offset) == "AKIDtest"


def test_tc3_scope_must_match_timestamp_date_and_service() -> None:
    req = parse(CAPTURE_1)
    auth = req.headers["authorization"]
    wrong_date = changed(req, headers={"authorization": auth.replace("2026-11-22", "2026-11-21")})
    assert error_of(wrong_date, stamp(req)).code == "AuthFailure.SignatureFailure"
    wrong_service = changed(req, headers={"authorization": auth.replace("/teo/", "/cdn/")})
    assert error_of(wrong_service, stamp(req)).code == "AuthFailure.SignatureFailure"
    with pytest.raises(SignatureError, match="SignatureFailure"):
        verify_tc3(req, lookup, now=stamp(req), service="cdn")


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "TC3-HMAC-SHA1 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc4_request, SignedHeaders=content-type;host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/tc3_request, SignedHeaders=content-type;host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=host, Signature=ab",
        "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request, SignedHeaders=content-type;host",
        "TC3-HMAC-SHA256 Credential=AKIDtest/2026-11-22/teo/tc3_request SignedHeaders=content-type;host",
    ],
)
def test_tc3_invalid_authorization(authorization: str) -> None:
    req = parse(CAPTURE_1)
    err = error_of(changed(req, headers={"authorization": authorization}), stamp(req))
    assert (err.code, err.message) == (
        "AuthFailure.InvalidAuthorization",
        "Authorization in the request header is invalid.",
    )


@pytest.mark.parametrize(
    ("header", "param"),
    [("x-tc-action", "Action"), ("x-tc-version", "Version"), ("x-tc-timestamp", "Timestamp")],
)
def test_tc3_missing_parameter(header: str, param: str) -> None:
    req = parse(CAPTURE_1)
    err = error_of(changed(req, headers={header: None}), stamp(req))
    assert (err.code, err.message) == (
        "MissingParameter",
        f"The request is missing a required parameter `{param}`.",
    )


@pytest.mark.parametrize("value", ["1795384141.5", "-1795384141", "soon", "\uff11\uff17\uff19"])
def test_tc3_malformed_timestamp(value: str) -> None:
    req = parse(CAPTURE_1)
    err = error_of(changed(req, headers={"x-tc-timestamp": value}), stamp(req))
    assert err.code == "InvalidParameter"


def test_no_signature_at_all() -> None:
    req = SignedRequest.create("POST", "/", headers={"host": "h"}, body=b"{}")
    assert detect_tencent(req) is None
    assert error_of(req, 0.0).code == "AuthFailure.InvalidAuthorization"


# --- legacy failures --------------------------------------------------------------------


def legacy_params() -> dict[str, str]:
    return dict(parse(CAPTURE_8).form())


def legacy_error(
    params: dict[str, str], now: float = 1795383890, lookup_: SecretLookup = lookup
) -> str:
    with pytest.raises(SignatureError) as info:
        verify_legacy(params, "POST", "127.0.0.1:38517", "/", lookup_, now)
    assert info.value.http_status == 200
    return info.value.code


def test_legacy_tampering() -> None:
    assert legacy_error({**legacy_params(), "ZoneId": "zone-x"}) == "AuthFailure.SignatureFailure"
    assert legacy_error({**legacy_params(), "Extra": "1"}) == "AuthFailure.SignatureFailure"
    with pytest.raises(SignatureError, match="SignatureFailure"):  # the host is signed
        verify_legacy(legacy_params(), "POST", "127.0.0.1:1", "/", lookup, 1795383890)
    with pytest.raises(SignatureError, match="SignatureFailure"):  # so is the method
        verify_legacy(legacy_params(), "GET", "127.0.0.1:38517", "/", lookup, 1795383890)


def test_legacy_key_and_time_errors() -> None:
    assert (
        legacy_error(legacy_params(), lookup_={"AKIDtest": "x"}.get)
        == "AuthFailure.SignatureFailure"
    )
    assert legacy_error(legacy_params(), lookup_=NO_KEYS.get) == "AuthFailure.SecretIdNotFound"
    assert legacy_error(legacy_params(), now=1795383890 + 301) == "AuthFailure.SignatureExpire"
    assert legacy_error({**legacy_params(), "Timestamp": "x"}) == "InvalidParameter"
    assert legacy_error({**legacy_params(), "Nonce": "abc"}) == "InvalidParameter"
    assert legacy_error({**legacy_params(), "SignatureMethod": "MD5"}) == "InvalidParameterValue"


@pytest.mark.parametrize(
    "param", ["Action", "Version", "SecretId", "Timestamp", "Nonce", "Signature"]
)
def test_legacy_missing_parameter(param: str) -> None:
    params = {k: v for k, v in legacy_params().items() if k != param}
    assert legacy_error(params) == "MissingParameter"


# --- requests signed live by the official SDK -------------------------------------------


@pytest.fixture
def sdk_wire(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Let the real SDK build and sign requests; capture them instead of sending."""
    pytest.importorskip("tencentcloud.common.common_client")
    requests = pytest.importorskip("requests")
    sent: list[Any] = []

    def fake_send(self: object, prepared: Any, **kwargs: object) -> Any:
        sent.append(prepared)
        resp = requests.Response()
        resp.status_code, resp.reason = 200, "OK"
        resp.headers["Content-Type"] = "application/json"
        resp._content = b'{"Response": {"RequestId": "4f1b5d2e-0000-4000-8000-000000000000"}}'
        return resp

    monkeypatch.setattr(requests.Session, "send", fake_send)
    return sent


def from_prepared(prepared: Any) -> SignedRequest:
    """A ``requests.PreparedRequest`` as a server would receive it."""
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode("utf-8") if isinstance(body, str) else body
    return SignedRequest.create(prepared.method, url.path, url.query, dict(prepared.headers), body)


SPEC_BODIES = {  # the bodies of captures 1-5 (3-5 were not recorded with their signatures)
    "CreatePurgeTask": {
        "ZoneId": "zone-abc",
        "Type": "purge_url",
        "EncodeUrl": True,
        "Targets": ["http://www.example.com/a.txt", "http://www.example.com/中文.txt"],
    },
    "DescribePurgeTasks": {
        "ZoneId": "zone-abc",
        "StartTime": "2022-02-09T00:00:00+08:00",
        "EndTime": "2022-02-09T23:59:00+08:00",
        "Offset": 0,
        "Limit": 20,
        "Filters": [
            {"Name": "statuses", "Values": ["success", "failed"]},
            {"Name": "target", "Values": ["a b+c/~*.txt"], "Fuzzy": True},
        ],
    },
    "CreatePrefetchTask": {
        "ZoneId": "zone-abc",
        "Targets": ["http://www.example.com/a.txt"],
        "Mode": "default",
        "Headers": [{"Name": "X-A", "Value": "1"}],
    },
    "DescribePrefetchTasks": {
        "ZoneId": "zone-abc",
        "Filters": [{"Name": "job-id", "Values": ["3duxkechrr0c"]}],
    },
}

PROFILES: dict[str, dict[str, Any]] = {
    "tc3-post": {},
    "tc3-get": {"reqMethod": "GET"},
    "tc3-unsigned-payload": {"unsignedPayload": True},
    "legacy-HmacSHA256": {"signMethod": "HmacSHA256"},
    "legacy-HmacSHA1": {"signMethod": "HmacSHA1"},
    "legacy-GET": {"signMethod": "HmacSHA256", "reqMethod": "GET"},
}


@pytest.mark.parametrize("token", [None, "TMP-TOKEN"])
@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("action", list(SPEC_BODIES))
def test_official_sdk_signed_requests_verify(
    sdk_wire: list[Any], action: str, profile: str, token: str | None
) -> None:
    common = pytest.importorskip("tencentcloud.common.common_client")
    credential = pytest.importorskip("tencentcloud.common.credential")
    client_profiles = pytest.importorskip("tencentcloud.common.profile.client_profile")
    http_profiles = pytest.importorskip("tencentcloud.common.profile.http_profile")

    options = PROFILES[profile]
    http = http_profiles.HttpProfile(
        protocol="http", endpoint="127.0.0.1:38517", reqMethod=str(options.get("reqMethod", "POST"))
    )
    client_profile = client_profiles.ClientProfile(httpProfile=http, language="en-US")
    if "signMethod" in options:
        client_profile.signMethod = options["signMethod"]
    client_profile.unsignedPayload = bool(options.get("unsignedPayload", False))
    client = common.CommonClient(
        "teo",
        "2022-09-01",
        credential.Credential("AKIDtest", "SKtest", token),
        "",
        profile=client_profile,
    )
    client.call_json(action, SPEC_BODIES[action])

    req = from_prepared(sdk_wire[-1])
    assert detect_tencent(req) == ("legacy" if profile.startswith("legacy") else "tc3")
    assert verify_tencent(req, lookup, now=time.time()) == "AKIDtest"
    assert error_of(req, time.time(), {"AKIDtest": "x"}.get).code == "AuthFailure.SignatureFailure"
    if profile == "tc3-post":
        tampered = changed(req, body=req.body.replace(b"zone-abc", b"zone-xyz"))
        assert error_of(tampered, time.time()).code == "AuthFailure.SignatureFailure"
    if profile.startswith("legacy"):
        params = dict(parse_qsl(req.body.decode() or req.raw_query))
        assert params["Action"] == action
