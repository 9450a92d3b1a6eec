"""What every HTTP edge adapter shares: error mapping, the connection pool, status rules.

:func:`map_errors` is the single place where HTTP client / asyncio / OS failures
become the core :class:`~cdnctl.core.edge.EdgeError` tree (most specific class
first, always chained with ``from``).  :class:`HttpEdge` owns one
:class:`cdnctl.edges._http.Pool` per adapter: keep-alive connections to the node
(``limit_per_host`` from the node options, default 8), and turns a target URL
into the ``Host`` header and request path the cache node expects.
"""

from __future__ import annotations

import functools
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from yarl import URL

from cdnctl.core.edge import (
    EdgeError,
    EdgeOp,
    EdgeRejectedError,
    EdgeResult,
    EdgeServerError,
    EdgeTimeoutError,
    EdgeUnreachableError,
    EdgeUnsupportedError,
    NodeHealth,
    OriginError,
)
from cdnctl.core.model import Action, Capability, Node, TargetType
from cdnctl.edges._http import (
    ConnectError,
    Headers,
    InvalidRequestError,
    Pool,
    ProtocolError,
    ServerDisconnectedError,
)

DEFAULT_LIMIT_PER_HOST = 8
USER_AGENT = "cdnctl-edge/0.1"
DETAIL_CHARS = 200  # how much of a response body goes into an error message
ABSENT_STATUSES = frozenset({404, 412})  # ngx_cache_purge: "that was not cached"
FOREVER_SECONDS = 10 * 365 * 86400  # the marker TTL of a block without expiry


@contextmanager
def map_errors(node_name: str) -> Iterator[None]:
    """Translate client-side failures talking to ``node_name`` into EdgeErrors."""
    try:
        yield
    except EdgeError:
        raise
    except TimeoutError as exc:  # the request's total timeout (asyncio.timeout)
        raise EdgeTimeoutError(f"{node_name}: no answer in time ({_text(exc)})") from exc
    except InvalidRequestError as exc:  # bad method, target or header: cannot be sent
        raise EdgeRejectedError(f"{node_name}: invalid request ({_text(exc)})") from exc
    except ConnectError as exc:  # refused, unroutable, DNS, TLS handshake
        raise EdgeUnreachableError(f"{node_name}: cannot connect ({_text(exc)})") from exc
    except ServerDisconnectedError as exc:  # closed/reset before any byte of the answer
        raise EdgeUnreachableError(f"{node_name}: connection closed ({_text(exc)})") from exc
    except ProtocolError as exc:  # bad status line or headers, bad framing, truncated
        raise EdgeServerError(f"{node_name}: malformed answer ({_text(exc)})") from exc
    except OSError as exc:  # ConnectionResetError mid-answer, ...
        raise EdgeUnreachableError(f"{node_name}: connection error ({_text(exc)})") from exc


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def check_status(node_name: str, status: int, text: str = "", *, absent_ok: bool = False) -> bool:
    """Apply the status rules; return False for "nothing was cached" (404/412 on a purge).

    2xx is success; with ``absent_ok`` 404 and 412 count as success (nothing to
    purge); 429 and 5xx raise :class:`EdgeServerError`; anything else raises
    :class:`EdgeRejectedError`.
    """
    if 200 <= status < 300:
        return True
    if absent_ok and status in ABSENT_STATUSES:
        return False
    message = f"{node_name}: HTTP {status}" + (f": {text}" if text else "")
    if status == 429 or status >= 500:
        raise EdgeServerError(message, http_status=status)
    raise EdgeRejectedError(message, http_status=status)


