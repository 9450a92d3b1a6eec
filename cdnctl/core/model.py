"""The domain: accounts, sites, nodes, jobs, tasks, deliveries and attempts.

Plain frozen dataclasses and enums; no I/O. Storage maps rows to these with
``from_row``-style functions, the API renders them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    PURGE = "purge"
    PREFETCH = "prefetch"
    BLOCK = "block"
    UNBLOCK = "unblock"


class TargetType(StrEnum):
    URL = "url"
    PREFIX = "prefix"
    REGEX = "regex"
    URL_IGNORE_PARAMS = "url_ignore_params"
    HOST = "host"
    ALL = "all"
    TAG = "tag"


class Method(StrEnum):
    """Hard purge (delete the object) or soft purge (mark stale, revalidate)."""

    DELETE = "delete"
    INVALIDATE = "invalidate"


class TaskState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_TASK_STATES


TERMINAL_TASK_STATES = frozenset(
    {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELED}
)


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting to be claimed (possibly after a backoff)
    CLAIMED = "claimed"  # leased by a worker; lease expiry returns it to PENDING
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in (DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.CANCELED)


class QuotaKind(StrEnum):
    """What a daily quota counts. One per (action, target type) family."""

    URL = "url"
    PREFIX = "prefix"
    REGEX = "regex"
    URL_IGNORE_PARAMS = "url_ignore_params"
    HOST = "host"
    ALL = "all"
    TAG = "tag"
    PREFETCH = "prefetch"
    BLOCK = "block"

    @staticmethod
    def of(action: Action, target_type: TargetType) -> QuotaKind:
        if action is Action.PREFETCH:
            return QuotaKind.PREFETCH
        if action in (Action.BLOCK, Action.UNBLOCK):
            return QuotaKind.BLOCK
        return QuotaKind(target_type.value)


class Capability(StrEnum):
    """What an edge node can do natively."""

    PURGE_URL = "purge_url"
    PURGE_PREFIX = "purge_prefix"
    PURGE_REGEX = "purge_regex"
    PURGE_URL_IGNORE_PARAMS = "purge_url_ignore_params"
    PURGE_HOST = "purge_host"
    PURGE_ALL = "purge_all"
    PURGE_TAG = "purge_tag"
    SOFT_PURGE = "soft_purge"
    PREFETCH = "prefetch"
    BLOCK = "block"

    @staticmethod
    @functools.cache
    def needed(action: Action, target_type: TargetType, method: Method) -> frozenset[Capability]:
        if action is Action.PREFETCH:
            return frozenset({Capability.PREFETCH})
        if action in (Action.BLOCK, Action.UNBLOCK):
            return frozenset({Capability.BLOCK})
        caps = {Capability("purge_" + target_type.value)}
        if method is Method.INVALIDATE:
            caps.add(Capability.SOFT_PURGE)
        return frozenset(caps)


@dataclass(frozen=True, slots=True)
class AccessKey:
    id: str
    secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    token_hashes: frozenset[str] = frozenset()
    keys: tuple[AccessKey, ...] = ()
    quotas: dict[QuotaKind, int] = field(default_factory=dict)  # daily overrides
    rate_limits: dict[str, float] = field(default_factory=dict)  # operation -> per second


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    account_id: str
    name: str
    zone_id: str
    domains: tuple[str, ...]
    pool: str
    quotas: dict[QuotaKind, int] = field(default_factory=dict)  # daily, per site (dialects)
    batch_limits: dict[QuotaKind, int] = field(default_factory=dict)  # targets per request


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    pool: str
    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Target:
    """One validated target of a submission.

    ``value`` is the canonical form the edges act on (a URL, a prefix URL, a
    regex, a host name, a tag, or ``*`` for everything); ``raw`` is what the
    client sent, kept for the vendor query APIs which echo it back.

    ``site_id`` is the site the target acts in: the site of its domain, the site an
    ``all`` target names, or the one site a tag purge is scoped to (``None``: a tag
    purge over every site of the account, or a target not validated yet).
    """

    type: TargetType
    value: str
    domain: str | None
    raw: str
    site_id: int | None = None


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What the core needs to create one task."""

    action: Action
    target: Target
    method: Method = Method.DELETE
    headers: dict[str, str] = field(default_factory=dict)  # prefetch request headers
    block_ttl_seconds: int | None = None  # block: expiry; None = until unblocked


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    account_id: str
    created_at: datetime
    source: str  # "native", "alibaba-cdn", "tencent-eo", ...
    request_id: str
    idempotency_key: str | None
    task_count: int
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    job_id: str
    account_id: str
    action: Action
    type: TargetType
    target: str
    raw_target: str
    domain: str | None
    method: Method
    state: TaskState
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    deliveries_total: int
    deliveries_succeeded: int
    deliveries_failed: int
    error_code: str | None = None
    description: str | None = None
    finished_at: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)
    block_expires_at: datetime | None = None
    site_id: int | None = None  # see Target.site_id

    @property
    def deliveries_done(self) -> int:
        return self.deliveries_succeeded + self.deliveries_failed

    @property
    def progress(self) -> int:
        """Percent of deliveries finished (0-100); a task with no delivery left is 100."""
        if self.state.terminal:
            return 100
        if self.deliveries_total == 0:
            return 0
        return (100 * self.deliveries_done) // self.deliveries_total


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery_id: int
    number: int
    started_at: datetime
    latency_ms: float
    outcome: str  # "ok" | an EdgeError code such as "timeout", "connect", "http_5xx"
    http_status: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    task_id: int
    node: str
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    updated_at: datetime
    http_status: int | None = None
    error_code: str | None = None
    description: str | None = None
    history: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A claimed delivery with everything a worker needs to run it."""

    delivery_id: int
    task_id: int
    account_id: str
    node: str
    attempts: int
    action: Action
    type: TargetType
    target: str
    domain: str | None
    method: Method
    headers: dict[str, str]
    block_ttl_seconds: int | None
    deadline: datetime
    site_id: int | None = None  # see Target.site_id


@dataclass(frozen=True, slots=True)
class BlockRule:
    account_id: str
    url: str
    domain: str | None
    created_at: datetime
    expires_at: datetime | None
    task_id: int
