"""``/v1/tasks``, ``/v1/jobs``, ``/v1/quota``, ``/v1/blocks``: submit, query, cancel."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cdnctl.api.errors import BadRequestError, domain_error
from cdnctl.api.native.deps import authenticate, json_body, request_id_of, runtime_of
from cdnctl.api.native.schemas import (
    BlockList,
    QuotaList,
    SubmitRequest,
    block_out,
    detail_out,
    job_json,
    plan_out,
    quota_out,
    submit_response_json,
    task_list_json,
    task_out,
)
from cdnctl.core.errors import LimitExceededError, ValidationError
from cdnctl.core.model import Action, Method, TargetType, TaskSpec, TaskState
from cdnctl.core.ports import BlockRuleFilter, TaskFilter
from cdnctl.core.service import Submission

E = TypeVar("E", bound=StrEnum)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_REPORTED = 100  # target errors listed in one response
_NOT_PER_TARGET = frozenset({"type", "block_ttl_seconds", "method", "headers"})
LIST_PARAMS = frozenset({"status", "action", "type", "domain", "site", "target", "job_id",
                         "created_after", "created_before", "limit", "cursor"})
BLOCK_PARAMS = frozenset({"url", "created_after", "created_before", "limit", "offset"})


def ok(model: BaseModel | bytes, status: int = 200,
       headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response: a model, or a body already rendered (the task lists)."""
    body = model if isinstance(model, bytes) else model.model_dump_json()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


# -- query-string parsing -----------------------------------------------------
def only(request: Request, allowed: Iterable[str]) -> None:
    allowed = frozenset(allowed)
    for name in request.query_params:
        if name not in allowed:
            raise BadRequestError("UnknownParameter",
                                  f"unknown query parameter {name!r}; allowed: "
                                  f"{', '.join(sorted(allowed)) or 'none'}", field=name)


def multi(request: Request, name: str, enum: type[E]) -> list[E] | None:
    """Repeatable and comma-separated: ``?status=failed&status=timed_out,canceled``."""
    raw = [v.strip() for item in request.query_params.getlist(name) for v in item.split(",")]
    values = [v for v in raw if v]
    if not values:
        return None
    try:
        return [enum(v) for v in values]
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise BadRequestError("ValidationError", f"{name} must be among: {allowed}",
                              field=name) from None


def integers(request: Request, name: str) -> list[int] | None:
    """Repeatable and comma-separated integers: ``?site=1001,1002``."""
    raw = [v.strip() for item in request.query_params.getlist(name) for v in item.split(",")]
    values = [v for v in raw if v]
    if not values:
        return None
    if not all(v.isascii() and v.isdigit() and len(v) <= 18 for v in values):
        raise BadRequestError("ValidationError", f"{name} must be site ids (integers)",
                              field=name)
    return [int(v) for v in values]


