"""FakeEdge: an EdgeAdapter that records every call and fails as scripted."""


from __future__ import annotations

import asyncio
from collections.abc import Iterable

from cdnctl.core.edge import EdgeError, EdgeOp, EdgeResult, NodeHealth
from cdnctl.core.model import (
    Capability,
)

# -- edges ------------------------------------------------------------------------------


class FakeEdge:
    """An EdgeAdapter that records every operation and fails as scripted.

    ``script`` is consumed one entry per call: an ``EdgeError`` instance to raise, an
    ``EdgeResult`` to return, or ``None`` for the default success. ``delay`` (seconds)
    simulates latency; ``hang`` makes every call wait forever (until cancelled).
    """

    kind = "fake"

    def __init__(
        self,
        name: str = "fake-1",
        *,
        capabilities: frozenset[Capability] | None = None,
        script: Iterable[EdgeError | EdgeResult | None] = (),
        delay: float = 0.0,
        hang: bool = False,
        up: bool = True,
    ) -> None:
        self.name = name
        self.capabilities = capabilities if capabilities is not None else frozenset(Capability)
        self.script: list[EdgeError | EdgeResult | None] = list(script)
        self.delay = delay
        self.hang = hang
        self.up = up
        self.calls: list[EdgeOp] = []
        self.closed = False

    async def apply(self, op: EdgeOp) -> EdgeResult:
        self.calls.append(op)
        if self.hang:
            await asyncio.Event().wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        step = self.script.pop(0) if self.script else None
        if isinstance(step, EdgeError):
            raise step
        return step if step is not None else EdgeResult(http_status=200, detail="fake: ok")

    async def health(self) -> NodeHealth:
        return NodeHealth(up=self.up, latency_ms=0.0, detail="fake")

    async def aclose(self) -> None:
        self.closed = True
