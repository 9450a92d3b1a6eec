"""Edge adapters, one module per cache kind, chosen by ``Node.kind``.

``create_edge(node, timeout=...)`` builds the adapter for a configured node;
``KINDS`` maps each kind name to its factory.  See docs/edges.md.
"""

from __future__ import annotations

from typing import Protocol

from cdnctl.core.edge import EdgeAdapter
from cdnctl.core.model import Node
from cdnctl.edges.nginx import NginxEdge
from cdnctl.edges.simulated import LogEdge, SimulatedEdge
from cdnctl.edges.varnish import VarnishEdge

__all__ = ["KINDS", "EdgeFactory", "create_edge"]


class EdgeFactory(Protocol):
    def __call__(self, node: Node, *, timeout: float) -> EdgeAdapter: ...


KINDS: dict[str, EdgeFactory] = {
    "varnish": VarnishEdge,
    "nginx": NginxEdge,
    "simulated": SimulatedEdge,
    "log": LogEdge,
}


def create_edge(node: Node, *, timeout: float) -> EdgeAdapter:
    """The adapter for ``node``; ValueError for an unknown kind or bad options."""
    factory = KINDS.get(node.kind)
    if factory is None:
        known = ", ".join(sorted(KINDS))
        raise ValueError(f"node {node.name}: unknown edge kind {node.kind!r} (known: {known})")
    if timeout <= 0:
        raise ValueError(f"node {node.name}: timeout must be positive")
    return factory(node, timeout=timeout)