def timestamp(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise BadRequestError("ValidationError",
                              f"{name} must be an ISO-8601 time such as 2024-05-01T12:00:00Z",
                              field=name) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def integer(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise BadRequestError("ValidationError", f"{name} must be an integer in {lo}..{hi}",
                              field=name)
    return value


def encode_cursor(before_id: int | None) -> str | None:
    if before_id is None:
        return None
    return base64.urlsafe_b64encode(f"t:{before_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "t" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequestError("ValidationError", "invalid cursor; pass next_cursor unchanged",
                              field="cursor") from None


def task_filter(request: Request, account_id: str) -> TaskFilter:
    domains = [d.strip().lower() for v in request.query_params.getlist("domain")
               for d in v.split(",") if d.strip()]
    return TaskFilter(
        account_id=account_id,
        job_id=request.query_params.get("job_id") or None,
        states=multi(request, "status", TaskState),
        actions=multi(request, "action", Action),
        types=multi(request, "type", TargetType),
        domains=domains or None,
        site_ids=integers(request, "site"),
        target_contains=request.query_params.get("target") or None,
        created_from=timestamp(request, "created_after"),
        created_to=timestamp(request, "created_before"),
    )


# -- submit -------------------------------------------------------------------
def check_fields(body: SubmitRequest) -> None:
    """Fields that only make sense with one action."""
    if body.method is not Method.DELETE and body.action is not Action.PURGE:
        raise ValidationError("method applies to purge only", field="method")
    if body.headers and body.action is not Action.PREFETCH:
        raise ValidationError("headers apply to prefetch only", field="headers")
    if body.block_ttl_seconds is not None and body.action is not Action.BLOCK:
        raise ValidationError("block_ttl_seconds applies to block only",
                              field="block_ttl_seconds")


def idempotency_key(request: Request, body: SubmitRequest) -> str | None:
    header = request.headers.get("idempotency-key", "").strip() or None
    if header is not None and len(header) > 255:
        raise ValidationError("Idempotency-Key is longer than 255 characters",
                              field="Idempotency-Key")
    if header and body.idempotency_key and header != body.idempotency_key:
        raise ValidationError("the Idempotency-Key header and idempotency_key differ",
                              field="idempotency_key")
    return body.idempotency_key or header


async def submit(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "submit")
    body = await json_body(request, SubmitRequest)
    check_fields(body)
    key = idempotency_key(request, body)
    if len(body.targets) > rt.service.limits.max_targets:
        raise LimitExceededError(f"at most {rt.service.limits.max_targets} targets per request, "
                                 f"got {len(body.targets)}")
    specs: list[TaskSpec] = []
    bad: list[tuple[int, ValidationError]] = []
    for i, raw in enumerate(body.targets):
        try:
            specs.append(rt.service.spec(
                account, body.action, body.type, raw, method=body.method, headers=body.headers,
                block_ttl_seconds=body.block_ttl_seconds))
        except ValidationError as exc:
            if exc.field in _NOT_PER_TARGET:
                raise
            bad.append((i, exc))
    if bad:
        i, first = bad[0]
        errors = [{"field": f"targets[{j}]", "message": e.message, "type": e.code}
                  for j, e in bad[:MAX_REPORTED]]
        return domain_error(first, request, prefix=f"targets[{i}]: ", field=f"targets[{i}]",
                            index=i, errors=errors if len(bad) > 1 else None)
    sub = Submission(account=account, specs=specs, source="native",
                     request_id=request_id_of(request), idempotency_key=key)
    if body.dry_run:
        return ok(plan_out(await rt.service.plan(sub)))
    done = await rt.service.submit(sub)
    out = submit_response_json(done.job.id, done.created, done.tasks)
    return ok(out, 202 if done.created else 200, {"Location": f"/v1/jobs/{done.job.id}"})


# -- queries --------------------------------------------------------------------
async def list_tasks(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, LIST_PARAMS)
    flt = task_filter(request, account.id)
    limit = integer(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = await rt.service.tasks(flt, limit=limit,
                                  before_id=decode_cursor(request.query_params.get("cursor")))
    return ok(task_list_json(page.items, encode_cursor(page.next_cursor)))


async def get_task(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, ())
    task, deliveries = await rt.service.task_detail(account, request.path_params["task_id"])
    return ok(detail_out(task, deliveries))


async def cancel_task(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "cancel")
    task = await rt.service.cancel(account, request.path_params["task_id"])
    return ok(task_out(task))


async def get_job(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, ())
    job, tasks = await rt.service.job(account, request.path_params["job_id"])
    return ok(job_json(job, tasks))


async def quota(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, ())
    return ok(QuotaList(quotas=[quota_out(q) for q in await rt.service.quota(account)]))


async def blocks(request: Request) -> Response:
    rt = runtime_of(request)
    account = authenticate(request)
    rt.service.check_rate(account, "query")
    only(request, BLOCK_PARAMS)
    flt = BlockRuleFilter(account_id=account.id,
                          url_contains=request.query_params.get("url") or None,
                          created_from=timestamp(request, "created_after"),
                          created_to=timestamp(request, "created_before"))
    limit = integer(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = integer(request, "offset", 0, 0, 10**9)
    page = await rt.service.block_rules(flt, limit=limit, offset=offset)
    return ok(BlockList(blocks=[block_out(b) for b in page.items], total=page.total))


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/tasks", submit, methods=["POST"]),
        Route("/v1/tasks", list_tasks, methods=["GET"]),
        Route("/v1/tasks/{task_id:int}", get_task, methods=["GET"]),
        Route("/v1/tasks/{task_id:int}/cancel", cancel_task, methods=["POST"]),
        Route("/v1/jobs/{job_id:str}", get_job, methods=["GET"]),
        Route("/v1/quota", quota, methods=["GET"]),
        Route("/v1/blocks", blocks, methods=["GET"]),
    ]
