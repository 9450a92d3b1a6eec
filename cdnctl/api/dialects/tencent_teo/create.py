"""``CreatePurgeTask`` and ``CreatePrefetchTask``.

Each target is validated on its own through ``ContentService.spec`` (plus the
zone check); targets the core refuses are reported in ``FailedList`` grouped by
reason while the rest are submitted as one job. When no target is acceptable the
whole call fails with the first refusal's code.
"""

# ruff: noqa: RUF001  (Chinese messages use full-width punctuation)

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from cdnctl.api.dialects.tencent_teo import errors as err
from cdnctl.api.dialects.tencent_teo import quotas
from cdnctl.api.dialects.tencent_teo.context import SOURCE, Call
from cdnctl.core.errors import CdnctlError, InvalidDomainError, UnsupportedError
from cdnctl.core.model import Action, Capability, Method, Site, Target, TargetType, TaskSpec
from cdnctl.core.service import Submission

PURGE_KEYS = ("ZoneId", "Type", "Method", "Targets", "EncodeUrl", "CacheTag")
PREFETCH_KEYS = ("ZoneId", "Targets", "Mode", "EncodeUrl", "Headers", "PrefetchMediaSegments")
METHODS = {"invalidate": Method.INVALIDATE, "delete": Method.DELETE}
#: Types whose purges are soft (``invalidate``) unless ``Method`` says otherwise and the
#: nodes can; URL and cache-tag purges delete unless ``Method=invalidate`` is explicit.
SOFT_BY_DEFAULT = frozenset({TargetType.PREFIX, TargetType.HOST, TargetType.ALL})
MODES = ("default", "edge")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_URL_SAFE = "!#$&'()*+,/:;=?@[]~%"


def encode_url(raw: str) -> str:
    """``EncodeUrl``: RFC 3986 percent-encoding of non-ASCII characters (IDNA host)."""
    try:
        parts = urlsplit(raw.strip())
        host = parts.hostname or ""
        netloc = parts.netloc
        if host and not host.isascii():
            netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
    except (ValueError, UnicodeError):
        return raw
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=_URL_SAFE),
                       quote(parts.query, safe=_URL_SAFE), quote(parts.fragment, safe=_URL_SAFE)))


def _zone_refusal(host: str, site: Site | None) -> InvalidDomainError:
    if site is None:
        return InvalidDomainError(domain=host)
    return err.ZoneDomainError(domain=host, zone_id=site.zone_id)


def _spec(call: Call, site: Site | None, action: Action, ttype: TargetType, raw: str,
          method: Method | None, headers: Mapping[str, str] | None = None) -> TaskSpec:
    """Validate one target (core rules, then the zone); ``method=None``: soft purge where
    every node can, else hard."""
    service = call.runtime.service
    chosen = method or Method.INVALIDATE
    try:
        spec = service.spec(call.account, action, ttype, raw, method=chosen, headers=headers)
    except UnsupportedError:
        if method is not None or chosen is Method.DELETE:
            raise
        spec = service.spec(call.account, action, ttype, raw, method=Method.DELETE,
                            headers=headers)
    domain = spec.target.domain
    if domain is not None and not call.in_zone(site, domain):
        raise _zone_refusal(domain, site)
    return spec


def _host_tag_spec(call: Call, raw: str, host: str, method: Method) -> TaskSpec:
    """A cache-tag purge on one host of a zone (``CacheTag.Domains`` naming only some of
    the zone's domains): the edges scope a tag purge to the task's domain."""
    service = call.runtime.service
    parsed = service.target(call.account, TargetType.TAG, raw)
    owner = call.runtime.directory.site_for_host(host)
    target = Target(type=TargetType.TAG, value=parsed.value, domain=host, raw=raw,
                    site_id=owner.id if owner is not None else None)
    needed = Capability.needed(Action.PURGE, TargetType.TAG, method)
    lacking = call.runtime.directory.capable(service.nodes_for(call.account.id, target), needed)
    if lacking:
        names = ", ".join(f"{n.name} ({n.kind})" for n in lacking)
        raise UnsupportedError(f"these nodes cannot do {' + '.join(sorted(needed))}: {names}")
    return TaskSpec(action=Action.PURGE, target=target, method=method)


