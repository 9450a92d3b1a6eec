"""`cdnctl serve` / `cdnctl worker` as real subprocesses (SQLite file, simulated nodes),
driven over HTTP and through the CLI; and the zero-config demo in an empty directory."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "acceptance-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

CONFIG = """
[server]
workers = {workers}

[database]
url = "sqlite:///{db}"

[dispatch]
max_attempts = 2
backoff_initial = 0.05
task_deadline = 30

[[accounts]]
id = "1001"
name = "acme"
tokens = ["{token}"]

[[sites]]
account = "acme"
id = 1
zone_id = "zone-acme"
name = "example.com"
domains = ["www.example.com", "img.example.com"]
pool = "edge"

[[sites]]
account = "acme"
id = 2
zone_id = "zone-broken"
name = "broken.example"
domains = ["www.broken.example"]
pool = "broken"

[[sites]]
account = "acme"
id = 3
zone_id = "zone-slow"
name = "slow.example"
domains = ["www.slow.example"]
pool = "slow"

[[nodes]]
name = "sim-a"
pool = "edge"
kind = "simulated"
latency_ms = 20

[[nodes]]
name = "sim-b"
pool = "edge"
kind = "simulated"
latency_ms = 30

[[nodes]]
name = "sim-broken"
pool = "broken"
kind = "simulated"
failure_rate = 1.0

