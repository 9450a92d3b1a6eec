"""The CLI against the in-process app (Starlette's TestClient as its HTTP client), its
help and environment variables, error reporting and exit codes, and the demo config."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner
from starlette.types import ASGIApp
from test_api_harness import TOKEN, build

from cdnctl.api.app import create_app
from cdnctl.app import Runtime
from cdnctl.cli import cli, query, submit
from cdnctl.cli._client import Client
from cdnctl.cli._output import table
from cdnctl.cli.demo import DEMO_NODES, demo_credentials, ensure_demo_config
from cdnctl.cli.server import base_url, safe_url, split_listen
from cdnctl.config import load


class SyncASGITransport(httpx.BaseTransport):
    """Lets the CLI's synchronous httpx client call the ASGI app in-process."""

    def __init__(self, app: ASGIApp) -> None:
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            req = httpx.Request(request.method, request.url, headers=request.headers,
                                content=body)
            resp = await self.inner.handle_async_request(req)
            return httpx.Response(resp.status_code, headers=resp.headers,
                                  content=await resp.aread())

        return asyncio.run(send())


def in_process(app: ASGIApp, server: str = "http://cdnctl.test") -> httpx.Client:
    return httpx.Client(base_url=server, transport=SyncASGITransport(app))


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    rt = build()
    app = create_app(rt)

    def make_client(server: str, token: str | None, http_timeout: float,
                    as_json: bool) -> Client:
        return Client(server, token, json_mode=as_json, http=in_process(app, server))

    monkeypatch.setattr(submit, "make_client", make_client)
    monkeypatch.setattr(query, "make_client", make_client)
    return rt


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    base = {"CDNCTL_TOKEN": TOKEN, "CDNCTL_SERVER": "http://cdnctl.test"}
    result = CliRunner().invoke(cli, list(args), env={**base, **(env or {})})
    assert "Traceback" not in result.output
    return result


def test_purge_then_query_as_json_and_tables(runtime: Runtime) -> None:
    r = run("purge", "--json", "--type", "prefix", "--soft", "https://www.example.com/img/")
    assert r.exit_code == 0, r.output
    job = json.loads(r.output)
    [task] = job["tasks"]
    assert (task["type"], task["method"], task["status"]) == ("prefix", "invalidate", "queued")
    listed = json.loads(run("tasks", "--json", "--status", "queued").output)
    assert [t["id"] for t in listed["tasks"]] == [task["id"]]
    human = run("tasks").output
    assert "https://www.example.com/img/" in human
    assert human.splitlines()[0].split()[:4] == ["ID", "ACTION", "TYPE", "STATUS"]
    detail = run("task", str(task["id"]))
    assert detail.exit_code == 0
    assert "edge-1" in detail.output
    assert "edge-2" in detail.output
    assert "(soft)" in detail.output
    canceled = run("cancel", str(task["id"]))
    assert canceled.output.strip() == f"task {task['id']}: canceled"
    again = run("cancel", str(task["id"]))
    assert again.exit_code == 1
    assert "InvalidTransition" in again.output


def test_prefetch_block_unblock_quota_nodes_blocks(runtime: Runtime) -> None:
    pre = run("prefetch", "--json", "--header", "Accept-Encoding: br",
              "https://www.example.com/big")
    assert json.loads(pre.output)["tasks"][0]["headers"] == {"Accept-Encoding": "br"}
    assert run("block", "--ttl", "60", "https://www.example.com/x").exit_code == 0
    assert run("unblock", "https://www.example.com/x").exit_code == 0
    quota = run("quota")
    assert quota.exit_code == 0
    prefetch_row = next(line for line in quota.output.splitlines()
                        if line.startswith("prefetch"))
    assert prefetch_row.split()[:4] == ["prefetch", "1000", "1", "999"]
    nodes = run("nodes")
    assert [line.split()[0] for line in nodes.output.splitlines()[1:]] == [
        "edge-1", "edge-2", "basic-1"]
    assert "up" in nodes.output
    assert run("blocks", "--json").exit_code == 0
    for name in ("a.zip", "b.zip", "c.png"):
        assert run("block", f"https://www.example.com/{name}").exit_code == 0
    zips = run("blocks", "--url", ".zip", "--limit", "1")
    assert zips.exit_code == 0, zips.output
    assert "https://www.example.com/b.zip" in zips.output
    assert "a.zip" not in zips.output
    assert "1 of 2: add --offset 1" in zips.output
    assert json.loads(run("blocks", "--json").output)["total"] == 3
    assert "site_id" in json.loads(run("tasks", "--site", "1", "--json").output)["tasks"][0]
    assert json.loads(run("tasks", "--site", "2", "--json").output)["tasks"] == []


def test_api_errors_are_one_line_and_exit_1(runtime: Runtime) -> None:
    r = run("purge", "ftp://www.example.com/a", "https://nope.example.net/")
    assert r.exit_code == 1
    assert "Error: InvalidUrl: targets[0]: URL must be absolute http(s)" in r.output
    assert "targets[1]: the domain 'nope.example.net' does not belong" in r.output
    as_json = run("task", "4242", "--json")
    assert as_json.exit_code == 1
    body = json.loads(as_json.output[: as_json.output.rindex("}") + 1])
    assert body["error"] == "NotFound"
    bad_token = run("quota", env={"CDNCTL_TOKEN": "nope"})
    assert bad_token.exit_code == 1
    assert "Unauthorized: invalid token" in bad_token.output


