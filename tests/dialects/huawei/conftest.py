"""Fixtures of the Huawei dialect tests: ``hw``, one running cdnctl in front of real
Varnish nodes for the whole session (see :mod:`huawei_harness`)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

import cdnctl.api.dialects.huawei_cdn as huawei_cdn
from cdnctl.api.app import create_app
from cdnctl.cli.server import MAX_REQUEST_HEAD
from cdnctl.config import parse
from tests.dialects.huawei.huawei_harness import (
    DAY_SECONDS,
    Cdnctl,
    settings_data,
    start_varnish,
)
from tests.servers import Origin, VarnishServer, free_port


@pytest.fixture(scope="session")
def hw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdnctl]:
    origin = Origin().start()
    started: list[VarnishServer] = []
    for _ in range(3):
        start_varnish(origin, started)
    varnish, recover = started[:2], started[2]
    db = tmp_path_factory.mktemp("huawei") / "cdnctl.db"
    settings = parse(settings_data(db, [v.url for v in varnish], recover.url))
    saved = huawei_cdn.DIALECT
    huawei_cdn.DIALECT = huawei_cdn.HuaweiCdnDialect(day_seconds=DAY_SECONDS)
    port = free_port()
    try:
        app = create_app(settings=settings)
    finally:
        huawei_cdn.DIALECT = saved
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http="h11", lifespan="on",
                            log_config=None, access_log=False,
                            h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("cdnctl did not start")
            time.sleep(0.02)
        with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=32)) as http:
            yield Cdnctl(port, origin, varnish, recover, http)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        for s in started:
            s.close()
        origin.stop()


@pytest.fixture(autouse=True)
def _close_sdk_clients(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "hw" in request.fixturenames:
        hw: Cdnctl = request.getfixturevalue("hw")
        hw.close_clients()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK honours proxy variables; loopback must never go through one."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    _ = os.environ
