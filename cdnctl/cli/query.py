"""``tasks``, ``task``, ``cancel``, ``quota``, ``nodes``, ``blocks``: read and cancel."""

from __future__ import annotations

from typing import Any

import click

from cdnctl.cli._output import (
    client_options,
    delivery_table,
    echo_json,
    make_client,
    option,
    table,
    task_table,
    when,
)
from cdnctl.cli.submit import TYPES

STATES = ("queued", "running", "succeeded", "failed", "timed_out", "canceled")
ACTIONS = ("purge", "prefetch", "block", "unblock")
MAX_ALL = 100_000


@click.command()
@option("--status", "statuses", envvar="CDNCTL_TASKS_STATUS", multiple=True,
        type=click.Choice(STATES), help="Only tasks in this state (repeatable).")
@option("--action", "actions", envvar="CDNCTL_TASKS_ACTION", multiple=True,
        type=click.Choice(ACTIONS), help="Only this action (repeatable).")
@option("--type", "types", envvar="CDNCTL_TASKS_TYPE", multiple=True,
        type=click.Choice(TYPES), help="Only this target type (repeatable).")
@option("--domain", "domains", envvar="CDNCTL_TASKS_DOMAIN", multiple=True, metavar="HOST",
        help="Only this domain (repeatable).")
@option("--site", "sites", envvar="CDNCTL_TASKS_SITE", multiple=True,
        type=click.IntRange(min=0), metavar="SITE_ID", help="Only this site (repeatable).")
@option("--target", metavar="TEXT", help="Only targets containing TEXT.")
@option("--job", "job_id", envvar="CDNCTL_TASKS_JOB", metavar="JOB_ID",
        help="Only the tasks of one job.")
@option("--since", metavar="ISO-8601", help="Created at or after, e.g. 2024-05-01T00:00:00Z.")
@option("--until", metavar="ISO-8601", help="Created before.")
@option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
        help="Tasks per page.")
@option("--cursor", metavar="CURSOR", help="Continue from a previous page's cursor.")
@option("--all", "fetch_all", envvar="CDNCTL_TASKS_ALL", is_flag=True,
        help="Follow cursors until the last page.")
@client_options
def tasks(statuses: tuple[str, ...], actions: tuple[str, ...], types: tuple[str, ...],
          domains: tuple[str, ...], sites: tuple[int, ...], target: str | None,
          job_id: str | None, since: str | None,
          until: str | None, limit: int, cursor: str | None, fetch_all: bool, server: str,
          token: str | None, http_timeout: float, as_json: bool) -> None:
    """List tasks, newest first."""
    params: dict[str, Any] = {
        "status": ",".join(statuses) or None, "action": ",".join(actions) or None,
        "type": ",".join(types) or None, "domain": ",".join(domains) or None,
        "site": ",".join(map(str, sites)) or None, "target": target, "job_id": job_id,
        "created_after": since, "created_before": until, "limit": limit, "cursor": cursor}
    found: list[dict[str, Any]] = []
    with make_client(server, token, http_timeout, as_json) as client:
        while True:
            page = client.get("/v1/tasks", **params)
            found.extend(page["tasks"])
            params["cursor"] = page["next_cursor"]
            if not fetch_all or not page["next_cursor"] or len(found) >= MAX_ALL:
                break
    if as_json:
        echo_json({"tasks": found, "next_cursor": params["cursor"]})
        return
    click.echo(task_table(found) if found else "no tasks")
    if params["cursor"]:
        click.echo(f"\nmore: add --cursor {params['cursor']} (or --all)")


