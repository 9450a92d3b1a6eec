"""Alibaba ESA 2024-09-10: site-scoped operations that create tasks, and the quota view
(spec §5.1-§5.4): ``PurgeCaches``, ``PreloadCaches``, ``BlockObject``, ``GetPurgeQuota``.

Every call names a site (``SiteId``, the site's ``id`` in the config) that must belong
to the caller; every URL, directory and host name must be one of that site's domains.
Quotas are counted per site (``alibaba-esa:site:<id>``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdnctl.api.dialects.alibaba._tasks import QUOTA_TZ, account_limits, purge_spec, submit
from cdnctl.api.dialects.alibaba._wire import Call, parse_bool, parse_id, parse_int, parse_json
from cdnctl.api.dialects.alibaba.cdn import tag_spec, with_scheme
from cdnctl.api.dialects.alibaba.errors import (
    invalid,
    invalid_parameters,
    missing,
    site_not_found,
)
from cdnctl.core.errors import InvalidDomainError
from cdnctl.core.model import Action, QuotaKind, Site, TargetType, TaskSpec

#: PurgeCaches ``Type`` (case-insensitive) -> (target type, Content key, per-call limit).
PURGE_TYPES: dict[str, tuple[TargetType, str, int]] = {
    "file": (TargetType.URL, "Files", 1000),
    "cachekey": (TargetType.URL, "CacheKeys", 1000),
    "cachetag": (TargetType.TAG, "CacheTags", 30),
    "directory": (TargetType.PREFIX, "Directories", 100),
    "ignoreparams": (TargetType.URL_IGNORE_PARAMS, "IgnoreParams", 100),
    "hostname": (TargetType.HOST, "Hostnames", 10),
    "purgeall": (TargetType.ALL, "PurgeAll", 1),
}
#: Types that name URLs, whose entries may span at most 10 domains per call.
DOMAIN_LIMITED = frozenset({"file", "cachekey", "directory", "ignoreparams"})
MAX_DOMAINS = 10
MAX_PRELOAD = 100
MAX_BLOCK = 100
QUOTA_KINDS = {
    "file": QuotaKind.URL, "cachekey": QuotaKind.URL, "cachetag": QuotaKind.TAG,
    "directory": QuotaKind.PREFIX, "ignoreparams": QuotaKind.URL_IGNORE_PARAMS,
    "hostname": QuotaKind.HOST, "purgeall": QuotaKind.ALL,
    "preload": QuotaKind.PREFETCH, "block": QuotaKind.BLOCK,
}
TWO_YEARS = 2 * 365 * 86400


def site_of(call: Call) -> Site:
    raw = call.get("SiteId")
    if raw is None:
        raise missing("SiteId")
    site_id = parse_id(raw)
    if site_id is None:
        raise invalid("SiteId")
    site = call.runtime.directory.site_by_id(call.account.id, site_id)
    if site is None:
        raise site_not_found()
    return site


def source_of(site: Site) -> str:
    return f"alibaba-esa:{site.id}"


def scope_of(site: Site) -> str:
    return f"alibaba-esa:site:{site.id}"


def site_limits(call: Call, site: Site) -> dict[QuotaKind, int]:
    """Alibaba's defaults, then the account's quotas, then the site's own (``quotas`` on
    the site, once the configuration carries them)."""
    overrides: Mapping[QuotaKind, int] = getattr(site, "quotas", None) or {}
    return account_limits(call.account, overrides)


def in_site(call: Call, site: Site, spec: TaskSpec) -> TaskSpec:
    """Refuse a target whose domain is not one of ``site``'s."""
    domain = spec.target.domain
    if domain is not None:
        owner = call.runtime.directory.site_for_host(domain)
        if owner is None or owner.id != site.id:
            raise InvalidDomainError(domain=domain)
    return spec


def site_tag_domains(site: Site) -> list[str]:
    """The domains a site's cache-tag purge is pinned to: one task per tag and domain,
    so the nodes purge ``<domain>|<tag>`` and never another site's objects."""
    return [d for d in site.domains if not d.startswith("*.")] or list(site.domains)


def purge_entries(content: Any, kind: str) -> list[str]:
    target_type, key, limit = PURGE_TYPES[kind]
    if target_type is TargetType.ALL:
        if isinstance(content, Mapping) and content.get("PurgeAll") is False:
            raise invalid_parameters()
        return ["*"]
    if not isinstance(content, Mapping):
        raise invalid_parameters()
    items = content.get(key)
    if not isinstance(items, list) or not items or len(items) > limit:
        raise invalid_parameters()
    entries: list[str] = []
    for item in items:
        if isinstance(item, Mapping) and kind in ("file", "cachekey"):
            item = item.get("Url")  # {"Url": ..., "Headers": {...}}: every variant is purged
        if not isinstance(item, str) or not item.strip():
            raise invalid_parameters()
        entries.append(item.strip())
    return list(dict.fromkeys(entries))


