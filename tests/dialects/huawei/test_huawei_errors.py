"""Every documented Huawei error, through the SDK (``ClientRequestException`` with the
vendor code and the ``X-Request-Id``) and raw HTTP (the exact envelopes), including
tampered, expired and foreign signatures and the per-tenant throttles."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from huaweicloudsdkcdn.v2 import model as m2
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_handler import HttpHandler

from tests.dialects.huawei.huawei_harness import BURST_TOKEN, Cdnctl

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def expect(call: Callable[[], Any], status: int, code: str, msg: str | None = None) -> str:
    with pytest.raises(ClientRequestException) as info:
        call()
    e = info.value
    assert (e.status_code, e.error_code) == (status, code), e.error_msg
    assert HEX32.match(e.request_id), e.request_id
    if msg is not None:
        assert msg in e.error_msg
    return str(e.error_msg)


def refresh(client: Any, urls: list[str], **body: Any) -> Callable[[], Any]:
    return lambda: client.create_refresh_tasks(m2.CreateRefreshTasksRequest(
        body=m2.RefreshTaskRequest(refresh_task=m2.RefreshTaskRequestBody(urls=urls, **body))))


def preheat(client: Any, urls: list[str]) -> Callable[[], Any]:
    return lambda: client.create_preheating_tasks(m2.CreatePreheatingTasksRequest(
        body=m2.PreheatingTaskRequest(preheating_task=m2.PreheatingTaskRequestBody(urls=urls))))


def ban(client: Any, urls: list[str], action: str = "ban", days: int | None = None
        ) -> Callable[[], Any]:
    return lambda: client.create_access_control_task(m2.CreateAccessControlTaskRequest(
        action=action, body=m2.UrlAccessControlTaskRequestBody(
            access_control_urls=m2.AccessControlUrls(urls=urls, ban_duration=days))))


def urls(n: int, host: str = "sim.example.com", suffix: str = "") -> list[str]:
    stem = uuid.uuid4().hex[:6]
    return [f"http://{host}/{stem}/{i}{suffix}" for i in range(n)]


# -- content errors ----------------------------------------------------------------
def test_parameter_errors(hw: Cdnctl):
    c = hw.v2()
    expect(refresh(c, urls(1), type="regex"), 400, "CDN.0001", "refresh_task.type")
    expect(refresh(c, urls(1), type="directory", mode="changed"), 400, "CDN.0001")
    expect(refresh(c, ["ftp://sim.example.com/a"]), 400, "CDN.0001", "http://")
    expect(refresh(c, []), 400, "CDN.0001", "must not be empty")
    expect(ban(c, urls(1), days=31), 400, "CDN.0001", "ban_duration")
    expect(ban(c, urls(1), days=0), 400, "CDN.0001", "ban_duration")
    expect(ban(c, urls(1), action="block"), 400, "CDN.0001", "action")
    now = int(datetime.now(UTC).timestamp() * 1000)
    for query in ({"start_time": now}, {"end_time": now},
                  {"start_time": now - 8 * 86400_000, "end_time": now},
                  {"limit": 101}, {"status": "done"}):
        expect(lambda q=query: c.list_access_control_task(m2.ListAccessControlTaskRequest(**q)),
               400, "CDN.0001")
    for query in ({"page_size": 51, "page_number": 1}, {"page_size": 5},
                  {"start_time": now}):
        expect(lambda q=query: c.list_ban_url(m2.ListBanUrlRequest(**q)), 400, "CDN.0001")
    for query in ({"page_size": 30}, {"status": "running"},
                  {"order_field": "url", "order_type": "asc"},
                  {"page_size": 10001, "page_number": 1}):
        expect(lambda q=query: c.show_history_tasks(m2.ShowHistoryTasksRequest(**q)),
               400, "CDN.0001")


def test_too_many_urls(hw: Cdnctl):
    c = hw.v2()
    msg = "The number of URLs to be preheated or refreshed exceeds the upper limit."
    assert expect(refresh(c, urls(1001)), 400, "CDN.0110") == msg
    expect(refresh(c, urls(101, suffix="/"), type="directory"), 400, "CDN.0110")
    expect(preheat(c, urls(1001)), 400, "CDN.0110")
    assert expect(ban(c, urls(1001)), 400, "CDN.0005") == "The upper limit is exceeded."


def test_daily_quotas(hw: Cdnctl):
    tiny = hw.v2("TINYAK", "TINYSK", "1003")
    expect(refresh(tiny, urls(3, "www.tiny.example")), 400, "CDN.0110")
    refresh(tiny, urls(2, "www.tiny.example"))()  # exactly the quota
    expect(refresh(tiny, urls(1, "www.tiny.example")), 400, "CDN.0110")
    expect(preheat(tiny, urls(2, "www.tiny.example")), 400, "CDN.0110")
    expect(ban(tiny, urls(3, "www.tiny.example")), 400, "CDN.0005")
    quota = {q.type: (q.quota_limit, q.used) for q in tiny.show_quota(m2.ShowQuotaRequest()).quotas}
    assert quota["file_refresh"] == (2, 2)
    assert quota["preheat"] == (1, 0)


def test_domain_errors(hw: Cdnctl):
    c = hw.v2()
    expect(refresh(c, ["http://nobody.example/a"]), 400, "CDN.0105",
           "The acceleration domain name does not exist.")
    expect(refresh(c, ["http://sim.example.com/ok", "http://www.other.example/a"]),
           400, "CDN.0108")
    expect(preheat(c, ["http://purgeonly.example.com/a"]), 400, "CDN.0106")
    expect(ban(c, ["http://purgeonly.example.com/a"]), 400, "CDN.0106")


def test_unknown_history_tasks(hw: Cdnctl):
    c = hw.v2()

    def detail(task_id: str, **q: Any) -> Callable[[], Any]:
        return lambda: c.show_history_task_details(
            m2.ShowHistoryTaskDetailsRequest(history_tasks_id=task_id, **q))

    expect(detail("0" * 32), 404, "CDN.0003", "The object does not exist.")
    expect(detail("id with space/中"), 404, "CDN.0003")  # capture 20's awkward id
    ban_id = ban(c, urls(1))().task_id
    expect(detail(ban_id), 404, "CDN.0003")  # a ban is no history task
    mine = refresh(c, urls(1))().refresh_task
    expect(detail(mine, create_time=1), 400, "CDN.0001", "15 days")
    other = hw.v2("OTHERAK", "OTHERSK", "1002")
    expect(lambda: other.show_history_task_details(
        m2.ShowHistoryTaskDetailsRequest(history_tasks_id=mine)), 404, "CDN.0003")


# -- authentication ---------------------------------------------------------------------
def test_signature_errors(hw: Cdnctl):
    quota = m2.ShowQuotaRequest()
    expect(lambda: hw.v2(sk="wrong").show_quota(quota), 401, "APIGW.0301",
           "verify aksk signature fail")
    expect(lambda: hw.v2(ak="NOSUCHAK").show_quota(quota), 401, "APIGW.0301",
           "ak not exist")
    expect(lambda: hw.v2(domain_id="1002").show_quota(quota), 403, "CDN.0021")
    creds_with_sts = hw.v2()
    creds_with_sts.get_credentials().security_token = "STS-TOKEN-XYZ"
    expect(lambda: creds_with_sts.show_quota(quota), 401, "APIGW.0301", "security token")


@pytest.mark.parametrize(("minutes", "ok"), [(14, True), (-14, True), (16, False),
                                             (-16, False)])
def test_signature_age(hw: Cdnctl, minutes: int, ok: bool):
    client = hw.v2()
    when = datetime.now(UTC) - timedelta(minutes=minutes)
    client.preset_headers = {"X-Sdk-Date": when.strftime("%Y%m%dT%H%M%SZ")}
    if ok:
        assert client.show_quota(m2.ShowQuotaRequest()).quotas
    else:
        expect(lambda: client.show_quota(m2.ShowQuotaRequest()), 401, "APIGW.0301", "expired")


def tampering(hw: Cdnctl, change: Callable[[Any], None]) -> Any:
    """A v2 client whose requests are changed after the SDK signed them."""
    return hw.v2(handler=HttpHandler().add_request_handler(lambda **kw: change(kw["request"])))


def test_tampered_requests(hw: Cdnctl):
    def other_body(req: Any) -> None:
        req.body = req.body.replace(b"/a", b"/b")

    def other_query(req: Any) -> None:
        req.uri = req.uri.replace("page_size=30", "page_size=31")

    def other_domain_header(req: Any) -> None:
        req.header_params["X-Domain-Id"] = "1002"

    def drop_signed_header(req: Any) -> None:
        del req.header_params["X-Domain-Id"]

    expect(refresh(tampering(hw, other_body), ["http://sim.example.com/a"]), 401,
           "APIGW.0301", "verify aksk signature fail")
    query = m2.ShowHistoryTasksRequest(page_size=30, page_number=1)
    fail = "verify aksk signature fail"
    expect(lambda: tampering(hw, other_query).show_history_tasks(query), 401, "APIGW.0301",
           fail)
    expect(lambda: tampering(hw, other_domain_header).show_quota(m2.ShowQuotaRequest()),
           401, "APIGW.0301", fail)
    expect(lambda: tampering(hw, drop_signed_header).show_quota(m2.ShowQuotaRequest()),
           401, "APIGW.0301", fail)


# -- raw HTTP: envelopes ---------------------------------------------------------------
def gateway(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error_code"] == code
    assert body["request_id"] == r.headers["X-Request-Id"]
    assert set(body) == {"error_code", "error_msg", "request_id"}
    return body


def service(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert HEX32.match(r.headers["X-Request-Id"])
    body: dict[str, Any] = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"error_code", "error_msg"}
    assert body["error"]["error_code"] == code
    return body


def test_raw_envelopes(hw: Cdnctl):
    gateway(hw.raw("GET", "/v1.0/cdn/quota", token=None), 401, "APIGW.0301")
    msg = gateway(hw.raw("GET", "/v1.0/cdn/quota", token="nope"), 401, "APIGW.0301")
    assert msg["error_msg"].startswith("Incorrect IAM authentication information")
    gateway(hw.raw("GET", "/v1.0/cdn/content/url-blocks"), 404, "APIGW.0101")
    gateway(hw.raw("GET", "/v1.0/cdn/content/refresh-tasks"), 404, "APIGW.0101")
    gateway(hw.raw("GET", "/v1.0/cdn/contentgateway/url-tasks"), 404, "APIGW.0101")
    service(hw.raw("POST", "/v1.0/cdn/content/refresh-tasks", content=b"{not json",
                   headers={"Content-Type": "application/json"}), 400, "CDN.0001")
    service(hw.raw("POST", "/v1.0/cdn/content/preheating-tasks",
                   json={"preheating_task": {}}), 400, "CDN.0001")
    service(hw.raw("POST", "/v1.0/cdn/content/refresh-tasks",
                   json={"refresh_task": {"urls": ["http://sim.example.com/a"]}},
                   headers={"X-Domain-Id": "1002"}), 403, "CDN.0021")
    ok = hw.raw("POST", "/v1.0/cdn/content/refresh-tasks?enterprise_project_id=all",
                json={"refresh_task": {"urls": ["http://sim.example.com/a"]}},
                headers={"X-Domain-Id": "1001"})
    assert ok.status_code == 200
    assert set(ok.json()) == {"refresh_task"}
    body = service(hw.raw("POST", "/v1.0/cdn/content/refresh-tasks",
                          json={"refresh_task": {"urls": ["http://nobody.example/"]}}),
                   400, "CDN.0105")
    assert json.dumps(body).count("CDN.0105") == 1


# -- throttling -------------------------------------------------------------------------
def test_configured_throttle(hw: Cdnctl):
    """The tiny account is configured at 2 requests/s for these operations."""
    tiny = hw.v2("TINYAK", "TINYSK", "1003")
    create = ban(tiny, urls(1, "www.tiny.example"), action="unban")

    def three_creates() -> None:
        for _ in range(3):  # the bucket holds at most 2
            create()

    msg = expect(three_creates, 429, "APIGW.0308", "limit:2,time:1 second")
    assert msg.startswith("The throttling threshold has been reached")
    # On GET the SDK's own urllib3 retry policy turns any 429 into error_code "429"
    # before reading the body (an SDK quirk, see the docs); the status is what counts.
    def three_lists() -> None:
        for _ in range(3):
            tiny.list_ban_url(m2.ListBanUrlRequest())

    with pytest.raises(ClientRequestException) as info:
        three_lists()
    assert info.value.status_code == 429
    raw = hw.raw("GET", "/v1.0/cdn/content/ban-urls", token=None)
    gateway(raw, 401, "APIGW.0301")


def test_default_task_query_throttle_is_30_per_second(hw: Cdnctl):
    """60 concurrent queries from one tenant: about 30 pass, the rest are throttled."""
    def query(_: int) -> Any:
        return hw.raw("GET", "/v1.0/cdn/content/access-control-tasks", token=BURST_TOKEN)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(query, range(60)))
    passed = [r for r in answers if r.status_code == 200]
    throttled = [r for r in answers if r.status_code == 429]
    assert len(passed) + len(throttled) == 60
    assert 30 <= len(passed) < 60
    assert throttled
    body = gateway(throttled[0], 429, "APIGW.0308")
    assert "limit:30" in body["error_msg"]
    assert throttled[0].headers["Retry-After"] == "1"
    assert passed[0].json() == {"total": 0, "access_control_tasks": []}
