"""The one table from errors to HTTP responses for the native API.

Domain errors (:mod:`cdnctl.core.errors`) carry no HTTP; this module decides
their status, body and headers. A class is resolved along its MRO, so a new
subclass of ``ValidationError`` is a 400 until it gets its own row. Every body
has the same shape::

    {"error": "<code>", "detail": "<message>", ...typed extras}

Starlette's own errors (unknown path, wrong method), malformed requests and
oversized bodies are mapped here too; anything else is a 500 with no detail
(the exception is logged with the request id).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cdnctl.core.errors import (
    AuthError,
    CdnctlError,
    ConflictError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)

log = logging.getLogger("cdnctl.api")

Extras = Callable[[Any], dict[str, Any]]


class BodyTooLargeError(Exception):
    """The request body is larger than ``server.max_body_bytes``."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class BadRequestError(Exception):
    """A malformed request: not JSON, wrong types, unknown fields (before the core sees it)."""

    def __init__(self, code: str, detail: str, *, status: int = 400,
                 field: str | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
        self.field = field
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Rule:
    status: int
    extras: Extras | None = None
    headers: Callable[[Any], dict[str, str]] | None = None


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _field(exc: ValidationError) -> dict[str, Any]:
    return {"field": exc.field} if exc.field else {}


def _quota(exc: QuotaExceededError) -> dict[str, Any]:
    return {"kind": exc.kind, "limit": exc.limit, "remaining": exc.remaining,
            "resets_at": iso(exc.resets_at)}


def _quota_headers(exc: QuotaExceededError) -> dict[str, str]:
    wait = (exc.resets_at - datetime.now(UTC)).total_seconds()
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def _rate(exc: RateLimitedError) -> dict[str, Any]:
    return {"retry_after": round(exc.retry_after, 3)}


def _rate_headers(exc: RateLimitedError) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}


#: Core error class -> HTTP rule. Looked up along the exception's MRO.
RULES: Mapping[type[CdnctlError], Rule] = {
    CdnctlError: Rule(400),
    ValidationError: Rule(400, _field),
    UnsupportedError: Rule(422, _field),
    QuotaExceededError: Rule(429, _quota, _quota_headers),
    RateLimitedError: Rule(429, _rate, _rate_headers),
    NotFoundError: Rule(404),
    ConflictError: Rule(409),
    AuthError: Rule(401, None, lambda _e: {"WWW-Authenticate": 'Bearer realm="cdnctl"'}),
}

#: What each status can carry, for the OpenAPI document: status -> example codes.
ERROR_CODES: Mapping[int, tuple[str, ...]] = {
    400: ("ValidationError", "InvalidUrl", "InvalidRegex", "InvalidDomain", "LimitExceeded",
          "InvalidJson", "UnknownParameter"),
    401: ("Unauthorized",),
    404: ("NotFound",),
    405: ("MethodNotAllowed",),
    409: ("Conflict", "InvalidTransition", "ConcurrentUpdate", "IdempotencyConflict"),
    413: ("PayloadTooLarge",),
    415: ("UnsupportedMediaType",),
    422: ("SchemaError", "Unsupported"),
    429: ("RateLimited", "QuotaExceeded"),
    500: ("InternalError",),
}


def rule_for(exc: CdnctlError) -> Rule:
    for cls in type(exc).__mro__:
        rule = RULES.get(cls)
        if rule is not None:
            return rule
    return RULES[CdnctlError]  # pragma: no cover - CdnctlError is always in the MRO


def _json(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None,
          request: Request | None = None) -> JSONResponse:
    hdrs = dict(headers or {})
    if request is not None and (rid := getattr(request.state, "request_id", None)):
        body.setdefault("request_id", rid)
    return JSONResponse(body, status_code=status, headers=hdrs)


def domain_error(exc: CdnctlError, request: Request | None = None, *,
                 prefix: str = "", **extra: Any) -> JSONResponse:
    """The response for a core error; ``extra`` (e.g. ``field``, ``index``) is merged in."""
    rule = rule_for(exc)
    body: dict[str, Any] = {"error": exc.code, "detail": prefix + exc.message}
    if rule.extras is not None:
        body.update(rule.extras(exc))
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = rule.headers(exc) if rule.headers is not None else None
    return _json(rule.status, body, headers, request)


def bad_request(exc: BadRequestError, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": exc.code, "detail": exc.detail}
    if exc.field:
        body["field"] = exc.field
    if exc.errors:
        body["errors"] = exc.errors
    return _json(exc.status, body, None, request)


def too_large(limit: int, request: Request | None = None) -> JSONResponse:
    return _json(413, {"error": "PayloadTooLarge",
                       "detail": f"request body larger than {limit} bytes"}, None, request)


def internal_error(request_id: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": "InternalError",
                            "detail": "internal error; the server log has the details"}
    if request_id:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=500)


_HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge",
               401: "Unauthorized", 400: "BadRequest"}


async def _on_core(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CdnctlError)
    return domain_error(exc, request)


async def _on_bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequestError)
    return bad_request(exc, request)


async def _on_too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLargeError)
    return too_large(exc.limit, request)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTPError")
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no route for {request.method} {request.url.path} (see /docs)"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return _json(exc.status_code, {"error": code, "detail": detail}, exc.headers, request)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    rid = getattr(request.state, "request_id", None)
    log.error("unhandled error in %s %s (request %s)", request.method, request.url.path, rid,
              exc_info=exc)
    return internal_error(rid)


def exception_handlers() -> dict[Any, Callable[[Request, Exception], Any]]:
    """Handlers for ``Starlette(exception_handlers=...)``."""
    return {
        CdnctlError: _on_core,
        BadRequestError: _on_bad_request,
        BodyTooLargeError: _on_too_large,
        HTTPException: _on_http,
        Exception: _on_unexpected,
    }
