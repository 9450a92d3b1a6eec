"""VarnishEdge: drives a Varnish 7 node running ``contrib/varnish/cdnctl.vcl``.

Requests go to ``node.url`` (the Varnish listen address) with ``Host:`` set to
the target's host and the target's raw path + query as the request target:

=====================  ==========================================================
URL purge              ``PURGE <path?query>`` -> ``purge.hard()`` (every Vary variant);
                       ``Method.INVALIDATE`` adds ``X-Cdnctl-Soft: 1`` -> ``purge.soft()``
tag purge              ``PURGE /`` + ``xkey-purge: <host>|<tag> ...`` (one key per site
                       host, so other tenants' objects with the same tag survive);
                       no hosts known -> the bare tag, on every host; soft -> softpurge
prefix / regex /       ``BAN /`` + ``X-Cdnctl-Ban-Host`` (or ``-Host-Re`` for ``*.`` hosts)
ignore-params /        [+ ``X-Cdnctl-Ban-Url: <regex on path+query>``]: a lurker-friendly
host / all             ban on ``obj.http.x-host`` / ``obj.http.x-url``; "all" bans each
                       host of the site, never anything else.  Bans are always hard.
prefetch               ``HEAD <path?query>`` + ``X-Cdnctl-Prefetch: 1`` (+ the task's
                       headers): forced miss, answered once the object is cached
block / unblock        ``PURGE`` + ``X-Cdnctl-Block: <seconds>`` / ``X-Cdnctl-Unblock: 1``
health                 ``HEAD /`` + ``X-Cdnctl-Health: 1``
=====================  ==========================================================

A regex target is a full-URL regex that starts with a literal scheme and host
(``https?://www\\.example\\.com/img/.*\\.png``).  Varnish objects carry no
scheme, so the scheme is ignored; the host must match exactly; the rest of the
pattern, from the first ``/`` on, is anchored at the start of the object's
path+query and open at the end: ``^(?:/img/.*\\.png)``.
"""

from __future__ import annotations

import re

from cdnctl.core.edge import (
    EdgeOp,
    EdgeRejectedError,
    EdgeResult,
    EdgeUnsupportedError,
    NodeHealth,
)
from cdnctl.core.model import Capability, Method, TargetType
from cdnctl.edges.base import (
    HttpEdge,
    Reply,
    block_request,
    block_span,
    check_status,
    split_url,
)

CAPABILITIES = frozenset(Capability)  # everything; soft purge is truly soft for URL and tag only
_HOST_RE = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$")
# Same shape as cdnctl.core.targets.regex_host, but keeping where the host ends.
_REGEX_HEAD = re.compile(
    r"^\^?(?:https?|\(https\?\)|https\?)(?::|\\:)(?:\\?/){2}([A-Za-z0-9.\-\\]+?)(?=\\?/|$)")
_BAN_TYPES = (TargetType.PREFIX, TargetType.REGEX, TargetType.URL_IGNORE_PARAMS,
              TargetType.HOST, TargetType.ALL)


def split_url_regex(pattern: str) -> tuple[str, str | None]:
    """``https?://www\\.a\\.com/img/.*`` -> (``www.a.com``, ``^(?:/img/.*)``); None = whole host."""
    m = _REGEX_HEAD.match(pattern)
    if not m:
        raise EdgeRejectedError(
            f"regex {pattern!r} must start with a literal scheme and host, "
            r"e.g. 'https?://www\.example\.com/img/.*\.png'")
    host = m.group(1).replace("\\.", ".").replace("\\-", "-").lower()
    rest = pattern[m.end(1):]
    return host, (f"^(?:{rest})" if rest else None)


def vcl_regex(regex: str) -> str:
    """Make a regex safe for a bare ``std.ban()`` argument: no white space, quotes or
    control characters (written as ``\\xHH``); non-ASCII is written percent-encoded
    (UTF-8, upper-case hex), the way it appears in a request URL."""
    out: list[str] = []
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\" and i + 1 < len(regex):
            nxt = regex[i + 1]
            out.append(_literal(nxt) if _special(nxt) else ch + nxt)
            i += 2
            continue
        out.append(_literal(ch) if _special(ch) else ch)
        i += 1
    return "".join(out)


def _special(ch: str) -> bool:
    return ch.isspace() or ch == '"' or ord(ch) < 0x20 or ord(ch) >= 0x7f


def _literal(ch: str) -> str:
    if ord(ch) >= 0x80:
        return "".join(f"%{b:02X}" for b in ch.encode())
    return f"\\x{ord(ch):02x}"


def _check_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise EdgeRejectedError(f"{host!r} is not a host name Varnish can ban on")
    return host


def _count(reply: Reply) -> int:
    try:
        return int(reply.header("X-Cdnctl-Purged") or 0)
    except ValueError:
        return 0


