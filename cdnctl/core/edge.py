"""The edge port: what the dispatcher asks of one cache node, and how it can fail.

Adapters (``cdnctl.edges.*``) implement :class:`EdgeAdapter` and raise only the
:class:`EdgeError` tree below, each class saying whether a retry can help::

    EdgeError
    ├── TransientEdgeError       retried with backoff
    │   ├── EdgeTimeoutError     no answer within the attempt timeout
    │   ├── EdgeUnreachableError connect refused / reset / DNS
    │   └── EdgeServerError      node answered 5xx (or 429)
    └── PermanentEdgeError       retrying cannot help
        ├── EdgeRejectedError    node answered 4xx to the purge request itself (ACL, bad config)
        ├── OriginError          prefetch: the origin failed (origin_5xx / origin_timeout)
        └── EdgeUnsupportedError the node cannot do this
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cdnctl.core.model import Action, Capability, Method, TargetType


@dataclass(frozen=True, slots=True)
class EdgeOp:
    """One task as one node must carry it out."""

    action: Action
    type: TargetType
    target: str  # URL, prefix URL, regex, host, tag, or "*"
    domain: str | None
    method: Method = Method.DELETE
    headers: dict[str, str] = field(default_factory=dict)
    block_ttl_seconds: int | None = None
    hosts: tuple[str, ...] = ()  # for TargetType.ALL: every host of the site


@dataclass(frozen=True, slots=True)
class EdgeResult:
    http_status: int | None
    detail: str = ""  # short human text: what the node said


@dataclass(frozen=True, slots=True)
class NodeHealth:
    up: bool
    latency_ms: float | None
    detail: str = ""
    instance: str = ""  # changes when the node restarts (and forgets in-memory state)


class EdgeAdapter(Protocol):
    name: str
    kind: str
    capabilities: frozenset[Capability]

    async def apply(self, op: EdgeOp) -> EdgeResult:
        """Carry out ``op`` on the node; raise an :class:`EdgeError` on failure."""
        ...

    async def health(self) -> NodeHealth: ...

    async def aclose(self) -> None: ...


class EdgeError(Exception):
    """The node did not carry out the operation."""

    code = "edge_error"
    transient = False

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class TransientEdgeError(EdgeError):
    code = "edge_transient"
    transient = True


class EdgeTimeoutError(TransientEdgeError):
    code = "edge_timeout"


class EdgeUnreachableError(TransientEdgeError):
    code = "edge_unreachable"


class EdgeServerError(TransientEdgeError):
    code = "edge_http_5xx"


class PermanentEdgeError(EdgeError):
    code = "edge_permanent"


class EdgeRejectedError(PermanentEdgeError):
    code = "edge_rejected"


class OriginError(PermanentEdgeError):
    """The origin behind the node failed a prefetch (``code`` is origin_5xx or origin_timeout)."""

    def __init__(self, message: str, *, code: str, http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.code = code


class EdgeUnsupportedError(PermanentEdgeError):
    code = "edge_unsupported"
