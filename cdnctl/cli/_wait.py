"""``--wait``: poll a job until every task has ended, with a live progress bar on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from cdnctl.cli._client import Client, is_tty

TERMINAL = frozenset({"succeeded", "failed", "timed_out", "canceled"})
EXIT_TASK_FAILED = 3
EXIT_WAIT_TIMEOUT = 4
BAR_WIDTH = 30


class Progress:
    """One line on stderr: redrawn in place on a terminal, appended on change otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = is_tty(sys.stderr)
        self._last = ""
        self._drawn = False

    def update(self, tasks: Sequence[dict[str, Any]]) -> None:
        if not self.enabled:
            return
        total = sum(t["counts"]["total"] for t in tasks)
        done = sum(t["counts"]["succeeded"] + t["counts"]["failed"] for t in tasks)
        ended = sum(t["status"] in TERMINAL for t in tasks)
        failed = sum(t["status"] in TERMINAL - {"succeeded"} for t in tasks)
        pct = 100 if ended == len(tasks) else (100 * done // total if total else 0)
        filled = BAR_WIDTH * pct // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = (f"[{bar}] {pct:3d}%  tasks {ended}/{len(tasks)} ended"
                f"  deliveries {done}/{total}" + (f"  {failed} not succeeded" if failed else ""))
        if line == self._last:
            return
        self._last = line
        if self.tty:
            click.echo("\r" + line, nl=False, err=True)
            self._drawn = True
        else:
            click.echo(line, err=True)

    def finish(self) -> None:
        if self.enabled and self._drawn:
            click.echo("", err=True)
            self._drawn = False


def wait_for_job(client: Client, job_id: str, *, timeout: float, interval: float = 0.5,
                 progress: bool = True) -> tuple[dict[str, Any], bool]:
    """Poll ``GET /v1/jobs/{id}`` until every task ended or ``timeout`` passed.

    One request per poll whatever the number of targets. Returns the last job
    body and whether every task ended.
    """
    bar = Progress(progress)
    deadline = time.monotonic() + timeout
    try:
        while True:
            job = client.request("GET", f"/v1/jobs/{job_id}", retry_rate_limited=True)
            tasks = job["tasks"]
            bar.update(tasks)
            if all(t["status"] in TERMINAL for t in tasks):
                return job, True
            if time.monotonic() >= deadline:
                return job, False
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
    finally:
        bar.finish()


def failures(client: Client, tasks: Sequence[dict[str, Any]],
             limit: int = 10) -> list[dict[str, Any]]:
    """Details (``GET /v1/tasks/{id}``) of up to ``limit`` tasks that did not succeed."""
    bad = [t for t in tasks if t["status"] in TERMINAL - {"succeeded"}]
    return [client.request("GET", f"/v1/tasks/{t['id']}", retry_rate_limited=True)
            for t in bad[:limit]]


def explain(detail: dict[str, Any]) -> str:
    """Why one task did not succeed, node by node."""
    lines = [f"task {detail['id']} {detail['status']}: {detail['raw_target']}"]
    if detail.get("error_code") or detail.get("description"):
        lines.append(f"  {detail.get('error_code') or ''} {detail.get('description') or ''}"
                     .rstrip())
    for d in detail.get("deliveries", []):
        if d["state"] == "succeeded":
            continue
        last = d["attempts"][-1] if d.get("attempts") else None
        why = last["detail"] if last else (d.get("description") or d["state"])
        lines.append(f"  {d['node']}: {d['state']} after {d['attempt_count']} attempt(s)"
                     f" — {why}")
    return "\n".join(lines)
