"""cdnctl tasks as Alibaba sees them: status, progress, failure description, and the
shared submit helpers (soft-purge choice, quota limits, per-target validation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta, timezone
from typing import Any

from cdnctl.api.dialects.alibaba._wire import Call
from cdnctl.core.errors import UnsupportedError
from cdnctl.core.model import (
    Account,
    Action,
    Method,
    QuotaKind,
    TargetType,
    Task,
    TaskSpec,
    TaskState,
)
from cdnctl.core.quotas import DEFAULT_DAILY, limits_for
from cdnctl.core.service import Submission, Submitted

#: Alibaba counts daily quotas per Beijing day (UTC+8, no daylight saving time): every
#: submission and quota report of the CDN and ESA dialects uses this quota day.
QUOTA_TZ = timezone(timedelta(hours=8), "UTC+08:00")

STATUS = {
    TaskState.QUEUED: "Refreshing",
    TaskState.RUNNING: "Refreshing",
    TaskState.SUCCEEDED: "Complete",
    TaskState.FAILED: "Failed",
    TaskState.TIMED_OUT: "Failed",
    TaskState.CANCELED: "Failed",
}
#: Status filter values -> internal states (ESA's documented typo ``Complte`` included).
STATES_FOR = {
    "complete": (TaskState.SUCCEEDED,),
    "complte": (TaskState.SUCCEEDED,),
    "refreshing": (TaskState.QUEUED, TaskState.RUNNING),
    "failed": (TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELED),
}

#: Alibaba's published per-account daily defaults (spec §4.1, §4.2, §4.8); the kinds
#: Alibaba CDN does not publish fall back to cdnctl's core defaults.
ALIBABA_DAILY: Mapping[QuotaKind, int] = {
    **DEFAULT_DAILY,
    QuotaKind.URL: 10_000,
    QuotaKind.PREFIX: 100,
    QuotaKind.REGEX: 20,
    QuotaKind.URL_IGNORE_PARAMS: 100,
    QuotaKind.PREFETCH: 1_000,
    QuotaKind.BLOCK: 100,
}


def status(task: Task) -> str:
    return STATUS[task.state]


def process(task: Task) -> str:
    return f"{task.progress}%"


def description(task: Task) -> str:
    """Empty unless failed; then Alibaba's three failure texts (seed ``Description``)."""
    if task.state in (TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED):
        return ""
    if task.error_code == "origin_timeout":
        return "Origin Timeout"
    if task.error_code == "origin_5xx":
        return "Origin Return StatusCode 5XX"
    return "Internal Error"

#: Failure description -> the code form the seed lists (``DescribePreloadDetailById``).
RET_CODES = {"Internal Error": "InternalError", "Origin Timeout": "OriginTimeout",
             "Origin Return StatusCode 5XX": "OriginReturnStatusCode 5XX"}


def account_limits(account: Account, overrides: Mapping[QuotaKind, int] | None = None,
                   ) -> dict[QuotaKind, int]:
    """The account's daily limits over Alibaba's defaults (then per-scope overrides)."""
    return {**limits_for(account.quotas, ALIBABA_DAILY), **(overrides or {})}


def purge_spec(call: Call, target_type: TargetType, raw: str, *, force: bool) -> TaskSpec:
    """A purge spec. ``force=False`` on a non-URL purge asks for a soft purge
    (revalidate), which falls back to a hard purge where the nodes cannot soft-purge:
    deleting is always at least what was asked."""
    svc = call.runtime.service
    if force or target_type is TargetType.URL:
        return svc.spec(call.account, Action.PURGE, target_type, raw)
    try:
        return svc.spec(call.account, Action.PURGE, target_type, raw, method=Method.INVALIDATE)
    except UnsupportedError:
        return svc.spec(call.account, Action.PURGE, target_type, raw)


def scoped(spec: TaskSpec, domain: str) -> TaskSpec:
    """Pin a domain-less target (a cache tag) to one domain, so it reaches that
    domain's pool only and is listed under it."""
    return replace(spec, target=replace(spec.target, domain=domain))


async def submit(call: Call, specs: Sequence[TaskSpec], *, source: str,
                 limits: Mapping[QuotaKind, int], scope: str | None = None,
                 idempotency_key: str | None = None,
                 meta: dict[str, Any] | None = None) -> Submitted:
    return await call.runtime.service.submit(Submission(
        account=call.account, specs=specs, source=source, request_id=call.request_id,
        idempotency_key=idempotency_key, quota_scope=scope, quota_limits=limits,
        quota_tz=QUOTA_TZ,
        meta={"action": call.action, **(meta or {})}))