[[nodes]]
name = "sim-slow"
pool = "slow"
kind = "simulated"
latency_ms = 3000
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDNCTL_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Proc:
    """A cdnctl subprocess with its output in files (no pipe to fill up)."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], name: str) -> None:
        self.out = cwd / f"{name}.out"
        self.err = cwd / f"{name}.err"
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.popen = subprocess.Popen([sys.executable, "-m", "cdnctl", *args], cwd=cwd,
                                          env=env, stdout=out, stderr=err)

    def logs(self) -> str:
        return f"--- stdout\n{self.out.read_text()}\n--- stderr\n{self.err.read_text()}"

    def wait_for(self, predicate: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate in self.out.read_text():
                return
            if self.popen.poll() is not None:
                pytest.fail(f"cdnctl exited with {self.popen.returncode}\n{self.logs()}")
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {predicate!r}\n{self.logs()}")

    def stop(self) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
                pytest.fail(f"cdnctl ignored SIGTERM\n{self.logs()}")
        return self.popen.returncode


def wait_healthy(base: str, proc: Proc, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.fail(f"server exited with {proc.popen.returncode}\n{proc.logs()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy in {timeout}s\n{proc.logs()}")


def cli(*args: str, cwd: Path, server: str, timeout: float = 60.0,
        token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    env = clean_env(CDNCTL_SERVER=server, CDNCTL_TOKEN=token)
    done = subprocess.run([sys.executable, "-m", "cdnctl", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def write_config(tmp_path: Path, workers: int = 1) -> Path:
    path = tmp_path / "cdnctl.toml"
    path.write_text(CONFIG.format(workers=workers, db=tmp_path / "cdnctl.db", token=TOKEN))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    proc = Proc(["serve", "--config", str(write_config(tmp)), "--listen", f"127.0.0.1:{port}"],
                tmp, clean_env(), "serve")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, tmp
    finally:
        code = proc.stop()
    assert code == 0, proc.logs()  # SIGTERM is a graceful, successful stop


def poll_task(base: str, task_id: int, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task: dict[str, object] = httpx.get(f"{base}/v1/tasks/{task_id}", headers=AUTH).json()
        if task["status"] not in ("queued", "running"):
            return task
        time.sleep(0.05)
    pytest.fail(f"task {task_id} did not finish")


def test_http_purge_reaches_every_node(server: tuple[str, Path]) -> None:
    base, _ = server
    r = httpx.post(f"{base}/v1/tasks", headers=AUTH, json={
        "action": "purge", "targets": ["https://www.example.com/http.png"]})
    assert r.status_code == 202, r.text
    assert r.headers["x-request-id"]
    task = poll_task(base, r.json()["tasks"][0]["id"])
    assert task["status"] == "succeeded"
    deliveries = task["deliveries"]
    assert isinstance(deliveries, list)
    assert [d["node"] for d in deliveries] == ["sim-a", "sim-b"]
    assert all(d["attempts"][0]["outcome"] == "ok" for d in deliveries)
    metrics = httpx.get(f"{base}/metrics").text
    assert 'cdnctl_tasks{state="succeeded"}' in metrics
    assert "cdnctl_delivery_attempt_latency_ms_bucket" in metrics
    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/ui").status_code == 200
    assert httpx.get(f"{base}/openapi.json").json()["openapi"] == "3.1.0"


def test_huge_request_lines_are_accepted(server: tuple[str, Path]) -> None:
    base, _ = server
    host, port = base.removeprefix("http://").split(":")
    line = f"GET /healthz?pad={'x' * (300 * 1024)} HTTP/1.1\r\n"  # httpx caps URLs at 64 KiB
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"{line}Host: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_cli_purge_wait_tasks_task_quota(server: tuple[str, Path]) -> None:
    base, tmp = server
    done = cli("purge", "--wait", "https://www.example.com/cli.png", cwd=tmp, server=base)
    assert done.returncode == 0, done.stderr
    assert "100%" in done.stderr  # the progress bar
    assert "https://www.example.com/cli.png" in done.stdout
    listed = json.loads(cli("tasks", "--json", "--target", "cli.png", cwd=tmp,
                            server=base).stdout)
    [task] = listed["tasks"]
    assert task["status"] == "succeeded"
    shown = cli("task", str(task["id"]), cwd=tmp, server=base)
    assert shown.returncode == 0
    assert "sim-a" in shown.stdout
    assert "sim-b" in shown.stdout
    quota = cli("quota", "--json", cwd=tmp, server=base)
    url = next(q for q in json.loads(quota.stdout)["quotas"] if q["kind"] == "url")
    assert url["used"] >= 1
    nodes = cli("nodes", cwd=tmp, server=base)
    assert "sim-slow" in nodes.stdout


def test_cli_exit_codes(server: tuple[str, Path]) -> None:
    base, tmp = server
    failed = cli("purge", "--wait", "https://www.broken.example/x", cwd=tmp, server=base)
    assert failed.returncode == 3, failed.stderr
    assert "sim-broken" in failed.stderr
    assert "did not succeed" in failed.stderr
    gave_up = cli("purge", "--wait", "--wait-timeout", "0.3", "https://www.slow.example/x",
                  cwd=tmp, server=base)
    assert gave_up.returncode == 4, gave_up.stderr
    assert "gave up waiting" in gave_up.stderr
    bad = cli("purge", "ftp://www.example.com/x", cwd=tmp, server=base)
    assert bad.returncode == 1
    assert "InvalidUrl" in bad.stderr
    denied = cli("quota", cwd=tmp, server=base, token="wrong")
    assert denied.returncode == 1
    assert "Unauthorized" in denied.stderr
    down = cli("tasks", cwd=tmp, server=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert "cannot reach the server" in down.stderr


def test_separate_worker_process(tmp_path: Path) -> None:
    config = write_config(tmp_path, workers=0)
    assert cli("db", "upgrade", "--config", str(config), cwd=tmp_path,
               server="-").returncode == 0
    port = free_port()
    api = Proc(["serve", "--config", str(config), "--listen", f"127.0.0.1:{port}"],
               tmp_path, clean_env(), "api")
    base = f"http://127.0.0.1:{port}"
    worker: Proc | None = None
    try:
        wait_healthy(base, api)
        r = httpx.post(f"{base}/v1/tasks", headers=AUTH, json={
            "action": "purge", "targets": ["https://www.example.com/w"]})
        task_id = r.json()["tasks"][0]["id"]
        time.sleep(0.5)
        assert httpx.get(f"{base}/v1/tasks/{task_id}", headers=AUTH).json()["status"] == "queued"
        worker = Proc(["worker", "--config", str(config)], tmp_path, clean_env(), "worker")
        worker.wait_for("running for")
        assert poll_task(base, task_id)["status"] == "succeeded"
        assert worker.stop() == 0, worker.logs()
    finally:
        if worker is not None:
            worker.stop()
        assert api.stop() == 0, api.logs()


def test_demo_mode_in_an_empty_directory(tmp_path: Path) -> None:
    port = free_port()
    demo = Proc(["serve", "--listen", f"127.0.0.1:{port}"], tmp_path, clean_env(), "demo")
    base = f"http://127.0.0.1:{port}"
    try:
        demo.wait_for("Try it from another terminal")
        out = demo.out.read_text()
        token = re.search(r"^\s+token\s+(\S+)$", out, re.M)
        assert token is not None, out
        assert f"{base}/docs" in out
        assert f"{base}/ui" in out
        assert re.search(r"^\s+access key\s+\S+$", out, re.M)
        assert "purge --server" in out
        config = tmp_path / "cdnctl-demo.toml"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        done = cli("purge", "--server", base, "--token", token.group(1), "--wait",
                   "https://www.example.com/index.html", cwd=tmp_path, server=base,
                   token="ignored-because-the-flag-wins")
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "cdnctl.db").exists()
        tasks = json.loads(cli("tasks", "--json", cwd=tmp_path, server=base,
                               token=token.group(1)).stdout)["tasks"]
        assert [t["status"] for t in tasks] == ["succeeded"]
        assert tasks[0]["counts"]["total"] == 3  # sim-1, sim-2, sim-3
    finally:
        assert demo.stop() == 0, demo.logs()