@click.command()
@click.argument("task_id", type=click.IntRange(min=1))
@client_options
def task(task_id: int, server: str, token: str | None, http_timeout: float,
         as_json: bool) -> None:
    """One task with what every node answered, attempt by attempt."""
    with make_client(server, token, http_timeout, as_json) as client:
        t = client.get(f"/v1/tasks/{task_id}")
    if as_json:
        echo_json(t)
        return
    c = t["counts"]
    lines = [
        f"task      {t['id']} (job {t['job_id']})",
        f"what      {t['action']} {t['type']}{' (soft)' if t['method'] == 'invalidate' else ''}",
        f"target    {t['target']}",
        f"status    {t['status']}  {t['progress']}%  "
        f"nodes: {c['succeeded']} ok, {c['failed']} failed, {c['pending']} pending",
        f"created   {when(t['created_at'])} UTC   finished {when(t['finished_at'])}",
    ]
    if t.get("error_code") or t.get("description"):
        lines.append(f"error     {t.get('error_code') or ''} {t.get('description') or ''}")
    click.echo("\n".join(lines))
    if t["deliveries"]:
        click.echo("")
        click.echo(delivery_table(t))


@click.command()
@click.argument("task_id", type=click.IntRange(min=1))
@client_options
def cancel(task_id: int, server: str, token: str | None, http_timeout: float,
           as_json: bool) -> None:
    """Cancel a queued or running task."""
    with make_client(server, token, http_timeout, as_json) as client:
        t = client.post(f"/v1/tasks/{task_id}/cancel")
    if as_json:
        echo_json(t)
    else:
        click.echo(f"task {t['id']}: {t['status']}")


@click.command()
@client_options
def quota(server: str, token: str | None, http_timeout: float, as_json: bool) -> None:
    """Today's quotas (UTC day) per kind."""
    with make_client(server, token, http_timeout, as_json) as client:
        data = client.get("/v1/quota")
    if as_json:
        echo_json(data)
        return
    click.echo(table(("kind", "limit", "used", "remaining", "resets at (UTC)"),
                     [[q["kind"], q["limit"], q["used"], q["remaining"], when(q["resets_at"])]
                      for q in data["quotas"]]))


@click.command()
@client_options
def nodes(server: str, token: str | None, http_timeout: float, as_json: bool) -> None:
    """The nodes serving your sites, with live health."""
    with make_client(server, token, http_timeout, as_json) as client:
        data = client.get("/v1/nodes")
    if as_json:
        echo_json(data)
        return
    rows = [[n["name"], n["pool"], n["kind"], "up" if n["health"]["up"] else "DOWN",
             n["health"]["latency_ms"], ",".join(n["capabilities"]), n["health"]["detail"]]
            for n in data["nodes"]]
    click.echo(table(("node", "pool", "kind", "health", "ms", "capabilities", "detail"), rows)
               if rows else "no nodes serve your sites")


@click.command()
@option("--url", metavar="TEXT", help="Only rules whose URL contains TEXT.")
@option("--since", metavar="ISO-8601", help="Created at or after, e.g. 2024-05-01T00:00:00Z.")
@option("--until", metavar="ISO-8601", help="Created before.")
@option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
        help="Rules to show.")
@option("--offset", type=click.IntRange(min=0), default=0, help="Rules to skip.")
@client_options
def blocks(url: str | None, since: str | None, until: str | None, limit: int, offset: int,
           server: str, token: str | None, http_timeout: float, as_json: bool) -> None:
    """Active block rules, newest first."""
    with make_client(server, token, http_timeout, as_json) as client:
        data = client.get("/v1/blocks", url=url, created_after=since, created_before=until,
                          limit=limit, offset=offset)
    if as_json:
        echo_json(data)
        return
    rows = [[b["url"], when(b["created_at"]), when(b["expires_at"]), b["task_id"]]
            for b in data["blocks"]]
    if not rows:
        click.echo("no active blocks" + (f" ({data['total']} in all)" if data["total"] else ""))
        return
    click.echo(table(("url", "since (UTC)", "expires (UTC)", "task"), rows))
    if offset + len(rows) < data["total"]:
        click.echo(f"\n{len(rows)} of {data['total']}: add --offset {offset + len(rows)}")


COMMANDS = (tasks, task, cancel, quota, nodes, blocks)
