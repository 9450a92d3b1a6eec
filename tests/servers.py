"""Real servers on loopback for integration tests: an origin, Varnish and nginx.

``Origin`` is a threaded ``http.server`` on a free port.  Bodies are
deterministic (``<host><path?query> v<version> lang=<Accept-Language>``), hits
are counted per path+query, and each path can be configured with
:meth:`Origin.route` or per request with query parameters::

    ?cc=<Cache-Control>  ?xkey=a+b  ?tag=a,b (Cache-Tag)  ?vary=<header>
    ?status=500          ?hang=<seconds before answering>

``VarnishServer`` and ``NginxServer`` run the shipped contrib configuration
(``contrib/varnish/cdnctl.vcl``, ``contrib/nginx/cdnctl.conf``) with only the
origin address, ports and file paths rewritten, in a private temporary
directory; ``stop()``/``start()`` simulate a node going down and coming back,
``close()`` kills it for good and removes the directory.  A missing binary or
module raises :class:`ServerUnavailableError`.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
from yarl import URL

ROOT = Path(__file__).resolve().parents[1]
CONTRIB_VCL = ROOT / "contrib" / "varnish" / "cdnctl.vcl"
CONTRIB_NGINX = ROOT / "contrib" / "nginx" / "cdnctl.conf"
VMOD_DIRS = ("/usr/lib/x86_64-linux-gnu/varnish/vmods", "/usr/lib/aarch64-linux-gnu/varnish/vmods",
             "/usr/lib/varnish/vmods", "/usr/lib64/varnish/vmods", "/usr/local/lib/varnish/vmods")
NGINX_PURGE_MODULE = "/usr/lib/nginx/modules/ngx_http_cache_purge_module.so"


class ServerUnavailableError(RuntimeError):
    """A binary or module needed to run the server is not installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- origin --------------------------------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    cache_control: str | None = "max-age=300"
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering


