"""Request and response bodies of the native API (``/v1``).

The same models validate requests, render responses and produce the OpenAPI
document (``/openapi.json``), so the reference cannot drift from the code.
Requests are parsed strictly: no type coercion, unknown fields refused.

Lists of tasks (``GET /v1/tasks``, the 202 of a submission, ``GET /v1/jobs/{id}``) are
the exception on the rendering side: validating a :class:`TaskOut` per task before
serializing it costs about twice the serialization, so :func:`task_list_json` and its
siblings serialize plain dicts through TypedDict mirrors of the models (same pydantic
serializers, no validation). The unit tests hold their output to the models'
``model_dump_json``, byte for byte; the models stay the reference for the shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from cdnctl.core.model import (
    Action,
    BlockRule,
    Delivery,
    DeliveryState,
    Job,
    Method,
    QuotaKind,
    TargetType,
    Task,
    TaskState,
)
from cdnctl.core.quotas import QuotaStatus
from cdnctl.core.service import Plan

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
MAX_HEADERS = 32
MAX_HEADER_VALUE = 4096


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


# -- requests ---------------------------------------------------------------
class SubmitRequest(_Model):
    """Submit one job: the same action on one or more targets, one task per target."""

    action: Action = Field(description="purge, prefetch (warm every node), block or unblock")
    type: TargetType = Field(
        TargetType.URL,
        description="what each target is: url, prefix (directory), regex, url_ignore_params, "
                    "host, all (a site name or one of its domains), tag (cache tag); "
                    "prefetch/block/unblock take url only")
    targets: list[Annotated[str, Field(min_length=1, max_length=8192)]] = Field(
        min_length=1, description="the targets; errors name the offending index (targets[3])")
    method: Method = Field(
        Method.DELETE, description="purge only: delete (hard) or invalidate (soft: mark stale)")
    headers: dict[str, str] = Field(
        default_factory=dict, description="prefetch only: request headers sent to the nodes")
    block_ttl_seconds: int | None = Field(
        None, ge=1, description="block only: the rule expires after this many seconds "
                                "(null: until unblocked)")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=255,
        description="a replay with the same key returns the stored job (200) instead of "
                    "creating a new one; also accepted as the Idempotency-Key header")
    dry_run: bool = Field(
        False, description="validate and plan only (200, a PlanOut): the tasks it would "
                           "create and the nodes each would reach, the quota it would use; "
                           "nothing is stored, charged or sent; errors as for a submission")

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} headers")
        for name, value in v.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if name.lower() in _FORBIDDEN_HEADERS:
                raise ValueError(f"the {name} header cannot be set")
            if len(value) > MAX_HEADER_VALUE or any(
                    (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value):
                raise ValueError(f"the value of {name!r} has control characters or is too long")
        return v


# -- responses --------------------------------------------------------------
class TaskCounts(_Model):
    total: int = Field(description="deliveries (one per node)")
    succeeded: int
    failed: int
    pending: int = Field(description="not finished yet (or canceled)")


class TaskOut(_Model):
    """One target of a job with one action, and where it stands."""

    id: int
    job_id: str
    action: Action
    type: TargetType
    target: str = Field(description="the canonical target the nodes act on")
    raw_target: str = Field(description="the target as submitted")
    domain: str | None
    site_id: int | None = Field(
        description="the site the task acts in (null for an account-wide tag purge)")
    method: Method
    status: TaskState
    progress: int = Field(ge=0, le=100, description="percent of deliveries finished")
    error_code: str | None
    description: str | None
    counts: TaskCounts
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    deadline: datetime = Field(description="unfinished at this time: timed_out")
    headers: dict[str, str] = Field(default_factory=dict)
    block_expires_at: datetime | None = None


class AttemptOut(_Model):
    number: int
    time: datetime = Field(description="when the attempt started")
    outcome: str = Field(description="ok, or the error code (edge_timeout, edge_http_5xx, ...)")
    http_status: int | None = Field(description="what the node answered, if it answered")
    latency_ms: float
    detail: str


class DeliveryOut(_Model):
    """One (task, node) pair with every attempt made: the per-node proof."""

    node: str
    state: DeliveryState
    attempt_count: int
    http_status: int | None
    error_code: str | None
    description: str | None
    next_attempt_at: datetime | None = Field(description="pending only: when it is tried next")
    updated_at: datetime
    attempts: list[AttemptOut]


class TaskDetailOut(TaskOut):
    deliveries: list[DeliveryOut]


class SubmitResponse(_Model):
    job_id: str
    created: bool = Field(description="false when an idempotent replay returned the stored job")
    tasks: list[TaskOut]


class JobOut(_Model):
    job_id: str
    created_at: datetime
    source: str = Field(description="native, or the vendor API it came in by")
    request_id: str
    idempotency_key: str | None
    task_count: int
    tasks: list[TaskOut]


class TaskList(_Model):
    tasks: list[TaskOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class QuotaOut(_Model):
    kind: QuotaKind
    limit: int
    used: int
    remaining: int
    resets_at: datetime = Field(description="next UTC midnight")


class QuotaList(_Model):
    quotas: list[QuotaOut]


class PlannedTaskOut(_Model):
    """A task a submission would create (a dry run), and where it would go."""

    action: Action
    type: TargetType
    target: str = Field(description="the canonical target the nodes would act on")
    raw_target: str
    domain: str | None
    site_id: int | None
    method: Method
    nodes: list[str] = Field(description="the nodes it would be delivered to")


class PlanOut(_Model):
    """What a submission would do: nothing was stored, charged or sent."""

    dry_run: bool = True
    tasks: list[PlannedTaskOut]
    quota: list[QuotaOut] = Field(description="the quotas it would charge, as after it")


class SiteOut(_Model):
    id: int
    name: str
    zone_id: str
    domains: list[str]
    pool: str


class SiteList(_Model):
    sites: list[SiteOut]


class DomainOut(_Model):
    domain: str
    site: str
    pool: str


class DomainList(_Model):
    domains: list[DomainOut]


class HealthOut(_Model):
    up: bool
    latency_ms: float | None
    detail: str
    checked_at: datetime


class NodeOut(_Model):
    name: str
    pool: str
    kind: str
    capabilities: list[str]
    health: HealthOut


class NodeList(_Model):
    nodes: list[NodeOut]


class BlockOut(_Model):
    url: str
    domain: str | None
    created_at: datetime
    expires_at: datetime | None
    task_id: int


class BlockList(_Model):
    blocks: list[BlockOut]
    total: int = Field(description="active rules matching the filters, ignoring limit/offset")


class CheckOut(_Model):
    ok: bool
    latency_ms: float | None = None
    detail: str = ""


class Healthz(_Model):
    status: str = Field(description="ok or failing")
    checks: dict[str, CheckOut]


class FieldError(_Model):
    field: str
    message: str
    type: str


class ErrorOut(_Model):
    """Every error: a stable code, a human message, and typed extras where they apply."""

    error: str = Field(description="stable code: InvalidUrl, QuotaExceeded, NotFound, ...")
    detail: str = Field(description="what went wrong, for humans")
    request_id: str | None = None
    field: str | None = Field(None, description="the offending field, e.g. targets[3]")
    index: int | None = Field(None, description="the offending target's index")
    errors: list[FieldError] | None = Field(None, description="SchemaError: every bad field")
    retry_after: float | None = Field(None, description="RateLimited: seconds to wait")
    kind: QuotaKind | None = Field(None, description="QuotaExceeded: which daily quota")
    limit: int | None = None
    remaining: int | None = None
    resets_at: datetime | None = None


MODELS: tuple[type[BaseModel], ...] = (
    SubmitRequest, SubmitResponse, TaskOut, TaskDetailOut, DeliveryOut, AttemptOut, TaskCounts,
    JobOut, TaskList, QuotaOut, QuotaList, SiteOut, SiteList, DomainOut, DomainList, NodeOut,
    NodeList, HealthOut, BlockOut, BlockList, Healthz, CheckOut, ErrorOut, FieldError,
    PlanOut, PlannedTaskOut,
)


# -- domain -> response -------------------------------------------------------
def task_out(t: Task) -> TaskOut:
    done = t.deliveries_succeeded + t.deliveries_failed
    return TaskOut(
        id=t.id, job_id=t.job_id, action=t.action, type=t.type, target=t.target,
        raw_target=t.raw_target, domain=t.domain, site_id=t.site_id, method=t.method,
        status=t.state,
        progress=t.progress, error_code=t.error_code, description=t.description,
        counts=TaskCounts(total=t.deliveries_total, succeeded=t.deliveries_succeeded,
                          failed=t.deliveries_failed, pending=max(0, t.deliveries_total - done)),
        created_at=t.created_at, updated_at=t.updated_at, finished_at=t.finished_at,
        deadline=t.deadline, headers=dict(t.headers), block_expires_at=t.block_expires_at,
    )


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        node=d.node, state=d.state, attempt_count=d.attempts, http_status=d.http_status,
        error_code=d.error_code, description=d.description,
        next_attempt_at=None if d.state.terminal else d.next_attempt_at,
        updated_at=d.updated_at,
        attempts=[AttemptOut(number=a.number, time=a.started_at, outcome=a.outcome,
                             http_status=a.http_status, latency_ms=round(a.latency_ms, 3),
                             detail=a.detail) for a in d.history],
    )


def detail_out(t: Task, deliveries: list[Delivery]) -> TaskDetailOut:
    return TaskDetailOut(**dict(task_out(t)), deliveries=[delivery_out(d) for d in deliveries])


def job_out(job: Job, tasks: list[Task]) -> JobOut:
    return JobOut(job_id=job.id, created_at=job.created_at, source=job.source,
                  request_id=job.request_id, idempotency_key=job.idempotency_key,
                  task_count=job.task_count, tasks=[task_out(t) for t in tasks])


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(tasks=[PlannedTaskOut(
        action=t.action, type=t.type, target=t.target, raw_target=t.raw_target,
        domain=t.domain, site_id=t.site_id, method=Method(t.method), nodes=list(t.nodes))
        for t in plan.tasks], quota=[quota_out(q) for q in plan.quota])


def quota_out(q: QuotaStatus) -> QuotaOut:
    return QuotaOut(kind=q.kind, limit=q.limit, used=q.used, remaining=q.remaining,
                    resets_at=q.resets_at)


def block_out(b: BlockRule) -> BlockOut:
    return BlockOut(url=b.url, domain=b.domain, created_at=b.created_at,
                    expires_at=b.expires_at, task_id=b.task_id)



# -- task lists, serialized without a model per task ---------------------------
# Validating a TaskOut (and its TaskCounts) per task costs more than serializing it.
# These TypedDicts mirror TaskOut, TaskList, SubmitResponse and JobOut field for field,
# so pydantic serializes plain dicts with the same serializers (datetimes, strings) and
# no validation; enums go in as their values (a str is serialized without calling back
# into Python). A unit test holds their output to the models' own ``model_dump_json``,
# byte for byte. The models stay the reference (and the schema).
class _CountsDict(TypedDict):
    total: int
    succeeded: int
    failed: int
    pending: int


class _TaskDict(TypedDict):
    id: int
    job_id: str
    action: str  # Action
    type: str  # TargetType
    target: str
    raw_target: str
    domain: str | None
    site_id: int | None
    method: str  # Method
    status: str  # TaskState
    progress: int
    error_code: str | None
    description: str | None
    counts: _CountsDict
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    deadline: datetime
    headers: dict[str, str]
    block_expires_at: datetime | None


class _TaskListDict(TypedDict):
    tasks: list[_TaskDict]
    next_cursor: str | None


class _SubmitDict(TypedDict):
    job_id: str
    created: bool
    tasks: list[_TaskDict]


class _JobDict(TypedDict):
    job_id: str
    created_at: datetime
    source: str
    request_id: str
    idempotency_key: str | None
    task_count: int
    tasks: list[_TaskDict]


_VALUES: dict[StrEnum, str] = {
    member: member.value for enum in (Action, TargetType, Method, TaskState) for member in enum}
_TASK_LIST = TypeAdapter(_TaskListDict)
_SUBMIT = TypeAdapter(_SubmitDict)
_JOB = TypeAdapter(_JobDict)


def _task_dict(t: Task) -> _TaskDict:
    """:func:`task_out` as a dict."""
    total, succeeded, failed = t.deliveries_total, t.deliveries_succeeded, t.deliveries_failed
    return {
        "id": t.id, "job_id": t.job_id, "action": _VALUES[t.action], "type": _VALUES[t.type],
        "target": t.target, "raw_target": t.raw_target, "domain": t.domain,
        "site_id": t.site_id, "method": _VALUES[t.method], "status": _VALUES[t.state],
        "progress": t.progress, "error_code": t.error_code, "description": t.description,
        "counts": {"total": total, "succeeded": succeeded, "failed": failed,
                   "pending": max(0, total - succeeded - failed)},
        "created_at": t.created_at, "updated_at": t.updated_at,
        "finished_at": t.finished_at, "deadline": t.deadline,
        "headers": dict(t.headers), "block_expires_at": t.block_expires_at,
    }


def task_list_json(tasks: Iterable[Task], next_cursor: str | None) -> bytes:
    """``TaskList(tasks=[task_out(t) for t in tasks], next_cursor=...).model_dump_json()``"""
    return _TASK_LIST.dump_json({"tasks": [_task_dict(t) for t in tasks],
                                 "next_cursor": next_cursor})


def submit_response_json(job_id: str, created: bool, tasks: Iterable[Task]) -> bytes:
    """A :class:`SubmitResponse` body, as :func:`task_list_json` renders tasks."""
    return _SUBMIT.dump_json({"job_id": job_id, "created": created,
                              "tasks": [_task_dict(t) for t in tasks]})


def job_json(job: Job, tasks: Iterable[Task]) -> bytes:
    """``job_out(job, tasks).model_dump_json()``"""
    return _JOB.dump_json({
        "job_id": job.id, "created_at": job.created_at, "source": job.source,
        "request_id": job.request_id, "idempotency_key": job.idempotency_key,
        "task_count": job.task_count, "tasks": [_task_dict(t) for t in tasks]})
