"""Alibaba ESA 2024-09-10 task queries (spec §5.5, §5.6): ``DescribePurgeTasks`` and
``DescribePreloadTasks`` — one site's tasks (through the API and its upload tasks),
filtered, newest first, paged (≤ 50), within the last 3 days; a flat ``Tasks[]``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cdnctl.api.dialects.alibaba import _expand, _tasks
from cdnctl.api.dialects.alibaba._wire import Call, parse_int, render_time, time_window
from cdnctl.api.dialects.alibaba.cdn_query import object_path
from cdnctl.api.dialects.alibaba.errors import AlibabaError, invalid_parameters
from cdnctl.api.dialects.alibaba.esa import PURGE_TYPES, site_of, source_of
from cdnctl.core.model import Action, Site, TargetType, Task
from cdnctl.core.ports import TaskFilter

_TYPE_NAMES = {TargetType.URL: "file", TargetType.TAG: "cachetag",
               TargetType.PREFIX: "directory", TargetType.URL_IGNORE_PARAMS: "ignoreParams",
               TargetType.HOST: "hostname", TargetType.ALL: "purgeall"}


def esa_task(task: Task, *, with_type: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"TaskId": str(task.id), "Content": object_path(task)}
    if with_type:
        row["Type"] = _TYPE_NAMES[task.type]
    row.update({"Status": _tasks.status(task), "Process": _tasks.process(task),
                "CreateTime": render_time(task.created_at),
                "Description": _tasks.description(task)})
    return row


async def _sources(call: Call, site: Site, since: Any) -> list[str]:
    """The site's API source plus one per upload task of the window."""
    uploads = await call.runtime.uploads.find(
        call.account.id, site.id, type=None, created_from=since, created_to=None)
    return [source_of(site), *(_expand.source_of(u) for u in uploads)]


async def _describe(call: Call, action: Action, *, with_type: bool) -> dict[str, Any]:
    site = site_of(call)
    types = None
    if with_type and (raw_type := call.get("Type")) is not None:
        entry = PURGE_TYPES.get(raw_type.strip().lower())
        if entry is None:
            raise invalid_parameters()
        types = [entry[0]]
    states = None
    if (raw_status := call.get("Status")) is not None:
        states = _tasks.STATES_FOR.get(raw_status.strip().lower())
        if states is None:
            raise AlibabaError("InvalidStatus.ValueNotSupported",
                               "The specified Status is not supported.")
    number = parse_int(call, "PageNumber", default=1, bounds=(1, 100_000),
                       out_of_range=invalid_parameters)
    size = parse_int(call, "PageSize", default=20, bounds=(1, 50),
                     out_of_range=invalid_parameters)
    assert number is not None
    assert size is not None
    window = time_window(call)
    content = call.get("Content")
    flt = TaskFilter(
        account_id=call.account.id, sources=await _sources(call, site, window.start),
        actions=[action], types=types, states=states,
        target_equals=content.strip() if content else None, created_from=window.start,
        created_to=window.end + timedelta(seconds=1) if window.end else None)
    svc = call.runtime.service
    total = await svc.count(flt)
    page = await svc.tasks(flt, limit=size, offset=(number - 1) * size)
    return {"PageNumber": number, "PageSize": size, "TotalCount": total,
            "Tasks": [esa_task(t, with_type=with_type) for t in page.items]}


async def describe_purge_tasks(call: Call) -> dict[str, Any]:
    return await _describe(call, Action.PURGE, with_type=True)


async def describe_preload_tasks(call: Call) -> dict[str, Any]:
    return await _describe(call, Action.PREFETCH, with_type=False)
