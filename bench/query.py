"""Query: ``GET /v1/tasks`` with filters over 1,000,000 stored tasks, on SQLite and PostgreSQL.

Seeding goes through the real submit path (``ContentService.submit`` -> ``create_job``)
in batches of 1,000, with a clock that advances so the tasks span 30 days over three
domains and three actions; one ``UPDATE`` then settles 97 % of them as succeeded and 1 %
as failed, leaving 2 % queued. The queries are real HTTP requests to a ``cdnctl serve``
subprocess (API only), each returning one page of 100 tasks.

Baseline, measured in the same run: the same page fetched with one hand-written SQL
statement through the bare driver (``sqlite3`` / ``psycopg``), so the ratio shows what
the API, the repository and rendering add on top of the database.

    .venv/bin/python -m bench.query [--tasks 1000000] [--db sqlite|sqlite:///x.db|postgresql://...]
                                    [--reuse]

With ``--reuse`` a database that already holds the benchmark account's ``--tasks`` tasks
(from an earlier run against the same ``--db``, a file or a PostgreSQL database) is
queried as it is instead of being seeded again; a seeded SQLite file named by
``--db sqlite:///...`` is kept. A PostgreSQL database that does not exist is created;
seeding refuses a database that already holds tasks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._common import pct, settings_for, summary
from bench._nodes import free_ports
from bench.ingest import wait_ready
from cdnctl import storage
from cdnctl.app import build_runtime
from cdnctl.core.model import Action, TargetType
from cdnctl.core.service import Submission
from cdnctl.testing import FrozenClock

DOMAINS = ["www.example.com", "img.example.com", "api.example.com"]
START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=30)


def site_settings(db_url: str) -> Any:
    s = settings_for(db_url, [{"name": "sim-1", "pool": "edge", "kind": "simulated"}])
    data = s.model_dump(mode="json")
    data["sites"][0]["domains"] = DOMAINS
    data["accounts"][0]["quotas"] = dict.fromkeys(("url", "prefetch", "block"), 10 ** 9)
    data["server"]["workers"] = 0
    return type(s).model_validate(data)


async def seed(db_url: str, total: int) -> tuple[str, str]:
    clock = FrozenClock(START)
    rt = await build_runtime(site_settings(db_url), clock=clock)
    account = rt.directory.account_by_name("bench")
    assert account is not None
    batches = total // 1000
    step = SPAN.total_seconds() / batches
    actions = [Action.PURGE] * 8 + [Action.PREFETCH, Action.BLOCK]
    sample_job = ""
    t0 = time.perf_counter()
    for b in range(batches):
        action = actions[b % len(actions)]
        specs = [rt.service.spec(account, action, TargetType.URL,
                                 f"https://{DOMAINS[(b + i) % 3]}/b{b}/item-{i}.png")
                 for i in range(1000)]
        done = await rt.service.submit(Submission(account=account, specs=specs))
        if b == batches // 2:
            sample_job = done.job.id
        clock.advance(step)
        if b % 100 == 99:
            rate = (b + 1) * 1000 / (time.perf_counter() - t0)
            print(f"  seeded {(b + 1) * 1000:>9,} tasks ({rate:,.0f}/s)", flush=True)
    await rt.aclose()
    engine = storage.create_engine(db_url)
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("UPDATE tasks SET state = CASE WHEN id % 100 = 0 THEN 'failed' "
                          "WHEN id % 100 < 98 THEN 'succeeded' ELSE state END"))
    if engine.dialect.name == "postgresql":
        # Measure the steady state, as autovacuum leaves it after a bulk load (the test
        # server may run without it): the UPDATE left a dead version of every row, so
        # without VACUUM index-only scans visit the heap for each entry; without
        # ANALYZE the planner has no statistics and picks poor plans.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return account.id, sample_job


def ensure_database(db_url: str) -> None:
    """Create the PostgreSQL database ``db_url`` names if it does not exist yet."""
    if not db_url.startswith("postgresql"):
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False),
                         autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                        (url.database,)).fetchone() is None:
            print(f"  creating database {url.database}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))


def stored_tasks(db_url: str) -> int:
    """How many tasks the database holds (0 before its tables exist)."""
    from sqlalchemy import inspect, text

    engine = storage.create_engine(db_url)
    try:
        if "tasks" not in inspect(engine).get_table_names():
            return 0
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM tasks")).scalar_one())
    finally:
        engine.dispose()


def seeded(db_url: str, total: int) -> tuple[str, str] | None:
    """The account and sample job of a database seeded earlier with ``total`` tasks, or
    None when it does not hold exactly that (then it is seeded afresh)."""
    from sqlalchemy import inspect, text

    account = site_settings(db_url).accounts[0].id
    engine = storage.create_engine(db_url)
    try:
        if "tasks" not in inspect(engine).get_table_names():
            return None
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM tasks WHERE account_id = :a"),
                                 {"a": account}).scalar_one()
            if count != total:
                return None
            # The job of batch ``batches // 2``, as seed() picks it.
            job = conn.execute(text("SELECT job_id FROM tasks WHERE account_id = :a "
                                    "ORDER BY id LIMIT 1 OFFSET :o"),
                               {"a": account, "o": total // 1000 // 2 * 1000}).scalar_one()
        return account, str(job)
    finally:
        engine.dispose()


QUERIES = {
    "newest page (no filter)": "",
    "status=failed": "status=failed",
    "domain=img.example.com": "domain=img.example.com",
    "action=prefetch": "action=prefetch",
    "job_id=<one job>": "job_id={job}",
    "last 24h": "created_after={day_ago}",
    "status=queued&domain=api": "status=queued&domain=api.example.com",
}

RAW_SQL = ("SELECT * FROM tasks WHERE account_id = {p} AND state = {p} "
           "ORDER BY id DESC LIMIT 100")


def raw_baseline(db_url: str, account: str, rounds: int) -> list[float]:
    """The 'status=failed' page through the bare driver."""
    if db_url.startswith("sqlite"):
        conn: Any = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        sql = RAW_SQL.format(p="?")
    else:
        import psycopg

        conn = psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql"))
        # Planned for its values every time: prepared after 5 runs (psycopg's default),
        # the statement gets PostgreSQL's generic plan, which walks the primary key
        # through ~10,000 rows for this rare state, and the baseline is no bound at all.
        conn.prepare_threshold = None
        sql = RAW_SQL.format(p="%s")
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        rows = conn.execute(sql, (account, "failed")).fetchall()
        out.append((time.perf_counter() - t0) * 1000)
        assert len(rows) == 100
    conn.close()
    return out


def run_queries(db_url: str, job: str, rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        (port,) = free_ports(1)
        cfg = Path(tmp, "q.toml")
        data = site_settings(db_url).model_dump(mode="json", exclude_defaults=False)
        data["server"]["listen"] = f"127.0.0.1:{port}"
        data["limits"]["rate"] = 0
        cfg.write_text(_toml(data))
        proc = subprocess.Popen([sys.executable, "-m", "cdnctl", "serve", "--config", str(cfg),
                                 "--log-level", "warning"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            day_ago = (START + SPAN - timedelta(days=1)).isoformat().replace("+00:00", "Z")
            results: dict[str, list[float]] = {}
            with httpx.Client(base_url=url, headers={"Authorization": "Bearer bench-token"},
                              timeout=30) as http:
                for label, qs in QUERIES.items():
                    q = qs.format(job=job, day_ago=day_ago)
                    path = f"/v1/tasks?limit=100&{q}" if q else "/v1/tasks?limit=100"
                    for _ in range(5):
                        http.get(path).raise_for_status()
                    times = []
                    for _ in range(rounds):
                        t0 = time.perf_counter()
                        r = http.get(path)
                        times.append((time.perf_counter() - t0) * 1000)
                        r.raise_for_status()
                    results[label] = times
        finally:
            proc.terminate()
            proc.wait(10)
    return results


def _toml(data: dict[str, Any]) -> str:
    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        return repr(v)

    lines = []
    for key, v in data.items():
        if isinstance(v, list):
            for item in v:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {val(x)}" for k, x in item.items() if x is not None]
        else:
            lines.append(f"[{key}]")
            lines += [f"{k} = {val(x)}" for k, x in v.items() if x is not None]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--db", default="sqlite",
                    help="sqlite (a temporary file), sqlite:///path.db or postgresql://...")
    ap.add_argument("--reuse", action="store_true",
                    help="query a database seeded by an earlier run as it is")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/query.db" if args.db == "sqlite" else args.db
        print(f"query benchmark: {args.tasks:,} tasks, {args.rounds} requests per query, "
              f"database {db_url.split('@')[-1]}, {os.cpu_count()} CPUs")
        ensure_database(db_url)
        found = seeded(db_url, args.tasks) if args.reuse else None
        if found is None:
            if (held := stored_tasks(db_url)) > 0:
                raise SystemExit(
                    f"the database already holds {held:,} tasks: seeding would add to them. "
                    "Pass --reuse to query a database seeded with --tasks tasks, or point "
                    "--db at an empty or new one.")
            account, job = asyncio.run(seed(db_url, args.tasks))
        else:
            account, job = found
            print("  reusing the seeded database")
        results = run_queries(db_url, job, args.rounds)
        base = raw_baseline(db_url, account, args.rounds)
    for label, times in results.items():
        print(f"  {label:<28} {summary(times)}")
    print(f"  {'raw driver, status=failed':<28} {summary(base)}")
    ratio = pct(results["status=failed"], 50) / pct(base, 50)
    print(f"  ratio API/raw (status=failed, p50): {ratio:.1f}x")


if __name__ == "__main__":
    main()
