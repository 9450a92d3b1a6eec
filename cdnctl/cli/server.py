"""Server side: ``serve`` (API + in-process workers), ``worker`` (workers only), ``db upgrade``."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import uvicorn

from cdnctl.cli._output import json_option, option
from cdnctl.cli.demo import DEMO_FILE, ensure_demo_config, print_banner
from cdnctl.config import ConfigError, Settings, load

log = logging.getLogger("cdnctl.cli")

#: h11 buffers the request line and headers up to this size. Vendor SDKs sign
#: requests in the query string and send batches of URLs there: allow 256 KiB
#: request lines with room for headers.
MAX_REQUEST_HEAD = 1024 * 1024


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option("--config", "config_path", envvar="CDNCTL_CONFIG", metavar="FILE",
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="The TOML configuration (docs/configuration.md).")(f)


def log_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return option("--log-level", envvar="CDNCTL_LOG_LEVEL", default="info", show_default=True,
                  type=click.Choice(["debug", "info", "warning", "error"]),
                  help="Log verbosity (logs go to stderr).")(f)


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s "
                        "%(message)s")


def load_settings(path: Path | None, *, demo_fallback: bool) -> Settings:
    try:
        if path is None and demo_fallback and Path(DEMO_FILE).exists():
            click.echo(f"no --config given: using ./{DEMO_FILE}", err=True)
            return load(DEMO_FILE)
        if path is None:
            raise ConfigError("no configuration: pass --config FILE or set CDNCTL_CONFIG "
                              "(or run `cdnctl serve` once without one for the demo)")
        return load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def with_overrides(settings: Settings, **server: Any) -> Settings:
    changes = {k: v for k, v in server.items() if v is not None}
    if not changes:
        return settings
    return settings.model_copy(update={"server": settings.server.model_copy(update=changes)})


def migrate(url: str) -> list[str]:
    """Apply pending migrations (nothing to do for ``memory://``)."""
    if url.startswith("memory://"):
        return []
    from cdnctl import storage
    from cdnctl.storage import migrations

    engine = storage.create_engine(url)
    try:
        return migrations.upgrade(engine)
    finally:
        engine.dispose()


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        creds, _, host = rest.partition("@")
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"{listen!r} is not HOST:PORT", param_hint="--listen")
    return host.strip("[]") or "127.0.0.1", int(port)


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else ("[::1]" if host == "::" else host)  # noqa: S104
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """Calls ``on_started`` once the socket is bound and the lifespan has started."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_started()


@click.command()
@config_option
@option("--listen", envvar="CDNCTL_LISTEN", metavar="HOST:PORT",
        help="Address to listen on (server.listen; default 127.0.0.1:8080).")
@option("--workers", type=click.IntRange(min=0), envvar="CDNCTL_WORKERS",
        help="In-process dispatch workers (server.workers; 0 = API only, run `cdnctl worker`).")
@option("--processes", type=click.IntRange(min=1), envvar="CDNCTL_PROCESSES",
        help="API server processes sharing the listener (server.processes; default 1).")
@option("--migrate/--no-migrate", default=True, show_default=True,
        help="Apply pending database migrations before starting.")
@log_option
@json_option
def serve(config_path: Path | None, listen: str | None, workers: int | None,
          processes: int | None, migrate: bool, log_level: str, as_json: bool) -> None:
    """Run the API server (and, by default, one in-process worker).

    With no --config and no CDNCTL_CONFIG, runs the bundled demo: writes
    ./cdnctl-demo.toml (SQLite, a demo account, three simulated nodes) if it is
    missing, and prints the URLs, the credentials and a command to try.
    """
    setup_logging(log_level)
    demo: tuple[Path, bool] | None = None
    if config_path is None:
        demo = ensure_demo_config(Path.cwd())
        config_path = demo[0]
    try:
        settings = with_overrides(load(config_path), listen=listen, workers=workers,
                                  processes=processes)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    host, port = split_listen(settings.server.listen)
    if migrate:
        _run_migrations(settings.database.url)
    from cdnctl.api.app import create_app

    base = base_url(host, port)

    def started() -> None:
        if demo is not None:
            print_banner(base, demo[0], demo[1], as_json=as_json)
        elif as_json:
            click.echo(json.dumps({"mode": "server", "config": str(config_path), "server": base,
                                   "api": f"{base}/v1", "docs": f"{base}/docs",
                                   "ui": f"{base}/ui"}))
        else:
            click.echo(f"cdnctl serving {base} (reference {base}/docs, web page {base}/ui)")

    common: dict[str, Any] = {
        "host": host, "port": port, "http": "h11", "lifespan": "on", "log_config": None,
        "access_log": False, "server_header": False,
        "h11_max_incomplete_event_size": MAX_REQUEST_HEAD, "timeout_graceful_shutdown": 30}
    if settings.server.processes > 1:
        _serve_processes(settings, config_path, common, started)
        return
    config = uvicorn.Config(create_app(settings=settings), **common)
    server = _Server(config, started)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to
    # the handler it found: make that handler a plain, successful exit.
    previous = {sig: signal.signal(sig, _exit_quietly) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits this way when binding or startup fails
        if exc.code:
            raise click.ClickException("the server did not start (see the log above)") from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        raise click.ClickException("the server did not start (see the log above)")


def _serve_processes(settings: Settings, config_path: Path, common: dict[str, Any],
                     started: Callable[[], None]) -> None:
    """Several server processes on one listening socket (uvicorn's supervisor). Each
    builds its own runtime from the same settings, passed down through the environment."""
    from uvicorn.supervisors import Multiprocess

    os.environ["CDNCTL_CONFIG"] = str(config_path.resolve())
    os.environ["CDNCTL_LISTEN"] = settings.server.listen
    os.environ["CDNCTL_WORKERS"] = str(settings.server.workers)
    os.environ["CDNCTL_DATABASE_URL"] = settings.database.url
    config = uvicorn.Config("cdnctl.api.app:app_from_environment", factory=True,
                            workers=settings.server.processes, **common)
    sock = config.bind_socket()
    started()
    Multiprocess(config, sockets=[sock]).run()


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run_migrations(url: str) -> None:
    try:
        applied = migrate(url)
    except Exception as exc:
        raise click.ClickException(f"database {safe_url(url)}: migration failed: {exc}") from None
    if applied:
        click.echo(f"database {safe_url(url)}: applied {', '.join(applied)}", err=True)


async def run_workers(settings: Settings, announce: Callable[[], None]) -> None:
    """Build the runtime, run one worker until SIGTERM/SIGINT, then drain and close."""
    from cdnctl.app import build_runtime

    runtime = await build_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        runtime.start_workers(1)
        announce()
        await stop.wait()
        log.info("stopping: finishing in-flight deliveries")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runtime.aclose()


@click.command()
@config_option
@option("--concurrency", type=click.IntRange(min=1), envvar="CDNCTL_CONCURRENCY",
        help="Requests in flight per node (dispatch.node_concurrency).")
@option("--migrate/--no-migrate", default=True, show_default=True,
        help="Apply pending database migrations before starting.")
@log_option
@json_option
def worker(config_path: Path | None, concurrency: int | None, migrate: bool, log_level: str,
           as_json: bool) -> None:
    """Run dispatch workers without HTTP, until SIGTERM or SIGINT (graceful).

    Use with `cdnctl serve --workers 0` to scale the API and the workers apart;
    any number of worker processes can share one database.
    """
    setup_logging(log_level)
    settings = load_settings(config_path, demo_fallback=True)
    if concurrency is not None:
        settings = settings.model_copy(update={"dispatch": settings.dispatch.model_copy(
            update={"node_concurrency": concurrency})})
    if migrate:
        _run_migrations(settings.database.url)

    def announce() -> None:
        msg = {"mode": "worker", "pid": os.getpid(), "nodes": len(settings.nodes),
               "database": safe_url(settings.database.url)}
        click.echo(json.dumps(msg) if as_json else
                   f"cdnctl worker {msg['pid']} running for {msg['nodes']} node(s) on "
                   f"{msg['database']}; Ctrl-C or SIGTERM stops it gracefully")

    asyncio.run(run_workers(settings, announce))


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@config_option
@json_option
def upgrade(config_path: Path | None, as_json: bool) -> None:
    """Create or migrate the database schema (idempotent, safe to run concurrently)."""
    settings = load_settings(config_path, demo_fallback=True)
    url = settings.database.url
    try:
        applied = migrate(url)
    except Exception as exc:
        raise click.ClickException(f"database {safe_url(url)}: migration failed: {exc}") from None
    if as_json:
        click.echo(json.dumps({"database": safe_url(url), "applied": applied}))
    elif applied:
        click.echo(f"database {safe_url(url)}: applied {', '.join(applied)}")
    else:
        click.echo(f"database {safe_url(url)}: up to date")


COMMANDS = (serve, worker, db)
