"""/openapi.json (complete and self-consistent), /docs and /ui (self-contained pages)."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route
from test_api_harness import build, client

from cdnctl.api.app import create_app, native_routes
from cdnctl.api.native.openapi import OPERATIONS, build_openapi

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_every_native_route_is_documented_and_nothing_else() -> None:
    doc = build_openapi()
    served = {(m, r.path_format) for r in native_routes() if isinstance(r, Route)
              for m in (r.methods or ()) if m != "HEAD"}
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    assert len(OPERATIONS) == len(documented)


def test_app_routes_are_native_plus_root() -> None:
    app = create_app(build())
    paths = {r.path for r in app.routes if isinstance(r, Route)}
    assert "/" in paths
    assert {r.path for r in native_routes() if isinstance(r, Route)} <= paths


def test_document_is_openapi_31_and_consistent() -> None:
    doc = build_openapi()
    assert doc["openapi"] == "3.1.0"
    for ref in refs(doc):
        assert resolve(doc, ref) is not None
    op_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(op_ids) == len(set(op_ids))
    for path, ops in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for op in ops.values():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path
            assert "500" in op["responses"]
            assert op["summary"]
    schemas = doc["components"]["schemas"]
    for name in ("SubmitRequest", "SubmitResponse", "TaskDetailOut", "DeliveryOut",
                 "AttemptOut", "TaskList", "QuotaList", "NodeList", "ErrorOut", "Healthz"):
        assert name in schemas
    submit = doc["paths"]["/v1/tasks"]["post"]
    assert set(submit["responses"]) >= {"200", "202", "400", "401", "409", "413", "422", "429"}
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitRequest"}
    assert schemas["SubmitRequest"]["additionalProperties"] is False
    assert set(schemas["SubmitRequest"]["required"]) == {"action", "targets"}
    assert schemas["ErrorOut"]["properties"]["error"]["type"] == "string"
    assert doc["paths"]["/v1/tasks/{task_id}"]["get"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


async def test_openapi_and_docs_are_served() -> None:
    async with client(build()) as c:
        spec = await c.get("/openapi.json")
        docs = await c.get("/docs")
        root = await c.get("/", headers={"Accept": "text/html"})
    assert spec.status_code == 200
    assert spec.json() == build_openapi()
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    html = docs.text
    for path in spec.json()["paths"]:
        assert path in html
    for name in ("SubmitRequest", "TaskDetailOut", "ErrorOut"):
        assert f'id="schema-{name}"' in html
    assert not EXTERNAL.search(html)
    assert "<script" not in html
    assert "default-src 'none'" in docs.headers["content-security-policy"]
    assert root.status_code == 302
    assert root.headers["location"] == "/docs"


async def test_ui_page_is_self_contained() -> None:
    async with client(build()) as c:
        r = await c.get("/ui")
        again = await c.get("/ui")
    assert r.status_code == 200
    html = r.text
    csp = r.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce is not None
    assert f"<script nonce='{nonce.group(1)}'>" in html
    assert "connect-src 'self'" in csp
    assert not EXTERNAL.search(html)
    assert "sessionStorage" in html
    assert "/v1/tasks" in html
    assert ".innerHTML" not in html  # API data only ever goes in through textContent
    for option in ("url", "prefix", "regex", "tag"):
        assert f"<option>{option}</option>" in html
    assert nonce.group(1) not in again.headers["content-security-policy"]
