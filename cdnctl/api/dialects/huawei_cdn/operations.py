"""The Huawei operations: parse (:mod:`.parsing`), call the core, render (:mod:`.rendering`).

One function per operation, each taking a :class:`Call` and returning the JSON
body of a 200 answer; every failure is raised (a :class:`~.errors.HuaweiError`
or a core error) and rendered by :mod:`.routes`. A Huawei history task or
access-control task is one cdnctl job; its URLs are the job's tasks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request

from cdnctl.api.dialects.huawei_cdn import parsing, rendering
from cdnctl.api.dialects.huawei_cdn._jobs import summarize
from cdnctl.api.dialects.huawei_cdn.errors import not_found
from cdnctl.core.errors import NotFoundError, ValidationError
from cdnctl.core.model import (
    Account,
    Action,
    Method,
    QuotaKind,
    TargetType,
    Task,
    TaskSpec,
)
from cdnctl.core.ports import BlockRuleFilter, JobFilter
from cdnctl.core.service import Submission
from cdnctl.core.targets import parse_url

if TYPE_CHECKING:
    from cdnctl.app import Runtime

SOURCE = "huawei-cdn"
#: Daily quotas of this dialect (Huawei's published defaults; the dir_refresh figure
#: is the user guide's 100, not the API example's 2000). Account overrides win.
HUAWEI_DAILY: Mapping[QuotaKind, int] = {
    QuotaKind.URL: 2000,
    QuotaKind.PREFIX: 100,
    QuotaKind.PREFETCH: 1000,
    QuotaKind.BLOCK: 10_000,  # not published by Huawei: ten full ban calls a day
}
_HISTORY_ACTIONS = frozenset({Action.PURGE, Action.PREFETCH})
_HISTORY_TYPES = frozenset({TargetType.URL, TargetType.PREFIX})


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request."""

    request: Request
    runtime: Runtime
    account: Account
    body: bytes
    request_id: str
    now: datetime
    day_seconds: int  # length of a ban_duration day (86400 except in tests and demos)

    @property
    def query(self) -> parsing.Query:
        params: dict[str, str] = {}
        for name, value in self.request.query_params.multi_items():
            params.setdefault(name, value)
        return parsing.Query(params)


def quota_limits(runtime: Runtime, account: Account) -> dict[QuotaKind, int]:
    return {**runtime.service.quota_defaults, **HUAWEI_DAILY, **account.quotas}


async def _submit(call: Call, action: Action, target_type: TargetType, urls: list[str], *,
                  method: Method = Method.DELETE, block_ttl_seconds: int | None = None) -> str:
    """Validate every URL (the first refusal fails the whole call, as on Huawei), then
    submit them as one job."""
    service = call.runtime.service
    specs: list[TaskSpec] = [
        service.spec(call.account, action, target_type, url, method=method,
                     block_ttl_seconds=block_ttl_seconds)
        for url in urls
    ]
    submitted = await service.submit(Submission(
        account=call.account, specs=specs, source=SOURCE, request_id=call.request_id,
        quota_limits=quota_limits(call.runtime, call.account)))
    return submitted.job.id


# -- create -------------------------------------------------------------------
async def create_refresh_tasks(call: Call) -> dict[str, object]:
    batch = parsing.parse_refresh(call.body)
    job_id = await _submit(call, batch.action, batch.type, batch.urls,
                           method=batch.method)
    return {"refresh_task": job_id}


async def create_preheating_tasks(call: Call) -> dict[str, object]:
    batch = parsing.parse_preheat(call.body)
    job_id = await _submit(call, batch.action, batch.type, batch.urls)
    return {"preheating_task": job_id}


async def create_access_control_task(call: Call) -> dict[str, object]:
    batch = parsing.parse_ban(call.request.path_params["action"], call.body)
    ttl = batch.days * call.day_seconds if batch.action is Action.BLOCK else None
    job_id = await _submit(call, batch.action, TargetType.URL, batch.urls,
                           block_ttl_seconds=ttl)
    return {"task_id": job_id}


# -- lists --------------------------------------------------------------------
async def list_access_control_task(call: Call) -> dict[str, object]:
    q = parsing.parse_access_tasks(call.query, call.now)
    service = call.runtime.service
    flt = JobFilter(account_id=call.account.id, actions=[Action.BLOCK, Action.UNBLOCK],
                    statuses=q.statuses, created_from=q.window.start, created_to=q.window.end)
    page = await service.jobs(flt, limit=q.limit, offset=q.offset)
    items = []
    for summary in page.items:
        _, tasks = await service.job(call.account, summary.job.id)
        items.append(rendering.access_control_task(summary, tasks))
    return {"total": page.total, "access_control_tasks": items}


async def list_ban_url(call: Call) -> dict[str, object]:
    q = parsing.parse_ban_urls(call.query)
    flt = BlockRuleFilter(account_id=call.account.id,
                          url_equals=_canonical(q.url) if q.url else None,
                          created_from=q.window.start, created_to=q.window.end)
    page = await call.runtime.service.block_rules(flt, limit=q.limit, offset=q.offset)
    return {"total": page.total, "ban_urls": [rendering.ban_url(r) for r in page.items]}


def _canonical(url: str) -> str:
    """The URL in the canonical form block rules are stored in (as given if it does not
    parse: then it matches no rule)."""
    with contextlib.suppress(ValidationError):
        return parse_url(url)[0]
    return url


async def show_history_tasks(call: Call) -> dict[str, object]:
    q = parsing.parse_history(call.query)
    flt = JobFilter(account_id=call.account.id, actions=q.actions, types=[q.type],
                    statuses=q.statuses, created_from=q.window.start, created_to=q.window.end)
    page = await call.runtime.service.jobs(flt, limit=q.limit, offset=q.offset, order=q.order,
                                           descending=q.descending)
    return {"total": page.total, "tasks": [rendering.history_task(s) for s in page.items]}


async def show_history_task_details(call: Call) -> dict[str, object]:
    q = parsing.parse_detail(call.query, call.now)
    try:
        job, tasks = await call.runtime.service.job(call.account,
                                                    call.request.path_params["task_id"])
    except NotFoundError:
        raise not_found() from None
    if not tasks or any(t.action not in _HISTORY_ACTIONS or t.type not in _HISTORY_TYPES
                        for t in tasks):
        raise not_found()  # a ban job, or a native job Huawei has no words for
    horizon = call.now - timedelta(days=7 if q.create_time is None else 15)
    if job.created_at < horizon:
        raise not_found()
    chosen = sorted((t for t in tasks if _detail_match(t, q)), key=lambda t: t.id)
    return rendering.history_detail(summarize(job, tasks), chosen[q.offset:q.offset + q.limit])


def _detail_match(task: Task, q: parsing.DetailQuery) -> bool:
    if q.url is not None and q.url not in (task.raw_target, task.target):
        return False
    if q.status is None:
        return True
    if q.status == "refreshing" and task.action is not Action.PURGE:
        return False
    if q.status == "preheating" and task.action is not Action.PREFETCH:
        return False
    return task.state in rendering.URL_STATUS_FILTER[q.status]


async def show_quota(call: Call) -> dict[str, object]:
    statuses = await call.runtime.service.quota(
        call.account, limits=quota_limits(call.runtime, call.account))
    return {"quotas": rendering.quotas(statuses, call.account.id)}