def test_missing_token_and_bad_options_are_usage_errors(runtime: Runtime) -> None:
    r = CliRunner().invoke(cli, ["tasks"], env={"CDNCTL_TOKEN": ""})
    assert r.exit_code == 2
    assert "no token" in r.output
    assert run("prefetch", "--header", "no-colon", "https://www.example.com/").exit_code == 2
    assert run("purge", "--type", "file", "https://www.example.com/").exit_code == 2
    assert run("tasks", "--limit", "0").exit_code == 2
    assert run("purge").exit_code == 2


def test_env_vars_mirror_flags(runtime: Runtime) -> None:
    r = run("purge", "https://www.example.com/a",
            env={"CDNCTL_PURGE_TYPE": "url_ignore_params", "CDNCTL_JSON": "1"})
    assert json.loads(r.output)["tasks"][0]["type"] == "url_ignore_params"


@pytest.mark.parametrize("command", [
    [], ["serve"], ["worker"], ["db"], ["db", "upgrade"], ["purge"], ["prefetch"], ["block"],
    ["unblock"], ["tasks"], ["task"], ["cancel"], ["quota"], ["nodes"], ["blocks"]])
def test_help_everywhere_shows_env_vars(command: list[str]) -> None:
    r = CliRunner().invoke(cli, [*command, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage:" in r.output
    if command and command[0] in ("purge", "tasks", "quota", "nodes", "task"):
        assert "CDNCTL_SERVER" in r.output
        assert "CDNCTL_TOKEN" in r.output
        assert "CDNCTL_JSON" in r.output
    if command == ["purge"]:
        assert "CDNCTL_PURGE_TYPE" in r.output
        assert "CDNCTL_PURGE_WAIT" in r.output
    if command == ["serve"]:
        assert "CDNCTL_CONFIG" in r.output
        assert "CDNCTL_LISTEN" in r.output


def test_demo_config_is_private_valid_and_kept(tmp_path: Path) -> None:
    path, created = ensure_demo_config(tmp_path)
    assert created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    settings = load(path)
    [account] = settings.accounts
    assert account.name == "demo"
    [site] = settings.sites
    assert (site.name, site.domains) == ("example.com", ["www.example.com", "img.example.com"])
    assert [(n.name, n.kind) for n in settings.nodes] == [(n, "simulated") for n in DEMO_NODES]
    creds = demo_credentials(path)
    assert settings.directory().account_by_token(creds["token"]) is not None
    assert creds["access_key_id"]
    assert creds["access_key_secret"]
    text = path.read_text()
    assert ensure_demo_config(tmp_path) == (path, False)
    assert path.read_text() == text
    (tmp_path / "second").mkdir()
    other, _ = ensure_demo_config(tmp_path / "second")
    assert demo_credentials(other)["token"] != creds["token"]  # fresh random credentials


def test_client_reports_non_json_errors() -> None:
    app = create_app(build())
    client = Client("http://cdnctl.test", "tok", http=in_process(app))
    with pytest.raises(click.ClickException) as exc:
        client.get("/metrics-does-not-exist")
    assert "NotFound" in exc.value.message


def test_small_helpers() -> None:
    assert split_listen("0.0.0.0:8080") == ("0.0.0.0", 8080)
    assert split_listen("[::1]:9000") == ("::1", 9000)
    with pytest.raises(click.BadParameter):
        split_listen("localhost")
    assert base_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert base_url("::1", 80) == "http://[::1]:80"
    assert safe_url("postgresql://cdn:hunter2@db/cdn") == "postgresql://cdn:***@db/cdn"
    assert safe_url("sqlite:///cdnctl.db") == "sqlite:///cdnctl.db"
    out = table(("a", "b"), [[1, "x" * 100], [None, True]]).splitlines()
    assert out[0].split() == ["A", "B"]
    assert out[1].endswith("…")
    assert len(out[1]) < 100
    assert out[2].split() == ["-", "yes"]


def test_dry_run_and_purge_all_needs_yes(runtime: Runtime) -> None:
    plan = run("purge", "--dry-run", "https://www.example.com/a", "https://old.example.org/b")
    assert plan.exit_code == 0, plan.output
    assert "dry run: nothing was submitted" in plan.output
    assert "https://www.example.com/a  edge-1, edge-2" in plan.output
    assert "https://old.example.org/b  basic-1" in plan.output
    assert "quota url: 2 of 10000 used after it (9998 left today)" in plan.output
    as_json = json.loads(run("purge", "--dry-run", "--json", "--type", "all",
                             "example.com").output)
    assert as_json["dry_run"] is True
    assert as_json["tasks"][0]["nodes"] == ["edge-1", "edge-2"]
    refused = run("purge", "--type", "all", "example.com")  # no terminal to ask on
    assert refused.exit_code == 2
    assert "purging everything needs --yes" in refused.output
    assert json.loads(run("tasks", "--json").output)["tasks"] == []  # nothing submitted
    done = run("purge", "--type", "all", "--yes", "--json", "example.com")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["tasks"][0]["type"] == "all"


def test_purge_all_asks_on_a_terminal(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(submit, "is_tty", lambda stream=None: True)
    env = {"CDNCTL_TOKEN": TOKEN, "CDNCTL_SERVER": "http://cdnctl.test"}
    args = ["purge", "--type", "all", "--json", "example.com"]
    no = CliRunner().invoke(cli, args, env=env, input="n\n")
    assert no.exit_code == 1
    assert "Purge everything cached for example.com" in no.output
    assert json.loads(run("tasks", "--json").output)["tasks"] == []
    yes = CliRunner().invoke(cli, args, env=env, input="y\n")
    assert yes.exit_code == 0, yes.output
    assert len(json.loads(run("tasks", "--json").output)["tasks"]) == 1
