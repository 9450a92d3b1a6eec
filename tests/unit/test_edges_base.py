"""map_errors (also through an adapter, against tiny servers), status rules, URL/regex
helpers and checks done before any I/O."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from cdnctl.core.edge import (
    EdgeError,
    EdgeOp,
    EdgeRejectedError,
    EdgeServerError,
    EdgeTimeoutError,
    EdgeUnreachableError,
    EdgeUnsupportedError,
    OriginError,
)
from cdnctl.core.model import Action, Method, Node, TargetType
from cdnctl.edges import create_edge
from cdnctl.edges._http import (
    ConnectError,
    Headers,
    InvalidRequestError,
    ProtocolError,
    ServerDisconnectedError,
)
from cdnctl.edges.base import Reply, check_status, map_errors, prefetch_result, split_url
from cdnctl.edges.varnish import split_url_regex, vcl_regex


@pytest.mark.parametrize(("exc", "expected"), [
    (TimeoutError(), EdgeTimeoutError),
    (ConnectError("cannot connect to node:6081: Connection refused"), EdgeUnreachableError),
    (ConnectionRefusedError(111, "Connection refused"), EdgeUnreachableError),
    (socket.gaierror(-2, "Name or service not known"), EdgeUnreachableError),
    (ServerDisconnectedError("server closed the connection before answering"),
     EdgeUnreachableError),
    (ConnectionResetError(104, "Connection reset by peer"), EdgeUnreachableError),
    (ConnectionAbortedError("connection closed by the client"), EdgeUnreachableError),
    (OSError(113, "No route to host"), EdgeUnreachableError),
    (ProtocolError("malformed status line b'HTTP/1.1 OK'"),
     EdgeServerError),
    (ProtocolError("connection closed mid-answer"),
     EdgeServerError),
    (InvalidRequestError("illegal header value b'a\\r\\nb'"), EdgeRejectedError),
])
def test_map_errors_translates_most_specific_first(exc, expected):
    with pytest.raises(EdgeError) as err, map_errors("v1"):
        raise exc
    assert type(err.value) is expected
    assert err.value.__cause__ is exc
    assert str(err.value).startswith("v1: ")


def test_map_errors_leaves_edge_errors_and_bugs_alone():
    original = EdgeRejectedError("already mapped")
    with pytest.raises(EdgeRejectedError) as err, map_errors("v1"):
        raise original
    assert err.value is original
    with pytest.raises(KeyError), map_errors("v1"):
        raise KeyError("a bug is not an edge failure")


def test_check_status_rules():
    assert check_status("n", 200) is True
    assert check_status("n", 204) is True
    assert check_status("n", 404, absent_ok=True) is False
    assert check_status("n", 412, absent_ok=True) is False
    for status, cls in ((404, EdgeRejectedError), (405, EdgeRejectedError),
                        (403, EdgeRejectedError), (301, EdgeRejectedError),
                        (429, EdgeServerError), (500, EdgeServerError), (503, EdgeServerError)):
        with pytest.raises(cls) as err:
            check_status("n", status, "body text")
        assert err.value.http_status == status
        assert "body text" in str(err.value)


def test_split_url():
    parts = split_url("http://WWW.Example.com:8080/a%20b/c?x=1&y")
    assert (parts.netloc, parts.host) == ("www.example.com:8080", "www.example.com")
    assert (parts.path, parts.path_qs) == ("/a%20b/c", "/a%20b/c?x=1&y")
    assert split_url("https://example.com").path_qs == "/"
    assert split_url("http://a.com/图片.png").path == "/%E5%9B%BE%E7%89%87.png"


@pytest.mark.parametrize(("pattern", "host", "path_regex"), [
    (r"https?://www\.example\.com/img/.*\.png", "www.example.com", r"^(?:/img/.*\.png)"),
    (r"^https://a\.com/x$", "a.com", r"^(?:/x$)"),
    (r"(https?)://a\-b\.com\/x|/y", "a-b.com", r"^(?:\/x|/y)"),
    (r"http://a\.com", "a.com", None),
])
def test_split_url_regex(pattern, host, path_regex):
    assert split_url_regex(pattern) == (host, path_regex)


def test_split_url_regex_needs_a_literal_host():
    with pytest.raises(EdgeRejectedError):
        split_url_regex(r".*\.png")


def test_vcl_regex_has_no_space_quote_or_control_characters():
    assert vcl_regex(r'^/a b"c') == r"^/a\x20b\x22c"
    assert vcl_regex(r"^/a\ b\"c\.d") == r"^/a\x20b\x22c\.d"
    assert vcl_regex("^/\t") == r"^/\x09"
    assert vcl_regex("^/图") == "^/%E5%9B%BE"
    assert vcl_regex(r"[^/]+\.png$") == r"[^/]+\.png$"


def reply(status: int, **headers: str) -> Reply:
    fixed = {k.replace("_", "-"): v for k, v in headers.items()}
    return Reply(status, Headers(fixed.items()), "text")


@pytest.mark.parametrize(("status", "error", "code"), [
    (500, "", "origin_5xx"), (503, "origin_5xx", "origin_5xx"),
    (504, "origin_timeout", "origin_timeout"), (502, "origin_5xx", "origin_5xx"),
    (404, "", "origin_4xx"), (301, "", "origin_3xx"),
])
def test_prefetch_result_origin_failures(status, error, code):
    headers = {"X_Cdnctl_Result": "Prefetched"}
    if error:
        headers["X_Cdnctl_Error"] = error
    with pytest.raises(OriginError) as err:
        prefetch_result("n", reply(status, **headers))
    assert (err.value.code, err.value.http_status) == (code, status)
    assert not err.value.transient


def test_prefetch_result_uncacheable():
    with pytest.raises(OriginError) as err:
        prefetch_result("n", reply(200, X_Cdnctl_Result="Prefetched", X_Cdnctl_Cacheable="0"))
    assert err.value.code == "origin_uncacheable"


def test_prefetch_result_success_and_missing_marker():
    ok = prefetch_result("n", reply(200, X_Cdnctl_Result="Prefetched", X_Cache="MISS"))
    assert ok.http_status == 200
    assert "X-Cache MISS" in ok.detail
    assert prefetch_result("n", reply(304, X_Cdnctl_Result="Prefetched")).http_status == 304
    with pytest.raises(EdgeRejectedError):  # the node ignored the prefetch header
        prefetch_result("n", reply(200))
    with pytest.raises(EdgeRejectedError):
        prefetch_result("n", reply(405))
    with pytest.raises(EdgeServerError):  # the node itself failed
        prefetch_result("n", reply(503))


def edge(kind: str):
    return create_edge(Node("n1", "pool", kind, "http://127.0.0.1:9"), timeout=1.0)


async def test_checks_before_any_request():
    varnish, nginx = edge("varnish"), edge("nginx")
    www = "http://www.example.com"
    cases = [
        (varnish, EdgeOp(Action.BLOCK, TargetType.PREFIX, f"{www}/a/", None), EdgeUnsupportedError),
        (varnish, EdgeOp(Action.BLOCK, TargetType.URL, f"{www}/a", None, block_ttl_seconds=0),
         EdgeRejectedError),
        (varnish, EdgeOp(Action.PURGE, TargetType.ALL, "*", None), EdgeRejectedError),
        (varnish, EdgeOp(Action.PURGE, TargetType.TAG, "a,b", None), EdgeRejectedError),
        (varnish, EdgeOp(Action.PURGE, TargetType.HOST, "bad host", None), EdgeRejectedError),
        (nginx, EdgeOp(Action.PURGE, TargetType.PREFIX, f"{www}/a/", None), EdgeUnsupportedError),
        (nginx, EdgeOp(Action.PURGE, TargetType.URL, f"{www}/a", None, method=Method.INVALIDATE),
         EdgeUnsupportedError),
    ]
    for adapter, op, cls in cases:
        with pytest.raises(cls):
            await adapter.apply(op)
    await varnish.aclose()
    await nginx.aclose()


def test_headers_are_case_insensitive_and_keep_every_value():
    headers = Headers([("X-Cache", "HIT"), ("Via", "a"), ("via", "b")])
    assert (headers["x-cache"], headers.get("X-CACHE"), headers.get("nope", "-")) == (
        "HIT", "HIT", "-")
    assert "VIA" in headers
    assert "Age" not in headers
    assert (headers["Via"], headers.getall("VIA"), len(headers)) == ("a", ["a", "b"], 2)
    assert dict(headers) == {"x-cache": "HIT", "via": "a"}


# -- the adapters map the HTTP client's failures -------------------------------------------

@contextlib.asynccontextmanager
async def node(answer: bytes | None, *, delay: float = 0.0) -> AsyncIterator[list[bytes]]:
    """A node on ``seen[0]``'s port answering each request with ``answer`` after ``delay``
    (None: close without answering); yields the request heads it saw (after the port)."""
    seen: list[bytes] = []
    handlers: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            while True:
                seen.append(await reader.readuntil(b"\r\n\r\n"))
                await asyncio.sleep(delay)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    seen.append(str(server.sockets[0].getsockname()[1]).encode())
    try:
        yield seen
    finally:
        server.close()
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def purge_op(**kwargs: object) -> EdgeOp:
    return EdgeOp(Action.PURGE, TargetType.URL, "http://www.example.com/x", "www.example.com",
                  **kwargs)  # type: ignore[arg-type]


async def apply_to(seen: list[bytes] | int, op: EdgeOp | None = None, seconds: float = 1.0):
    port = seen if isinstance(seen, int) else int(seen[0])
    edge = create_edge(Node("n1", "pool", "varnish", f"http://127.0.0.1:{port}"),
                       timeout=seconds)
    try:
        return await edge.apply(op or purge_op())
    finally:
        await edge.aclose()



async def test_adapter_maps_a_malformed_answer():
    async with node(b"HTTP/1.1 OK\r\n\r\n") as seen:
        with pytest.raises(EdgeServerError, match="malformed answer") as err:
            await apply_to(seen)
    assert err.value.transient
    assert isinstance(err.value.__cause__, ProtocolError)


async def test_adapter_maps_timeout_drops_and_refusal():
    async with node(b"HTTP/1.1 200 OK\r\n\r\n", delay=1) as seen:
        with pytest.raises(EdgeTimeoutError):
            await apply_to(seen, seconds=0.1)
    async with node(None) as seen:
        with pytest.raises(EdgeUnreachableError, match="connection closed"):
            await apply_to(seen)
    assert len(seen) == 3  # the port, the request, the one retry
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EdgeUnreachableError, match="cannot connect"):
        await apply_to(port)


async def test_adapter_rejects_an_unsendable_header():
    op = EdgeOp(Action.PREFETCH, TargetType.URL, "http://www.example.com/x", "www.example.com",
                headers={"X-Warm": "a\nb"})
    async with node(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") as seen:
        with pytest.raises(EdgeRejectedError, match="invalid request"):
            await apply_to(seen, op)
    assert len(seen) == 1  # nothing was sent


async def test_adapter_reply_keeps_the_start_of_the_body():
    answer = b"HTTP/1.1 503 Busy\r\nContent-Length: 1000\r\n\r\ntoo   busy\n" + b"y" * 989
    async with node(answer) as seen:
        with pytest.raises(EdgeServerError) as err:
            await apply_to(seen)
    assert err.value.http_status == 503
    assert str(err.value).startswith("n1: HTTP 503: too busy yyy")
    assert len(str(err.value)) < 250
