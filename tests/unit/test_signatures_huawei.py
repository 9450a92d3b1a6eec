# ruff: noqa: E501  (the wire captures below are kept verbatim, long lines included)
"""Huawei SDK-HMAC-SHA256 verifier against the captures in
shared/spec/tencent-huawei.md §4 (AK ``HWAKTEST``, SK ``HWSKTEST``), the §2.2 test
vector, the §2.3 error code, and requests signed live by the official SDK
(huaweicloudsdkcore).
"""

from __future__ import annotations

import calendar
import time
import types
from typing import Any
from urllib.parse import urlsplit

import pytest

from cdnctl.auth.signatures import (
    SecretLookup,
    SignatureError,
    SignedRequest,
    verify_sdk_hmac_sha256,
)
from cdnctl.auth.signatures.huawei import canonical_query, canonical_uri

lookup = {"HWAKTEST": "HWSKTEST"}.get
NO_KEYS: dict[str, str] = {}

UA = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/f9fd3d73-58c4-4e95-bd78-48786c445692"

CAPTURE_9 = r"""POST /v1.0/cdn/content/refresh-tasks?enterprise_project_id=0 HTTP/1.1
User-Agent: huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/f9fd3d73-58c4-4e95-bd78-48786c445692
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
Content-Type: application/json
X-Domain-Id: 0123456789abcdef0123456789abcdef
X-Sdk-Date: 20261122T214510Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date, Signature=4ef348df2ee97dac46c0cc99e7627936414474e988c8cb906126cc429fb012dc
Content-Length: 176

{"refresh_task": {"type": "directory", "mode": "detect_modify_refresh", "zh_url_encode": true, "urls": ["http://www.example.com/dir/", "http://www.example.com/\u4e2d\u6587/"]}}
"""

# Capture 11 "carries the same header set as capture 9"; the spec elides User-Agent.
CAPTURE_11 = f"""GET /v1.0/cdn/historytasks?end_date=1700000000000&enterprise_project_id=all&file_type=file&order_field=create_time&order_type=desc&page_number=1&page_size=30&start_date=1699990000000&status=task_done&task_type=refresh HTTP/1.1
User-Agent: {UA}
Content-Type: application/json
X-Domain-Id: 0123456789abcdef0123456789abcdef
X-Sdk-Date: 20261122T214510Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date, Signature=51b8947522ed916bb71f61964b0c0d11fef967dfd6bca02e2cf64ce7d46fcf6d

"""

CAPTURE_18 = r"""POST /v1.0/cdn/content/refresh-tasks HTTP/1.1
User-Agent: huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/f9fd3d73-58c4-4e95-bd78-48786c445692
Accept-Encoding: gzip, deflate
Accept: */*
Connection: keep-alive
Content-Type: application/json
X-Sdk-Date: 20261122T214511Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-sdk-date, Signature=5a66385f8397570db3d4fad0f18be55f889c67de47603f016d947a297eb649d8
Content-Length: 60

{"refresh_task": {"urls": ["http://www.example.com/a.txt"]}}
"""

# §2.2 test vector.
VECTOR = r"""POST /v1.0/cdn/content/refresh-tasks?enterprise_project_id=all HTTP/1.1
Content-Type: application/json
User-Agent: huaweicloud-usdk-python/3.0; vector
X-Domain-Id: dom
X-Sdk-Date: 20231114T221320Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date, Signature=332938f24f91231df6628870b767abe2229049cdbef52e2df0fdb778245a03fe

{"refresh_task": {"type": "file", "urls": ["http://www.example.com/a.txt"]}}
"""

