"""``/``: shared by the vendor dialects, which each recognise their own requests."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from cdnctl.api.dialects import Dialect

FORM = "application/x-www-form-urlencoded"


async def merged_params(request: Request, max_body: int) -> dict[str, str]:
    """Query parameters merged with a urlencoded form body (the body wins on conflicts)."""
    params = dict(parse_qsl(request.url.query, keep_blank_values=True))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and ctype == FORM:
        body = await request.body()
        if len(body) > max_body:
            raise ValueError("body too large")
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def root_handler(dialects: list[Dialect], max_body: int):  # type: ignore[no-untyped-def]
    async def root(request: Request) -> Response:
        from cdnctl.api.native.deps import runtime_of

        try:
            params = await merged_params(request, max_body)
        except ValueError:
            return JSONResponse({"error": "PayloadTooLarge", "detail": "request body too large"},
                                status_code=413)
        for dialect in dialects:
            if dialect.claims(request, params):
                return await dialect.handle(request, params, runtime_of(request))
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/docs", status_code=302)
        return JSONResponse(
            {"error": "UnknownRequest",
             "detail": "no API recognised this request to '/'; the native API is under /v1 "
                       "(see /docs), vendor APIs are selected by their action headers"},
            status_code=400)

    return root
