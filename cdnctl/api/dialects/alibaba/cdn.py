"""Alibaba CDN 2018-05-10: the operations that create tasks (spec §4.1, §4.2, §4.7, §4.8).

``RefreshObjectCaches`` (purge), ``RefreshObjectCacheByCacheTag``, ``PushObjectCache``
(prefetch) and ``BlockObjectCaches`` (block / unblock). Each validates every entry
with the documented limits, then submits one cdnctl job whose tasks the workers
carry to the real nodes; the response lists the task ids comma-joined.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from urllib.parse import urlsplit

from cdnctl.api.dialects.alibaba._tasks import account_limits, purge_spec, scoped, submit
from cdnctl.api.dialects.alibaba._wire import Call, parse_bool, parse_int, split_lines
from cdnctl.api.dialects.alibaba.errors import (
    AlibabaError,
    domain_not_found,
    invalid,
    missing,
    object_path_malformed,
)
from cdnctl.core.errors import UnsupportedError, ValidationError
from cdnctl.core.model import Action, Capability, Method, TargetType, TaskSpec, TaskState
from cdnctl.core.ports import TaskFilter
from cdnctl.core.targets import normalize_host, parse_target

SOURCE = "alibaba-cdn"
MAX_ENTRY = 1024
MAX_DOMAINS = 10
MAX_URLS = 1000
MAX_DIRECTORIES = 100
MAX_PUSH = 100
MAX_BLOCK = 100
PRELOAD_QUEUE = 100_000
URLS_PER_DOMAIN_MINUTE = 10_000.0
OBJECT_TYPES = {
    "file": TargetType.URL,
    "directory": TargetType.PREFIX,
    "regex": TargetType.REGEX,
    "ignoreparams": TargetType.URL_IGNORE_PARAMS,
    "exquery": TargetType.URL_IGNORE_PARAMS,  # the SDK docstring's older name
}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
_REGEX_SCHEME = re.compile(r"^\^?(https?|https\?|\(https\?\))://", re.IGNORECASE)


def _over_limit(limit: int, what: str) -> AlibabaError:
    return AlibabaError("SingleRequest.OverLimit",
                        f"A maximum of {limit} {what} are supported for each request.")


def object_paths(call: Call, limit: int, what: str = "URLs") -> list[str]:
    """ObjectPath entries: present, non-empty, at most ``limit``, each ≤ 1,024 chars."""
    raw = call.params.get("ObjectPath")
    if raw is None:
        raise missing("ObjectPath")
    entries = split_lines(raw)
    if not entries:
        raise AlibabaError("MissingParameter", 'The input parameter "ObjectPath" that is '
                           "mandatory for processing this request is not supplied.")
    if len(entries) > limit:
        raise _over_limit(limit, what)
    if any(len(e) > MAX_ENTRY for e in entries):
        raise AlibabaError("InvalidObjectPath.Size.Malformed",
                           "The size of ObjectPath is bigger than 1024.")
    return entries


def with_scheme(entry: str, target_type: TargetType = TargetType.URL) -> str:
    """Older docs show ``example.com/a.png``: such entries are taken as http."""
    if target_type is TargetType.REGEX:
        return entry if _REGEX_SCHEME.match(entry) else "https?://" + entry
    return entry if "://" in entry else "http://" + entry


def check_domains(call: Call, entries: list[str], target_type: TargetType) -> None:
    """Well-formed, no wildcard host, at most 10 distinct domains (before ownership)."""
    domains: set[str] = set()
    for entry in entries:
        if target_type is not TargetType.REGEX:
            try:
                host = urlsplit(entry).netloc.rpartition("@")[2]
            except ValueError:
                raise object_path_malformed() from None
            if host.startswith("*."):
                raise AlibabaError("InvalidExtensiveDomain.ValueNotSupported",
                                   "The specified ExtensiveDomain is not supported.")
        domain = parse_target(target_type, entry).domain  # core errors map to Malformed
        if domain is not None:
            domains.add(domain)
    if len(domains) > MAX_DOMAINS:
        raise AlibabaError("DomainNameOverLimit",
                           f"A maximum of {MAX_DOMAINS} domains are supported for each request.")


async def refresh_object_caches(call: Call) -> dict[str, object]:
    kind = (call.get("ObjectType") or "File").strip().lower()
    target_type = OBJECT_TYPES.get(kind)
    if target_type is None:
        raise AlibabaError("InvalidObjectType.Malformed", "The specified ObjectType is invalid.")
    force = parse_bool(call, "Force")
    limit, what = {
        TargetType.PREFIX: (MAX_DIRECTORIES, "directories"),
        TargetType.REGEX: (1, "regular expressions"),
    }.get(target_type, (MAX_URLS, "URLs"))
    entries = [with_scheme(e, target_type) for e in object_paths(call, limit, what)]
    check_domains(call, entries, target_type)
    specs = [purge_spec(call, target_type, e, force=force) for e in entries]
    if target_type is TargetType.URL:
        per_domain_minute(call, specs)
    done = await submit(call, specs, source=SOURCE, limits=account_limits(call.account))
    return {"RefreshTaskId": ",".join(str(t.id) for t in done.tasks)}


def per_domain_minute(call: Call, specs: list[TaskSpec]) -> None:
    """At most 10,000 URL refreshes per minute and domain (``Account.rate_limits`` key
    ``RefreshUrlsPerDomainPerMinute``): one token per URL from a per-domain bucket."""
    limiter = call.runtime.service.limiter
    if limiter is None:
        return
    per_minute = call.account.rate_limits.get("RefreshUrlsPerDomainPerMinute",
                                              URLS_PER_DOMAIN_MINUTE)
    counts = Counter(s.target.domain for s in specs)
    for domain, count in counts.items():
        key = f"{call.account.id}:RefreshUrlsPerDomainPerMinute:{domain}"
        for _ in range(count):
            if limiter.acquire(key, per_minute / 60.0, per_minute) > 0:
                raise AlibabaError("QuotaPerMinuteExceeded.Refresh",
                                   "You tried to refresh too frequently; please try again "
                                   "later.")


async def refresh_by_cache_tag(call: Call) -> dict[str, object]:
    raw_domain = call.require("DomainName").strip()
    raw_tags = call.require("CacheTag")
    force = parse_bool(call, "Force")
    if raw_domain.startswith("*."):
        raise AlibabaError("InvalidExtensiveDomain.ValueNotSupported",
                           "The specified ExtensiveDomain is not supported.")
    try:
        domain = normalize_host(raw_domain)
    except ValidationError:
        raise invalid("DomainName") from None
    if not call.runtime.directory.owns(call.account.id, domain):
        raise domain_not_found()
    tags = list(dict.fromkeys(t.strip() for t in raw_tags.split(",") if t.strip()))
    if not tags:
        raise missing("CacheTag")
    specs = [tag_spec(call, tag, domain, force=force) for tag in tags]
    done = await submit(call, specs, source=SOURCE, limits=account_limits(call.account))
    return {"RefreshTaskId": ",".join(str(t.id) for t in done.tasks)}


def tag_spec(call: Call, tag: str, domain: str, *, force: bool) -> TaskSpec:
    """A cache-tag purge pinned to ``domain``'s pool (soft unless ``force``, when the
    nodes can)."""
    svc = call.runtime.service
    target = parse_target(TargetType.TAG, tag)
    spec = scoped(TaskSpec(action=Action.PURGE, target=target), domain)
    nodes = svc.nodes_for(call.account.id, spec.target)
    lacking = nodes
    for method in ((Method.DELETE,) if force else (Method.INVALIDATE, Method.DELETE)):
        needed = Capability.needed(Action.PURGE, TargetType.TAG, method)
        lacking = svc.directory.capable(nodes, needed)
        if not lacking:
            return TaskSpec(action=Action.PURGE, target=spec.target, method=method)
    names = ", ".join(f"{n.name} ({n.kind})" for n in lacking)
    raise UnsupportedError(f"these nodes cannot purge by cache tag: {names}")


def prefetch_headers(call: Call) -> dict[str, str]:
    """``WithHeader``: a JSON object of header -> string or list of strings; Alibaba's
    default prefetch header ``Accept-Encoding: gzip`` applies unless overridden."""
    raw = call.get("WithHeader")
    headers = {"Accept-Encoding": "gzip"}
    if raw is None:
        return headers
    try:
        given = json.loads(raw)
    except ValueError:
        raise invalid("WithHeader") from None
    if not isinstance(given, Mapping):
        raise invalid("WithHeader")
    for name, value in given.items():
        values = value if isinstance(value, list) else [value]
        if not _HEADER_NAME.match(name) or not all(isinstance(v, str) for v in values):
            raise invalid("WithHeader")
        text = ", ".join(values)
        if any(c in text for c in "\r\n\0"):
            raise invalid("WithHeader")
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = text
    return headers


async def push_object_cache(call: Call) -> dict[str, object]:
    area = call.get("Area")
    if area is not None and area not in ("domestic", "overseas"):
        raise invalid("Area")
    for flag in ("L2Preload", "QueryHashkey", "ConsistencyHash"):
        parse_bool(call, flag)
    headers = prefetch_headers(call)
    entries = [with_scheme(e) for e in object_paths(call, MAX_PUSH)]
    check_domains(call, entries, TargetType.URL)
    svc = call.runtime.service
    specs = [svc.spec(call.account, Action.PREFETCH, TargetType.URL, e, headers=headers)
             for e in entries]
    queued = await svc.count(TaskFilter(account_id=call.account.id, actions=[Action.PREFETCH],
                                        states=[TaskState.QUEUED, TaskState.RUNNING]))
    if queued + len(specs) > PRELOAD_QUEUE:
        raise AlibabaError("PreloadQueueFull", "The warming queue is full; please try again later.")
    done = await submit(call, specs, source=SOURCE, limits=account_limits(call.account),
                        meta={"area": area, "l2_preload": parse_bool(call, "L2Preload")})
    return {"PushTaskId": ",".join(str(t.id) for t in done.tasks)}


async def block_object_caches(call: Call) -> dict[str, object]:
    kind = call.require("Type").strip().lower()
    if kind not in ("block", "unblock"):
        raise invalid("Type")
    action = Action.BLOCK if kind == "block" else Action.UNBLOCK
    max_ttl = call.runtime.service.limits.max_block_ttl_seconds
    maxage = parse_int(call, "Maxage", bounds=(1, max_ttl))
    entries = [with_scheme(e) for e in object_paths(call, MAX_BLOCK)]
    check_domains(call, entries, TargetType.URL)
    svc = call.runtime.service
    ttl = maxage if action is Action.BLOCK else None
    specs = [svc.spec(call.account, action, TargetType.URL, e, block_ttl_seconds=ttl)
             for e in entries]
    done = await submit(call, specs, source=SOURCE, limits=account_limits(call.account))
    return {"BlockTaskId": ",".join(str(t.id) for t in done.tasks)}