CAPTURES = {
    "capture9-create_refresh_tasks": CAPTURE_9,
    "capture11-show_history_tasks": CAPTURE_11,
    "capture18-v1-without-domain-id": CAPTURE_18,
    "vector": VECTOR,
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


def sdk_time(req: SignedRequest) -> float:
    return float(calendar.timegm(time.strptime(req.headers["x-sdk-date"], "%Y%m%dT%H%M%SZ")))


def changed(
    req: SignedRequest,
    *,
    headers: dict[str, str | None] | None = None,
    path: str | None = None,
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
        path if path is not None else req.path,
        raw_query if raw_query is not None else req.raw_query,
        merged,
        body if body is not None else req.body,
    )


def error_of(req: SignedRequest, now: float, lookup_: SecretLookup = lookup) -> str:
    with pytest.raises(SignatureError) as info:
        verify_sdk_hmac_sha256(req, lookup_, now=now)
    assert (info.value.code, info.value.http_status) == ("APIGW.0301", 401)
    prefix = "Incorrect IAM authentication information: "
    assert info.value.message.startswith(prefix)
    return info.value.message[len(prefix) :]


SIG_FAIL = "verify aksk signature fail"


# --- every capture and the vector verify ------------------------------------------------


@pytest.mark.parametrize("name", list(CAPTURES))
def test_capture_verifies(name: str) -> None:
    req = parse(CAPTURES[name])
    assert verify_sdk_hmac_sha256(req, lookup, now=sdk_time(req) + 10) == "HWAKTEST"


def test_capture_20_canonical_uri_and_query() -> None:
    # The awkward path/query of capture 20, canonicalised as the spec records it.
    path = "/v1.0/cdn/historytasks/id%20with%20space%2F%E4%B8%AD/detail"
    query = "url=http%3A%2F%2Fwww.example.com%2F%E4%B8%AD%E6%96%87%20a%2Bb~c.txt"
    assert canonical_uri(path) == "/v1.0/cdn/historytasks/id%20with%20space/%E4%B8%AD/detail/"
    assert canonical_query(query) == query


def test_canonical_query_sorts_and_reencodes() -> None:
    assert canonical_query("b=2&a=x+y&a=%7e&c") == "a=x%2By&a=~&b=2&c="
    assert canonical_query("") == ""
    assert canonical_uri("/v1.0/cdn/quota/") == "/v1.0/cdn/quota/"
    assert canonical_uri("") == "/"


# --- failures ---------------------------------------------------------------------------


def test_tampered_body() -> None:
    req = parse(CAPTURE_9)
    tampered = changed(req, body=req.body.replace(b"directory", b"file"))
    assert error_of(tampered, sdk_time(req)) == SIG_FAIL


def test_tampered_query_and_path() -> None:
    req = parse(CAPTURE_11)
    tampered = changed(req, raw_query=req.raw_query.replace("page_size=30", "page_size=31"))
    assert error_of(tampered, sdk_time(req)) == SIG_FAIL
    assert error_of(changed(req, path="/v1.0/cdn/historytasks/x"), sdk_time(req)) == SIG_FAIL


def test_query_order_on_the_wire_does_not_matter() -> None:
    req = parse(CAPTURE_11)
    shuffled = "&".join(reversed(req.raw_query.split("&")))
    assert verify_sdk_hmac_sha256(changed(req, raw_query=shuffled), lookup, now=sdk_time(req))


@pytest.mark.parametrize(
    ("header", "value"),
    [("x-domain-id", "someone-else"), ("user-agent", "curl/8"), ("host", "127.0.0.1:1")],
)
def test_tampered_signed_header(header: str, value: str) -> None:
    req = parse(CAPTURE_9)
    assert error_of(changed(req, headers={header: value}), sdk_time(req)) == SIG_FAIL


def test_unsigned_headers_may_change() -> None:
    req = parse(CAPTURE_9)
    req = changed(req, headers={"accept": "text/html", "connection": "close"})
    assert verify_sdk_hmac_sha256(req, lookup, now=sdk_time(req)) == "HWAKTEST"


def test_declared_payload_hash_must_match_body() -> None:
    req = parse(CAPTURE_18)
    lying = changed(req, headers={"x-sdk-content-sha256": "0" * 64})
    assert error_of(lying, sdk_time(req)) == SIG_FAIL


def test_wrong_secret_and_unknown_ak() -> None:
    req = parse(CAPTURE_18)
    assert error_of(req, sdk_time(req), {"HWAKTEST": "x"}.get) == SIG_FAIL
    assert error_of(req, sdk_time(req), NO_KEYS.get) == (
        "Get secretKey failed,ak:HWAKTEST,err:ak not exist"
    )


@pytest.mark.parametrize("offset", [901, -901, 86400])
def test_expired(offset: int) -> None:
    req = parse(CAPTURE_9)
    assert error_of(req, sdk_time(req) + offset) == "signature expired"


@pytest.mark.parametrize("offset", [900, -900])
def test_skew_edges_accepted(offset: int) -> None:
    req = parse(CAPTURE_9)
    assert verify_sdk_hmac_sha256(req, lookup, now=sdk_time(req) + offset) == "HWAKTEST"


def test_custom_skew() -> None:
    req = parse(CAPTURE_9)
    with pytest.raises(SignatureError, match="expired"):
        verify_sdk_hmac_sha256(req, lookup, now=sdk_time(req) + 301, skew=300)


@pytest.mark.parametrize("value", ["2026-11-22T21:45:10Z", "20261122T2145Z", "20261322T214510Z"])
def test_malformed_sdk_date(value: str) -> None:
    req = parse(CAPTURE_9)
    assert "x-sdk-date" in error_of(changed(req, headers={"x-sdk-date": value}), sdk_time(req))


def test_missing_authorization() -> None:
    req = parse(CAPTURE_9)
    assert error_of(changed(req, headers={"authorization": None}), sdk_time(req)) == "Unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        "SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date",
        "SDK-HMAC-SHA256 Access=HWAKTEST SignedHeaders=host;x-sdk-date Signature=ab",
        "SDK-HMAC-SHA256 SignedHeaders=host;x-sdk-date, Signature=ab",
        "SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=host;;x-sdk-date, Signature=ab",
    ],
)
def test_malformed_authorization(authorization: str) -> None:
    req = parse(CAPTURE_9)
    detail = error_of(changed(req, headers={"authorization": authorization}), sdk_time(req))
    assert detail == "Authorization header is malformed"


