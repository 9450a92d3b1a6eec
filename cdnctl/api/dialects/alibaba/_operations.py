"""The operation table: every supported (product, action) with its handler and its
per-account QPS default (spec §6; configurable per account through
``Account.rate_limits`` keyed by the operation name)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from cdnctl.api.dialects.alibaba import _expand, cdn, cdn_query, esa, esa_query, esa_upload
from cdnctl.api.dialects.alibaba._rpc import Handler, Operation, Throttle
from cdnctl.api.dialects.alibaba.errors import (
    Product,
    throttled_user,
    too_many_requests_cdn,
    too_many_requests_esa,
)

if TYPE_CHECKING:
    from cdnctl.app import Runtime


def _op(name: str, handler: Handler, rate: float | None,
        throttle: Throttle = throttled_user) -> tuple[str, Operation]:
    return name, Operation(name, handler, rate, throttle)


CDN = dict([
    _op("RefreshObjectCaches", cdn.refresh_object_caches, 50),
    _op("RefreshObjectCacheByCacheTag", cdn.refresh_by_cache_tag, 50),
    _op("PushObjectCache", cdn.push_object_cache, 50),
    _op("BlockObjectCaches", cdn.block_object_caches, 20),
    _op("DescribeRefreshTasks", cdn_query.describe_refresh_tasks, 5, too_many_requests_cdn),
    _op("DescribeRefreshTaskById", cdn_query.describe_refresh_task_by_id, 30,
        too_many_requests_cdn),
    _op("DescribeRefreshQuota", cdn_query.describe_refresh_quota, 20),
    _op("DescribeCdnUserQuota", cdn_query.describe_cdn_user_quota, 30),
    _op("DescribePreloadDetailById", cdn_query.describe_preload_detail_by_id, 30),
])


def _esa(name: str, handler: Handler) -> tuple[str, Operation]:
    # ESA publishes no QPS figures: cdnctl's default rate applies (configurable).
    return _op(name, handler, None, too_many_requests_esa)


ESA = dict([
    _esa("PurgeCaches", esa.purge_caches),
    _esa("PreloadCaches", esa.preload_caches),
    _esa("BlockObject", esa.block_object),
    _esa("GetPurgeQuota", esa.get_purge_quota),
    _esa("DescribePurgeTasks", esa_query.describe_purge_tasks),
    _esa("DescribePreloadTasks", esa_query.describe_preload_tasks),
    _esa("UploadFile", esa_upload.upload_file),
    _esa("SubmitUploadTask", esa_upload.submit_upload_task),
    _esa("GetUploadTask", esa_upload.get_upload_task),
    _esa("ListUploadTasks", esa_upload.list_upload_tasks),
])

OPERATIONS: dict[Product, dict[str, Operation]] = {Product.CDN: CDN, Product.ESA: ESA}
_resumers: set[asyncio.Task[None]] = set()


def start_background(runtime: Runtime) -> None:
    """Resume upload tasks accepted before a restart (when an event loop runs)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    task = loop.create_task(_expand.resume_all(runtime))
    _resumers.add(task)
    task.add_done_callback(_resumers.discard)
