"""NginxEdge: drives an nginx node running ``contrib/nginx/cdnctl.conf``
(nginx 1.22 + ngx_cache_purge 2.3, the Debian ``libnginx-mod-http-cache-purge``).

Requests go to ``node.url`` with ``Host:`` set to the target's host and the
target's raw path + query; the cache key is ``$scheme$host$request_uri``:

==============  =================================================================
URL purge       ``PURGE <path?query>`` -> 200 purged, 404/412 not cached (success)
prefetch        ``GET <path?query>`` + ``X-Cdnctl-Prefetch: 1`` (+ the task's headers):
                ``proxy_cache_bypass`` fetches from origin and stores; the body is
                read to the end so success means "stored"
block           ``GET <path?query>`` + ``X-Cdnctl-Block: <seconds>`` stores a 403
                marker in the ``cdnctl_blocks`` zone (auth_request checks it on
                every request), then ``PURGE`` drops the cached copy
unblock         ``PURGE <path?query>`` + ``X-Cdnctl-Unblock: 1`` drops the marker
health          ``GET /.cdnctl/health``
==============  =================================================================

Not possible with this module version, so not declared: prefix / host / all
purges (2.3 has no partial-key ``*`` purge; the key is an MD5 file name, so
there is no regex or tag purge either), soft purge, and URL-ignoring-query.
``options["block"] = False`` drops the block capability for a node whose
config lacks the block locations.
"""

from __future__ import annotations

from cdnctl.core.edge import EdgeOp, EdgeRejectedError, EdgeResult, NodeHealth
from cdnctl.core.model import Capability, Node
from cdnctl.edges.base import (
    HttpEdge,
    Reply,
    block_request,
    block_span,
    check_status,
    split_url,
)

BASE_CAPABILITIES = frozenset({Capability.PURGE_URL, Capability.PREFETCH})


class NginxEdge(HttpEdge):
    """An nginx node with the cdnctl config.  Options: ``limit_per_host`` (default 8),
    ``keepalive_timeout`` (default 4 s), ``prefetch_timeout`` (default: the
    timeout), ``block`` (default True)."""

    kind: str = "nginx"

    def __init__(self, node: Node, *, timeout: float) -> None:
        super().__init__(node, timeout=timeout)
        block = bool(self.options.get("block", True))
        self.capabilities: frozenset[Capability] = (
            BASE_CAPABILITIES | {Capability.BLOCK} if block else BASE_CAPABILITIES)

    async def health(self) -> NodeHealth:
        return await self.probe("GET", "/.cdnctl/health", {}, "cdnctl ok")

    def _check(self, reply: Reply, result: str, *, absent_ok: bool = False) -> bool:
        found = check_status(self.name, reply.status, reply.text, absent_ok=absent_ok)
        if reply.header("X-Cdnctl-Result") != result:
            raise EdgeRejectedError(
                f"{self.name}: HTTP {reply.status} without 'X-Cdnctl-Result: {result}' "
                "(is contrib/nginx/cdnctl.conf included?)", http_status=reply.status)
        return found

    async def _purge(self, op: EdgeOp) -> EdgeResult:
        url = split_url(op.target)
        reply = await self.request("PURGE", url.path_qs, host=url.netloc)
        purged = self._check(reply, "Purge", absent_ok=True)
        return EdgeResult(reply.status, "purged" if purged else "not cached (nothing to purge)")

    async def _prefetch(self, op: EdgeOp) -> EdgeResult:
        # GET: nginx only stores what it streamed to a client
        return await self.prefetch(op, "GET")

    async def _block(self, op: EdgeOp) -> EdgeResult:
        url, seconds = block_request(self.name, op)
        reply = await self.request("GET", url.path_qs, host=url.netloc,
                                   headers={"X-Cdnctl-Block": str(seconds)})
        # The marker itself is a 403; anything else means no marker was stored.
        if reply.status != 403 or reply.header("X-Cdnctl-Result") != "Blocked":
            check_status(self.name, reply.status, reply.text)
            raise EdgeRejectedError(
                f"{self.name}: HTTP {reply.status} instead of the block marker "
                "(ACL, or the block locations of cdnctl.conf missing?)", http_status=reply.status)
        dropped = await self._purge(op)
        return EdgeResult(200, f"blocked {block_span(op)}; cached copy {dropped.detail}")

    async def _unblock(self, op: EdgeOp) -> EdgeResult:
        url, _ = block_request(self.name, op)
        reply = await self.request("PURGE", url.path_qs, host=url.netloc,
                                   headers={"X-Cdnctl-Unblock": "1"})
        lifted = self._check(reply, "Unblock", absent_ok=True)
        return EdgeResult(reply.status, "unblocked" if lifted else "was not blocked")
