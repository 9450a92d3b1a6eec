"""The durable floor of one fan-out: what any system that keeps cdnctl's promise must do
per task, with nothing else around it.

A task is acknowledged only once it and one delivery per node are committed, and it is
``succeeded`` only once every node's answer is committed. :class:`DurableFloor` does
exactly that with hand-written ``sqlite3`` statements on cdnctl's own schema (indexes
included) in a file of its own: one transaction inserting the job, the task and its
deliveries and charging the quota; the raw client's PURGE to every node
(:class:`bench._nodes.RawClient`); one transaction marking the deliveries done, adding
one attempt row each and settling the task. No validation, no HTTP parsing beyond the
raw client's, no adapters, no worker.
"""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench._nodes import RawClient

_ACCOUNT = "1000000001"


class DurableFloor:
    def __init__(self, path: Path, raw: RawClient, nodes: list[str]) -> None:
        from cdnctl.storage import create_engine, migrations

        engine = create_engine(f"sqlite:///{path}")
        migrations.upgrade(engine)
        engine.dispose()
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                       "PRAGMA foreign_keys=ON"):
            self.db.execute(pragma)
        self.raw, self.nodes = raw, nodes
        self._deliveries = ("INSERT INTO deliveries (task_id, node, state, attempts, "
                            "next_attempt_at, lease_owner, lease_expires_at, updated_at) VALUES "
                            + ", ".join(["(?, ?, 'claimed', 0, ?, 'floor', ?, ?)"] * len(nodes))
                            + " RETURNING id")
        self._attempts = ("INSERT INTO attempts (delivery_id, number, started_at, latency_ms, "
                          "outcome, http_status, detail) VALUES "
                          + ", ".join(["(?, 1, ?, 0.1, 'ok', 200, 'purged')"] * len(nodes)))

    async def purge(self, path: str, host: str) -> None:
        db, n = self.db, len(self.nodes)
        now = datetime.now(UTC)
        at = now.isoformat(sep=" ", timespec="microseconds")
        later = (now + timedelta(hours=1)).isoformat(sep=" ", timespec="microseconds")
        job = uuid.uuid4().hex
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO quota_usage (scope, day, kind, used) VALUES (?, ?, 'url', 1) "
                   "ON CONFLICT (scope, day, kind) DO UPDATE SET used = quota_usage.used + 1",
                   (_ACCOUNT, at[:10]))
        db.execute("INSERT INTO jobs (id, account_id, created_at, source, request_id, "
                   "fingerprint, task_count) VALUES (?, ?, ?, 'floor', ?, '', 1)",
                   (job, _ACCOUNT, at, job))
        (task,) = db.execute(
            "INSERT INTO tasks (job_id, account_id, action, type, target, domain, method, "
            "state, created_at, updated_at, deadline, deliveries_total, source, site_id) "
            "VALUES (?, ?, 'purge', 'url', ?, ?, 'delete', 'running', ?, ?, ?, ?, 'floor', 1) "
            "RETURNING id", (job, _ACCOUNT, f"http://{host}{path}", host, at, at, later, n),
        ).fetchone()
        ids = [r[0] for r in db.execute(self._deliveries, tuple(itertools.chain.from_iterable(
            (task, node, at, later, at) for node in self.nodes))).fetchall()]
        db.execute("COMMIT")
        await self.raw.purge(path, host)
        done = datetime.now(UTC).isoformat(sep=" ", timespec="microseconds")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE deliveries SET state = 'succeeded', attempts = 1, http_status = 200, "
                   "lease_owner = NULL, lease_expires_at = NULL, updated_at = ? "
                   "WHERE task_id = ?", (done, task))
        db.execute(self._attempts, tuple(itertools.chain.from_iterable(
            (d, at) for d in ids)))
        db.execute("UPDATE tasks SET state = 'succeeded', deliveries_succeeded = ?, "
                   "updated_at = ?, finished_at = ? WHERE id = ?", (n, done, done, task))
        db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
