# ruff: noqa: E501  (the wire captures below are kept verbatim, long lines included)
"""SDK requests captured in shared/spec/tencent-huawei.md §4 (AK ``HWAKTEST``, SK
``HWSKTEST``) replayed byte for byte against the Huawei routes, in-process, with the
clock frozen at their ``X-Sdk-Date``: the signature (raw path, sorted query, exactly the
signed headers, body) verifies, and each answer is the one its content calls for.
(Capture 20 as transcribed in the spec does not verify, even with the bare verifier, so
its shape is re-signed here by the SDK's own signer.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from cdnctl.api.app import create_app
from cdnctl.testing import FrozenClock
from tests.dialects.huawei.huawei_harness import inprocess_runtime

UA = "huaweicloud-usdk-python/3.0; os/Linux##1_SMP_PREEMPT_DYNAMIC_@0#x86_64 python/3.11.7 impl/CPython; app/f9fd3d73-58c4-4e95-bd78-48786c445692"

CAPTURE_9 = f"""POST /v1.0/cdn/content/refresh-tasks?enterprise_project_id=0 HTTP/1.1
User-Agent: {UA}
Content-Type: application/json
X-Domain-Id: 0123456789abcdef0123456789abcdef
X-Sdk-Date: 20261122T214510Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-domain-id;x-sdk-date, Signature=4ef348df2ee97dac46c0cc99e7627936414474e988c8cb906126cc429fb012dc

{{"refresh_task": {{"type": "directory", "mode": "detect_modify_refresh", "zh_url_encode": true, "urls": ["http://www.example.com/dir/", "http://www.example.com/\\u4e2d\\u6587/"]}}}}"""

CAPTURE_18 = f"""POST /v1.0/cdn/content/refresh-tasks HTTP/1.1
User-Agent: {UA}
Content-Type: application/json
X-Sdk-Date: 20261122T214511Z
Host: 127.0.0.1:38517
Authorization: SDK-HMAC-SHA256 Access=HWAKTEST, SignedHeaders=content-type;host;user-agent;x-sdk-date, Signature=5a66385f8397570db3d4fad0f18be55f889c67de47603f016d947a297eb649d8

{{"refresh_task": {{"urls": ["http://www.example.com/a.txt"]}}}}"""

def parse(raw: str) -> tuple[str, str, dict[str, str], bytes]:
    head, _, body = raw.partition("\n\n")
    request_line, *lines = head.splitlines()
    method, target = request_line.split(" ")[:2]
    headers = dict(line.split(": ", 1) for line in lines)
    return method, target, headers, body.encode()


def stamp(raw: str) -> datetime:
    sdk_date = parse(raw)[2]["X-Sdk-Date"]
    return datetime.strptime(sdk_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(stamp(CAPTURE_18))


@pytest.fixture
async def send(clock: FrozenClock) -> AsyncIterator[object]:
    rt = inprocess_runtime(clock)
    await rt.repo.sync_config(rt.directory.accounts, rt.directory.sites, rt.directory.nodes)
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport) as client:

        async def replay(raw: str) -> httpx.Response:
            method, target, headers, body = parse(raw)
            url = httpx.URL("http://" + headers["Host"] + target)
            return await client.request(method, url, headers=headers, content=body)

        yield replay
    await rt.aclose()


async def test_capture_18_v1_refresh_without_domain_id(send, clock):
    r = await send(CAPTURE_18)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"refresh_task"}
    clock.advance(15 * 60 + 1)  # the same bytes, replayed 15 minutes later
    late = await send(CAPTURE_18)
    assert late.status_code == 401
    assert late.json()["error_code"] == "APIGW.0301"
    assert "expired" in late.json()["error_msg"]


async def test_capture_9_foreign_domain_id(send, clock):
    """Signed correctly, but its X-Domain-Id is not a cdnctl account id: 403 CDN.0021."""
    clock.set(stamp(CAPTURE_9))
    r = await send(CAPTURE_9)
    assert r.status_code == 403
    assert r.json()["error"]["error_code"] == "CDN.0021"
    tampered = CAPTURE_9.replace("detect_modify_refresh", "all" + " " * 18)
    assert len(tampered) == len(CAPTURE_9)
    r = await send(tampered)
    assert (r.status_code, r.json()["error_code"]) == (401, "APIGW.0301")
    assert r.json()["error_msg"].endswith("verify aksk signature fail")


def sdk_signed(when: datetime, resource_path: str, query: list[tuple[str, str]],
               headers: dict[str, str]) -> str:
    """A request signed by the SDK's own signer (as capture 20 was), as raw text."""
    request = SdkRequest(method="GET", schema="http", host="127.0.0.1:38517",
                         resource_path=resource_path, query_params=query,
                         header_params={"Content-Type": "application/json", "User-Agent": UA,
                                        "X-Sdk-Date": when.strftime("%Y%m%dT%H%M%SZ"),
                                        **headers})
    signed = Signer(GlobalCredentials("HWAKTEST", "HWSKTEST", "1001")).sign(request)
    lines = [f"GET {signed.uri} HTTP/1.1", *(f"{k}: {v}" for k, v in signed.header_params.items())]
    return "\n".join(lines) + "\n\n"


async def test_awkward_path_and_sts(send, clock):
    """Capture 20's shape: an id with a space, an encoded "/" and Chinese, a query with
    ``+`` and ``~``, a preset ``X-Auth-Token`` and an STS token, all signed. The encoded
    "/" is a separator when signing; the signature verifies, then the STS token is refused
    (cdnctl has no temporary credentials); without it, the unknown id is CDN.0003."""
    path = "/v1.0/cdn/historytasks/" + quote("id with space/中", safe="") + "/detail"
    query = [("url", "http://www.example.com/中文 a+b~c.txt")]
    extra = {"X-Auth-Token": "MIIT-fake-iam-token", "X-Domain-Id": "1001"}
    with_sts = sdk_signed(clock.now(), path, query, {**extra, "X-Security-Token": "STS-XYZ"})
    assert "id%20with%20space%2F%E4%B8%AD" in with_sts
    r = await send(with_sts)
    assert r.status_code == 401
    assert "security token" in r.json()["error_msg"]
    r = await send(sdk_signed(clock.now(), path, query, extra))
    assert (r.status_code, r.json()["error"]["error_code"]) == (404, "CDN.0003")
    stale = sdk_signed(clock.now() - timedelta(minutes=16), path, query, extra)
    assert json.loads((await send(stale)).text)["error_code"] == "APIGW.0301"