def require(edge_name: str, kind: str, capabilities: frozenset[Capability], op: EdgeOp) -> None:
    """Raise EdgeUnsupportedError unless the node has every capability ``op`` needs."""
    missing = Capability.needed(op.action, op.type, op.method) - capabilities
    if missing:
        names = ", ".join(sorted(c.value for c in missing))
        raise EdgeUnsupportedError(
            f"{edge_name}: a {kind} node cannot {op.action.value} {op.type.value} "
            f"({op.method.value}); missing {names}")


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A URL target split the way a cache node sees it."""

    netloc: str  # the Host header: host[:port]
    host: str  # lower-case host name, no port
    path: str  # raw (percent-encoded) path
    path_qs: str  # raw path + "?" + query


@functools.lru_cache(maxsize=1024)  # a fan-out splits the same URL once per node
def split_url(url: str) -> UrlParts:
    u = URL(url)
    host = (u.raw_host or "").lower()
    if not host:
        raise EdgeRejectedError(f"target {url!r} has no host")
    netloc = host if u.explicit_port is None else f"{host}:{u.explicit_port}"
    return UrlParts(netloc=netloc, host=host, path=u.raw_path or "/", path_qs=u.raw_path_qs or "/")


def block_request(edge_name: str, op: EdgeOp) -> tuple[UrlParts, int]:
    """The URL a block/unblock acts on and the marker TTL in seconds."""
    if op.type is not TargetType.URL:
        raise EdgeUnsupportedError(f"{edge_name}: only exact URLs can be blocked")
    ttl = op.block_ttl_seconds
    if ttl is not None and ttl <= 0:
        raise EdgeRejectedError(f"{edge_name}: block TTL must be positive, got {ttl}")
    return split_url(op.target), FOREVER_SECONDS if ttl is None else min(ttl, FOREVER_SECONDS)


def block_span(op: EdgeOp) -> str:
    return "until unblocked" if op.block_ttl_seconds is None else f"for {op.block_ttl_seconds}s"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Headers  # case-insensitive
    text: str  # the start of the body (for messages)

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


def prefetch_result(node_name: str, reply: Reply) -> EdgeResult:
    """Judge a prefetch answer from a node running the cdnctl VCL / nginx config.

    The node marks answers to a prefetch with ``X-Cdnctl-Result: Prefetched``,
    its own upstream failures with ``X-Cdnctl-Error: origin_5xx|origin_timeout``
    and (Varnish) an answer it did not store with ``X-Cdnctl-Cacheable: 0``.
    OriginError codes: origin_5xx, origin_timeout, origin_4xx, origin_3xx,
    origin_uncacheable.
    """
    status = reply.status
    if reply.header("X-Cdnctl-Result") != "Prefetched":
        check_status(node_name, status, reply.text)
        raise EdgeRejectedError(
            f"{node_name}: HTTP {status} without the cdnctl prefetch marker "
            "(control headers not honoured: ACL or config missing)", http_status=status)
    error = reply.header("X-Cdnctl-Error")
    if error == "origin_timeout":
        raise OriginError(f"{node_name}: origin timed out (HTTP {status})",
                          code="origin_timeout", http_status=status)
    if error or status >= 500:
        raise OriginError(f"{node_name}: origin failed (HTTP {status})",
                          code="origin_5xx", http_status=status)
    if reply.header("X-Cdnctl-Cacheable") == "0":
        raise OriginError(f"{node_name}: origin answered HTTP {status} but the response "
                          "is not cacheable (Cache-Control / Set-Cookie)",
                          code="origin_uncacheable", http_status=status)
    if 200 <= status < 300 or status == 304:
        return EdgeResult(status, f"prefetched (origin HTTP {status}, X-Cache "
                                  f"{reply.header('X-Cache') or '-'})")
    code = "origin_4xx" if status >= 400 else "origin_3xx"
    raise OriginError(f"{node_name}: origin answered HTTP {status}", code=code, http_status=status)


class HttpEdge:
    """Base for adapters that speak HTTP to one cache node.

    ``apply`` checks the capability and routes by action; a subclass provides
    ``_prefetch``, ``_block``, ``_unblock`` and ``_purge`` (which routes by target type).
    """

    kind: str = "http"
    capabilities: frozenset[Capability]

    async def apply(self, op: EdgeOp) -> EdgeResult:
        require(self.name, self.kind, self.capabilities, op)
        if op.action is Action.PREFETCH:
            return await self._prefetch(op)
        if op.action is Action.BLOCK:
            return await self._block(op)
        if op.action is Action.UNBLOCK:
            return await self._unblock(op)
        return await self._purge(op)

    async def _prefetch(self, op: EdgeOp) -> EdgeResult:
        raise EdgeUnsupportedError(f"{self.name}: prefetch is not implemented by {self.kind}")

    async def _block(self, op: EdgeOp) -> EdgeResult:
        raise EdgeUnsupportedError(f"{self.name}: block is not implemented by {self.kind}")

    async def _unblock(self, op: EdgeOp) -> EdgeResult:
        raise EdgeUnsupportedError(f"{self.name}: unblock is not implemented by {self.kind}")

    async def _purge(self, op: EdgeOp) -> EdgeResult:
        raise EdgeUnsupportedError(f"{self.name}: purge is not implemented by {self.kind}")

    def __init__(self, node: Node, *, timeout: float) -> None:
        self.name = node.name
        self.node = node
        self.timeout = float(timeout)
        self.options: Mapping[str, Any] = node.options
        url = URL(node.url)
        self.base = str(url.origin())
        self.limit_per_host = int(self.options.get("limit_per_host", DEFAULT_LIMIT_PER_HOST))
        if self.limit_per_host < 1:
            raise ValueError(f"node {node.name}: limit_per_host must be >= 1")
        # Below Varnish's timeout_idle (5 s) so we rarely reuse a connection it closed.
        self.keepalive_timeout = float(self.options.get("keepalive_timeout", 4.0))
        self._address = (url.raw_host or "localhost", url.port or 80, url.scheme == "https")
        self._pool: Pool | None = None

    def _client(self) -> Pool:
        """The adapter's connection pool (connections are opened on first use)."""
        if self._pool is None:
            host, port, tls = self._address
            self._pool = Pool(host, port, limit=self.limit_per_host,
                              keepalive_timeout=self.keepalive_timeout,
                              ssl=ssl.create_default_context() if tls else None,
                              user_agent=USER_AGENT, keep=DETAIL_CHARS)
        return self._pool

    async def request(self, method: str, path_qs: str, *, host: str,
                      headers: Mapping[str, str] | None = None,
                      total_seconds: float | None = None) -> Reply:
        """Send one request to the node; the body is always read to the end.

        ``total_seconds`` overrides the adapter timeout for this request.  A connection
        the node closes before answering (typically a kept-alive one it timed out just
        as we reused it) is retried once on a new connection: every cdnctl operation is
        safe to repeat."""
        with map_errors(self.name):
            resp = await self._client().request(
                method, path_qs, host=host, headers=headers,
                total_seconds=self.timeout if total_seconds is None else total_seconds)
        text = " ".join(resp.body.decode("utf-8", "replace").split())
        return Reply(resp.status, resp.headers, text)

    async def prefetch(self, op: EdgeOp, method: str) -> EdgeResult:
        """Fetch ``op.target`` through the node with the prefetch marker (forced miss,
        stored), forwarding the task's headers; ``prefetch_timeout`` may extend the wait."""
        url = split_url(op.target)
        headers = {**op.headers, "X-Cdnctl-Prefetch": "1"}
        timeout = self.options.get("prefetch_timeout")
        reply = await self.request(method, url.path_qs, host=url.netloc, headers=headers,
                                   total_seconds=float(timeout) if timeout is not None else None)
        return prefetch_result(self.name, reply)

    async def probe(self, method: str, path: str, headers: Mapping[str, str],
                    expect: str) -> NodeHealth:
        """A health request: up when the node answers 200 with ``X-Cdnctl-Result: expect``."""
        t0 = time.perf_counter()
        host = URL(self.node.url).raw_host or "localhost"
        try:
            reply = await self.request(method, path, host=host, headers=headers)
        except EdgeError as exc:
            return NodeHealth(up=False, latency_ms=None, detail=f"{exc.code}: {exc}")
        latency = (time.perf_counter() - t0) * 1000
        if reply.status == 200 and reply.header("X-Cdnctl-Result") == expect:
            return NodeHealth(up=True, latency_ms=latency, detail=expect,
                              instance=reply.header("X-Cdnctl-Boot") or "")
        return NodeHealth(up=False, latency_ms=latency,
                          detail=f"HTTP {reply.status} without the cdnctl health marker")

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
