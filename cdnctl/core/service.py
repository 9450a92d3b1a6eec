"""Use cases: submit, query, cancel, quota. Every API (native and vendor dialects),
the CLI and the web page go through :class:`ContentService`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from cdnctl.core.directory import Directory
from cdnctl.core.errors import (
    InvalidDomainError,
    LimitExceededError,
    NotFoundError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import (
    Account,
    Action,
    Capability,
    Delivery,
    Job,
    Method,
    Node,
    QuotaKind,
    Site,
    Target,
    TargetType,
    Task,
    TaskSpec,
    WorkItem,
)
from cdnctl.core.ports import (
    BlockRuleFilter,
    BlockRulePage,
    Clock,
    Dispatcher,
    JobFilter,
    JobOrder,
    JobPage,
    Metrics,
    NewJob,
    NewTask,
    Page,
    QuotaCharge,
    RateLimiter,
    TaskFilter,
    TaskRepository,
    WakeUp,
)
from cdnctl.core.quotas import (
    DEFAULT_DAILY,
    QuotaStatus,
    day_of,
    exceeded,
    limits_for,
    resets_at,
)
from cdnctl.core.targets import parse_value

URL_ONLY = frozenset({TargetType.URL})


@dataclass(frozen=True, slots=True)
class Limits:
    max_targets: int = 1000  # per submission
    task_deadline_seconds: float = 600.0
    max_block_ttl_seconds: int = 30 * 86400
    default_rate: float = 50.0  # requests/s per account and operation
    default_burst: float = 100.0


@dataclass(frozen=True, slots=True)
class Submission:
    account: Account
    specs: Sequence[TaskSpec]
    source: str = "native"
    request_id: str = ""
    idempotency_key: str | None = None
    quota_scope: str | None = None  # default: the account id
    quota_limits: Mapping[QuotaKind, int] | None = None  # default: account limits
    quota_tz: tzinfo = UTC  # the quota day is the calendar day in this time zone
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Plan:
    """What a submission would do (:meth:`ContentService.plan`)."""

    tasks: list[NewTask]  # one per target; ``nodes``: the nodes it would reach
    quota: list[QuotaStatus]  # the quotas it would charge, ``used`` as after it


@dataclass(frozen=True, slots=True)
class Submitted:
    job: Job
    tasks: list[Task]
    created: bool  # False when an idempotent replay returned the stored job


class ContentService:
    def __init__(
        self,
        repo: TaskRepository,
        directory: Directory,
        clock: Clock,
        *,
        wakeup: WakeUp | None = None,
        dispatcher: Dispatcher | None = None,
        limiter: RateLimiter | None = None,
        metrics: Metrics | None = None,
        limits: Limits | None = None,
        quota_defaults: Mapping[QuotaKind, int] = DEFAULT_DAILY,
    ) -> None:
        self.repo = repo
        self.directory = directory
        self.clock = clock
        self.wakeup = wakeup
        self.dispatcher = dispatcher
        self.limiter = limiter
        self.metrics = metrics
        self.limits = limits or Limits()
        self.quota_defaults = quota_defaults
        # The directory is immutable: cache per-domain answers (hot when a request
        # carries a thousand URLs of the same few domains).
        self._nodes_cache: dict[tuple[str, TargetType, str | None, str, int | None],
                                list[Node]] = {}
        self._names_cache: dict[tuple[str, TargetType, str | None, str, int | None],
                                tuple[str, ...]] = {}
        self._capable_cache: dict[tuple[str, Action, Method, TargetType, str | None, str,
                                        int | None], str | None] = {}

    # -- validation ---------------------------------------------------------
    def target(self, account: Account, target_type: TargetType, raw: str) -> Target:
        """Parse one target, check the account owns its domain, and note the site it
        acts in (a tag's site is decided by :meth:`spec`)."""
        value, domain = parse_value(target_type, raw)
        if target_type is TargetType.ALL:
            return self._site_target(
                account, Target(type=target_type, value=value, domain=domain, raw=raw))
        if domain is None:
            return Target(type=target_type, value=value, domain=None, raw=raw)
        site = self.directory.site_for_host(domain)
        if site is None or site.account_id != account.id:
            raise InvalidDomainError(domain=domain)
        return Target(type=target_type, value=value, domain=domain, raw=raw, site_id=site.id)

    def _site_target(self, account: Account, target: Target) -> Target:
        """'all' names a site (by site name or any of its domains)."""
        value = target.value
        site = self.directory.site_by_name(account.id, value)
        if site is None:
            owner = self.directory.site_for_host(value)
            site = owner if owner is not None and owner.account_id == account.id else None
        if site is None:
            raise InvalidDomainError(domain=value)
        return Target(type=TargetType.ALL, value=site.name, domain=None, raw=target.raw,
                      site_id=site.id)

    def _in_site(self, account: Account, target: Target, site: Site | None) -> Target:
        """Scope a tag to ``site``; without one, to the account's only site if it has
        exactly one (else the tag stays account-wide: every site, every pool). Any other
        target must already be in ``site``."""
        if site is not None and site.account_id != account.id:
            raise InvalidDomainError(domain=site.name)
        if target.type is not TargetType.TAG:
            if site is not None and target.site_id != site.id:
                raise InvalidDomainError(domain=target.domain or target.value)
            return target
        if site is None:
            sites = self.directory.sites_of(account.id)
            if len(sites) != 1:
                return target
            site = sites[0]
        return Target(type=target.type, value=target.value, domain=target.domain,
                      raw=target.raw, site_id=site.id)

    def spec(
        self,
        account: Account,
        action: Action,
        target_type: TargetType,
        raw: str,
        *,
        method: Method = Method.DELETE,
        headers: Mapping[str, str] | None = None,
        block_ttl_seconds: int | None = None,
        site: Site | None = None,
    ) -> TaskSpec:
        """Validate one target into a TaskSpec, or raise the reason it is refused.

        ``site`` (one of the account's) scopes a tag purge to that site's hosts and
        nodes; without it a tag purge covers the account's only site, or, when it has
        several, every site (each node purging the tag on the hosts it serves). For
        other types it is a check: a target outside ``site`` is an InvalidDomainError.
        """
        if action is not Action.PURGE and target_type not in URL_ONLY:
            raise ValidationError(f"{action} takes URL targets only", field="type")
        if block_ttl_seconds is not None and not (
            0 < block_ttl_seconds <= self.limits.max_block_ttl_seconds
        ):
            raise ValidationError(
                f"block TTL must be 1..{self.limits.max_block_ttl_seconds} seconds",
                field="block_ttl_seconds",
            )
        target = self.target(account, target_type, raw)
        if site is not None or target.type is TargetType.TAG:
            target = self._in_site(account, target, site)
        spec = TaskSpec(action=action, target=target, method=method, headers=dict(headers or {}),
                        block_ttl_seconds=block_ttl_seconds if action is Action.BLOCK else None)
        self._check_capable(account, spec)
        return spec

    def nodes_for(self, account_id: str, target: Target) -> list[Node]:
        # What decides a target's nodes: its domain, else its site (or its name, for an
        # ``all`` target built without one), else the account (an account-wide tag).
        key = (account_id, target.type, target.domain,
               target.value if target.type is TargetType.ALL else "",
               target.site_id if target.domain is None else None)
        nodes = self._nodes_cache.get(key)
        if nodes is None:
            nodes = self._nodes_cache[key] = self._find_nodes(account_id, target)
        return nodes

    def _find_nodes(self, account_id: str, target: Target) -> list[Node]:
        d = self.directory
        if target.type is TargetType.ALL:
            site = d.site_by_name(account_id, target.value)
            return d.pool(site.pool) if site else []
        if target.domain is not None:
            return d.nodes_for_host(target.domain)
        if target.site_id is not None:  # a tag scoped to one site: that site's pool
            scoped = d.site_by_id(account_id, target.site_id)
            return d.pool(scoped.pool) if scoped else []
        pools = dict.fromkeys(s.pool for s in d.sites_of(account_id))  # tags: every pool
        return [n for p in pools for n in d.pool(p)]

    def _check_capable(self, account: Account, spec: TaskSpec) -> None:
        t = spec.target
        key = (account.id, spec.action, spec.method, t.type, t.domain,
               t.value if t.type is TargetType.ALL else "",
               t.site_id if t.domain is None else None)
        if key not in self._capable_cache:
            needed = Capability.needed(spec.action, t.type, spec.method)
            lacking = self.directory.capable(self.nodes_for(account.id, t), needed)
            names = ", ".join(f"{n.name} ({n.kind})" for n in lacking)
            what = " + ".join(sorted(c.value for c in needed))
            self._capable_cache[key] = (
                f"these nodes cannot do {what}: {names}" if lacking else None)
        if (problem := self._capable_cache[key]) is not None:
            raise UnsupportedError(problem)

    # -- rate limits --------------------------------------------------------
    def check_rate(self, account: Account, operation: str, *, rate: float | None = None,
                   burst: float | None = None) -> None:
        """Per account and operation token bucket; raise RateLimitedError when empty.

        The rate is the account's override for ``operation`` if it has one, else the
        dialect's documented ``rate``, else the configured default; the bucket holds one
        second's worth of requests (``burst`` may say otherwise for the dialect rate).
        """
        if self.limiter is None:
            return
        override = account.rate_limits.get(operation)
        if override is not None:
            r, b = override, max(1.0, override)
        elif rate is not None:
            r, b = rate, burst if burst is not None else max(1.0, rate)
        else:
            r, b = self.limits.default_rate, self.limits.default_burst
        wait = self.limiter.acquire(f"{account.id}:{operation}", r, b)
        if wait > 0:
            raise RateLimitedError(
                f"rate limit of {r:g} requests/s for {operation} exceeded", retry_after=wait)

    # -- submit ---------------------------------------------------------------
    def _prepare(self, sub: Submission, now: datetime
                 ) -> tuple[list[NewTask], list[QuotaCharge]]:
        """A submission's tasks (with the nodes each reaches) and its quota charges."""
        if not sub.specs:
            raise ValidationError("no targets given", field="targets")
        if len(sub.specs) > self.limits.max_targets:
            raise LimitExceededError(
                f"at most {self.limits.max_targets} targets per request, got {len(sub.specs)}")
        account = sub.account
        tasks = [self._new_task(account.id, spec, now) for spec in sub.specs]
        limits = sub.quota_limits or limits_for(account.quotas, self.quota_defaults)
        scope = sub.quota_scope or account.id
        day = day_of(now, sub.quota_tz)
        counts: Counter[QuotaKind] = Counter()
        for (action, target_type), n in Counter(
                (s.action, s.target.type) for s in sub.specs).items():
            counts[QuotaKind.of(action, target_type)] += n
        charges = [QuotaCharge(scope=scope, kind=k, day=day, amount=n,
                               limit=limits.get(k, self.quota_defaults.get(k, 0)),
                               tz=sub.quota_tz)
                   for k, n in counts.items()]
        return tasks, charges

    async def plan(self, sub: Submission) -> Plan:
        """A dry run of :meth:`submit`: the same validation and quota check, the tasks
        it would create with the nodes each would reach; nothing is stored, charged or
        sent. A quota the submission would pass raises QuotaExceededError, as then."""
        now = self.clock.now()
        tasks, charges = self._prepare(sub, now)
        used: dict[QuotaKind, int] = {}
        if charges:
            used = await self.repo.quota_used(charges[0].scope, charges[0].day)
        for c in charges:
            if used.get(c.kind, 0) + c.amount > c.limit:
                raise exceeded(c, used.get(c.kind, 0))
        return Plan(tasks=tasks, quota=[
            QuotaStatus(kind=c.kind, limit=c.limit, used=used.get(c.kind, 0) + c.amount,
                        resets_at=resets_at(now, c.tz)) for c in charges])

    async def submit(self, sub: Submission) -> Submitted:
        now = self.clock.now()
        account = sub.account
        tasks, charges = self._prepare(sub, now)
        job = NewJob(
            id=uuid.uuid4().hex, account_id=account.id, created_at=now,
            deadline=now + timedelta(seconds=self.limits.task_deadline_seconds),
            source=sub.source, request_id=sub.request_id or uuid.uuid4().hex,
            idempotency_key=sub.idempotency_key,
            fingerprint=_fingerprint(sub.specs) if sub.idempotency_key else "",
            meta=sub.meta,
        )
        dispatcher = self.dispatcher
        lease = None
        if dispatcher is not None:
            lease = dispatcher.offer(sum(len(t.nodes) for t in tasks))
        if dispatcher is None or lease is None:
            stored, created_tasks, created = await self.repo.create_job(job, tasks, charges)
            if created and self.wakeup is not None:
                self.wakeup.notify()
            return Submitted(job=stored, tasks=created_tasks, created=created)
        # A worker here takes the deliveries in the job's own transaction and starts them
        # at once: no claim transaction, no wake-up round between commit and edges.
        items: list[WorkItem] = []
        try:
            stored, created_tasks, created, items = await self.repo.create_job_leased(
                job, tasks, charges, lease)
        finally:
            dispatcher.hand(lease, items)
        if created and not items and self.wakeup is not None:
            self.wakeup.notify()  # too large for the lease: the claim loop takes it
        return Submitted(job=stored, tasks=created_tasks, created=created)

    def _new_task(self, account_id: str, spec: TaskSpec, now: datetime) -> NewTask:
        target = spec.target
        nodes = self._node_names(account_id, target)
        ttl = spec.block_ttl_seconds
        return NewTask(
            action=spec.action, type=target.type, target=target.value, raw_target=target.raw,
            domain=target.domain, method=spec.method.value, headers=spec.headers,
            block_ttl_seconds=ttl, block_expires_at=now + timedelta(seconds=ttl) if ttl else None,
            nodes=nodes, site_id=target.site_id,
        )

    def _node_names(self, account_id: str, target: Target) -> tuple[str, ...]:
        key = (account_id, target.type, target.domain,
               target.value if target.type is TargetType.ALL else "",
               target.site_id if target.domain is None else None)
        names = self._names_cache.get(key)
        if names is None:
            names = self._names_cache[key] = tuple(
                n.name for n in self.nodes_for(account_id, target))
        return names

    # -- queries ------------------------------------------------------------
    async def task(self, account: Account, task_id: int) -> Task:
        task = await self.repo.get_task(account.id, task_id)
        if task is None:
            raise NotFoundError(f"task {task_id} not found")
        return task

    async def task_detail(self, account: Account, task_id: int) -> tuple[Task, list[Delivery]]:
        task = await self.task(account, task_id)
        return task, await self.repo.deliveries(task.id)

    async def job(self, account: Account, job_id: str) -> tuple[Job, list[Task]]:
        found = await self.repo.get_job(account.id, job_id)
        if found is None:
            raise NotFoundError(f"job {job_id} not found")
        return found

    async def jobs(self, flt: JobFilter, *, limit: int, offset: int = 0,
                   order: JobOrder = JobOrder.CREATED_AT, descending: bool = True) -> JobPage:
        """Jobs with their per-state task counters, filtered and sorted (see
        ``TaskRepository.list_jobs``); ``total`` counts every matching job."""
        return await self.repo.list_jobs(flt, limit=limit, offset=offset, order=order,
                                         descending=descending)

    async def tasks(self, flt: TaskFilter, *, limit: int, before_id: int | None = None,
                    offset: int = 0) -> Page:
        return await self.repo.list_tasks(flt, limit=limit, before_id=before_id, offset=offset)

    async def count(self, flt: TaskFilter) -> int:
        return await self.repo.count_tasks(flt)

    async def cancel(self, account: Account, task_id: int) -> Task:
        task = await self.repo.cancel_task(account.id, task_id, self.clock.now())
        if self.metrics is not None:
            self.metrics.task_finished(task.state)
        return task

    async def block_rules(self, flt: BlockRuleFilter, *, limit: int,
                          offset: int = 0) -> BlockRulePage:
        """Active block rules matching ``flt`` (URL, creation window), newest first, and
        how many match in all."""
        return await self.repo.list_block_rules(flt, self.clock.now(), limit=limit,
                                                offset=offset)

    async def quota(self, account: Account, *, scope: str | None = None,
                    limits: Mapping[QuotaKind, int] | None = None,
                    tz: tzinfo = UTC) -> list[QuotaStatus]:
        """Today's quotas of ``scope`` (default: the account), today being the quota day
        in ``tz`` (as the submissions charging that scope count it)."""
        now = self.clock.now()
        used = await self.repo.quota_used(scope or account.id, day_of(now, tz))
        lim = limits or limits_for(account.quotas, self.quota_defaults)
        return [QuotaStatus(kind=k, limit=lim[k], used=used.get(k, 0), resets_at=resets_at(now, tz))
                for k in QuotaKind if k in lim]


def _fingerprint(specs: Sequence[TaskSpec]) -> str:
    canon = [[s.action, s.target.type, s.target.value, s.method, sorted(s.headers.items()),
              s.block_ttl_seconds] for s in specs]
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()
