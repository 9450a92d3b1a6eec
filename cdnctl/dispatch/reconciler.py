"""Keep block rules true on every node, whatever happened to the node.

A block is state on the edge (a 403 marker that expires by itself). A node that
was down when the block was issued, or that restarted and lost its memory, must
get it again: this loop health-checks every node that can block and re-applies
the active rules for the domains its pool serves, with their remaining lifetime,
whenever a node

* is seen up after being down, or for the first time;
* answers with another instance id than before (it restarted between two checks:
  the Varnish VCL sets a new boot id in ``vcl_init``);
* has not been fully re-synced for ``resync_interval`` (a block delivery that failed
  during a network blip, with the node never seen down, is healed this way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from cdnctl.core.directory import Directory
from cdnctl.core.edge import EdgeAdapter, EdgeError, EdgeOp
from cdnctl.core.model import Action, BlockRule, Capability, Node, TargetType
from cdnctl.core.ports import Clock, TaskRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reapplied:
    node: str
    applied: int
    failed: int


class BlockReconciler:
    def __init__(
        self,
        repo: TaskRepository,
        directory: Directory,
        edges: Mapping[str, EdgeAdapter],
        clock: Clock,
        *,
        interval: float = 5.0,
        timeout: float = 2.0,
        resync_interval: float = 300.0,
    ) -> None:
        self.repo = repo
        self.directory = directory
        self.edges = edges
        self.clock = clock
        self.interval = interval
        self.timeout = timeout
        self.resync_interval = resync_interval
        self._up: dict[str, bool] = {}
        self._instance: dict[str, str] = {}
        self._synced_at: dict[str, float] = {}

    def _blockers(self) -> list[Node]:
        return [n for n in self.directory.nodes
                if n.name in self.edges and Capability.BLOCK in self.edges[n.name].capabilities]

    async def tick(self) -> list[Reapplied]:
        """One round: health-check, and re-apply rules on nodes that came (back) up."""
        nodes = self._blockers()
        checks = await asyncio.gather(*(self._health(n) for n in nodes))
        done = []
        mono = time.monotonic()
        for node, (up, instance) in zip(nodes, checks, strict=True):
            was_up = self._up.get(node.name)
            restarted = bool(instance) and self._instance.get(node.name, instance) != instance
            stale = mono - self._synced_at.get(node.name, mono) >= self.resync_interval
            self._up[node.name] = up
            if up:
                self._instance[node.name] = instance
            if up and (was_up is not True or restarted or stale):
                self._synced_at[node.name] = mono
                done.append(await self.reapply(node))
        return done

    async def _health(self, node: Node) -> tuple[bool, str]:
        try:
            async with asyncio.timeout(self.timeout):
                health = await self.edges[node.name].health()
        except (TimeoutError, EdgeError, OSError):
            return False, ""
        return health.up, health.instance

    async def _active(self, served: set[str]) -> list[BlockRule]:
        now = self.clock.now()
        found: list[BlockRule] = []
        offset = 0
        while True:
            rules = await self.repo.block_rules(None, now, limit=500, offset=offset)
            found.extend(r for r in rules if r.domain in served)
            if len(rules) < 500:
                return found
            offset += 500

    async def reapply(self, node: Node) -> Reapplied:
        served = {d for s in self.directory.sites if s.pool == node.pool for d in s.domains}
        edge = self.edges[node.name]
        applied: set[tuple[str, str | None]] = set()
        failed = 0
        now = self.clock.now()
        for rule in await self._active(served):
            ttl = None
            if rule.expires_at is not None:
                ttl = int((rule.expires_at - now).total_seconds()) + 1
            if await self._send(edge, Action.BLOCK, rule.url, rule.domain, ttl):
                applied.add((rule.url, rule.domain))
            else:
                failed += 1
        # An unblock committed while we were re-applying must win: undo what is gone now.
        still = {(r.url, r.domain) for r in await self._active(served)}
        for url, domain in applied - still:
            await self._send(edge, Action.UNBLOCK, url, domain, None)
        if applied or failed:
            log.info("node %s: re-applied %d block rules (%d failed)", node.name,
                     len(applied & still), failed)
        return Reapplied(node=node.name, applied=len(applied & still), failed=failed)

    async def _send(self, edge: EdgeAdapter, action: Action, url: str, domain: str | None,
                    ttl: int | None) -> bool:
        op = EdgeOp(action=action, type=TargetType.URL, target=url, domain=domain,
                    block_ttl_seconds=ttl)
        try:
            async with asyncio.timeout(self.timeout):
                await edge.apply(op)
        except (TimeoutError, EdgeError) as exc:
            self._up[edge.name] = False  # try the whole set again next round
            log.warning("%s of %s on %s failed: %s", action, url, edge.name, exc)
            return False
        return True

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("block reconciliation failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
