"""Official Alibaba SDK clients pointed at a local cdnctl (spec §8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alibabacloud_cdn20180510.client import Client as CdnClient
from alibabacloud_esa20240910.client import Client as EsaClient
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from alibabacloud_tea_util.models import RuntimeOptions
from aliyunsdkcore.client import AcsClient

SCHEMES = ("acs3", "v2")
AK, SK = "testAK", "testSecret"
TOKEN = "tok-acme"


def settings_data(db: Path, varnish_url: str) -> dict[str, Any]:
    return {
        "server": {"workers": 1},
        "database": {"url": f"sqlite:///{db}"},
        "dispatch": {"attempt_timeout": 3.0, "max_attempts": 2, "backoff_initial": 0.05,
                     "poll_interval": 0.2, "task_deadline": 30.0},
        "accounts": [
            {"id": "1001", "name": "acme", "tokens": [TOKEN],
             "keys": [{"id": AK, "secret": SK}],
             "rate_limits": {"DescribeRefreshTasks": 1000, "DescribePurgeTasks": 1000}},
            {"id": "1002", "name": "other", "keys": [{"id": "otherAK", "secret": "otherSK"}]},
            {"id": "1003", "name": "tiny", "keys": [{"id": "tinyAK", "secret": "tinySK"}],
             "quotas": {"url": 3, "prefix": 1, "regex": 1, "url_ignore_params": 1,
                        "prefetch": 1, "block": 1},
             "rate_limits": {"DescribeRefreshTasks": 2, "DescribePurgeTasks": 2,
                             "DescribeRefreshQuota": 1000,
                             "RefreshUrlsPerDomainPerMinute": 2}},
        ],
        "sites": [
            {"account": "acme", "id": 11, "zone_id": "z-acme", "name": "example.com",
             "domains": ["www.example.com", "img.example.com"], "pool": "varnish"},
            {"account": "acme", "id": 12, "zone_id": "z-sim", "name": "sim.example",
             "domains": ["sim.example.com", "*.wild.example"], "pool": "sim"},
            {"account": "other", "id": 33, "zone_id": "z-other", "name": "other.example",
             "domains": ["www.other.example"], "pool": "sim"},
            {"account": "tiny", "id": 44, "zone_id": "z-tiny", "name": "tiny.example",
             "domains": ["www.tiny.example", "img.tiny.example", "api.tiny.example"],
             "pool": "sim"},
        ],
        "nodes": [
            {"name": "varnish-1", "pool": "varnish", "kind": "varnish", "url": varnish_url},
            {"name": "sim-1", "pool": "sim", "kind": "simulated"},
            {"name": "sim-2", "pool": "sim", "kind": "simulated"},
        ],
    }


def config(endpoint: str, scheme: str = "acs3", ak: str = "testAK",
           sk: str = "testSecret") -> Config:
    cfg = Config(access_key_id=ak, access_key_secret=sk, endpoint=endpoint, protocol="http",
                 read_timeout=20000, connect_timeout=5000)
    if scheme == "v2":
        cfg.signature_algorithm = "v2"
    return cfg


def cdn(endpoint: str, scheme: str = "acs3", **kw: str) -> CdnClient:
    return CdnClient(config(endpoint, scheme, **kw))


def esa(endpoint: str, scheme: str = "acs3", **kw: str) -> EsaClient:
    return EsaClient(config(endpoint, scheme, **kw))


def legacy(endpoint: str, ak: str = "testAK", sk: str = "testSecret") -> AcsClient:
    client = AcsClient(ak, sk, "cn-hangzhou", timeout=20, connect_timeout=5)
    client.add_endpoint("cn-hangzhou", "Cdn", endpoint)
    return client


def legacy_call(client: AcsClient, request: Any) -> dict[str, Any]:
    request.set_protocol_type("http")
    result: dict[str, Any] = json.loads(client.do_action_with_exception(request))
    return result


def generic(endpoint: str, action: str, query: dict[str, str], scheme: str = "acs3",
            version: str = "2018-05-10", **kw: str) -> dict[str, Any]:
    """OpenApiClient.call_api for operations the SDKs lack (BlockObjectCaches)."""
    client = OpenApiClient(config(endpoint, scheme, **kw))
    params = Params(action=action, version=version, protocol="HTTPS", pathname="/",
                    method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                    body_type="json")
    result: dict[str, Any] = client.call_api(params, OpenApiRequest(query=query),
                                             RuntimeOptions())
    return result


