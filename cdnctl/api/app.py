"""The HTTP application: the only wiring point for HTTP.

``create_app(runtime)`` serves an already built :class:`~cdnctl.app.Runtime`
(tests, embedding); ``create_app(settings=...)`` builds the runtime in the
lifespan, starts ``settings.server.workers`` in-process workers, and closes
everything on shutdown.

Middleware, outermost first:

* :class:`RequestContext` — a request id for every request (``X-Request-Id``,
  taken from the client when it is sane, else generated) on every response,
  one access-log line per request, and a JSON 500 without a stack trace for
  anything unhandled.
* :class:`BodyLimit` — ``server.max_body_bytes``: a 413 JSON before the body is
  read when ``Content-Length`` says so, and while streaming otherwise.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cdnctl.api.dialects import Dialect, installed
from cdnctl.api.errors import BodyTooLargeError, exception_handlers, internal_error, too_large
from cdnctl.api.native import catalog, openapi, system, tasks, ui
from cdnctl.api.native.catalog import HealthCache
from cdnctl.api.root import root_handler

if TYPE_CHECKING:
    from cdnctl.app import Runtime
    from cdnctl.config import Settings

log = logging.getLogger("cdnctl.api")
access_log = logging.getLogger("cdnctl.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestContext:
    """Request id, access log, and the last line of defence against a 500 with a trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error in %s %s (request %s)",
                          scope.get("method"), scope.get("path"), rid)
            if status == 0:
                await internal_error(rid)(scope, receive, send_with_id)
        finally:
            # The path only: vendor SDKs put signatures in the query string.
            access_log.info(
                "%s %s %s %d %.1fms rid=%s", _client(scope), scope.get("method"),
                scope.get("path"), status, (time.perf_counter() - started) * 1000, rid)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"


class BodyLimit:
    """Refuse request bodies larger than ``limit`` bytes with a 413 JSON."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An oversized declared length fails at the first read of the body, so that the
        # route reading it answers in its own envelope (a vendor dialect's 413, say).
        seen = 0
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    seen = declared
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            if seen > self.limit:
                raise BodyTooLargeError(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLargeError(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await too_large(self.limit)(scope, receive, send)


def native_routes() -> list[BaseRoute]:
    return [*tasks.routes(), *catalog.routes(), *system.routes(), *openapi.routes(),
            *ui.routes()]


def app_from_environment() -> Starlette:
    """ASGI app factory for ``serve --processes N``: each process reads the settings from
    ``CDNCTL_CONFIG`` and the ``CDNCTL_*`` overrides, and builds its own runtime."""
    from cdnctl.config import load

    return create_app(settings=load())


def create_app(runtime: Runtime | None = None, *, settings: Settings | None = None) -> Starlette:
    """The ASGI app over ``runtime``, or over a runtime built from ``settings`` at startup."""
    if runtime is None and settings is None:
        raise TypeError("create_app needs a runtime or settings")
    cfg = runtime.settings if runtime is not None else settings
    assert cfg is not None
    max_body = cfg.server.max_body_bytes
    dialects = installed()
    routes: list[BaseRoute] = [
        Route("/", root_handler(dialects, max_body), methods=["GET", "POST"],
              include_in_schema=False),
        *native_routes(),
    ]
    if runtime is not None:
        routes.extend(dialect_routes(dialects, runtime))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        from cdnctl.app import build_runtime

        assert settings is not None
        try:
            built = await build_runtime(settings)
        except Exception as exc:
            log.error("cannot start: %s: %s", type(exc).__name__, exc)
            raise
        try:
            app.state.runtime = built
            app.router.routes.extend(dialect_routes(dialects, built))
            built.start_workers(settings.server.workers)
            log.info("cdnctl API ready: %d node(s), %d in-process worker(s)",
                     len(built.edges), settings.server.workers)
            yield
        finally:
            await built.aclose()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext), Middleware(BodyLimit, limit=max_body)],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.health = HealthCache()
    app.state.max_body = max_body
    return app


def dialect_routes(dialects: list[Dialect], runtime: Runtime) -> list[BaseRoute]:
    return [route for d in dialects for route in d.routes(runtime)]
