"""The bundled demo: ``cdnctl serve`` with no configuration at all.

Writes ``./cdnctl-demo.toml`` (mode 0600: it holds the credentials) the first
time, with a SQLite database, one account ``demo`` with a fresh random token
and access key, one site ``example.com`` and three ``simulated`` nodes; later
runs reuse it. Then prints where everything is and a command to try.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

DEMO_FILE = "cdnctl-demo.toml"
DEMO_ACCOUNT = "demo"
DEMO_NODES = ("sim-1", "sim-2", "sim-3")

_TEMPLATE = """\
# cdnctl demo configuration, written by `cdnctl serve` because no --config was given.
# Every key is described in docs/configuration.md. It holds credentials: keep it private.
# Delete this file (and cdnctl.db) to start over with fresh credentials.

[server]
listen = "127.0.0.1:8080"
workers = 1

[database]
url = "sqlite:///cdnctl.db"

[[accounts]]
id = "1000"
name = "{account}"
tokens = ["{token}"]                 # native API / CLI: Authorization: Bearer <token>
keys = [{{ id = "{key_id}", secret = "{key_secret}" }}]   # vendor-compatible APIs

[[sites]]
account = "{account}"
id = 1
zone_id = "zone-example"
name = "example.com"
domains = ["www.example.com", "img.example.com"]
pool = "sim"

# Simulated cache nodes: they answer like real ones (with latency) but cache nothing.
{nodes}"""

_NODE = """[[nodes]]
name = "{name}"
pool = "sim"
kind = "simulated"
latency_ms = {latency}          # how long the simulated node takes to answer
"""


def render_demo_config() -> str:
    return _TEMPLATE.format(
        account=DEMO_ACCOUNT,
        token="cdnd_" + secrets.token_urlsafe(30),
        key_id="DEMO" + secrets.token_hex(8).upper(),
        key_secret=secrets.token_urlsafe(30),
        nodes="\n".join(_NODE.format(name=n, latency=40 * (i + 1))
                        for i, n in enumerate(DEMO_NODES)),
    )


def ensure_demo_config(directory: Path) -> tuple[Path, bool]:
    """``directory/cdnctl-demo.toml``, written if missing. Returns (path, created)."""
    path = directory / DEMO_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render_demo_config())
    return path, True


def demo_credentials(path: Path) -> dict[str, str]:
    data: dict[str, Any] = tomllib.loads(path.read_text("utf-8"))
    account = next((a for a in data.get("accounts", []) if a.get("name") == DEMO_ACCOUNT),
                   (data.get("accounts") or [{}])[0])
    keys = account.get("keys") or [{}]
    return {"account": str(account.get("name", "")),
            "token": str((account.get("tokens") or [""])[0]),
            "access_key_id": str(keys[0].get("id", "")),
            "access_key_secret": str(keys[0].get("secret", ""))}


def program_name() -> str:
    """How the user started us, so the printed commands work when pasted."""
    argv0 = Path(sys.argv[0]).name if sys.argv else "cdnctl"
    return "python -m cdnctl" if argv0 == "__main__.py" else "cdnctl"


def print_banner(base: str, path: Path, created: bool, *, as_json: bool) -> None:
    creds = demo_credentials(path)
    info = {"mode": "demo", "config": str(path), "created": created, "server": base,
            "api": f"{base}/v1", "docs": f"{base}/docs", "ui": f"{base}/ui", **creds}
    if as_json:
        click.echo(json.dumps(info))
        return
    prog = program_name()
    url = "https://www.example.com/index.html"
    lines = [
        "",
        f"cdnctl demo is running ({'wrote' if created else 'using'} {path};"
        " delete it to start over)",
        "",
        f"  API          {base}/v1",
        f"  reference    {base}/docs",
        f"  web page     {base}/ui",
        "",
        f"  account      {creds['account']}",
        f"  token        {creds['token']}",
        f"  access key   {creds['access_key_id']}",
        f"  key secret   {creds['access_key_secret']}",
        "",
        "  site example.com (www.example.com, img.example.com), "
        f"served by simulated nodes {', '.join(DEMO_NODES)}",
        "",
        "Try it from another terminal:",
        "",
        f"  {prog} purge --server {base} --token {creds['token']} --wait {url}",
        "",
        "or set the client environment once:",
        "",
        f"  export CDNCTL_SERVER={base}",
        f"  export CDNCTL_TOKEN={creds['token']}",
        f"  {prog} purge --wait {url}",
        f"  {prog} tasks",
        "",
        "or with curl:",
        "",
        f"  curl -s -H 'Authorization: Bearer {creds['token']}' \\",
        "       -H 'Content-Type: application/json' \\",
        f"       -d '{{\"action\":\"purge\",\"targets\":[\"{url}\"]}}' {base}/v1/tasks",
        "",
    ]
    click.echo("\n".join(lines))
