"""Ingest: URL purges accepted per second through the native API, in batches of 1,000.

A real ``cdnctl serve`` (uvicorn, ``--processes 2`` by default, SQLite file, API only:
``--workers 0`` so
dispatch does not compete for the two cores; each task still gets one committed delivery
per node of its pool, 2 simulated nodes here) receives ``POST /v1/tasks`` with 1,000 URL
targets per request from an httpx client in this process. A request counts only once its
202 came back, i.e. once its tasks and deliveries were committed.

Baseline, measured in the same run: the raw limit of the storage, inserting the same
rows (1,000 tasks + 2,000 deliveries per transaction) with Python's ``sqlite3`` and
multi-row ``INSERT``s into a table of the same shape (one index), WAL and
synchronous=NORMAL.

    .venv/bin/python -m bench.ingest [--batches 30] [--clients 2]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._common import pct
from bench._nodes import free_ports

CONFIG = """
[server]
listen = "127.0.0.1:{port}"
workers = 0
processes = {processes}
max_body_bytes = 8388608
[database]
url = "sqlite:///{db}"
[limits]
rate = 0
[[accounts]]
id = "1000000001"
name = "bench"
tokens = ["bench-token"]
quotas = {{ url = 1000000000 }}
[[sites]]
account = "bench"
id = 1
zone_id = "zone-bench"
name = "example.com"
domains = ["www.example.com"]
pool = "edge"
[[nodes]]
name = "sim-1"
pool = "edge"
kind = "simulated"
[[nodes]]
name = "sim-2"
pool = "edge"
kind = "simulated"
"""


def raw_baseline(path: str, batches: int, size: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, job TEXT, account TEXT, action TEXT,"
                 " type TEXT, target TEXT, raw TEXT, domain TEXT, state TEXT, created TEXT,"
                 " deadline TEXT, total INT)")
    conn.execute("CREATE INDEX t_acct ON t(account, id)")
    conn.execute("CREATE TABLE d (id INTEGER PRIMARY KEY, task INT, node TEXT, state TEXT,"
                 " due TEXT)")
    conn.execute("CREATE INDEX d_due ON d(state, due)")
    conn.execute("CREATE INDEX d_task ON d(task)")
    now = "2026-01-01T00:00:00.000000+00:00"
    t0 = time.perf_counter()
    next_id = 1
    for b in range(batches):
        rows = [(next_id + i, f"job{b}", "1000000001", "purge", "url",
                 f"http://www.example.com/{b}/{i}", f"http://www.example.com/{b}/{i}",
                 "www.example.com", "queued", now, now, 2) for i in range(size)]
        dels = [(r[0], n, "pending", now) for r in rows for n in ("sim-1", "sim-2")]
        conn.execute("BEGIN IMMEDIATE")
        for part in range(0, len(rows), 256):  # multi-row INSERTs: faster than executemany
            chunk = rows[part:part + 256]
            conn.execute("INSERT INTO t VALUES " + ", ".join(["(?,?,?,?,?,?,?,?,?,?,?,?)"]
                                                              * len(chunk)),
                         tuple(itertools.chain.from_iterable(chunk)))
        for part in range(0, len(dels), 256):
            chunk = dels[part:part + 256]
            conn.execute("INSERT INTO d (task, node, state, due) VALUES "
                         + ", ".join(["(?,?,?,?)"] * len(chunk)),
                         tuple(itertools.chain.from_iterable(chunk)))
        conn.execute("COMMIT")
        next_id += size
    elapsed = time.perf_counter() - t0
    conn.close()
    return batches * size / elapsed


async def post_batches(url: str, batches: int, size: int, clients: int,
                       latencies: list[float]) -> None:
    headers = {"Authorization": "Bearer bench-token"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(batches):
        queue.put_nowait(b)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            while not queue.empty():
                b = queue.get_nowait()
                body = json.dumps({"action": "purge", "type": "url", "targets": [
                    f"http://www.example.com/{b}/{i}.png" for i in range(size)]})
                t0 = time.perf_counter()
                r = await http.post("/v1/tasks", content=body,
                                    headers={"Content-Type": "application/json"})
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 202:
                    raise SystemExit(f"batch {b}: HTTP {r.status_code} {r.text[:300]}")

    await asyncio.gather(*(client() for _ in range(clients)))


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--processes", type=int, default=2, help="API server processes")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (port,) = free_ports(1)
        cfg = Path(tmp, "bench.toml")
        cfg.write_text(CONFIG.format(port=port, db=Path(tmp, "ingest.db"),
                                     processes=args.processes))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "cdnctl", "serve", "--config", str(cfg),
                                 "--log-level", "warning"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            asyncio.run(post_batches(url, 3, args.size, 1, []))  # warm-up
            latencies: list[float] = []
            t0 = time.perf_counter()
            asyncio.run(post_batches(url, args.batches, args.size, args.clients, latencies))
            rate = args.batches * args.size / (time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(10)
        base = raw_baseline(str(Path(tmp, "raw.db")), args.batches, args.size)
    print(f"ingest benchmark: {args.batches} batches of {args.size} URL purges, "
          f"{args.clients} concurrent clients, {args.processes} API processes, 2 nodes per "
          f"task, SQLite, {os.cpu_count()} CPUs")
    print(f"  cdnctl API : {rate:10,.0f} URL purges/s accepted   "
          f"(request p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms)")
    print(f"  raw sqlite3: {base:10,.0f} rows/s inserted (tasks; +2 deliveries each)")
    print(f"  ratio      : {rate / base:10.2f} of the raw insert rate")


if __name__ == "__main__":
    main()
