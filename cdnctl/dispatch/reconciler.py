"""Keep block rules true on every node, whatever happened to the node.

A block is state on the edge (a 403 marker that expires by itself). A node that
was down when the block was issued, or that restarted and lost its memory, must
get it again: this loop health-checks every node that can block and, whenever a
node is seen up after being down (or for the first time), re-applies the active
rules for the domains its pool serves, with their remaining lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    ) -> None:
        self.repo = repo
        self.directory = directory
        self.edges = edges
        self.clock = clock
        self.interval = interval
        self.timeout = timeout
        self._up: dict[str, bool] = {}

    def _blockers(self) -> list[Node]:
        return [n for n in self.directory.nodes
                if n.name in self.edges and Capability.BLOCK in self.edges[n.name].capabilities]

    async def tick(self) -> list[Reapplied]:
        """One round: health-check, and re-apply rules on nodes that came (back) up."""
        nodes = self._blockers()
        ups = await asyncio.gather(*(self._is_up(n) for n in nodes))
        done = []
        for node, up in zip(nodes, ups, strict=True):
            was = self._up.get(node.name)
            self._up[node.name] = up
            if up and was is not True:
                done.append(await self.reapply(node))
        return done

    async def _is_up(self, node: Node) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                return (await self.edges[node.name].health()).up
        except (TimeoutError, EdgeError, OSError):
            return False

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
