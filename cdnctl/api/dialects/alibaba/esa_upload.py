"""Alibaba ESA 2024-09-10 upload tasks (spec §5.7-§5.9 and the seed ``ListUploadTasks``):
``UploadFile``, ``SubmitUploadTask``, ``GetUploadTask``, ``ListUploadTasks``.

``UploadFile`` fetches the URL-list file from ``Url`` (http or https, streamed, at most
10 MB) and stores it; ``SubmitUploadTask`` starts its expansion into purge or prefetch
tasks (:mod:`._expand`), whose outcome the upload task's status aggregates.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from cdnctl.api.dialects.alibaba import _expand
from cdnctl.api.dialects.alibaba._wire import (
    Call,
    parse_bool,
    parse_id,
    render_time,
    time_window,
)
from cdnctl.api.dialects.alibaba.errors import (
    AlibabaError,
    Product,
    invalid,
    invalid_parameters,
    invalid_urls,
    task_id_malformed,
)
from cdnctl.api.dialects.alibaba.esa import site_of
from cdnctl.core import uploads
from cdnctl.core.uploads import NewUpload, Upload

MAX_FILE = 10 * 1024 * 1024
FETCH_CONNECT_TIMEOUT = 5.0
FETCH_BUDGET = 8.0  # the whole download; the SDKs' default read timeout is 10 s
MAX_NAME = 255
#: UploadFile ``Type`` (case-insensitive) -> stored/listed form (lower case, as the seed).
UPLOAD_TYPES = {"file": "file", "preload": "preload", "directory": "directory",
                "ignoreparams": "ignoreparams"}
LIST_STATUS = {uploads.INIT: "Refreshing", uploads.ACTIVATED: "Refreshing",
               uploads.RUNNING: "Refreshing", uploads.SUCCESS: "Complete",
               uploads.PARTIAL: "Complete", uploads.FAIL: "Failed"}


def exceed_file_upload() -> AlibabaError:
    return AlibabaError("ExceedFileUpload", "The size of the uploaded file exceeds the upper "
                        "limit. Select a file less than 10 MB.")


async def fetch(url: str, *, limit: int = MAX_FILE) -> bytes:
    """Download ``url`` as a stream, refusing more than ``limit`` bytes."""
    timeout = httpx.Timeout(FETCH_BUDGET, connect=FETCH_CONNECT_TIMEOUT)
    body = bytearray()
    try:
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=True, max_redirects=3,
                              trust_env=False) as client,
            client.stream("GET", url) as response,
        ):
            if not 200 <= response.status_code < 300:
                raise invalid_urls()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise exceed_file_upload()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise exceed_file_upload()
    except httpx.HTTPError:
        raise invalid_urls() from None
    return bytes(body)


def _line_count(content: bytes) -> int:
    if not content:
        return 0
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


async def upload_file(call: Call) -> dict[str, Any]:
    site = site_of(call)
    kind = UPLOAD_TYPES.get(call.require("Type").strip().lower())
    if kind is None:
        raise invalid("Type")
    name = call.require("UploadTaskName").strip()
    if not name or len(name) > MAX_NAME:
        raise invalid("UploadTaskName")
    url = call.require("Url").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise invalid_urls() from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise invalid_urls()
    content = await fetch(url)
    # Pruned with the tasks, after the same retention (the worker's housekeeping).
    upload = await call.runtime.uploads.create(NewUpload(
        account_id=call.account.id, site_id=site.id, name=name, type=kind, url=url,
        created_at=call.now(), content=content, lines=_line_count(content)))
    return {"UploadId": upload.id}


async def _upload(call: Call) -> Upload:
    site = site_of(call)
    raw = call.get("UploadId")
    if raw is None:
        raise invalid_parameters()
    upload_id = parse_id(raw)
    if upload_id is None:
        raise task_id_malformed(Product.ESA)
    upload = await call.runtime.uploads.get(call.account.id, site.id, upload_id)
    if upload is None:
        raise invalid_parameters()
    return upload


async def submit_upload_task(call: Call) -> dict[str, Any]:
    upload = await _upload(call)
    force = parse_bool(call, "Force")
    repo = call.runtime.uploads
    if await repo.submit(upload.id, force, call.now()):
        fresh = await repo.get(upload.account_id, upload.site_id, upload.id)
        assert fresh is not None
        _expand.ensure_expanding(call.runtime, fresh)
    return {"UploadId": upload.id}  # submitting twice is harmless: the first one counts


async def get_upload_task(call: Call) -> dict[str, Any]:
    upload = await _expand.status(call.runtime, call.account, await _upload(call))
    return {"Status": upload.state, "Description": _expand.describe(upload)}


async def list_upload_tasks(call: Call) -> dict[str, Any]:
    site = site_of(call)
    raw_type = call.get("Type")
    kind = None
    if raw_type is not None:
        kind = UPLOAD_TYPES.get(raw_type.strip().lower())
        if kind is None:
            raise invalid_parameters()
    window = time_window(call)
    found = await call.runtime.uploads.find(
        call.account.id, site.id, type=kind, created_from=window.start,
        created_to=window.end + timedelta(seconds=1) if window.end else None)
    tasks = []
    for upload in found:
        current = await _expand.status(call.runtime, call.account, upload)
        tasks.append({
            "UploadTaskName": current.name,
            "UploadId": str(current.id),
            "CreateTime": render_time(current.created_at),
            "Status": LIST_STATUS[current.state],
            "Type": current.type,
            "Description": _expand.describe(current),
            "ErrorCode": ",".join(_expand.error_codes(current)),
        })
    return {"Tasks": tasks}