class VarnishEdge(HttpEdge):
    """A Varnish node with the cdnctl VCL.  Options: ``limit_per_host`` (default 8),
    ``keepalive_timeout`` (default 4 s), ``prefetch_timeout`` (default: the timeout)."""

    kind: str = "varnish"
    capabilities: frozenset[Capability] = CAPABILITIES

    async def _purge(self, op: EdgeOp) -> EdgeResult:
        if op.type is TargetType.URL:
            return await self._purge_url(op)
        if op.type is TargetType.TAG:
            return await self._purge_tag(op)
        return await self._ban(op)

    async def health(self) -> NodeHealth:
        return await self.probe("HEAD", "/", {"X-Cdnctl-Health": "1"}, "cdnctl ok")

    def _expect(self, reply: Reply, result: str) -> None:
        check_status(self.name, reply.status, reply.text)
        if reply.header("X-Cdnctl-Result") != result:
            raise EdgeRejectedError(
                f"{self.name}: HTTP {reply.status} without 'X-Cdnctl-Result: {result}' "
                "(is contrib/varnish/cdnctl.vcl loaded?)", http_status=reply.status)

    async def _purge_url(self, op: EdgeOp) -> EdgeResult:
        url = split_url(op.target)
        soft = op.method is Method.INVALIDATE
        headers = {"X-Cdnctl-Soft": "1"} if soft else {}
        reply = await self.request("PURGE", url.path_qs, host=url.netloc, headers=headers)
        self._expect(reply, "Purged")
        verb = "soft-purged" if soft else "purged"
        return EdgeResult(reply.status, f"{verb} {_count(reply)} object(s)")

    async def _purge_tag(self, op: EdgeOp) -> EdgeResult:
        tag = op.target.strip()
        if not tag or any(c.isspace() or c == "," for c in tag):
            raise EdgeRejectedError(f"tag {tag!r} cannot be an xkey key (space or comma)")
        hosts = [h.lower() for h in (op.hosts or ((op.domain,) if op.domain else ()))]
        if hosts:
            # "<host>|tag" for exact hosts, "*.<suffix>|tag" for wildcard domains: the
            # VCL indexes both, so a tag purge never leaves its site's hosts.
            keys = " ".join(f"{h}|{tag}" for h in hosts)
            scope = "on " + ", ".join(hosts)
        else:
            keys, scope = tag, "on every host"
        soft = op.method is Method.INVALIDATE
        headers = {"xkey-purge": keys, **({"X-Cdnctl-Soft": "1"} if soft else {})}
        host = hosts[0].removeprefix("*.") if hosts else "localhost"
        reply = await self.request("PURGE", "/", host=host, headers=headers)
        self._expect(reply, "Tag purged")
        verb = "soft-purged" if soft else "purged"
        return EdgeResult(reply.status, f"{verb} {_count(reply)} object(s) tagged {tag} {scope}")

    def _bans(self, op: EdgeOp) -> list[tuple[str, str | None]]:
        """(host or ``*.`` host, url regex or None) for each ban the op needs."""
        match op.type:
            case TargetType.PREFIX:
                url = split_url(op.target)
                return [(url.host, "^" + re.escape(url.path))]
            case TargetType.URL_IGNORE_PARAMS:
                url = split_url(op.target)
                return [(url.host, "^" + re.escape(url.path) + r"(?:\?.*)?$")]
            case TargetType.REGEX:
                return [split_url_regex(op.target)]
            case TargetType.HOST:
                return [(op.target, None)]
            case _:  # ALL: every host of the site, and nothing else
                hosts = op.hosts or ((op.target,) if op.target not in ("", "*") else ())
                if not hosts:
                    raise EdgeRejectedError(
                        f"{self.name}: 'purge all' needs the site's hosts; refusing to ban "
                        "the whole cache (other tenants share it)")
                return [(h, None) for h in hosts]

    async def _ban(self, op: EdgeOp) -> EdgeResult:
        if op.type not in _BAN_TYPES:
            raise EdgeUnsupportedError(f"{self.name}: no purge for {op.type.value} targets")
        done: list[str] = []
        for raw_host, url_regex in self._bans(op):
            host = _check_host(raw_host)
            headers: dict[str, str] = {}
            if host.startswith("*."):
                headers["X-Cdnctl-Ban-Host-Re"] = re.escape(host[1:]) + "$"
            else:
                headers["X-Cdnctl-Ban-Host"] = host
            if url_regex is not None:
                headers["X-Cdnctl-Ban-Url"] = vcl_regex(url_regex)
            reply = await self.request("BAN", "/", host=host.removeprefix("*."), headers=headers)
            self._expect(reply, "Banned")
            done.append(host + (f" {url_regex}" if url_regex else ""))
        detail = "banned " + "; ".join(done)
        if op.method is Method.INVALIDATE:
            detail += " (hard ban: Varnish bans cannot be soft)"
        return EdgeResult(200, detail)

    async def _prefetch(self, op: EdgeOp) -> EdgeResult:
        # HEAD: the VCL fetches the whole object (do_stream off) without sending the body
        return await self.prefetch(op, "HEAD")

    async def _block(self, op: EdgeOp) -> EdgeResult:
        url, seconds = block_request(self.name, op)
        reply = await self.request("PURGE", url.path_qs, host=url.netloc,
                                   headers={"X-Cdnctl-Block": str(seconds)})
        self._expect(reply, "Blocked")
        return EdgeResult(reply.status, f"blocked {block_span(op)}; "
                                        f"dropped {_count(reply)} cached object(s)")

    async def _unblock(self, op: EdgeOp) -> EdgeResult:
        url, _ = block_request(self.name, op)
        reply = await self.request("PURGE", url.path_qs, host=url.netloc,
                                   headers={"X-Cdnctl-Unblock": "1"})
        self._expect(reply, "Unblocked")
        return EdgeResult(reply.status, "unblocked" if _count(reply) else "was not blocked")
