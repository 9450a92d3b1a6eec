"""In-process edges for development, demos and load tests: no I/O, no cache.

``SimulatedEdge`` (kind ``simulated``) waits ``latency_ms`` and fails with
:class:`EdgeServerError` at ``failure_rate``; every result says "simulated".
``LogEdge`` (kind ``log``) logs what it would do and succeeds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable

from cdnctl.core.edge import EdgeOp, EdgeResult, EdgeServerError, NodeHealth
from cdnctl.core.model import Capability, Node
from cdnctl.edges.base import require

log = logging.getLogger(__name__)
ALL_CAPABILITIES = frozenset(Capability)


def _capabilities(node: Node) -> frozenset[Capability]:
    names = node.options.get("capabilities")
    if names is None:
        return ALL_CAPABILITIES
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise ValueError(f"node {node.name}: capabilities must be a list of names")
    try:
        return frozenset(Capability(str(n)) for n in names)
    except ValueError as exc:
        raise ValueError(f"node {node.name}: {exc}") from None


def _describe(op: EdgeOp) -> str:
    text = f"{op.action.value} {op.type.value} {op.target}"
    if op.method.value != "delete":
        text += f" ({op.method.value})"
    if op.block_ttl_seconds is not None:
        text += f" ttl={op.block_ttl_seconds}s"
    return text


class SimulatedEdge:
    """Options: ``latency_ms`` (default 1.0), ``failure_rate`` (0..1, default 0),
    ``seed`` (for a repeatable failure sequence), ``capabilities`` (list of
    capability names, default all)."""

    kind: str = "simulated"

    def __init__(self, node: Node, *, timeout: float) -> None:
        self.name = node.name
        self.timeout = float(timeout)
        self.latency_ms = float(node.options.get("latency_ms", 1.0))
        self.failure_rate = float(node.options.get("failure_rate", 0.0))
        if self.latency_ms < 0:
            raise ValueError(f"node {node.name}: latency_ms must be >= 0")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError(f"node {node.name}: failure_rate must be between 0 and 1")
        self._random = random.Random(node.options.get("seed"))
        self.capabilities: frozenset[Capability] = _capabilities(node)

    async def apply(self, op: EdgeOp) -> EdgeResult:
        require(self.name, self.kind, self.capabilities, op)
        await asyncio.sleep(self.latency_ms / 1000)
        if self.failure_rate and self._random.random() < self.failure_rate:
            raise EdgeServerError("simulated failure", http_status=503)
        return EdgeResult(200, f"simulated {_describe(op)}")

    async def health(self) -> NodeHealth:
        await asyncio.sleep(self.latency_ms / 1000)
        return NodeHealth(up=True, latency_ms=self.latency_ms, detail="simulated")

    async def aclose(self) -> None:
        return None


class LogEdge:
    """Logs each operation at INFO on ``cdnctl.edges.simulated`` and succeeds."""

    kind: str = "log"
    capabilities: frozenset[Capability] = ALL_CAPABILITIES

    def __init__(self, node: Node, *, timeout: float) -> None:
        self.name = node.name
        self.timeout = float(timeout)

    async def apply(self, op: EdgeOp) -> EdgeResult:
        log.info("edge %s (log): would %s", self.name, _describe(op))
        return EdgeResult(None, f"logged only: {_describe(op)}")

    async def health(self) -> NodeHealth:
        return NodeHealth(up=True, latency_ms=0.0, detail="log edge (no cache)")

    async def aclose(self) -> None:
        return None
