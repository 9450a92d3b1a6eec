"""SimulatedEdge, LogEdge and the edge registry (no I/O)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from cdnctl.core.edge import EdgeOp, EdgeServerError, EdgeUnsupportedError
from cdnctl.core.model import Action, Capability, Method, Node, TargetType
from cdnctl.edges import KINDS, create_edge
from cdnctl.edges.nginx import NginxEdge
from cdnctl.edges.simulated import LogEdge, SimulatedEdge
from cdnctl.edges.varnish import VarnishEdge

URL_OP = EdgeOp(Action.PURGE, TargetType.URL, "http://www.example.com/a.png", "www.example.com")


def node(kind: str = "simulated", **options: Any) -> Node:
    return Node("n1", "pool", kind, "http://127.0.0.1:6081", dict(options))


def simulated(**options: Any) -> SimulatedEdge:
    edge = create_edge(node(**options), timeout=1.0)
    assert isinstance(edge, SimulatedEdge)
    return edge


@pytest.mark.parametrize(("action", "type_"), [
    (Action.PURGE, TargetType.URL), (Action.PURGE, TargetType.TAG),
    (Action.PURGE, TargetType.REGEX), (Action.PREFETCH, TargetType.URL),
    (Action.BLOCK, TargetType.URL), (Action.UNBLOCK, TargetType.URL),
])
async def test_simulated_succeeds_and_says_so(action, type_):
    edge = simulated(latency_ms=0)
    result = await edge.apply(EdgeOp(action, type_, "x", None, method=Method.INVALIDATE))
    assert result.http_status == 200
    assert result.detail.startswith("simulated")
    assert action.value in result.detail


async def test_simulated_has_every_capability_by_default():
    assert simulated().capabilities == frozenset(Capability)
    assert simulated().kind == "simulated"


async def test_simulated_failure_rate_one_always_fails():
    edge = simulated(failure_rate=1.0, latency_ms=0)
    with pytest.raises(EdgeServerError, match="simulated failure") as err:
        await edge.apply(URL_OP)
    assert err.value.transient


async def test_simulated_seed_gives_a_repeatable_sequence():
    async def outcomes(edge: SimulatedEdge) -> list[bool]:
        seen = []
        for _ in range(40):
            try:
                await edge.apply(URL_OP)
                seen.append(True)
            except EdgeServerError:
                seen.append(False)
        return seen

    first = await outcomes(simulated(failure_rate=0.5, seed=7, latency_ms=0))
    second = await outcomes(simulated(failure_rate=0.5, seed=7, latency_ms=0))
    assert first == second
    assert True in first
    assert False in first


async def test_simulated_latency():
    edge = simulated(latency_ms=30)
    t0 = time.monotonic()
    await edge.apply(URL_OP)
    assert time.monotonic() - t0 >= 0.029
    health = await edge.health()
    assert (health.up, health.latency_ms, health.detail) == (True, 30.0, "simulated")


async def test_simulated_capabilities_option():
    edge = simulated(capabilities=["purge_url"], latency_ms=0)
    assert edge.capabilities == {Capability.PURGE_URL}
    await edge.apply(URL_OP)
    with pytest.raises(EdgeUnsupportedError):
        await edge.apply(EdgeOp(Action.PREFETCH, TargetType.URL, "http://a.com/", "a.com"))


@pytest.mark.parametrize("options", [
    {"failure_rate": 1.5}, {"failure_rate": -0.1}, {"latency_ms": -1},
    {"capabilities": ["teleport"]}, {"capabilities": "purge_url"},
])
def test_simulated_rejects_bad_options(options):
    with pytest.raises(ValueError):
        create_edge(node(**options), timeout=1.0)


async def test_log_edge_logs_and_succeeds(caplog):
    edge = create_edge(node("log"), timeout=1.0)
    assert isinstance(edge, LogEdge)
    with caplog.at_level(logging.INFO, logger="cdnctl.edges.simulated"):
        result = await edge.apply(EdgeOp(Action.BLOCK, TargetType.URL, "http://a.com/x", "a.com",
                                         block_ttl_seconds=60))
    assert "would block url http://a.com/x ttl=60s" in caplog.text
    assert result.detail.startswith("logged only")
    assert (await edge.health()).up
    await edge.aclose()


def test_registry_kinds():
    assert set(KINDS) == {"varnish", "nginx", "simulated", "log"}
    assert isinstance(create_edge(node("varnish"), timeout=1), VarnishEdge)
    assert isinstance(create_edge(node("nginx"), timeout=1), NginxEdge)
    for kind in KINDS:
        edge = create_edge(node(kind), timeout=1)
        assert (edge.name, edge.kind) == ("n1", kind)
        assert edge.capabilities <= frozenset(Capability)


def test_registry_rejects_unknown_kind_and_bad_timeout():
    with pytest.raises(ValueError, match="unknown edge kind 'squid'"):
        create_edge(node("squid"), timeout=1)
    with pytest.raises(ValueError, match="timeout"):
        create_edge(node(), timeout=0)
    with pytest.raises(ValueError, match="limit_per_host"):
        create_edge(node("varnish", limit_per_host=0), timeout=1)
