"""Alibaba CDN 2018-05-10: task and quota queries (spec §4.3-§4.6, §4.9).

``DescribeRefreshTasks`` (the seed: every error row, the 3-day window, TaskId AND
ObjectPath, paging; ``Tasks.CDNTask[]``), ``DescribeRefreshTaskById`` (≤ 10 ids, a flat
``Tasks[]``), ``DescribeRefreshQuota`` (strings), ``DescribeCdnUserQuota`` (integers)
and ``DescribePreloadDetailById`` (per-node outcome of one prefetch).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from cdnctl.api.dialects.alibaba import _tasks
from cdnctl.api.dialects.alibaba._wire import (
    RETENTION,
    Call,
    parse_id,
    parse_int,
    render_time,
    split_commas,
    time_window,
)
from cdnctl.api.dialects.alibaba.cdn import SOURCE
from cdnctl.api.dialects.alibaba.errors import AlibabaError, Product, missing, task_id_malformed
from cdnctl.core.errors import NotFoundError
from cdnctl.core.model import Action, DeliveryState, QuotaKind, TargetType, Task, TaskState
from cdnctl.core.ports import TaskFilter

MAX_IDS = 10
_PURGE_TYPES = {
    TargetType.URL: "file",
    TargetType.PREFIX: "directory",
    TargetType.REGEX: "regex",
    TargetType.URL_IGNORE_PARAMS: "ignoreParams",
    TargetType.TAG: "cachetag",
    TargetType.HOST: "hostname",
    TargetType.ALL: "purgeall",
}
#: ObjectType filter (case-insensitive) -> (action, target type).
OBJECT_TYPE_FILTER = {
    "file": (Action.PURGE, TargetType.URL),
    "directory": (Action.PURGE, TargetType.PREFIX),
    "regex": (Action.PURGE, TargetType.REGEX),
    "ignoreparams": (Action.PURGE, TargetType.URL_IGNORE_PARAMS),
    "cachetag": (Action.PURGE, TargetType.TAG),
    "preload": (Action.PREFETCH, TargetType.URL),
    "block": (Action.BLOCK, TargetType.URL),
    "unblock": (Action.UNBLOCK, TargetType.URL),
}
_FULL_URL = re.compile(r"^\^?(https?|https\?|\(https\?\))://[^/\s]+", re.IGNORECASE)


def object_type(task: Task) -> str:
    if task.action is Action.PURGE:
        return _PURGE_TYPES[task.type]
    return {Action.PREFETCH: "preload", Action.BLOCK: "block"}.get(task.action, "unblock")


def object_path(task: Task) -> str:
    """As submitted; entries sent without a scheme are shown with it (``http://``)."""
    return task.raw_target if "://" in task.raw_target else task.target


def cdn_task(task: Task) -> dict[str, Any]:
    return {
        "TaskId": str(task.id),
        "ObjectPath": object_path(task),
        "ObjectType": object_type(task),
        "Status": _tasks.status(task),
        "Process": _tasks.process(task),
        "CreationTime": render_time(task.created_at),
        "Description": _tasks.description(task),
    }


def _page_error(name: str) -> AlibabaError:
    return AlibabaError("InvalidParameter", f"The specified parameter {name} is not valid.")


async def describe_refresh_tasks(call: Call) -> dict[str, Any]:
    raw_type = call.get("ObjectType")
    kind = None
    if raw_type is not None:
        kind = OBJECT_TYPE_FILTER.get(raw_type.strip().lower())
        if kind is None:
            raise AlibabaError("InvalidObjectType.ValueNotSupported",
                               "The specified ObjectType is not supported.")
    raw_status = call.get("Status")
    states = None
    if raw_status is not None:
        states = _tasks.STATES_FOR.get(raw_status.strip().lower())
        if states is None or raw_status.strip().lower() == "complte":
            raise AlibabaError("InvalidStatus.ValueNotSupported",
                               "The specified Status is not supported.")
    domain = call.get("DomainName")
    if (domain is not None or raw_status is not None) and kind is None:
        raise AlibabaError("MissingParameter.ObjectType",
                           "The ObjectType parameter is required if DomainName or Status "
                           "is specified.")
    if domain is not None and "," in domain:
        raise AlibabaError("DomainNameOverLimit",  # the documented message, verbatim
                           "A maximum of 500 domains are supported for each request.")
    task_id = None
    if (raw_id := call.get("TaskId")) is not None:
        task_id = parse_id(raw_id)
        if task_id is None:
            raise task_id_malformed(Product.CDN)
    path = call.get("ObjectPath")
    if path is not None and not _FULL_URL.match(path.strip()):
        raise AlibabaError("InvalidObjectPath.Malformed", "The specified ObjectPath is invalid.")
    number = parse_int(call, "PageNumber", default=1, bounds=(1, 100_000),
                       out_of_range=lambda: _page_error("PageNumber"))
    size = parse_int(call, "PageSize", default=20, bounds=(1, 100),
                     out_of_range=lambda: _page_error("PageSize"))
    assert number is not None
    assert size is not None
    window = time_window(call)
    flt = TaskFilter(
        account_id=call.account.id, sources=[SOURCE],
        task_ids=[task_id] if task_id is not None else None,
        target_equals=path.strip() if path is not None else None,
        actions=[kind[0]] if kind else None, types=[kind[1]] if kind else None,
        states=states, domains=[domain.strip().lower()] if domain else None,
        created_from=window.start,
        created_to=window.end + timedelta(seconds=1) if window.end else None)
    svc = call.runtime.service
    total = await svc.count(flt)
    page = await svc.tasks(flt, limit=size, offset=(number - 1) * size)
    return {"PageNumber": number, "PageSize": size, "TotalCount": total,
            "Tasks": {"CDNTask": [cdn_task(t) for t in page.items]}}


def task_ids(call: Call, limit: int) -> list[int]:
    raw = call.get("TaskId")
    if raw is None:
        raise missing("TaskId")
    parts = split_commas(raw)
    if len(parts) > limit:
        raise AlibabaError("InvalidTaskId", f"The maximum number of taskIds is {limit}.")
    ids = [parse_id(p) for p in parts]
    if any(i is None for i in ids):
        raise task_id_malformed(Product.CDN)
    return list(dict.fromkeys(i for i in ids if i is not None))


async def describe_refresh_task_by_id(call: Call) -> dict[str, Any]:
    ids = task_ids(call, MAX_IDS)
    flt = TaskFilter(account_id=call.account.id, sources=[SOURCE], task_ids=ids,
                     created_from=call.now() - RETENTION)
    page = await call.runtime.service.tasks(flt, limit=MAX_IDS)
    return {"TotalCount": len(page.items), "Tasks": [cdn_task(t) for t in page.items]}


async def _quotas(call: Call) -> dict[QuotaKind, tuple[int, int]]:
    statuses = await call.runtime.service.quota(
        call.account, limits=_tasks.account_limits(call.account), tz=_tasks.QUOTA_TZ)
    return {q.kind: (q.limit, q.remaining) for q in statuses}


async def describe_refresh_quota(call: Call) -> dict[str, Any]:
    q = await _quotas(call)
    body: dict[str, Any] = {}
    for prefix, kind in (("Url", QuotaKind.URL), ("Dir", QuotaKind.PREFIX),
                         ("Regex", QuotaKind.REGEX),
                         ("IgnoreParams", QuotaKind.URL_IGNORE_PARAMS),
                         ("Preload", QuotaKind.PREFETCH), ("PreloadEdge", QuotaKind.PREFETCH),
                         ("Block", QuotaKind.BLOCK)):
        limit, remaining = q[kind]
        body[f"{prefix}Quota"] = str(limit)
        body[f"{prefix}Remain"] = str(remaining)
    return body


async def describe_cdn_user_quota(call: Call) -> dict[str, Any]:
    q = await _quotas(call)
    body: dict[str, Any] = {
        "DomainQuota": len(call.runtime.directory.domains_of(call.account.id))}
    for prefix, kind in (("Block", QuotaKind.BLOCK), ("Preload", QuotaKind.PREFETCH),
                         ("RefreshDir", QuotaKind.PREFIX), ("RefreshUrl", QuotaKind.URL),
                         ("IgnoreParams", QuotaKind.URL_IGNORE_PARAMS)):
        limit, remaining = q[kind]
        body[f"{prefix}Quota"] = limit
        body[f"{prefix}Remain"] = remaining
    return body


async def describe_preload_detail_by_id(call: Call) -> dict[str, Any]:
    task_id = task_ids(call, 1)[0]
    try:
        task, deliveries = await call.runtime.service.task_detail(call.account, task_id)
    except NotFoundError:
        return {"TotalCount": 0, "UrlDetails": []}
    job, _ = await call.runtime.service.job(call.account, task.job_id)
    if (task.action is not Action.PREFETCH or job.source != SOURCE
            or task.created_at < call.now() - RETENTION):
        return {"TotalCount": 0, "UrlDetails": []}
    ok = sum(1 for d in deliveries if d.state is DeliveryState.SUCCEEDED)
    share = 100 if not deliveries and task.state is TaskState.SUCCEEDED else (
        (100 * ok) // len(deliveries) if deliveries else 0)
    failures = [f"{d.node}: {d.description or d.error_code or 'failed'}"
                for d in deliveries if d.state is DeliveryState.FAILED]
    if failures:
        text = "|".join(failures)
    elif task.state is TaskState.SUCCEEDED:
        text = "Successfully preloaded"
    else:
        text = ""
    failed = _tasks.status(task) == "Failed"
    return {"TotalCount": 1, "UrlDetails": [{
        "TaskId": str(task.id),
        "Domain": task.domain or "",
        "CreationTime": render_time(task.created_at),
        "EndTime": render_time(task.finished_at) if task.finished_at else "",
        "Status": _tasks.status(task),
        "Process": _tasks.process(task),
        "RetCode": _tasks.RET_CODES[_tasks.description(task)] if failed else "0",
        "Urls": [{"Url": object_path(task), "Success": f"{share}%", "Description": text}],
    }]}
