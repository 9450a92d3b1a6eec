"""Edge client cost: one URL PURGE through the real ``VarnishEdge.apply``, per request.

Two shapes, both against the minimal loopback nodes of ``bench/_nodes.py`` (a child
process, so the CPU clock of this process is the client's alone):

* sequential: one adapter, one node, one request after the other;
* fan-out: one adapter per node, the same PURGE to all N nodes at once (``gather``),
  round after round.

Measured in the same run, against the same nodes:

* ``raw``: ``bench._nodes.RawClient``, the raw limit (one kept-alive connection per node,
  hand-written request and response parsing, no HTTP library, no adapter logic);
* ``aiohttp``: the request path the adapters used before ``cdnctl/edges/_http.py``
  (``ClientSession`` per node with the same settings, the body read in chunks), to
  compare the HTTP client alone with the same workload (``--no-aiohttp`` skips it).

Reported: wall time and CPU time (``time.process_time``) per request in µs, and the
ratio to ``raw``.

    .venv/bin/python -m bench.edge_client [--requests 3000] [--rounds 300] [--nodes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench._nodes import RawClient, start_nodes
from cdnctl.core.edge import EdgeOp
from cdnctl.core.model import Action, Node, TargetType
from cdnctl.edges.varnish import VarnishEdge

HOST = "www.example.com"
Send = Callable[[int], Awaitable[None]]  # request number -> one request (or one fan-out)


@dataclass
class Sample:
    wall_us: float  # median wall time per request (sequential) or per fan-out round
    wall_p90_us: float
    cpu_us: float  # client-process CPU per request


async def run(send: Send, count: int, warmup: int, per_call: int) -> Sample:
    for i in range(warmup):
        await send(i)
    walls: list[float] = []
    c0 = time.process_time()
    for i in range(count):
        t0 = time.perf_counter()
        await send(warmup + i)
        walls.append((time.perf_counter() - t0) * 1e6)
    cpu = time.process_time() - c0
    walls.sort()
    return Sample(statistics.median(walls), walls[int(len(walls) * 0.9)],
                  cpu * 1e6 / (count * per_call))


def median(samples: list[Sample]) -> Sample:
    return Sample(*(statistics.median(getattr(s, f) for s in samples)
                    for f in ("wall_us", "wall_p90_us", "cpu_us")))


def best(samples: list[Sample]) -> Sample:
    """The least disturbed repeat (lowest CPU): on a shared machine, the fairest figure."""
    return min(samples, key=lambda s: s.cpu_us)


def op(i: int) -> EdgeOp:
    return EdgeOp(Action.PURGE, TargetType.URL, f"http://{HOST}/obj/{i}.png", HOST)


def edges(ports: list[int]) -> list[VarnishEdge]:
    return [VarnishEdge(Node(f"n{i}", "edge", "varnish", f"http://127.0.0.1:{p}"), timeout=5)
            for i, p in enumerate(ports)]


class AiohttpClient:
    """The pre-``_http.py`` adapter request path, HTTP client part only."""

    def __init__(self, port: int) -> None:
        import aiohttp
        from yarl import URL

        self._url = URL
        self.base = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit_per_host=8, keepalive_timeout=4.0),
            timeout=aiohttp.ClientTimeout(total=5.0), headers={"User-Agent": "cdnctl-edge/0.1"},
            skip_auto_headers=("Accept-Encoding",), auto_decompress=False)

    async def purge(self, path: str) -> None:
        url = self._url(self.base + path, encoded=True)
        async with self.session.request("PURGE", url, headers={"Host": HOST},
                                        allow_redirects=False) as resp:
            head = b""
            async for chunk in resp.content.iter_chunked(65536):
                head += chunk[: 200 - len(head)]
            assert resp.status == 200
            assert resp.headers.get("X-Cdnctl-Result") == "Purged"

    async def close(self) -> None:
        await self.session.close()


async def measure(ports: list[int], requests: int, rounds: int, repeats: int,
                  with_aiohttp: bool) -> dict[str, tuple[list[Sample], list[Sample]]]:
    """Each client in turn, ``repeats`` times (interleaved, so a noisy neighbour hurts
    them alike)."""
    n = len(ports)
    raw_one, raw_all = RawClient(ports[:1]), RawClient(ports)
    await raw_one.connect()
    await raw_all.connect()
    adapters = edges(ports)
    olds = [AiohttpClient(p) for p in ports] if with_aiohttp else []

    async def edge_one(i: int) -> None:
        assert (await adapters[0].apply(op(i))).http_status == 200

    async def edge_all(i: int) -> None:
        o = op(i)
        results = await asyncio.gather(*(a.apply(o) for a in adapters))
        assert all(r.http_status == 200 for r in results)

    async def old_all(i: int) -> None:
        path = f"/obj/{i}.png"
        await asyncio.gather(*(c.purge(path) for c in olds))

    clients: dict[str, tuple[Send, Send]] = {
        "raw": (lambda i: raw_one.purge(f"/obj/{i}.png", HOST),
                lambda i: raw_all.purge(f"/obj/{i}.png", HOST)),
        "VarnishEdge.apply": (edge_one, edge_all),
    }
    if olds:
        clients["aiohttp (old path)"] = (lambda i: olds[0].purge(f"/obj/{i}.png"), old_all)
    samples: dict[str, tuple[list[Sample], list[Sample]]] = {k: ([], []) for k in clients}
    try:
        for _ in range(repeats):
            for label, (one, fan) in clients.items():
                samples[label][0].append(await run(one, requests, 200, 1))
                samples[label][1].append(await run(fan, rounds, 20, n))
    finally:
        await raw_one.close()
        await raw_all.close()
        for a in adapters:
            await a.aclose()
        for c in olds:
            await c.close()
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="sequential requests")
    ap.add_argument("--rounds", type=int, default=200, help="fan-out rounds")
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--no-aiohttp", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    ports, proc = start_nodes(args.nodes)
    gc.collect()
    gc.freeze()
    try:
        rows = asyncio.run(measure(ports, args.requests, args.rounds, args.repeats,
                                   not args.no_aiohttp))
    finally:
        proc.terminate()
    print(f"edge client benchmark: {os.cpu_count()} CPUs, {args.nodes} nodes; "
          f"{args.repeats} interleaved repeats of {args.requests} sequential requests and "
          f"{args.rounds} fan-out rounds")
    for title, pick in (("median of the repeats", median), ("best repeat", best)):
        table(title, {k: (pick(seq), pick(fan)) for k, (seq, fan) in rows.items()}, args.nodes)
    print("\nCPU/req: client-process CPU per request; xraw: ratio to the raw client "
          "(CPU, and for the fan-out also the round's wall time).")


def table(title: str, rows: dict[str, tuple[Sample, Sample]], nodes: int) -> None:
    raw_seq, raw_fan = rows["raw"]
    print(f"\n{title}:")
    print(f"{'':<20} {'sequential (1 node)':^36} | {'fan-out to ' + str(nodes):^40}")
    print(f"{'client':<20} {'wall p50':>10} {'p90':>8} {'CPU/req':>9} {'xraw':>6} | "
          f"{'round p50':>10} {'p90':>8} {'CPU/req':>9} {'xraw':>6} {'xraw':>4}")
    for label, (seq, fan) in rows.items():
        print(f"{label:<20} {seq.wall_us:8.1f}µs {seq.wall_p90_us:6.1f}µs {seq.cpu_us:7.1f}µs "
              f"{seq.cpu_us / raw_seq.cpu_us:5.1f}x | {fan.wall_us / 1000:8.2f}ms "
              f"{fan.wall_p90_us / 1000:6.2f}ms {fan.cpu_us:7.1f}µs "
              f"{fan.cpu_us / raw_fan.cpu_us:5.1f}x {fan.wall_us / raw_fan.wall_us:4.1f}x")


if __name__ == "__main__":
    main()
