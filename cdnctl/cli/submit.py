"""``purge``, ``prefetch``, ``block``, ``unblock``: submit a job, optionally ``--wait``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cdnctl.cli._client import is_tty
from cdnctl.cli._output import (
    client_options,
    echo_json,
    make_client,
    option,
    table,
    task_table,
)
from cdnctl.cli._wait import (
    EXIT_TASK_FAILED,
    EXIT_WAIT_TIMEOUT,
    TERMINAL,
    explain,
    failures,
    wait_for_job,
)

F = TypeVar("F", bound=Callable[..., Any])
TYPES = ("url", "prefix", "regex", "url_ignore_params", "host", "all", "tag")


def submit_options(f: F) -> F:
    f = option("--wait", is_flag=True,
               help="Show live progress and return when every task has ended; exit 3 if any "
                    "did not succeed.")(f)
    f = option("--wait-timeout", type=click.FloatRange(min=0), default=660.0, show_default=True,
               metavar="SECONDS", help="Give up waiting after this long (exit 4).")(f)
    f = option("--idempotency-key", metavar="KEY",
               help="Retrying with the same key returns the first job instead of a new one.")(f)
    f = option("--dry-run", is_flag=True,
               help="Only show what would happen: the tasks, the nodes each would reach and "
                    "the quota used; nothing is submitted.")(f)
    return client_options(f)


def show_plan(plan: dict[str, Any]) -> None:
    rows = [[t["type"], t["target"], ", ".join(t["nodes"]) or "-"] for t in plan["tasks"]]
    click.echo("dry run: nothing was submitted\n")
    click.echo(table(("type", "target", "nodes"), rows))
    for q in plan["quota"]:
        click.echo(f"\nquota {q['kind']}: {q['used']} of {q['limit']} used after it "
                   f"({q['remaining']} left today)")


def run_submit(ctx: click.Context, body: dict[str, Any], *, server: str, token: str | None,
               http_timeout: float, as_json: bool, wait: bool, wait_timeout: float,
               idempotency_key: str | None, dry_run: bool) -> None:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    with make_client(server, token, http_timeout, as_json) as client:
        if dry_run:
            plan = client.post("/v1/tasks", {**body, "dry_run": True}, headers)
            if as_json:
                echo_json(plan)
            else:
                show_plan(plan)
            return
        res = client.post("/v1/tasks", body, headers)
        if not wait:
            if as_json:
                echo_json(res)
            else:
                what = "submitted" if res["created"] else "already submitted (same idempotency key)"
                click.echo(f"job {res['job_id']}: {len(res['tasks'])} task(s) {what}")
                click.echo(task_table(res["tasks"]))
            return
        job, ended = wait_for_job(client, res["job_id"], timeout=wait_timeout,
                                  progress=not as_json or is_tty(sys.stderr))
        tasks = job["tasks"]
        bad = [t for t in tasks if t["status"] in TERMINAL - {"succeeded"}]
        details = failures(client, bad) if bad else []
    if as_json:
        echo_json({**job, "ended": ended, "failures": details})
    else:
        click.echo(f"job {job['job_id']}:")
        click.echo(task_table(tasks))
        for d in details:
            click.echo(explain(d), err=True)
    if not ended:
        running = sum(t["status"] not in TERMINAL for t in tasks)
        click.echo(f"gave up waiting after {wait_timeout:g}s: {running} task(s) not finished "
                   "(the server keeps working on them)", err=True)
        ctx.exit(EXIT_WAIT_TIMEOUT)
    if bad:
        click.echo(f"{len(bad)} of {len(tasks)} task(s) did not succeed", err=True)
        ctx.exit(EXIT_TASK_FAILED)


@click.command()
@option("--type", "target_type", envvar="CDNCTL_PURGE_TYPE", type=click.Choice(TYPES),
        default="url", show_default=True,
        help="What the targets are: URLs, prefixes (directories), RE2 regexes (anchored to "
             "https?://host/), URLs ignoring the query, hosts, sites (all), or cache tags.")
@option("--soft", is_flag=True, help="Invalidate (mark stale, revalidate) instead of delete.")
@option("--yes", "-y", "confirmed", envvar="CDNCTL_PURGE_YES", is_flag=True,
        help="Do not ask before purging everything (--type all).")
@submit_options
@click.argument("targets", nargs=-1, required=True, metavar="TARGET...")
@click.pass_context
def purge(ctx: click.Context, /, targets: tuple[str, ...], target_type: str, soft: bool,
          confirmed: bool, **common: Any) -> None:
    """Purge cached content on every node serving the targets' domains.

    A purge of everything (--type all) asks first, or needs --yes; --dry-run shows
    which nodes it would reach.

    \b
    Examples:
      cdnctl purge https://www.example.com/index.html
      cdnctl purge --type prefix --wait https://img.example.com/thumbs/
      cdnctl purge --type tag --soft product-42
      cdnctl purge --type all --dry-run example.com
    """
    body = {"action": "purge", "type": target_type, "targets": list(targets),
            "method": "invalidate" if soft else "delete"}
    if target_type == "all" and not confirmed and not common["dry_run"]:
        what = (f"Purge everything cached for {', '.join(targets)} on every node serving "
                "it? The origin will take the full load of the refill.")
        if not is_tty(sys.stdin):
            raise click.UsageError("purging everything needs --yes (or --dry-run to see "
                                   "which nodes it would reach)")
        click.confirm(what, abort=True)
    run_submit(ctx, body, **common)


def parse_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise click.BadParameter(f"{raw!r} is not NAME:VALUE", param_hint="--header")
    return name.strip(), value.strip()


@click.command()
@option("--header", "headers", envvar="CDNCTL_PREFETCH_HEADER", multiple=True, metavar="NAME:VALUE",
        help="A request header the nodes send to the origin (repeatable).")
@submit_options
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.pass_context
def prefetch(ctx: click.Context, /, urls: tuple[str, ...], headers: tuple[str, ...],
             **common: Any) -> None:
    """Warm URLs: every node fetches them from the origin into its cache."""
    body: dict[str, Any] = {"action": "prefetch", "type": "url", "targets": list(urls)}
    if headers:
        body["headers"] = dict(parse_header(h) for h in headers)
    run_submit(ctx, body, **common)


@click.command()
@option("--ttl", type=click.IntRange(min=1), metavar="SECONDS",
        help="The block expires after this long (default: until unblocked).")
@submit_options
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.pass_context
def block(ctx: click.Context, /, urls: tuple[str, ...], ttl: int | None, **common: Any) -> None:
    """Block URLs: every node answers 403 for them until unblocked or expired."""
    body: dict[str, Any] = {"action": "block", "type": "url", "targets": list(urls)}
    if ttl is not None:
        body["block_ttl_seconds"] = ttl
    run_submit(ctx, body, **common)


@click.command()
@submit_options
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.pass_context
def unblock(ctx: click.Context, /, urls: tuple[str, ...], **common: Any) -> None:
    """Remove the block on URLs."""
    run_submit(ctx, {"action": "unblock", "type": "url", "targets": list(urls)}, **common)


COMMANDS = (purge, prefetch, block, unblock)