def _tag_specs(call: Call, site: Site | None, raw: str, hosts: list[str] | None,
               method: Method) -> list[TaskSpec]:
    """One task per tag scoped to the zone's site (every domain of the zone; for
    ``ZoneId=*``, the core's account-wide tag purge), or one per (tag, host) when
    ``CacheTag.Domains`` names only some of the zone's domains."""
    if hosts is None:
        return [call.runtime.service.spec(call.account, Action.PURGE, TargetType.TAG, raw,
                                          method=method, site=site)]
    return [_host_tag_spec(call, raw, host, method) for host in hosts]


def _tag_hosts(call: Call, site: Site | None, cache_tag: list[str] | None
               ) -> list[str] | None:
    """The ``CacheTag.Domains`` (each must be the zone's), or ``None`` for the whole zone:
    when they are absent, or name every domain of the zone."""
    if not cache_tag:
        return None
    hosts = list(dict.fromkeys(h.strip().lower().rstrip(".") for h in cache_tag))
    for host in hosts:
        if not call.in_zone(site, host):
            raise err.from_core(_zone_refusal(host, site))
    if site is not None and set(hosts) == set(site.domains):
        return None
    return hosts


async def _submit(call: Call, zone_id: str, specs: list[TaskSpec],
                  failures: list[tuple[str, CdnctlError]], table: Mapping[str, quotas.Limit]
                  ) -> dict[str, Any]:
    if not specs:
        raise err.from_core(failures[0][1])
    submitted = await call.runtime.service.submit(Submission(
        account=call.account, specs=specs, source=SOURCE, request_id=call.request_id,
        quota_scope=quotas.scope(call.account, zone_id), quota_limits=quotas.daily(table),
        meta={"zone_id": zone_id}))
    grouped: dict[str, list[str]] = {}
    for raw, exc in failures:
        grouped.setdefault(err.from_core(exc).message(call.language), []).append(raw)
    return {"JobId": submitted.job.id,
            "FailedList": [{"Reason": reason, "Targets": targets}
                           for reason, targets in grouped.items()]}


def _targets(call: Call, what: str) -> list[str]:
    targets = call.params.strings("Targets")
    if not targets:
        raise err.fixed("InvalidParameter.Target",
                        f"Resource error: `Targets` is required for {what}.",
                        f"资源存在错误：{what} 必须填写 `Targets`。")
    return targets


def _batch(table: Mapping[str, quotas.Limit], type_name: str, count: int) -> None:
    limit = table[type_name].batch
    if count > limit:
        raise err.batch_quota(type_name, limit, count)