def test_other_algorithms_are_not_offered() -> None:
    req = parse(CAPTURE_9)
    auth = req.headers["authorization"].replace("SDK-HMAC-SHA256", "V11-HMAC-SHA256")
    detail = error_of(changed(req, headers={"authorization": auth}), sdk_time(req))
    assert detail.startswith("unsupported signing algorithm")


@pytest.mark.parametrize(
    ("signed", "extra"),
    [
        ("content-type;user-agent;x-domain-id;x-sdk-date", {}),
        ("content-type;host;user-agent;x-domain-id", {}),
        ("content-type;host;user-agent;x-sdk-date", {}),
        ("content-type;host;user-agent;x-domain-id;x-sdk-date", {"x-security-token": "t"}),
    ],
)
def test_identity_headers_must_be_signed(signed: str, extra: dict[str, str]) -> None:
    req = parse(CAPTURE_9)
    auth = req.headers["authorization"].replace(
        "content-type;host;user-agent;x-domain-id;x-sdk-date", signed
    )
    detail = error_of(changed(req, headers={"authorization": auth, **extra}), sdk_time(req))
    assert detail.startswith("header ")
    assert detail.endswith(" is not signed")


# --- requests signed live by the official SDK (huaweicloudsdkcore) -----------------------


@pytest.fixture
def sdk_wire(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Let the real SDK build and sign requests; capture them instead of sending."""
    pytest.importorskip("huaweicloudsdkcore.client")
    requests = pytest.importorskip("requests")
    sent: list[Any] = []

    def fake_send(self: object, prepared: Any, **kwargs: object) -> Any:
        sent.append(prepared)
        resp = requests.Response()
        resp.status_code, resp.reason = 200, "OK"
        resp.request, resp.url = prepared, prepared.url
        resp.headers["Content-Type"] = "application/json"
        resp.headers["X-Request-Id"] = "0123456789abcdef"
        resp._content = b"null"
        return resp

    monkeypatch.setattr(requests.Session, "send", fake_send)
    return sent


def from_prepared(prepared: Any) -> SignedRequest:
    """A ``requests.PreparedRequest`` as a server would receive it."""
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode("utf-8") if isinstance(body, str) else body
    return SignedRequest.create(prepared.method, url.path, url.query, dict(prepared.headers), body)


REFRESH = {"refresh_task": {"type": "file", "urls": ["http://www.example.com/中文 a+b.txt"]}}
# Method, resource path, path params, query params, body: captures 9-20 re-signed
# (10, 12-17 and 19 were recorded without their signatures; 20's recorded User-Agent
# is not the one it was signed with, see the report in the test below).
CALLS = {
    "capture9": (
        "POST",
        "/v1.0/cdn/content/refresh-tasks",
        {},
        [("enterprise_project_id", "0")],
        {
            "refresh_task": {
                "type": "directory",
                "mode": "detect_modify_refresh",
                "zh_url_encode": True,
                "urls": ["http://www.example.com/中文/"],
            }
        },
    ),
    "capture10": (
        "POST",
        "/v1.0/cdn/content/preheating-tasks",
        {},
        [],
        {"preheating_task": {"zh_url_encode": False, "urls": ["http://www.example.com/a.txt"]}},
    ),
    "capture11": (
        "GET",
        "/v1.0/cdn/historytasks",
        {},
        [
            ("enterprise_project_id", "all"),
            ("page_size", 30),
            ("page_number", 1),
            ("status", "task_done"),
            ("start_date", 1699990000000),
            ("end_date", 1700000000000),
            ("order_field", "create_time"),
            ("order_type", "desc"),
            ("file_type", "file"),
            ("task_type", "refresh"),
        ],
        None,
    ),
    "capture12": (
        "GET",
        "/v1.0/cdn/historytasks/{history_tasks_id}/detail",
        {"history_tasks_id": "1234567890"},
        [
            ("page_size", 30),
            ("page_number", 1),
            ("status", "succeed"),
            ("url", "http://www.example.com/a.txt"),
            ("create_time", 1700000000000),
        ],
        None,
    ),
    "capture13": (
        "POST",
        "/v1.0/cdn/content/access-control-urls/{action}",
        {"action": "ban"},
        [],
        {"access_control_urls": {"urls": ["http://www.example.com/a.txt"], "ban_duration": 7}},
    ),
    "capture14": (
        "GET",
        "/v1.0/cdn/content/access-control-tasks",
        {},
        [
            ("start_time", 1699990000000),
            ("end_time", 1700000000000),
            ("status", "processing"),
            ("offset", 0),
            ("limit", 10),
        ],
        None,
    ),
    "capture15": (
        "GET",
        "/v1.0/cdn/content/ban-urls",
        {},
        [("page_number", 1), ("page_size", 10)],
        None,
    ),
    "capture16": ("GET", "/v1.0/cdn/quota", {}, [], None),
    "capture17": (
        "GET",
        "/v1.0/cdn/contentgateway/url-tasks",
        {},
        [
            ("start_time", 1699990000000),
            ("end_time", 1700000000000),
            ("offset", 0),
            ("limit", 10),
            ("task_type", "REFRESH"),
        ],
        None,
    ),
    "capture20": (
        "GET",
        "/v1.0/cdn/historytasks/{history_tasks_id}/detail",
        {"history_tasks_id": "id with space/中"},
        [("url", "http://www.example.com/中文 a+b~c.txt"), ("flag", True)],
        None,
    ),
}


def sdk_client(
    domain_id: str | None, token: str | None = None, user_agent: str | None = None
) -> Any:
    auth = pytest.importorskip("huaweicloudsdkcore.auth.credentials")
    core = pytest.importorskip("huaweicloudsdkcore.client")
    http_config = pytest.importorskip("huaweicloudsdkcore.http.http_config")
    # A generated service client is a Client subclass with a model package.
    client_type = type("CdnLikeClient", (core.Client,), {"model_package": types.SimpleNamespace()})

    credentials = auth.GlobalCredentials("HWAKTEST", "HWSKTEST", domain_id)
    if token:
        credentials = credentials.with_security_token(token)
    config = http_config.HttpConfig.get_default_config()
    config.user_agent = user_agent
    builder = core.ClientBuilder(client_type, "GlobalCredentials").with_credentials(credentials)
    return builder.with_http_config(config).with_endpoint("http://127.0.0.1:38517").build()


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("domain_id", ["0123456789abcdef0123456789abcdef", None])
def test_official_sdk_signed_requests_verify(
    sdk_wire: list[Any], name: str, domain_id: str | None
) -> None:
    method, path, path_params, query, body = CALLS[name]
    client = sdk_client(domain_id, token="STS-TOKEN-XYZ" if name == "capture20" else None)
    if name == "capture20":
        client.preset_headers = {"X-Auth-Token": "MIIT-fake-iam-token"}
    client.do_http_request(
        method=method,
        resource_path=path,
        path_params=path_params,
        query_params=query,
        header_params={"Content-Type": "application/json"},
        body=body,
        response_type="object",
        collection_formats={},
    )
    req = from_prepared(sdk_wire[-1])
    assert ("x-domain-id" in req.headers) == (domain_id is not None)
    assert verify_sdk_hmac_sha256(req, lookup, now=time.time()) == "HWAKTEST"
    assert error_of(req, time.time(), {"HWAKTEST": "x"}.get) == SIG_FAIL
    if body is not None:
        tampered = changed(req, body=req.body.replace(b"www.example.com", b"www.example.org"))
        assert error_of(tampered, time.time()) == SIG_FAIL


def test_official_sdk_non_ascii_user_agent_and_unsigned_payload(sdk_wire: list[Any]) -> None:
    client = sdk_client("dom", user_agent="ünïcode 中文 agent")
    client.do_http_request(
        method="POST",
        resource_path="/v1.0/cdn/content/refresh-tasks",
        path_params={},
        query_params=[],
        header_params={"Content-Type": "application/x-www-form-urlencoded"},
        body={"a": "1", "b": " +"},
        response_type="object",
        collection_formats={},
    )
    req = from_prepared(sdk_wire[-1])
    assert req.headers["x-sdk-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "ünïcode" not in req.headers["user-agent"]  # sent as Latin-1 of the UTF-8 bytes
    assert verify_sdk_hmac_sha256(req, lookup, now=time.time()) == "HWAKTEST"
