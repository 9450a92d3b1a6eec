"""``DescribePurgeTasks`` and ``DescribePrefetchTasks``: one ``Task`` row per target,
newest first, filtered, paged by ``Offset``/``Limit``.

A zone's tasks are the tasks of its site (``TaskFilter.site_ids``): those on its
domains and on hosts under its ``*.`` domains, its ``purge_all`` tasks and the cache-tag
purges scoped to it, whichever API submitted them.
"""

# ruff: noqa: RUF001  (Chinese messages use full-width punctuation)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cdnctl.api.dialects.tencent_teo import errors as err
from cdnctl.api.dialects.tencent_teo import rendering
from cdnctl.api.dialects.tencent_teo.context import Call
from cdnctl.api.dialects.tencent_teo.parsing import Params
from cdnctl.api.dialects.tencent_teo.quotas import PURGE_TYPES
from cdnctl.core.model import Action, Site, TargetType, Task, TaskState
from cdnctl.core.ports import TaskFilter

KEYS = ("ZoneId", "StartTime", "EndTime", "Offset", "Limit", "Filters")
MAX_LIMIT = 1000
MAX_SPAN = timedelta(days=7)
MAX_VALUES = 20
_T = TaskState
STATUSES: Mapping[str, tuple[TaskState, ...]] = {
    "processing": (_T.QUEUED, _T.RUNNING),
    "success": (_T.SUCCEEDED,),
    "failed": (_T.FAILED,),
    "timeout": (_T.TIMED_OUT,),
    "canceled": (_T.CANCELED,),
}
#: Prefetch also documents ``invalid`` (origin answered non-2xx); cdnctl reports such a
#: prefetch as ``failed`` with a ``FailType``, so ``invalid`` selects nothing.
PREFETCH_STATUSES: Mapping[str, tuple[TaskState, ...]] = {**STATUSES, "invalid": ()}


@dataclass(frozen=True)
class Kind:
    action: Action
    filters: frozenset[str]  # allowed filter names
    fuzzy: frozenset[str]  # filters allowing Fuzzy
    single: frozenset[str]  # filters taking one value only
    statuses: Mapping[str, tuple[TaskState, ...]]


PURGE = Kind(Action.PURGE, frozenset({"job-id", "target", "domains", "statuses", "type"}),
             frozenset({"target"}), frozenset({"job-id", "target", "type"}), STATUSES)
PREFETCH = Kind(Action.PREFETCH, frozenset({"job-id", "target", "domains", "statuses"}),
                frozenset(), frozenset({"job-id", "target"}), PREFETCH_STATUSES)


@dataclass
class Query:
    job_id: str | None = None
    target: str | None = None
    fuzzy: bool = False
    domains: list[str] | None = None
    states: list[TaskState] | None = None
    types: list[TargetType] | None = None


def parse_time(p: Params, key: str) -> datetime | None:
    text = p.string(key)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise err.bad_value(key, "Use ISO 8601, e.g. 2022-02-09T00:00:00+08:00.",
                            "请使用 ISO 8601 格式，如 2022-02-09T00:00:00+08:00。") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _values(item: Params, name: str, kind: Kind) -> tuple[list[str], bool]:
    values = item.strings("Values")
    if not values:
        raise err.missing(item.name("Values"))
    if len(values) > MAX_VALUES:
        raise err.fixed("InvalidParameter.TooManyFilterValues",
                        f"Too many filter values: `{name}` takes at most {MAX_VALUES}.",
                        f"过滤值过多：`{name}` 最多 {MAX_VALUES} 个取值。")
    if name in kind.single and len(values) > 1:
        raise err.fixed("InvalidParameter.TooManyFilterValues",
                        f"Too many filter values: `{name}` takes one value only.",
                        f"过滤值过多：`{name}` 仅支持一个取值。")
    fuzzy = item.boolean("Fuzzy") or False
    if fuzzy and name not in kind.fuzzy:
        raise err.bad_value(item.name("Fuzzy"), f"Filter `{name}` does not support fuzzy "
                            "queries.", f"过滤字段 `{name}` 不支持模糊查询。")
    return values, fuzzy


