"""Run one delivery: build the edge operation, call the adapter, turn the outcome
into an :class:`~cdnctl.core.ports.AttemptRecord`."""

from __future__ import annotations

import asyncio
import logging
import time

from cdnctl.core.directory import Directory
from cdnctl.core.edge import EdgeAdapter, EdgeError, EdgeOp, EdgeTimeoutError
from cdnctl.core.model import TargetType, WorkItem
from cdnctl.core.ports import AttemptRecord, Clock
from cdnctl.dispatch.retry import RetryPolicy

log = logging.getLogger(__name__)
DETAIL_MAX = 512


def edge_op(item: WorkItem, directory: Directory) -> EdgeOp:
    """The operation ``item.node`` must carry out. ``hosts``: for ``all``, every host of
    the site; for a tag, the hosts the purge is scoped to (see :func:`tag_hosts`)."""
    hosts: tuple[str, ...] = ()
    if item.type is TargetType.ALL:
        site = directory.site_named(item.target)
        hosts = site.domains if site else ()
    elif item.type is TargetType.TAG:
        hosts = tag_hosts(item, directory)
    return EdgeOp(action=item.action, type=item.type, target=item.target, domain=item.domain,
                  method=item.method, headers=item.headers,
                  block_ttl_seconds=item.block_ttl_seconds, hosts=hosts)


def tag_hosts(item: WorkItem, directory: Directory) -> tuple[str, ...]:
    """The hosts whose objects a tag purge may touch on ``item.node``: its domain; else
    every domain of its site; else (an account-wide tag) every domain of the account's
    sites served by the node's pool. Never empty: an edge given no host would purge the
    tag on every host, other tenants' included, so no host is an error."""
    if item.domain is not None:
        return (item.domain,)
    if item.site_id is not None:
        site = directory.site_by_id(item.account_id, item.site_id)
        if site is None:
            raise EdgeError(f"site {item.site_id} is no longer configured")
        hosts = site.domains
    else:
        node = directory.node(item.node)
        pool = node.pool if node is not None else None
        hosts = tuple(d for s in directory.sites_of(item.account_id) if s.pool == pool
                      for d in s.domains)
    if not hosts:
        raise EdgeError(f"no host of account {item.account_id} is served by {item.node}")
    return hosts


async def attempt(
    item: WorkItem,
    edge: EdgeAdapter | None,
    directory: Directory,
    clock: Clock,
    policy: RetryPolicy,
    timeout: float,  # noqa: ASYNC109 - per-attempt budget, applied around the adapter call
) -> AttemptRecord:
    started = clock.now()
    t0 = time.perf_counter()
    status: int | None = None
    try:
        if edge is None:
            raise EdgeError(f"node {item.node!r} is no longer configured")
        async with asyncio.timeout(timeout):
            result = await edge.apply(edge_op(item, directory))
    except TimeoutError:
        err: EdgeError = EdgeTimeoutError(f"no answer within {timeout:g}s")
    except EdgeError as exc:
        err = exc
    except Exception as exc:  # an adapter bug must not kill the worker; record it
        log.exception("edge %s raised unexpectedly", item.node)
        err = EdgeError(f"internal error: {type(exc).__name__}: {exc}")
        err.code = "internal"
    else:
        return AttemptRecord(
            delivery_id=item.delivery_id, task_id=item.task_id, started_at=started,
            latency_ms=(time.perf_counter() - t0) * 1000, ok=True, code="ok",
            http_status=result.http_status, detail=result.detail[:DETAIL_MAX], retry_at=None,
        )
    status = err.http_status
    now = clock.now()
    retry_at = policy.next_attempt(attempts_made=item.attempts + 1, transient=err.transient,
                                   now=now, deadline=item.deadline)
    return AttemptRecord(
        delivery_id=item.delivery_id, task_id=item.task_id, started_at=started,
        latency_ms=(time.perf_counter() - t0) * 1000, ok=False, code=err.code,
        http_status=status, detail=f"{item.node}: {err}"[:DETAIL_MAX], retry_at=retry_at,
    )
