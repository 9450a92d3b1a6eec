"""The Huawei test harness: a running cdnctl (uvicorn in a thread, configured as
``cdnctl serve`` configures it) in front of real Varnish nodes on loopback, and the
helpers the SDK and raw HTTP tests share (the fixtures are in ``conftest.py``).

Pools: ``varnish`` = two real varnishd (``www.example.com``) in front of the test
origin; ``recover`` = one more varnishd (``recover.example.com``) that a test stops
and restarts; ``sim`` = simulated nodes (no cache effect asserted); ``purgeonly`` = a
simulated node that can only purge URLs (for ``CDN.0106``). Accounts:

* ``acme`` 1001 (``HWAKTEST``/``HWSKTEST``, token ``tok-acme``): the first three pools;
* ``other`` 1002 (``OTHERAK``): ``www.other.example``;
* ``tiny`` 1003 (``TINYAK``): tiny daily quotas and 2 requests/s limits;
* ``burst`` 1004 (token ``tok-burst``): default limits, for the 30 requests/s test.

A ``ban_duration`` day lasts :data:`DAY_SECONDS` seconds on this server (the dialect's
``day_seconds`` knob), so that a ban can be watched expiring on a real Varnish.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from huaweicloudsdkcdn.v1 import CdnClient as CdnClientV1
from huaweicloudsdkcdn.v2 import CdnClient as CdnClientV2
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_handler import HttpHandler

from cdnctl.app import Runtime
from cdnctl.config import parse
from cdnctl.core.service import ContentService
from cdnctl.edges import create_edge
from cdnctl.limits.ratelimit import MemoryRateLimiter
from cdnctl.metrics import PrometheusMetrics
from cdnctl.testing import FrozenClock, InMemoryTaskRepository, InMemoryUploadRepository
from tests.fixtures_servers import unavailable
from tests.servers import Origin, ServerUnavailableError, VarnishServer, fetch

AK, SK, ACME = "HWAKTEST", "HWSKTEST", "1001"
TOKEN, BURST_TOKEN = "tok-acme", "tok-burst"
DAY_SECONDS = 3
FINAL = ("succeeded", "failed", "timed_out", "canceled")


def settings_data(db: Path, varnish: list[str], recover: str) -> dict[str, Any]:
    return {
        "server": {"workers": 1, "max_body_bytes": 1024 * 1024},
        "database": {"url": f"sqlite:///{db}"},
        "dispatch": {"attempt_timeout": 2.0, "max_attempts": 2, "backoff_initial": 0.05,
                     "poll_interval": 0.1, "task_deadline": 20.0},
        "accounts": [
            {"id": ACME, "name": "acme", "tokens": [TOKEN], "keys": [{"id": AK, "secret": SK}]},
            {"id": "1002", "name": "other", "keys": [{"id": "OTHERAK", "secret": "OTHERSK"}]},
            {"id": "1003", "name": "tiny", "keys": [{"id": "TINYAK", "secret": "TINYSK"}],
             "quotas": {"url": 2, "prefix": 1, "prefetch": 1, "block": 2},
             "rate_limits": {"huawei-cdn:ListAccessControlTask": 2,
                             "huawei-cdn:ListBanUrl": 2,
                             "huawei-cdn:CreateAccessControlTask": 2}},
            {"id": "1004", "name": "burst", "tokens": [BURST_TOKEN]},
        ],
        "sites": [
            {"account": "acme", "id": 1, "zone_id": "z-www", "name": "example.com",
             "domains": ["www.example.com"], "pool": "varnish"},
            {"account": "acme", "id": 2, "zone_id": "z-rec", "name": "recover.example.com",
             "domains": ["recover.example.com"], "pool": "recover"},
            {"account": "acme", "id": 3, "zone_id": "z-sim", "name": "sim.example.com",
             "domains": ["sim.example.com"], "pool": "sim"},
            {"account": "acme", "id": 4, "zone_id": "z-po", "name": "purgeonly.example.com",
             "domains": ["purgeonly.example.com"], "pool": "purgeonly"},
            {"account": "other", "id": 5, "zone_id": "z-other", "name": "other.example",
             "domains": ["www.other.example"], "pool": "sim"},
            {"account": "tiny", "id": 6, "zone_id": "z-tiny", "name": "tiny.example",
             "domains": ["www.tiny.example"], "pool": "sim"},
        ],
        "nodes": [
            *({"name": f"varnish-{i + 1}", "pool": "varnish", "kind": "varnish", "url": url}
              for i, url in enumerate(varnish)),
            {"name": "recover-1", "pool": "recover", "kind": "varnish", "url": recover},
            {"name": "sim-1", "pool": "sim", "kind": "simulated"},
            {"name": "sim-2", "pool": "sim", "kind": "simulated"},
            {"name": "po-1", "pool": "purgeonly", "kind": "simulated",
             "capabilities": ["purge_url"]},
        ],
    }


@dataclass
class Cdnctl:
    port: int
    origin: Origin
    varnish: list[VarnishServer]
    recover: VarnishServer
    http: httpx.Client
    clients: list[Any] = field(default_factory=list)  # SDK clients to close after the test

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def v2(self, ak: str = AK, sk: str = SK, domain_id: str | None = ACME,
           handler: HttpHandler | None = None) -> CdnClientV2:
        creds = GlobalCredentials(ak, sk, domain_id) if domain_id else GlobalCredentials(ak, sk)
        builder = CdnClientV2.new_builder().with_credentials(creds).with_endpoint(self.url)
        if handler is not None:
            builder = builder.with_http_handler(handler)
        return self.track(builder.build())

    def v1(self, ak: str = AK, sk: str = SK, domain_id: str | None = ACME) -> CdnClientV1:
        creds = GlobalCredentials(ak, sk, domain_id) if domain_id else GlobalCredentials(ak, sk)
        return self.track(
            CdnClientV1.new_builder().with_credentials(creds).with_endpoint(self.url).build())

    def track(self, client: Any) -> Any:
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close the SDK clients' HTTP sessions (their sockets would leak until GC)."""
        while self.clients:
            http = self.clients.pop().get_http_client()
            if http is not None:
                http.close()

    def raw(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any
            ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["X-Auth-Token"] = token
        return self.http.request(method, self.url + path, headers=headers, **kwargs)

    def job(self, job_id: str) -> dict[str, Any]:
        r = self.http.get(f"{self.url}/v1/jobs/{job_id}",
                          headers={"Authorization": f"Bearer {TOKEN}"})
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def wait_job(self, job_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the native API until every task of the job is finished."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if all(t["status"] in FINAL for t in job["tasks"]):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} unfinished: {job}")
            time.sleep(0.05)

    def get(self, node: VarnishServer, path: str, host: str = "www.example.com") -> Any:
        """One client GET through a Varnish node."""
        return asyncio.run(fetch(node.url, path, host=host))


def start_varnish(origin: Origin, started: list[VarnishServer]) -> VarnishServer:
    try:
        server = VarnishServer(origin.port, first_byte_timeout=1.0)
    except ServerUnavailableError as exc:
        for s in started:
            s.close()
        origin.stop()
        unavailable(str(exc))
    server.start()
    started.append(server)
    return server


def inprocess_runtime(clock: FrozenClock) -> Runtime:
    """A runtime over the in-memory repository and simulated nodes, on ``clock``
    (account 1001 ``acme``: AK/SK ``HWAKTEST``/``HWSKTEST``, token ``tok-acme``)."""
    settings = parse({
        "server": {"max_body_bytes": 65536},
        "accounts": [{"id": ACME, "name": "acme", "tokens": [TOKEN],
                      "keys": [{"id": AK, "secret": SK}], "quotas": {"block": 5000}}],
        "sites": [{"account": "acme", "id": 1, "zone_id": "z1", "name": "example.com",
                   "domains": ["www.example.com"], "pool": "sim"}],
        "nodes": [{"name": "sim-1", "pool": "sim", "kind": "simulated", "latency_ms": 0}],
    })
    directory = settings.directory()
    edges = {n.name: create_edge(n, timeout=1.0) for n in directory.nodes}
    directory = replace(directory, capabilities={k: e.capabilities for k, e in edges.items()})
    repo = InMemoryTaskRepository()
    service = ContentService(repo, directory, clock, limiter=MemoryRateLimiter(),
                             limits=settings.core_limits())
    return Runtime(settings=settings, directory=directory, repo=repo,
                   uploads=InMemoryUploadRepository(), service=service,
                   clock=clock, edges=dict(edges), metrics=PrometheusMetrics())
