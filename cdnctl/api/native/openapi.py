"""``/openapi.json`` (OpenAPI 3.1, built from :mod:`.schemas`) and ``/docs`` (its HTML).

Every native route is listed in :data:`OPERATIONS`; a unit test checks that
the app has no route this table misses, and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cdnctl.api.errors import ERROR_CODES
from cdnctl.api.native import schemas as s
from cdnctl.api.native.docs_page import render_docs
from cdnctl.core.model import Action, TargetType, TaskState

VERSION = "1"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: str  # query | path | header
    schema: dict[str, Any]
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Op:
    method: str
    path: str
    summary: str
    tag: str
    response: type[BaseModel] | None = None
    status: int = 200
    request: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = (400, 401, 429)
    auth: bool = True
    description: str = ""
    media_type: str = "application/json"
    # Other success statuses: (status, description) with the same body, or (status,
    # description, models) with one of those bodies.
    also: tuple[tuple[int, str] | tuple[int, str, tuple[type[BaseModel], ...]], ...] = ()


def _enum(e: type[Any]) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in e]}


def _many(e: type[Any]) -> dict[str, Any]:
    return {"type": "array", "items": _enum(e)}


TASK_ID = Param("task_id", "path", {"type": "integer", "minimum": 1}, "the task id", True)
LIMIT = Param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000,
                                 "default": 100}, "page size")
LIST_PARAMS = (
    Param("status", "query", _many(TaskState), "repeatable or comma-separated"),
    Param("action", "query", _many(Action), "repeatable or comma-separated"),
    Param("type", "query", _many(TargetType), "repeatable or comma-separated"),
    Param("domain", "query", {"type": "array", "items": {"type": "string"}},
          "repeatable or comma-separated"),
    Param("site", "query", {"type": "array", "items": {"type": "integer"}},
          "site ids, repeatable or comma-separated"),
    Param("target", "query", {"type": "string"}, "substring of the target"),
    Param("job_id", "query", {"type": "string"}, "tasks of one job"),
    Param("created_after", "query", {"type": "string", "format": "date-time"},
          "ISO-8601, inclusive"),
    Param("created_before", "query", {"type": "string", "format": "date-time"},
          "ISO-8601, exclusive"),
    LIMIT,
    Param("cursor", "query", {"type": "string"}, "next_cursor of the previous page (opaque)"),
)

OPERATIONS: tuple[Op, ...] = (
    Op("POST", "/v1/tasks", "Submit a purge, prefetch, block or unblock", "tasks",
       s.SubmitResponse, 202, s.SubmitRequest,
       (Param("Idempotency-Key", "header", {"type": "string", "maxLength": 255},
              "same as the idempotency_key field"),),
       (400, 401, 409, 413, 415, 422, 429),
       also=((200, "An idempotent replay (the job stored under that key), or with "
                   "dry_run a PlanOut", (s.SubmitResponse, s.PlanOut)),),
       description="Creates one job with one task per target. 202 when created; 200 when "
                   "an idempotent replay returned the stored job, or for a dry run "
                   "(dry_run: true), which answers what it would do and does nothing: the "
                   "tasks, the nodes each would reach, the quota it would use. Each target "
                   "is validated "
                   "(absolute http(s) URL, a domain the account owns, a linear-time regex, "
                   "a node pool able to do it); an error names the target index."),
    Op("GET", "/v1/tasks", "List tasks, newest first", "tasks", s.TaskList, params=LIST_PARAMS,
       description="Keyset pagination: pass next_cursor as cursor until it is null."),
    Op("GET", "/v1/tasks/{task_id}", "One task with its per-node deliveries and attempts",
       "tasks", s.TaskDetailOut, params=(TASK_ID,), errors=(400, 401, 404, 429)),
    Op("POST", "/v1/tasks/{task_id}/cancel", "Cancel a queued or running task", "tasks",
       s.TaskOut, params=(TASK_ID,), errors=(401, 404, 409, 429),
       description="Unfinished deliveries are canceled; 409 if the task already ended."),
    Op("GET", "/v1/jobs/{job_id}", "One job (one submission) with its tasks", "tasks", s.JobOut,
       params=(Param("job_id", "path", {"type": "string"}, "the job id", True),),
       errors=(400, 401, 404, 429)),
    Op("GET", "/v1/quota", "Today's quotas per kind", "account", s.QuotaList),
    Op("GET", "/v1/blocks", "Active block rules, newest first", "account", s.BlockList,
       params=(Param("url", "query", {"type": "string"}, "substring of the URL"),
               Param("created_after", "query", {"type": "string", "format": "date-time"},
                     "ISO-8601, inclusive"),
               Param("created_before", "query", {"type": "string", "format": "date-time"},
                     "ISO-8601, exclusive"),
               LIMIT, Param("offset", "query", {"type": "integer", "minimum": 0}, "skip"))),
    Op("GET", "/v1/sites", "The caller's sites", "catalog", s.SiteList, errors=(400, 401)),
    Op("GET", "/v1/domains", "The caller's domains", "catalog", s.DomainList, errors=(400, 401)),
    Op("GET", "/v1/nodes", "Nodes serving the caller's sites, with live health", "catalog",
       s.NodeList, description="Health is probed with a short timeout and cached a few "
                               "seconds."),
    Op("GET", "/healthz", "Liveness and database check", "system", s.Healthz, errors=(),
       auth=False, description="503 when the database does not answer."),
    Op("GET", "/metrics", "Prometheus metrics", "system", None, errors=(), auth=False,
       media_type="text/plain"),
    Op("GET", "/openapi.json", "This document", "system", None, errors=(), auth=False),
    Op("GET", "/docs", "The API reference (HTML)", "system", None, errors=(), auth=False,
       media_type="text/html"),
    Op("GET", "/ui", "The web page: tasks, deliveries, purge form", "system", None, errors=(),
       auth=False, media_type="text/html"),
)

_STATUS_TEXT = {200: "OK", 202: "Accepted", 400: "Bad request", 401: "Missing or bad token",
                404: "Not found", 405: "Method not allowed", 409: "Conflict",
                413: "Body too large", 415: "Not JSON", 422: "Well-formed but not acceptable",
                429: "Rate limited or quota exceeded", 500: "Internal error",
                503: "Unavailable"}


def _responses(op: Op) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": _STATUS_TEXT.get(op.status, "OK"),
                          "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}}
    if op.response is not None:
        ok["content"] = {op.media_type: {"schema": {"$ref": REF.format(
            model=op.response.__name__)}}}
    else:
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    out: dict[str, Any] = {str(op.status): ok}
    for status, text, *models in op.also:
        out[str(status)] = {**ok, "description": text}
        if models:
            out[str(status)]["content"] = {op.media_type: {"schema": {"oneOf": [
                {"$ref": REF.format(model=m.__name__)} for m in models[0]]}}}
    if op.path == "/healthz":
        out["503"] = {"description": "The database does not answer",
                      "content": {"application/json": {"schema": {"$ref": REF.format(
                          model="Healthz")}}}}
    for code in (*op.errors, 500):
        err: dict[str, Any] = {
            "description": f"{_STATUS_TEXT.get(code, '')}: "
                           + ", ".join(ERROR_CODES.get(code, ())),
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}},
        }
        if code == 429:
            err["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                              "description": "seconds to wait"}}
        if code == 401:
            err["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        out[str(code)] = err
    return out


def _operation(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{op.path.strip('/').replace('/', '_')}"
                       .replace("{", "").replace("}", "").replace(".", "_"),
        "summary": op.summary,
        "tags": [op.tag],
        "responses": _responses(op),
        "security": [{"bearer": []}] if op.auth else [],
    }
    if op.description:
        out["description"] = op.description
    if op.params:
        out["parameters"] = [
            {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
             "schema": p.schema, "description": p.description,
             **({"style": "form", "explode": True} if p.schema.get("type") == "array" else {})}
            for p in op.params]
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.request.__name__)}}}}
    return out


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the native API."""
    pairs = [(m, "validation" if m is s.SubmitRequest else "serialization") for m in s.MODELS]
    _, defs = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cdnctl native API", "version": VERSION,
            "description": "Purge, prefetch and block content on your own cache nodes, with "
                           "per-node proof. Send `Authorization: Bearer <token>`. Every "
                           "response carries `X-Request-Id`; every error is "
                           "`{\"error\": <code>, \"detail\": <message>, ...}`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "headers": {"RequestId": {"schema": {"type": "string"},
                                      "description": "the request id (also in logs)"}},
        },
        "tags": [{"name": t} for t in dict.fromkeys(op.tag for op in OPERATIONS)],
    }


_CACHE: dict[str, Any] = {}


def document() -> dict[str, Any]:
    if "doc" not in _CACHE:
        _CACHE["doc"] = build_openapi()
    doc: dict[str, Any] = _CACHE["doc"]
    return doc


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document())


async def docs(request: Request) -> Response:
    if "html" not in _CACHE:
        _CACHE["html"] = render_docs(document())
    html: str = _CACHE["html"]
    return HTMLResponse(html, headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   "frame-ancestors 'none'"})


def routes() -> list[BaseRoute]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
