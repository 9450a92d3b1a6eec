"""A worker killed with SIGKILL mid-delivery loses nothing: once its lease expires,
another worker process claims the same deliveries and the task succeeds, counted once.
And on PostgreSQL a worker process is woken by NOTIFY, not by its poll.

Real processes: ``cdnctl serve --workers 0`` (API only) and ``cdnctl worker`` processes,
on a real SQLite file and on a real PostgreSQL database.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

TOKEN = "crash-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = """
[server]
listen = "127.0.0.1:{port}"
workers = 0
[database]
url = "{db}"
[dispatch]
lease_seconds = 2
attempt_timeout = 10
poll_interval = {poll}
task_deadline = 60
[[accounts]]
id = "1001"
name = "acme"
tokens = ["{token}"]
[[sites]]
account = "acme"
id = 1
zone_id = "zone-acme"
name = "example.com"
domains = ["www.example.com"]
pool = "slow"
[[nodes]]
name = "slow-1"
pool = "slow"
kind = "simulated"
latency_ms = 1500
[[nodes]]
name = "slow-2"
pool = "slow"
kind = "simulated"
latency_ms = 1500
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDNCTL_")}
    with (cwd / f"{args[0]}-{time.monotonic_ns()}.log").open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "cdnctl", *args], cwd=cwd, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def _logs(cwd: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(cwd.glob("*.log")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.servers)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crash.db'}"
    make: Callable[[], str] = request.getfixturevalue("new_postgres_database")
    return make()


@pytest.fixture
def poll_interval() -> float:
    return 0.2


@pytest.fixture
def api(tmp_path: Path, db_url: str, poll_interval: float) -> Iterator[tuple[str, Path]]:
    port = _port()
    cfg = tmp_path / "crash.toml"
    cfg.write_text(CONFIG.format(port=port, db=db_url, token=TOKEN, poll=poll_interval))
    proc = _spawn("serve", "--config", str(cfg), cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, _logs(tmp_path)
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield base, cfg
    finally:
        proc.terminate()
        proc.wait(10)


def _task(base: str, task_id: int) -> dict[str, object]:
    r = httpx.get(f"{base}/v1/tasks/{task_id}", headers=AUTH, timeout=5)
    r.raise_for_status()
    return dict(r.json())


def _wait(base: str, task_id: int, done: Callable[[dict[str, object]], bool],
          timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        task = _task(base, task_id)
        if done(task):
            return task
        assert time.monotonic() < deadline, f"gave up waiting; task is {task}"
        time.sleep(0.1)


def test_sigkilled_worker_loses_no_task(api: tuple[str, Path], tmp_path: Path) -> None:
    base, cfg = api
    first = _spawn("worker", "--config", str(cfg), cwd=tmp_path)
    second: subprocess.Popen[bytes] | None = None
    try:
        r = httpx.post(f"{base}/v1/tasks", headers=AUTH, timeout=10, json={
            "action": "purge", "type": "url", "targets": ["https://www.example.com/a.png"]})
        assert r.status_code == 202, r.text
        task_id = r.json()["tasks"][0]["id"]
        # The first worker has claimed both deliveries and is inside the 1.5 s edge calls.
        _wait(base, task_id, lambda t: t["status"] == "running", 20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(0.3)
        assert _task(base, task_id)["status"] == "running"  # nothing was recorded

        second = _spawn("worker", "--config", str(cfg), cwd=tmp_path)
        task = _wait(base, task_id, lambda t: t["status"] != "running", 30)
        assert task["status"] == "succeeded", (task, _logs(tmp_path))
        assert task["counts"] == {"total": 2, "succeeded": 2, "failed": 0, "pending": 0}
        deliveries = task["deliveries"]
        assert isinstance(deliveries, list)
        for d in deliveries:
            # the killed attempt left no row; the second worker's attempt is the one proof
            assert [a["outcome"] for a in d["attempts"]] == ["ok"], d
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.servers)],
                         indirect=True)
@pytest.mark.parametrize("poll_interval", [30.0])
def test_a_worker_process_is_woken_by_notify(api: tuple[str, Path], tmp_path: Path) -> None:
    base, cfg = api
    worker = _spawn("worker", "--config", str(cfg), cwd=tmp_path)
    try:
        time.sleep(3)  # let the worker start, claim nothing and go to its 30 s sleep
        assert worker.poll() is None, _logs(tmp_path)
        t0 = time.monotonic()
        r = httpx.post(f"{base}/v1/tasks", headers=AUTH, timeout=10, json={
            "action": "purge", "type": "url", "targets": ["https://www.example.com/n.png"]})
        assert r.status_code == 202, r.text
        task_id = r.json()["tasks"][0]["id"]
        task = _wait(base, task_id, lambda t: t["status"] != "queued", 10)
        # 1.5 s simulated nodes; a 30 s poll would leave the task queued far longer
        assert time.monotonic() - t0 < 10, (task, _logs(tmp_path))
        task = _wait(base, task_id, lambda t: t["status"] == "succeeded", 15)
    finally:
        worker.terminate()
        worker.wait(10)
