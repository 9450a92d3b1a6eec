"""Readable tables for people, JSON for scripts; shared CLI options."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click

from cdnctl.cli._client import DEFAULT_SERVER, Client

F = TypeVar("F", bound=Callable[..., Any])
MAX_CELL = 72


def option(*decls: str, **kw: Any) -> Callable[[F], F]:
    """``click.option`` that shows its environment variable in ``--help``."""
    kw.setdefault("show_envvar", True)
    return click.option(*decls, **kw)


def json_option(f: F) -> F:
    return option("--json", "as_json", is_flag=True, envvar="CDNCTL_JSON",
                  help="Print the API's JSON instead of tables (for scripts).")(f)


def client_options(f: F) -> F:
    """``--server``, ``--token``, ``--http-timeout``, ``--json``: for commands calling the API."""
    f = option("--server", envvar="CDNCTL_SERVER", default=DEFAULT_SERVER, show_default=True,
               metavar="URL", help="Base URL of a running `cdnctl serve`.")(f)
    f = option("--token", envvar="CDNCTL_TOKEN", metavar="TOKEN",
               help="API bearer token of your account.")(f)
    f = option("--http-timeout", envvar="CDNCTL_HTTP_TIMEOUT", type=click.FloatRange(min=0.1),
               default=30.0, show_default=True, metavar="SECONDS",
               help="Timeout of one HTTP request.")(f)
    return json_option(f)


def make_client(server: str, token: str | None, http_timeout: float, as_json: bool) -> Client:
    return Client(server, token, timeout=http_timeout, json_mode=as_json)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def when(value: str | None) -> str:
    """ISO-8601 from the API -> ``2024-05-01 12:00:03`` (UTC)."""
    if not value:
        return "-"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    return dt.strftime("%Y-%m-%d %H:%M:%S")


STATUS_MARK = {"succeeded": "ok", "failed": "FAILED", "timed_out": "TIMED OUT",
               "canceled": "canceled", "queued": "queued", "running": "running"}


def task_rows(tasks: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[t["id"], t["action"], t["type"], STATUS_MARK.get(t["status"], t["status"]),
             f"{t['progress']}%", f"{t['counts']['succeeded']}/{t['counts']['total']}",
             when(t["created_at"]), t["raw_target"]] for t in tasks]


TASK_HEADERS = ("id", "action", "type", "status", "progress", "nodes ok", "created (UTC)",
                "target")


def task_table(tasks: Sequence[dict[str, Any]]) -> str:
    return table(TASK_HEADERS, task_rows(tasks))


def delivery_table(task: dict[str, Any]) -> str:
    rows = []
    for d in task.get("deliveries", []):
        attempts = d.get("attempts") or [None]
        for a in attempts:
            rows.append([
                d["node"], d["state"], a["number"] if a else "-",
                when(a["time"]) if a else "-", a["outcome"] if a else "-",
                a["http_status"] if a else None, a["latency_ms"] if a else None,
                a["detail"] if a else (d.get("description") or ""),
            ])
    return table(("node", "state", "try", "time (UTC)", "outcome", "http", "ms", "detail"),
                 rows)