class Origin:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.versions: Counter[str] = Counter()
        self._hits: Counter[str] = Counter()
        self.last_headers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "origin not started"
        return int(self._server.server_address[1])

    def start(self) -> Origin:
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 30

            def do_GET(self) -> None:
                origin._answer(self)

            def do_HEAD(self) -> None:
                origin._answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def route(self, path: str, **kwargs: object) -> None:
        """Configure answers for ``path`` (without query): see :class:`Route`."""
        with self._lock:
            self.routes[path] = Route(**kwargs)  # type: ignore[arg-type]

    def hits(self, path_qs: str) -> int:
        with self._lock:
            return self._hits[path_qs]

    def bump(self, path: str) -> None:
        """Change the body served for ``path`` (any query)."""
        with self._lock:
            self.versions[path] += 1

    def _answer(self, req: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(req.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self._hits[req.path] += 1
            self.last_headers[req.path] = dict(req.headers.items())
            route = self.routes.get(parts.path, Route())
            version = self.versions[parts.path]
        hang = float(query.get("hang", route.hang))
        if hang:
            self._stopping.wait(hang)
        host = req.headers.get("Host", "")
        lang = req.headers.get("Accept-Language", "")
        body = f"{host}{req.path} v{version} lang={lang}\n".encode()
        req.send_response(int(query.get("status", route.status)))
        headers = dict(route.headers)
        cache_control = query.get("cc", route.cache_control)
        if cache_control:
            headers["Cache-Control"] = cache_control
        for param, header in (("xkey", "xkey"), ("tag", "Cache-Tag"), ("vary", "Vary")):
            if param in query:
                headers[header] = query[param]
        headers["Content-Type"] = "text/plain"
        headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            req.send_header(name, value)
        req.end_headers()
        if req.command != "HEAD":
            with contextlib.suppress(OSError):
                req.wfile.write(body)


# -- cache servers -------------------------------------------------------------------------


def _replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise AssertionError(f"expected exactly one {old!r} in the contrib config")
    return text.replace(old, new)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, so a killed
    pytest (no teardown) does not leave servers behind.  Linux only."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class _Process:
    """A foreground server process in its own process group, in a private directory."""

    name = "server"

    def __init__(self, prefix: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, wait: float = 30.0) -> None:
        assert self.proc is None, f"{self.name} already running"
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {wait}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (and everything in its process group)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # stragglers (varnish child, workers)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        logs = [p for p in (self.dir / "server.log", self.dir / "error.log") if p.exists()]
        text = "\n".join(p.read_text(errors="replace") for p in logs)
        return "\n".join(text.splitlines()[-lines:])

    def _http_ok(self, method: str, path: str, headers: dict[str, str]) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request(method, path, headers=headers)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()


def varnish_vcl(origin_port: int, first_byte_timeout: float) -> str:
    """The contrib VCL with the origin (and its first-byte timeout) rewritten."""
    text = CONTRIB_VCL.read_text()
    text = _replace_once(text, '.host = "127.0.0.1";\n    .port = "8000";',
                         f'.host = "127.0.0.1";\n    .port = "{origin_port}";')
    return _replace_once(text, ".first_byte_timeout = 30s;",
                         f".first_byte_timeout = {first_byte_timeout}s;")


class VarnishServer(_Process):
    name = "varnishd"

    def __init__(self, origin_port: int, *, first_byte_timeout: float = 1.0) -> None:
        binary = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin:/usr/bin")
        if binary is None:
            raise ServerUnavailableError("varnishd is not installed")
        if not any(Path(d, "libvmod_xkey.so").exists() for d in VMOD_DIRS):
            raise ServerUnavailableError("varnish-modules (vmod xkey) is not installed")
        super().__init__("cdnctl-varnish-")
        self.binary = binary
        self.admin_port = free_port()
        (self.dir / "secret").write_bytes(os.urandom(32))
        (self.dir / "cdnctl.vcl").write_text(varnish_vcl(origin_port, first_byte_timeout))

    def command(self) -> list[str]:
        return [self.binary, "-F", "-j", "none", "-n", str(self.dir / "n"),
                "-a", f"127.0.0.1:{self.port}", "-T", f"127.0.0.1:{self.admin_port}",
                "-S", str(self.dir / "secret"), "-f", str(self.dir / "cdnctl.vcl"),
                "-p", "vcc_allow_inline_c=off", "-s", "malloc,64m"]

    def ready(self) -> bool:
        return self._http_ok("HEAD", "/", {"X-Cdnctl-Health": "1"})


def nginx_site_conf(origin_port: int, port: int, directory: Path) -> str:
    """The contrib nginx include with origin, listen port and paths rewritten."""
    text = CONTRIB_NGINX.read_text()
    text = _replace_once(text, "server 127.0.0.1:8080;", f"server 127.0.0.1:{origin_port};")
    text = _replace_once(text, "listen 80;", f"listen 127.0.0.1:{port};")
    text = text.replace("/var/cache/nginx/", f"{directory}/cache/")
    sock = directory / "blocks.sock"
    return text.replace("unix:/run/nginx-cdnctl-blocks.sock", f"unix:{sock}")


class NginxServer(_Process):
    name = "nginx"

    def __init__(self, origin_port: int, *, read_timeout: float = 1.0) -> None:
        binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/bin")
        if binary is None:
            raise ServerUnavailableError("nginx is not installed")
        if not Path(NGINX_PURGE_MODULE).exists():
            raise ServerUnavailableError("ngx_cache_purge (libnginx-mod-http-cache-purge) "
                                         "is not installed")
        super().__init__("cdnctl-nginx-")
        self.binary = binary
        (self.dir / "cache").mkdir()
        d = self.dir
        (d / "cdnctl.conf").write_text(nginx_site_conf(origin_port, self.port, d))
        user = "user root;\n" if os.geteuid() == 0 else ""
        (d / "nginx.conf").write_text(
            f"load_module {NGINX_PURGE_MODULE};\n{user}daemon off;\nworker_processes 1;\n"
            f"pid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n  access_log {d}/access.log;\n"
            + "".join(f"  {kind}_temp_path {d}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  proxy_read_timeout {round(read_timeout * 1000)}ms;\n"
            + f"  include {d}/cdnctl.conf;\n}}\n")

    def command(self) -> list[str]:
        return [self.binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                "-e", str(self.dir / "error.log")]

    def start(self, wait: float = 30.0) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "blocks.sock").unlink()  # left behind by a killed master
        super().start(wait)

    def ready(self) -> bool:
        return self._http_ok("GET", "/.cdnctl/health", {"Host": "localhost"})

    def crashes(self) -> int:
        """How many worker crashes nginx logged (must stay 0)."""
        log = self.dir / "error.log"
        return log.read_text(errors="replace").count("exited on signal") if log.exists() else 0


@dataclass
class CacheResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str

    @property
    def x_cache(self) -> str:
        return self.headers.get("x-cache", "")


async def fetch(base_url: str, path: str, *, host: str = "www.example.com",
                headers: dict[str, str] | None = None, method: str = "GET",
                local_addr: str | None = None) -> CacheResponse:
    """One request to a cache as a client would send it (fresh connection)."""
    connector = aiohttp.TCPConnector(local_addr=(local_addr, 0) if local_addr else None,
                                     force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector, auto_decompress=False,
                              skip_auto_headers=("Accept-Encoding",)) as session,
        session.request(method, URL(base_url + path, encoded=True),
                        headers={"Host": host, **(headers or {})},
                        allow_redirects=False) as resp,
    ):
        body = await resp.text()
        return CacheResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()}, body)


class HungServer:
    """A TCP port that accepts connections (kernel backlog) and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
