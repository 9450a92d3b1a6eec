"""The Huawei REST paths under ``/v1.0/cdn/...`` and the one wrapper every operation runs in.

Per request, in order: read the body, authenticate (:mod:`.auth`), apply the
per-tenant rate limit of the operation (documented figures: 10/s to create
access-control tasks, 30/s to list them and to list blocked URLs; cdnctl's
default elsewhere; each overridable per account under the key
``huawei-cdn:<Operation>``), run the operation, and answer JSON with
``X-Request-Id``. Every failure becomes a Huawei envelope (:mod:`.errors`);
nothing escapes as a stack trace. Any other path under ``/v1.0/cdn/`` is the
gateway's ``404 APIGW.0101``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cdnctl.api.dialects.huawei_cdn import operations as ops
from cdnctl.api.dialects.huawei_cdn.auth import authenticate
from cdnctl.api.dialects.huawei_cdn.errors import (
    HuaweiError,
    from_core,
    internal_error,
    render,
    too_large,
    unknown_api,
)
from cdnctl.api.errors import BodyTooLargeError
from cdnctl.core.errors import CdnctlError
from cdnctl.core.model import Account

if TYPE_CHECKING:
    from cdnctl.app import Runtime

log = logging.getLogger("cdnctl.api.huawei")
Handler = Callable[[ops.Call], Awaitable[dict[str, object]]]
_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str  # the vendor's operation name (SDK method in CamelCase)
    method: str
    path: str
    handler: Handler
    rate: float | None = None  # documented requests/s per tenant; None: cdnctl's default
    batch_code: str = "CDN.0110"  # the code for "too many URLs" / "quota used up"

    @property
    def rate_key(self) -> str:
        return f"{ops.SOURCE}:{self.name}"


OPERATIONS: tuple[Operation, ...] = (
    Operation("CreateRefreshTasks", "POST", "/v1.0/cdn/content/refresh-tasks",
              ops.create_refresh_tasks),
    Operation("CreatePreheatingTasks", "POST", "/v1.0/cdn/content/preheating-tasks",
              ops.create_preheating_tasks),
    Operation("CreateAccessControlTask", "POST",
              "/v1.0/cdn/content/access-control-urls/{action}",
              ops.create_access_control_task, rate=10, batch_code="CDN.0005"),
    Operation("ListAccessControlTask", "GET", "/v1.0/cdn/content/access-control-tasks",
              ops.list_access_control_task, rate=30),
    Operation("ListBanUrl", "GET", "/v1.0/cdn/content/ban-urls", ops.list_ban_url, rate=30),
    Operation("ShowHistoryTasks", "GET", "/v1.0/cdn/historytasks", ops.show_history_tasks),
    # ``:path`` so that an id with an encoded "/" still reaches the operation (-> CDN.0003).
    Operation("ShowHistoryTaskDetails", "GET", "/v1.0/cdn/historytasks/{task_id:path}/detail",
              ops.show_history_task_details),
    Operation("ShowQuota", "GET", "/v1.0/cdn/quota", ops.show_quota),
)


def request_id(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", "") or ""
    if not rid:
        rid = uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def effective_rate(runtime: Runtime, account: Account | None, op: Operation) -> float:
    default = op.rate if op.rate is not None else runtime.service.limits.default_rate
    return account.rate_limits.get(op.rate_key, default) if account is not None else default


def endpoint(op: Operation, runtime: Runtime, day_seconds: int) -> Callable[
        [Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        rid = request_id(request)
        account: Account | None = None
        try:
            body = await request.body()
            account = authenticate(request, body, runtime)
            runtime.service.check_rate(account, op.rate_key, rate=op.rate)
            call = ops.Call(request=request, runtime=runtime, account=account, body=body,
                            request_id=rid, now=runtime.clock.now(), day_seconds=day_seconds)
            result = await op.handler(call)
        except HuaweiError as exc:
            return render(exc, rid)
        except BodyTooLargeError as exc:
            return render(too_large(exc.limit), rid)
        except CdnctlError as exc:
            directory = runtime.directory
            return render(from_core(exc, batch=op.batch_code,
                                    is_cdn_domain=lambda d: directory.site_for_host(d) is not None,
                                    rate=effective_rate(runtime, account, op)), rid)
        except Exception:
            log.exception("Huawei %s failed (request %s)", op.name, rid)
            return internal_error(rid)
        return JSONResponse(result, headers={"X-Request-Id": rid})

    return handle


async def unknown(request: Request) -> Response:
    return render(unknown_api(), request_id(request))


def build_routes(runtime: Runtime, day_seconds: int) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route(op.path, endpoint(op, runtime, day_seconds), methods=[op.method],
              name=f"huawei:{op.name}", include_in_schema=False)
        for op in OPERATIONS
    ]
    # Last, so that a known path with another method is an unknown API too (as on APIG).
    routes.append(Route("/v1.0/cdn/{rest:path}", unknown, methods=_ALL_METHODS,
                        name="huawei:unknown", include_in_schema=False))
    return routes
