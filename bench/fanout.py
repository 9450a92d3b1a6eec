"""Fan-out latency: submit one URL purge -> every node acknowledged -> task ``succeeded``.

Measured through the real system in one process: ``ContentService.submit`` (validation,
quota charge, commit of job + task + deliveries to a real SQLite file, the deliveries
leased in that same transaction to the in-process worker), the worker (the real
``VarnishEdge`` adapter over kept-alive connections, the recording transaction that
settles the task). The clock stops when the terminal state is committed.

Baselines, measured in the same run against the same nodes:

* raw: the raw limit, a minimal asyncio client sending the same PURGE over one kept-alive
  connection per node and waiting for every answer (no database, no HTTP library);
* floor (SQLite): the durable floor (``bench._floor``), the raw client between the two
  commits any system keeping cdnctl's promise must make, as hand-written ``sqlite3``
  statements on cdnctl's schema: what is left of cdnctl's time above it is validation,
  the HTTP client, the adapters, the worker and SQLAlchemy.

Each fan-out's time is also split into stages (validate, commit, fan-out, record).

Nodes: N = 1, 10, 100 minimal loopback HTTP servers (in a child process) answering as
``contrib/varnish/cdnctl.vcl`` does, and 2 real ``varnishd`` processes running that VCL
in front of a loopback origin.

    .venv/bin/python -m bench.fanout [--rounds 200] [--db sqlite|postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._common import FinishProbe, pct, settings_for, summary
from bench._floor import DurableFloor
from bench._nodes import RawClient, start_nodes
from cdnctl.app import build_runtime
from cdnctl.core.model import Action, TargetType
from cdnctl.core.service import Submission

HOST = "www.example.com"


#: The stages of one fan-out, from the probe's marks (see ``FinishProbe``).
STAGES = (("validate", "start", "commit"), ("commit", "commit", "committed"),
          ("fan-out", "committed", "record"), ("record", "record", "recorded"))


async def measure(db_url: str, node_ports: list[int], rounds: int, warmup: int = 20,
                  stages: dict[str, list[float]] | None = None,
                  floor: list[float] | None = None) -> tuple[list[float], list[float]]:
    """cdnctl's and the raw client's times (ms), round by round; with ``floor`` (SQLite
    only) also the durable floor's (``bench._floor``), against the same nodes."""
    nodes = [{"name": f"n{i}", "pool": "edge", "kind": "varnish",
              "url": f"http://127.0.0.1:{p}"} for i, p in enumerate(node_ports)]
    settings = settings_for(db_url, nodes,
                            dispatch={"node_concurrency": 4, "poll_interval": 1.0})
    rt = await build_runtime(settings)
    probe = FinishProbe(rt.repo)
    rt.repo = probe  # type: ignore[assignment]
    rt.service.repo = probe  # type: ignore[assignment]
    rt.start_workers(1)
    account = rt.directory.account_by_name("bench")
    assert account is not None
    raw = RawClient(node_ports)
    await raw.connect()
    durable = None
    if floor is not None and db_url.startswith("sqlite:///"):
        durable = DurableFloor(Path(db_url.removeprefix("sqlite:///") + ".floor"), raw,
                               [n["name"] for n in nodes])
    ours: list[float] = []
    base: list[float] = []
    try:
        for i in range(warmup + rounds):
            path = f"/obj/{i}.png"
            t0 = time.perf_counter()
            await raw.purge(path, HOST)
            raw_ms = (time.perf_counter() - t0) * 1000
            if durable is not None:
                t0 = time.perf_counter()
                await durable.purge(f"/floor/{i}.png", HOST)
                if i >= warmup and floor is not None:
                    floor.append((time.perf_counter() - t0) * 1000)

            spec = rt.service.spec(account, Action.PURGE, TargetType.URL, f"http://{HOST}{path}")
            probe.marks.clear()
            t0 = probe.marks["start"] = time.perf_counter()
            done = await rt.service.submit(Submission(account=account, specs=[spec]))
            task = await asyncio.wait_for(probe.watch(done.tasks[0].id), 10)
            our_ms = (time.perf_counter() - t0) * 1000
            assert task.state.value == "succeeded", task
            assert task.deliveries_succeeded == len(node_ports)
            if i >= warmup:
                ours.append(our_ms)
                base.append(raw_ms)
                if stages is not None:
                    m = probe.marks
                    for name, begin, end in STAGES:
                        stages.setdefault(name, []).append((m[end] - m[begin]) * 1000)
    finally:
        if durable is not None:
            durable.close()
        await raw.close()
        await rt.aclose()
    return ours, base


@contextlib.contextmanager
def real_varnish(count: int) -> Iterator[list[int]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.servers import Origin, VarnishServer

    origin = Origin().start()
    servers = []
    try:
        for _ in range(count):
            v = VarnishServer(origin.port)
            v.start()
            servers.append(v)
        yield [int(v.url.rsplit(":", 1)[1]) for v in servers]
    finally:
        for v in servers:
            v.close()
        origin.stop()


def report(label: str, ours: list[float], base: list[float],
           stages: dict[str, list[float]], floor: list[float]) -> dict[str, Any]:
    ratio = pct(ours, 50) / pct(base, 50)
    print(f"{label:<28} cdnctl {summary(ours)}")
    print(f"{'':<28} raw    {summary(base)}")
    if floor:
        print(f"{'':<28} floor  {summary(floor)}")
    print(f"{'':<28} ratio to raw (p50): {ratio:5.1f}x" + (
        f"   floor to raw: {pct(floor, 50) / pct(base, 50):4.1f}x   "
        f"cdnctl to floor: {pct(ours, 50) / pct(floor, 50):4.1f}x" if floor else ""))
    print(f"{'':<28} stages (p50): " + "  ".join(
        f"{name} {pct(times, 50):.2f} ms" for name, times in stages.items()))
    return {"label": label, "p50": pct(ours, 50), "p99": pct(ours, 99),
            "raw_p50": pct(base, 50), "raw_p99": pct(base, 99), "ratio": ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--db", default="sqlite", help="'sqlite' (temp file) or a postgresql:// URL")
    ap.add_argument("--sizes", default="1,10,100")
    ap.add_argument("--no-varnish", action="store_true")
    args = ap.parse_args()
    gc.freeze()
    print(f"fan-out benchmark: {args.rounds} rounds each, database {args.db}, "
          f"{os.cpu_count()} CPUs\n")
    with tempfile.TemporaryDirectory() as tmp:
        def db() -> str:
            if args.db == "sqlite":
                return f"sqlite:///{tempfile.mkstemp(suffix='.db', dir=tmp)[1]}"
            return str(args.db)

        for n in (int(x) for x in args.sizes.split(",")):
            ports, proc = start_nodes(n)
            stages: dict[str, list[float]] = {}
            floor: list[float] = []
            try:
                ours, base = asyncio.run(measure(db(), ports, args.rounds, stages=stages,
                                                 floor=floor))
            finally:
                proc.terminate()
            report(f"N={n} loopback nodes", ours, base, stages, floor)
        if not args.no_varnish:
            stages, floor = {}, []
            with real_varnish(2) as ports:
                ours, base = asyncio.run(measure(db(), ports, args.rounds, stages=stages,
                                                 floor=floor))
            report("N=2 real varnishd", ours, base, stages, floor)


if __name__ == "__main__":
    main()