async def create_purge_task(call: Call) -> dict[str, Any]:
    p = call.params
    p.check_known(PURGE_KEYS)
    zone_id = p.required("ZoneId")
    type_name = p.required("Type")
    if type_name not in quotas.PURGE_TYPES:
        raise err.bad_value("Type", "Valid values: " + ", ".join(quotas.PURGE_TYPES) + ".",
                            "取值范围：" + "、".join(quotas.PURGE_TYPES) + "。")
    ttype = quotas.PURGE_TYPES[type_name]
    method_name = p.string("Method")
    if method_name is not None and method_name not in METHODS:
        raise err.bad_value("Method", "Valid values: invalidate, delete.",
                            "取值范围：invalidate、delete。")
    encode = p.boolean("EncodeUrl") or False
    cache_tag = p.obj("CacheTag")
    tag_domains: list[str] | None = None
    if cache_tag is not None:
        cache_tag.check_known(("Domains",))
        tag_domains = cache_tag.strings("Domains")
    if zone_id == "*" and ttype is TargetType.ALL:
        raise err.parameter_error("ZoneId `*` is not allowed with Type `purge_all`.",
                                  "Type 为 `purge_all` 时 ZoneId 不支持 `*`。")
    site = call.zone(zone_id, allow_all=True)
    table = quotas.limits(zone_id, call.runtime.service.limits.max_targets)

    method: Method | None = METHODS[method_name] if method_name else None
    if method is None and ttype not in SOFT_BY_DEFAULT:
        method = Method.DELETE
    if ttype is TargetType.ALL:
        if p.strings("Targets"):
            raise err.bad_value("Targets", "Targets must be empty for purge_all.",
                                "purge_all 不需要填写 Targets。")
        assert site is not None
        raws = [site.domains[0]]
    else:
        raws = _targets(call, type_name)
        _batch(table, type_name, len(raws))
    hosts = _tag_hosts(call, site, tag_domains) if ttype is TargetType.TAG else None

    specs: list[TaskSpec] = []
    failures: list[tuple[str, CdnctlError]] = []
    for raw in raws:
        text = encode_url(raw) if encode and ttype in (TargetType.URL, TargetType.PREFIX) else raw
        try:
            if ttype is TargetType.TAG:
                specs.extend(_tag_specs(call, site, text, hosts, method or Method.DELETE))
            else:
                spec = _spec(call, site, Action.PURGE, ttype, text, method)
                if ttype is TargetType.ALL:  # shown as the zone, not the domain naming it
                    spec = replace(spec, target=replace(spec.target, raw=spec.target.value))
                specs.append(spec)
        except CdnctlError as exc:
            failures.append((raw, exc))
    return await _submit(call, zone_id, specs, failures, table)


def _headers(call: Call) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in call.params.objects("Headers") or []:
        item.check_known(("Name", "Value"))
        name = item.required("Name")
        value = item.string("Value")
        if value is None:
            raise err.missing(item.name("Value"))
        if not _TOKEN.match(name):
            raise err.bad_value(item.name("Name"), "Not a valid HTTP header name.",
                                "不是合法的 HTTP 头部名称。")
        if any(c in value for c in "\r\n\0"):
            raise err.bad_value(item.name("Value"), "Header values cannot contain line breaks.",
                                "头部取值不能包含换行符。")
        out[name] = value
    return out


async def create_prefetch_task(call: Call) -> dict[str, Any]:
    p = call.params
    p.check_known(PREFETCH_KEYS)
    zone_id = p.required("ZoneId")
    mode = p.string("Mode")
    if mode is not None and mode not in MODES:
        raise err.bad_value("Mode", "Valid values: default, edge.", "取值范围：default、edge。")
    segments = p.string("PrefetchMediaSegments")
    if segments is not None and segments not in ("on", "off"):
        raise err.bad_value("PrefetchMediaSegments", "Valid values: on, off.",
                            "取值范围：on、off。")
    if segments == "on":
        raise err.fixed("UnsupportedOperation",
                        "Unsupported operation: PrefetchMediaSegments `on` (M3U8 segment "
                        "prefetch) is not available on this service.",
                        "操作不支持：本服务不支持 PrefetchMediaSegments 为 `on`（分片预热）。")
    encode = p.boolean("EncodeUrl") or False
    headers = _headers(call)
    site = call.zone(zone_id, allow_all=True)
    table = quotas.limits(zone_id, call.runtime.service.limits.max_targets)
    raws = _targets(call, quotas.PREFETCH_TYPE)
    _batch(table, quotas.PREFETCH_TYPE, len(raws))

    specs: list[TaskSpec] = []
    failures: list[tuple[str, CdnctlError]] = []
    for raw in raws:
        text = encode_url(raw) if encode else raw
        try:
            specs.append(_spec(call, site, Action.PREFETCH, TargetType.URL, text, Method.DELETE,
                               headers))
        except CdnctlError as exc:
            failures.append((raw, exc))
    if not specs and isinstance(failures[0][1], UnsupportedError):
        # not a plan feature here: the zone's nodes cannot prefetch at all
        raise err.fixed("UnsupportedOperation",
                        f"Unsupported operation: {failures[0][1].message}",
                        f"操作不支持：{failures[0][1].message}")
    return await _submit(call, zone_id, specs, failures, table)