def parse_filters(p: Params, kind: Kind) -> Query:
    items = p.objects("Filters") or []
    if len(items) > len(kind.filters):
        raise err.fixed("InvalidParameter.TooManyFilters",
                        f"Too many filter items: at most {len(kind.filters)}, one per name.",
                        f"过滤项过多：最多 {len(kind.filters)} 项，每个字段一项。")
    q = Query()
    seen: set[str] = set()
    for item in items:
        item.check_known(("Name", "Values", "Fuzzy"))
        name = item.required("Name")
        if name not in kind.filters:
            raise err.fixed("InvalidParameter.InvalidFilterName",
                            f"Invalid filter field: `{name}`. Valid: "
                            + ", ".join(sorted(kind.filters)) + ".",
                            f"不合法的过滤字段：`{name}`。")
        if name in seen:
            raise err.bad_value(item.name("Name"), f"Filter `{name}` is given more than once.",
                                f"过滤字段 `{name}` 重复。")
        seen.add(name)
        values, fuzzy = _values(item, name, kind)
        if name == "job-id":
            q.job_id = values[0]
        elif name == "target":
            q.target, q.fuzzy = values[0], fuzzy
        elif name == "domains":
            q.domains = [v.strip().lower().rstrip(".") for v in values]
        elif name == "statuses":
            bad = [v for v in values if v not in kind.statuses]
            if bad:
                raise err.bad_value(f"{item.name('Values')}", "Valid statuses: "
                                    + ", ".join(kind.statuses) + ".",
                                    "状态取值：" + "、".join(kind.statuses) + "。")
            q.states = sorted({s for v in values for s in kind.statuses[v]})
        elif name == "type":
            if values[0] not in PURGE_TYPES:
                raise err.bad_value(item.name("Values"), "Valid types: "
                                    + ", ".join(PURGE_TYPES) + ".",
                                    "类型取值：" + "、".join(PURGE_TYPES) + "。")
            q.types = [PURGE_TYPES[values[0]]]
    return q


def _window(p: Params, query: Query) -> tuple[datetime | None, datetime | None]:
    start, end = parse_time(p, "StartTime"), parse_time(p, "EndTime")
    if (start is None) != (end is None):
        raise err.parameter_error("StartTime and EndTime must be given together.",
                                  "StartTime 与 EndTime 必须同时填写。")
    if start is None or end is None:
        if query.job_id is None:
            raise err.parameter_error(
                "Either StartTime/EndTime or the `job-id` filter is required.",
                "必须填写 StartTime/EndTime 或 `job-id` 过滤条件。")
        return None, None
    if end < start:
        raise err.parameter_error('Invalid "End time": it is earlier than the start time.',
                                  '无效 "结束时间"：早于开始时间。')
    if end - start > MAX_SPAN:
        raise err.fixed("InvalidParameter.ParameterError")
    return start, end + timedelta(microseconds=1)  # EndTime is inclusive


def task_filter(call: Call, site: Site, kind: Kind, q: Query,
                window: tuple[datetime | None, datetime | None]) -> TaskFilter:
    """The zone's tasks of this kind that pass the query's filters."""
    types: Sequence[TargetType] | None = q.types
    if kind.action is Action.PURGE and types is None:
        types = list(PURGE_TYPES.values())  # regex/ignore-params purges have no EO name
    return TaskFilter(
        account_id=call.account.id, site_ids=[site.id], job_id=q.job_id, states=q.states,
        actions=[kind.action], types=types, domains=q.domains,
        target_contains=q.target if q.fuzzy else None,
        target_equals=None if q.fuzzy else q.target,
        created_from=window[0], created_to=window[1])


async def page(call: Call, flt: TaskFilter, offset: int, limit: int) -> tuple[int, list[Task]]:
    service = call.runtime.service
    total = await service.count(flt)
    if limit == 0 or offset >= total:
        return total, []
    return total, (await service.tasks(flt, limit=limit, offset=offset)).items


async def describe(call: Call, kind: Kind) -> dict[str, Any]:
    p = call.params
    p.check_known(KEYS)
    zone_id = p.required("ZoneId")
    offset = p.integer("Offset", 0)
    if offset < 0:
        raise err.bad_value("Offset", "It must be 0 or more.", "必须大于等于 0。")
    limit = p.integer("Limit", 20)
    if not 0 <= limit <= MAX_LIMIT:
        raise err.bad_value("Limit", f"It must be between 0 and {MAX_LIMIT}.",
                            f"取值范围为 0 到 {MAX_LIMIT}。")
    query = parse_filters(p, kind)
    window = _window(p, query)
    site = call.zone(zone_id, allow_all=False)
    assert site is not None
    total, rows = await page(call, task_filter(call, site, kind, query, window), offset, limit)
    return {"TotalCount": total, "Tasks": [rendering.task(t) for t in rows]}


async def describe_purge_tasks(call: Call) -> dict[str, Any]:
    return await describe(call, PURGE)


async def describe_prefetch_tasks(call: Call) -> dict[str, Any]:
    return await describe(call, PREFETCH)
