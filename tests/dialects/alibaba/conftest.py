"""A running cdnctl (uvicorn in a thread, configured as ``cdnctl serve`` configures it)
in front of a real Varnish on loopback, for the Alibaba SDK tests.

One server for the whole package: pool ``varnish`` is a real varnishd in front of the
test origin; pool ``sim`` holds simulated nodes for error-condition tests where no
cache effect is asserted. Accounts:

* ``acme`` (``testAK``/``testSecret``): sites 11 (``www.example.com``,
  ``img.example.com``, varnish) and 12 (``sim.example.com`` + ``*.wild.example``, sim);
* ``other`` (``otherAK``): site 33 (``www.other.example``);
* ``tiny`` (``tinyAK``): tiny daily quotas and QPS limits, site 44 (sim).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import uvicorn

from cdnctl.api.app import create_app
from cdnctl.cli.server import MAX_REQUEST_HEAD
from cdnctl.config import parse
from cdnctl.storage import create_engine
from cdnctl.storage.migrations import upgrade
from tests.dialects.alibaba import alibaba_sdk as sdk
from tests.servers import Origin, ServerUnavailableError, VarnishServer, fetch, free_port

TOKEN = sdk.TOKEN
settings_data = sdk.settings_data


@dataclass
class Cdnctl:
    port: int
    origin: Origin
    varnish: VarnishServer
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def native(self, path: str) -> Any:
        """GET the native API as account acme (the same tasks, seen natively)."""
        r = httpx.get(self.url + path, headers={"Authorization": f"Bearer {TOKEN}"})
        r.raise_for_status()
        return r.json()

    def wait_task(self, task_id: str | int, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the native API until the task is finished."""
        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = self.native(f"/v1/tasks/{task_id}")
            task = detail.get("task", detail)
            if task["status"] in ("succeeded", "failed", "timed_out", "canceled"):
                return detail
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']}")
            time.sleep(0.05)

    def cache(self, path: str, host: str = "www.example.com") -> Any:
        """One client GET through Varnish."""
        return asyncio.run(fetch(self.varnish.url, path, host=host))


@pytest.fixture(scope="session")
def cdnctl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cdnctl]:
    origin = Origin().start()
    try:
        varnish = VarnishServer(origin.port, first_byte_timeout=1.0)
    except ServerUnavailableError as exc:
        origin.stop()
        sdk.unavailable(str(exc))
    varnish.start()
    db = tmp_path_factory.mktemp("alibaba") / "cdnctl.db"
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    settings = parse(settings_data(db, varnish.url))
    port = free_port()
    config = uvicorn.Config(create_app(settings=settings), host="127.0.0.1", port=port,
                            http="h11", lifespan="on", log_config=None, access_log=False,
                            h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("cdnctl did not start")
        time.sleep(0.02)
    try:
        yield Cdnctl(port, origin, varnish, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        varnish.close()
        origin.stop()


class FileServer:
    """A loopback HTTP server for upload URL-list files (``/path`` -> bytes)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, bytes]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, body = files.get(self.path, (404, b"not found"))
                if status == 0:  # hang: never answer within the fetch budget
                    time.sleep(12)
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def put(self, path: str, body: bytes, status: int = 200) -> str:
        self.files[path] = (status, body)
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs honour proxy variables; loopback must never go through one."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    _ = os.environ
