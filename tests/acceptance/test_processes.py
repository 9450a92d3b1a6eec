"""`cdnctl serve --processes 2`: two API processes share one listener and one database;
requests spread over both, and every accepted task is carried out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN = "processes-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONFIG = """
[server]
listen = "127.0.0.1:{port}"
processes = 2
[database]
url = "sqlite:///{db}"
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
pool = "edge"
[[nodes]]
name = "sim-1"
pool = "edge"
kind = "simulated"
"""


def test_two_processes_share_the_listener_and_the_database(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = tmp_path / "p.toml"
    cfg.write_text(CONFIG.format(port=port, db=tmp_path / "p.db", token=TOKEN))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDNCTL_")}
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cdnctl", "serve", "--config", str(cfg)],
                                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        ids = []
        for i in range(20):  # new connections: the kernel spreads them over both processes
            r = httpx.post(f"{base}/v1/tasks", headers=AUTH, timeout=10, json={
                "action": "purge", "type": "url", "targets": [f"https://www.example.com/{i}"]})
            assert r.status_code == 202, r.text
            ids.append(r.json()["tasks"][0]["id"])
        assert len(set(ids)) == 20  # one id sequence across processes
        deadline = time.monotonic() + 20
        for task_id in ids:
            while True:
                task = httpx.get(f"{base}/v1/tasks/{task_id}", headers=AUTH, timeout=5).json()
                if task["status"] == "succeeded":
                    break
                assert task["status"] in ("queued", "running"), task
                assert time.monotonic() < deadline, task
                time.sleep(0.05)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True, check=False).stdout.split()
        assert len(children) >= 2, "expected two server processes"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (tmp_path / "serve.log").read_text()
