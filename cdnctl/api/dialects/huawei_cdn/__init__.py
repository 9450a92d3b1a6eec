"""Huawei Cloud CDN (``/v1.0/cdn/...``), wire-compatible with ``huaweicloudsdkcdn`` v1 and v2.

Refresh (file / directory, ``mode``, ``zh_url_encode``), preheat, URL ban /
unban, the access-control task list, the blocked-URL list, history tasks and
their per-URL details, and the quota view — over the same core use cases as
every other API. A Huawei task id is a cdnctl job id; its URLs are the job's
tasks. The account id doubles as the Huawei ``domain_id``. Compatibility notes:
``docs/dialects/huawei-cdn.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from cdnctl.api.dialects.huawei_cdn.errors import render, unknown_api
from cdnctl.api.dialects.huawei_cdn.routes import OPERATIONS, build_routes, request_id

if TYPE_CHECKING:
    from cdnctl.app import Runtime

__all__ = ["DIALECT", "OPERATIONS", "HuaweiCdnDialect"]

DAY_SECONDS = 86400


class HuaweiCdnDialect:
    """``day_seconds`` is the length of one ``ban_duration`` day: 86400, except in
    tests and demos that want to watch a ban expire on a real edge."""

    name = "huawei-cdn"

    def __init__(self, *, day_seconds: int = DAY_SECONDS) -> None:
        if day_seconds < 1:
            raise ValueError("day_seconds must be positive")
        self.day_seconds = day_seconds

    def claims(self, request: Request, params: dict[str, str]) -> bool:
        """Huawei never calls ``/``: its operations have their own paths."""
        return False

    async def handle(self, request: Request, params: dict[str, str], runtime: Runtime) -> Response:
        return render(unknown_api(), request_id(request))  # pragma: no cover - never claimed

    def routes(self, runtime: Runtime) -> list[BaseRoute]:
        return build_routes(runtime, self.day_seconds)


DIALECT = HuaweiCdnDialect()
