"""Render core objects in Huawei's wire shapes (field names, enums, epoch milliseconds).

Status names follow ``shared/design.md``: queued/running -> ``processing``,
succeeded -> ``succeed``, failed/timed out/canceled -> ``failed``. A history
task (a job) is ``task_inprocess`` while any of its URLs is processing, then
``task_done``; its counters always add up (``processing + succeed + failed =
total``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cdnctl.api.dialects.huawei_cdn.parsing import to_ms
from cdnctl.core.model import Action, BlockRule, QuotaKind, TargetType, Task, TaskState
from cdnctl.core.ports import JobStatus, JobSummary
from cdnctl.core.quotas import QuotaStatus

URL_STATUS: Mapping[TaskState, str] = {
    TaskState.QUEUED: "processing",
    TaskState.RUNNING: "processing",
    TaskState.SUCCEEDED: "succeed",
    TaskState.FAILED: "failed",
    TaskState.TIMED_OUT: "failed",
    TaskState.CANCELED: "failed",
}
#: The finer URL statuses a detail query may filter by, as sets of task states.
URL_STATUS_FILTER: Mapping[str, frozenset[TaskState]] = {
    "processing": frozenset({TaskState.QUEUED, TaskState.RUNNING}),
    "waiting": frozenset({TaskState.QUEUED}),
    "refreshing": frozenset({TaskState.RUNNING}),
    "preheating": frozenset({TaskState.RUNNING}),
    "succeed": frozenset({TaskState.SUCCEEDED}),
    "failed": frozenset({TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELED}),
}
ACCESS_STATUS: Mapping[JobStatus, str] = {
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "succeed",
    JobStatus.FAILED: "failed",
}
#: Huawei quota type -> core quota kind (content quotas only).
QUOTA_TYPES: Mapping[str, QuotaKind] = {
    "file_refresh": QuotaKind.URL,
    "dir_refresh": QuotaKind.PREFIX,
    "preheat": QuotaKind.PREFETCH,
}
_ORIGIN_CODES = frozenset({"origin_5xx", "origin_timeout"})
_INNER_CODES = frozenset({"edge_timeout", "edge_unreachable", "edge_http_5xx", "edge_rejected",
                          "edge_unsupported", "internal"})


def task_type(action: Action) -> str:
    return "preheating" if action is Action.PREFETCH else "refresh"


def file_type(target_type: TargetType) -> str:
    return "directory" if target_type is TargetType.PREFIX else "file"


def history_status(summary: JobSummary) -> str:
    return "task_inprocess" if summary.processing else "task_done"


def counters(summary: JobSummary) -> dict[str, int]:
    return {"processing": summary.processing, "succeed": summary.succeeded,
            "failed": summary.failed, "total": summary.total}


def history_task(summary: JobSummary) -> dict[str, object]:
    return {"id": summary.job.id, "task_type": task_type(summary.action),
            "status": history_status(summary), **counters(summary),
            "create_time": to_ms(summary.job.created_at), "file_type": file_type(summary.type)}


def fail_classify(code: str | None) -> str:
    if code in _ORIGIN_CODES:
        return "ORIGIN_ERROR"
    if code in _INNER_CODES:
        return "INNER_ERROR"
    return "UNKNOWN_ERROR"


def url_object(task: Task) -> dict[str, object]:
    status = URL_STATUS[task.state]
    out: dict[str, object] = {
        "id": str(task.id), "url": task.raw_target, "status": status,
        "create_time": to_ms(task.created_at), "task_id": task.job_id,
        "task_type": "PREHEATING" if task.action is Action.PREFETCH else "REFRESH",
    }
    if status == "failed":
        out["fail_classify"] = fail_classify(task.error_code)
        out["fail_desc"] = task.description or task.error_code or task.state.value
    return out


def history_detail(summary: JobSummary, urls: Iterable[Task]) -> dict[str, object]:
    return {"id": summary.job.id, "task_type": task_type(summary.action),
            "status": history_status(summary), "urls": [url_object(t) for t in urls],
            "create_time": to_ms(summary.job.created_at), **counters(summary),
            "file_type": file_type(summary.type)}


def access_control_task(summary: JobSummary, tasks: Sequence[Task]) -> dict[str, object]:
    ordered = sorted(tasks, key=lambda t: t.id)
    return {"id": summary.job.id, "urls": [t.raw_target for t in ordered],
            "status": ACCESS_STATUS[summary.status],
            "action": "ban" if summary.action is Action.BLOCK else "unban",
            "create_time": to_ms(summary.job.created_at)}


def ban_url(rule: BlockRule) -> dict[str, object]:
    created = to_ms(rule.created_at)
    return {"type": "static", "url": rule.url, "create_time": created, "modify_time": created}


def quotas(statuses: Iterable[QuotaStatus], account_id: str) -> list[dict[str, object]]:
    by_kind = {s.kind: s for s in statuses}
    out: list[dict[str, object]] = []
    for name, kind in QUOTA_TYPES.items():
        status = by_kind.get(kind)
        if status is not None:
            out.append({"quota_limit": status.limit, "type": name, "used": status.used,
                        "user_domain_id": account_id})
    return out
