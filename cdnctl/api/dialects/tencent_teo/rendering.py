"""Tencent responses: always HTTP 200, ``Content-Type: application/json`` exactly, and
``{"Response": {...}}`` with a ``RequestId`` (spec §0: any other status, or a
``charset`` parameter on the content type, breaks the SDK's error detection).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from cdnctl.api.dialects.tencent_teo.errors import TeoError
from cdnctl.api.dialects.tencent_teo.quotas import type_name
from cdnctl.core.model import Action, Task, TaskState

#: cdnctl task states -> EdgeOne ``Status`` (shared/design.md status table).
STATUS: Mapping[TaskState, str] = {
    TaskState.QUEUED: "processing",
    TaskState.RUNNING: "processing",
    TaskState.SUCCEEDED: "success",
    TaskState.FAILED: "failed",
    TaskState.TIMED_OUT: "timeout",
    TaskState.CANCELED: "canceled",
}

#: The first failed delivery's code -> EdgeOne ``FailType``.
FAIL_TYPES: Mapping[str, str] = {
    "origin_5xx": "originPullFailed",
    "origin_timeout": "originPullFailed",
    "origin_4xx": "originPullFailed",
    "origin_3xx": "originPullFailed",
    "edge_rejected": "accessDenied",
}


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def task(item: Task) -> dict[str, Any]:
    """One ``Task`` row; only the fields the 2022-09-01 model defines."""
    row: dict[str, Any] = {
        "JobId": item.job_id,
        "Target": item.raw_target,
        "Type": type_name(item.action, item.type),
        "Status": STATUS[item.state],
        "CreateTime": timestamp(item.created_at),
        "UpdateTime": timestamp(item.finished_at or item.updated_at),
    }
    if item.action is Action.PURGE:
        row["Method"] = item.method.value
    if item.state in (TaskState.FAILED, TaskState.TIMED_OUT):
        row["FailType"] = FAIL_TYPES.get(item.error_code or "", "taskFailed")
        if item.description:
            row["FailMessage"] = item.description
    return row


def _json(payload: Mapping[str, Any]) -> Response:
    body = json.dumps({"Response": payload}, separators=(",", ":")).encode("ascii")
    # media_type=None and an explicit header: exactly "application/json", no charset.
    return Response(body, status_code=200, headers={"Content-Type": "application/json"})


def success(fields: Mapping[str, Any], request_id: str) -> Response:
    return _json({**fields, "RequestId": request_id})


def error(exc: TeoError, language: str, request_id: str) -> Response:
    return _json({"Error": {"Code": exc.code, "Message": exc.message(language)},
                  "RequestId": request_id})