def purge_specs(call: Call, site: Site, kind: str, entries: list[str], *, force: bool,
                ) -> list[TaskSpec]:
    target_type = PURGE_TYPES[kind][0]
    if target_type is TargetType.TAG:
        return [tag_spec(call, tag, domain, force=force)
                for tag in entries for domain in site_tag_domains(site)]
    if target_type is TargetType.ALL:
        return [purge_spec(call, TargetType.ALL, site.name, force=force)]
    specs = [in_site(call, site, purge_spec(
        call, target_type, e if target_type is TargetType.HOST else with_scheme(e), force=force))
        for e in entries]
    if kind in DOMAIN_LIMITED and len({s.target.domain for s in specs}) > MAX_DOMAINS:
        raise invalid_parameters()
    return specs


async def purge_caches(call: Call) -> dict[str, Any]:
    site = site_of(call)
    kind = call.require("Type").strip().lower()
    if kind not in PURGE_TYPES:
        raise invalid("Type")
    force = parse_bool(call, "Force")
    parse_bool(call, "EdgeComputePurge")
    content = parse_json(call, "Content")
    specs = purge_specs(call, site, kind, purge_entries(content, kind), force=force)
    done = await submit(call, specs, source=source_of(site), scope=scope_of(site),
                        limits=site_limits(call, site), meta={"site_id": site.id})
    return {"TaskId": str(done.tasks[0].id)}


def url_list(call: Call, name: str, limit: int) -> list[str]:
    """A JSON array of URL strings (``Content`` of PreloadCaches / BlockObject)."""
    value = parse_json(call, name)
    if value is None:
        raise missing(name)
    if not isinstance(value, list) or not value or len(value) > limit:
        raise invalid_parameters()
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise invalid_parameters()
    return list(dict.fromkeys(with_scheme(v.strip()) for v in value))


def preload_headers(call: Call) -> dict[str, str]:
    headers = {"Accept-Encoding": "gzip"}
    value = parse_json(call, "Headers")
    if value is None:
        return headers
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and "\n" not in v and "\r" not in v
            for k, v in value.items()):
        raise invalid("Headers")
    lowered = {k.lower() for k in value}
    return {**{k: v for k, v in headers.items() if k.lower() not in lowered}, **value}


async def preload_caches(call: Call) -> dict[str, Any]:
    site = site_of(call)
    headers = preload_headers(call)
    svc = call.runtime.service
    specs = [in_site(call, site, svc.spec(call.account, Action.PREFETCH, TargetType.URL, url,
                                          headers=headers))
             for url in url_list(call, "Content", MAX_PRELOAD)]
    done = await submit(call, specs, source=source_of(site), scope=scope_of(site),
                        limits=site_limits(call, site), meta={"site_id": site.id})
    return {"TaskId": str(done.tasks[0].id)}


async def block_object(call: Call) -> dict[str, Any]:
    site = site_of(call)
    kind = call.require("Type").strip().lower()
    if kind not in ("block", "unblock"):
        raise invalid("Type")
    action = Action.BLOCK if kind == "block" else Action.UNBLOCK
    svc = call.runtime.service
    max_ttl = svc.limits.max_block_ttl_seconds
    ttl = parse_int(call, "Maxage", bounds=(1, max_ttl))
    extension = call.get("Extension")
    if extension is not None:
        if extension != "2year" or max_ttl < TWO_YEARS:
            raise invalid("Extension")
        ttl = TWO_YEARS
    specs = [in_site(call, site, svc.spec(call.account, action, TargetType.URL, url,
                                          block_ttl_seconds=ttl if kind == "block" else None))
             for url in url_list(call, "Content", MAX_BLOCK)]
    done = await submit(call, specs, source=source_of(site), scope=scope_of(site),
                        limits=site_limits(call, site), meta={"site_id": site.id})
    return {"TaskId": str(done.tasks[0].id)}


async def get_purge_quota(call: Call) -> dict[str, Any]:
    site = site_of(call)
    kind = QUOTA_KINDS.get(call.require("Type").strip().lower())
    if kind is None:
        raise invalid("Type")
    statuses = await call.runtime.service.quota(call.account, scope=scope_of(site),
                                                limits=site_limits(call, site), tz=QUOTA_TZ)
    status = next(q for q in statuses if q.kind is kind)
    return {"Quota": str(status.limit), "Usage": str(status.used),
            "Quota30Day": "0", "Usage30Day": "0"}
