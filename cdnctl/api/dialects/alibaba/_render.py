"""Responses in Alibaba's shapes: JSON (default) or XML (RPC ``Format=XML``, or an RPC
v1 request without ``Format``, as the real gateway does), plus the error envelope.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from cdnctl.api.dialects.alibaba.errors import HOST_ID, AlibabaError, Product

JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def request_id(app_request_id: str = "") -> str:
    """Alibaba's RequestId form (uppercase UUID). Reuses the app's 32-hex request id when
    there is one, so the access log and the vendor response name the same request."""
    if _HEX32.match(app_request_id):
        return str(uuid.UUID(app_request_id)).upper()
    return str(uuid.uuid4()).upper()


def _xml_value(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_xml_value(name, item) for item in value)
    if isinstance(value, dict):
        inner = "".join(_xml_value(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = "" if value is None else str(value)
    return f"<{name}>{escape(text)}</{name}>"


def to_xml(root: str, body: dict[str, Any]) -> str:
    """``{"Tasks": {"CDNTask": [a, b]}}`` -> ``<Tasks><CDNTask>a</CDNTask><CDNTask>b…``;
    a flat list repeats its own element name, as Alibaba's XML does."""
    inner = "".join(_xml_value(k, v) for k, v in body.items())
    return f"<?xml version='1.0' encoding='UTF-8'?><{root}>{inner}</{root}>"


def respond(body: dict[str, Any], *, status: int, rid: str, xml_root: str | None,
            extra_headers: dict[str, str] | None = None) -> Response:
    headers = {"x-acs-request-id": rid, **(extra_headers or {})}
    if xml_root is not None:
        return Response(to_xml(xml_root, body), status_code=status, media_type=None,
                        headers={**headers, "content-type": XML_TYPE})
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(content, status_code=status, media_type=None,
                    headers={**headers, "content-type": JSON_TYPE})


def success(action: str, body: dict[str, Any], rid: str, *, xml: bool) -> Response:
    return respond({"RequestId": rid, **body}, status=200, rid=rid,
                   xml_root=f"{action}Response" if xml else None)


def error(err: AlibabaError, product: Product, rid: str, *, xml: bool) -> Response:
    body = {"RequestId": rid, "HostId": HOST_ID[product], "Code": err.code,
            "Message": err.message}
    extra = {}
    if err.retry_after_ms is not None:
        # Plain Retry-After (seconds): ``x-acs-retry-after`` would turn the current SDK's
        # ClientException into a ThrottlingException, which the real gateway is not
        # confirmed to do (spec §10).
        extra["Retry-After"] = str(max(1, -(-err.retry_after_ms // 1000)))
    return respond(body, status=err.status, rid=rid, xml_root="Error" if xml else None,
                   extra_headers=extra)
