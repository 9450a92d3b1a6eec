"""map_errors, status rules, URL/regex helpers and checks done before any I/O."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import Mock

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from cdnctl.core.edge import (
    EdgeError,
    EdgeOp,
    EdgeRejectedError,
    EdgeServerError,
    EdgeTimeoutError,
    EdgeUnreachableError,
    EdgeUnsupportedError,
    OriginError,
    TransientEdgeError,
)
from cdnctl.core.model import Action, Method, Node, TargetType
from cdnctl.edges import create_edge
from cdnctl.edges.base import Reply, check_status, map_errors, prefetch_result, split_url
from cdnctl.edges.varnish import split_url_regex, vcl_regex

CONN_KEY = SimpleNamespace(host="node", port=6081, ssl=True, is_ssl=False)


@pytest.mark.parametrize(("exc", "expected"), [
    (TimeoutError(), EdgeTimeoutError),
    (aiohttp.ServerTimeoutError("read timeout"), EdgeTimeoutError),
    (aiohttp.ConnectionTimeoutError("connect timeout"), EdgeTimeoutError),
    (aiohttp.ClientConnectorError(CONN_KEY, OSError(111, "Connection refused")),  # type: ignore[arg-type]
     EdgeUnreachableError),
    (aiohttp.ServerDisconnectedError(), EdgeUnreachableError),
    (aiohttp.ClientOSError(104, "Connection reset by peer"), EdgeUnreachableError),
    (ConnectionResetError(), EdgeUnreachableError),
    (OSError(113, "No route to host"), EdgeUnreachableError),
    (aiohttp.ClientPayloadError("truncated"), EdgeServerError),
    (aiohttp.ClientResponseError(Mock(), (), status=400, message="bad status line"),
     EdgeServerError),
    (aiohttp.InvalidURL("http://[::1"), EdgeRejectedError),
    (aiohttp.ClientError("odd"), TransientEdgeError),
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
    return Reply(status, CIMultiDictProxy(CIMultiDict(fixed)), "text")


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
