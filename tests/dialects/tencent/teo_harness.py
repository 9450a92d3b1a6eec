"""Helpers for the EdgeOne SDK tests: a running cdnctl (``create_app(settings=...)``
under uvicorn in a thread, SQLite, in-process workers), official SDK clients, polling.

Zones of account ``acme`` (key ``AKIDtest``/``SKtest``):

* ``zone-abc``  www.example.com, img.example.com -> a real varnishd (contrib VCL)
* ``zone-sim``  sim.example.net, *.wild.example.net -> a simulated node
* ``zone-fail`` fail.example.net -> a simulated node that always fails
* ``zone-slow`` slow.example.net -> a simulated node slower than the task deadline
* ``zone-lim``  lim.example.net -> a simulated node that can only purge URLs

Account ``throttled`` (``AKIDslow``) has ``rate_limits = {DescribeContentQuota = 2}``;
account ``other`` (``AKIDother``) owns ``zone-other``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.teo.v20220901 import models, teo_client

from cdnctl.api.app import create_app
from cdnctl.config import parse
from tests.servers import free_port

TOKEN = "tok-acme"
TaskRows = list[dict[str, Any]]

def settings_for(db: Path, varnish_url: str) -> dict[str, Any]:
    sim = {"kind": "simulated", "latency_ms": 0.0}
    return {
        "server": {"workers": 2},
        "database": {"url": f"sqlite:///{db}"},
        "dispatch": {"attempt_timeout": 5.0, "max_attempts": 1, "backoff_initial": 0.0,
                     "task_deadline": 2.5, "poll_interval": 0.05},
        "accounts": [
            {"id": "1001", "name": "acme", "tokens": [TOKEN],
             "keys": [{"id": "AKIDtest", "secret": "SKtest"}]},
            {"id": "1002", "name": "throttled", "keys": [{"id": "AKIDslow", "secret": "SKslow"}],
             "rate_limits": {"DescribeContentQuota": 2}},
            {"id": "1003", "name": "other", "keys": [{"id": "AKIDother", "secret": "SKother"}]},
        ],
        "sites": [
            {"account": "acme", "id": 1, "zone_id": "zone-abc", "name": "example.com",
             "domains": ["www.example.com", "img.example.com"], "pool": "varnish"},
            {"account": "acme", "id": 2, "zone_id": "zone-sim", "name": "sim",
             "domains": ["sim.example.net", "*.wild.example.net"], "pool": "sim"},
            {"account": "acme", "id": 3, "zone_id": "zone-fail", "name": "fail",
             "domains": ["fail.example.net"], "pool": "failing"},
            {"account": "acme", "id": 4, "zone_id": "zone-slow", "name": "slow",
             "domains": ["slow.example.net"], "pool": "slow"},
            {"account": "acme", "id": 5, "zone_id": "zone-lim", "name": "lim",
             "domains": ["lim.example.net"], "pool": "limited"},
            {"account": "throttled", "id": 6, "zone_id": "zone-thr", "name": "thr",
             "domains": ["thr.example.net"], "pool": "sim"},
            {"account": "other", "id": 7, "zone_id": "zone-other", "name": "other",
             "domains": ["www.other.example"], "pool": "sim"},
        ],
        "nodes": [
            {"name": "v1", "pool": "varnish", "kind": "varnish", "url": varnish_url},
            {"name": "s1", "pool": "sim", **sim},
            {"name": "f1", "pool": "failing", **sim, "failure_rate": 1.0},
            {"name": "w1", "pool": "slow", "kind": "simulated", "latency_ms": 6000.0},
            {"name": "l1", "pool": "limited", **sim, "capabilities": ["purge_url"]},
        ],
    }


class TeoServer:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.port = free_port()
        self.app = create_app(settings=parse(settings))
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("cdnctl did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    def client(self, *, method: str = "POST", sign: str = "TC3-HMAC-SHA256",
               language: str = "en-US", key: str = "AKIDtest", secret: str = "SKtest",
               token: str | None = None) -> teo_client.TeoClient:
        http = HttpProfile(protocol="http", endpoint=self.endpoint, reqMethod=method)
        profile = ClientProfile(httpProfile=http, language=language, signMethod=sign)
        return teo_client.TeoClient(credential.Credential(key, secret, token), "", profile)

    def native(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"http://{self.endpoint}{path}",
                             headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10,
                             **kwargs)


# -- SDK helpers ------------------------------------------------------------------------------


def call(client: teo_client.TeoClient, action: str, **fields: Any) -> Any:
    """``client.<action>(<action>Request(**fields))`` through the official SDK."""
    req = getattr(models, f"{action}Request")()
    req._deserialize(fields)
    return getattr(client, action)(req)


def sdk_error(fn: Callable[[], Any]) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        fn()
    exc = info.value
    assert exc.get_request_id(), "every error carries a RequestId"
    return exc


def job_rows(client: teo_client.TeoClient, job_id: str, zone: str = "zone-abc", *,
             prefetch: bool = False) -> TaskRows:
    action = "DescribePrefetchTasks" if prefetch else "DescribePurgeTasks"
    resp = call(client, action, ZoneId=zone, Filters=[{"Name": "job-id", "Values": [job_id]}],
                Limit=1000)
    return [json_row(t) for t in resp.Tasks]


def json_row(task: Any) -> dict[str, Any]:
    return {k: v for k, v in (("JobId", task.JobId), ("Target", task.Target),
                              ("Type", task.Type), ("Method", task.Method),
                              ("Status", task.Status), ("CreateTime", task.CreateTime),
                              ("UpdateTime", task.UpdateTime), ("FailType", task.FailType),
                              ("FailMessage", task.FailMessage)) if v is not None}


def settle(client: teo_client.TeoClient, job_id: str, zone: str = "zone-abc", *,
           prefetch: bool = False, wait: float = 10.0) -> TaskRows:
    """Poll until no row of the job is ``processing``; return its rows."""
    deadline = time.monotonic() + wait
    while True:
        found = job_rows(client, job_id, zone, prefetch=prefetch)
        if found and all(r["Status"] != "processing" for r in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still processing: {found}")
        time.sleep(0.05)


@contextlib.contextmanager
def patched(obj: Any, name: str, value: Any) -> Iterator[None]:
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)
