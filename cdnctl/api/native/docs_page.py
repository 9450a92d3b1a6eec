"""Render the OpenAPI document as one self-contained HTML page (no scripts, no fetches)."""

from __future__ import annotations

import re
from html import escape
from typing import Any

_TICKS = re.compile(r"`([^`]+)`")

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d232a;background:#fafbfc}
main{max-width:1000px;margin:auto;padding:1.5rem}
h1{margin:.2rem 0}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem}
.op{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem 1rem;margin:1rem 0}
.m{display:inline-block;min-width:4.2em;text-align:center;font-weight:700;border-radius:4px;
padding:0 .4em;color:#fff;background:#2f6fb2;margin-right:.5em}.m.post{background:#2f8a4c}
code,.p{font-family:ui-monospace,Menlo,monospace;font-size:.92em}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border:1px solid #e3e6ea;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}.muted{color:#66707a}nav a{margin-right:1em}
"""


def prose(text: str) -> str:
    """Escaped text with `backticks` as <code>."""
    return _TICKS.sub(r"<code>\1</code>", escape(text))


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short human type: ``TaskOut``, ``list[string]``, ``integer | null``, ``"a" | "b"``."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in schema:
        return " | ".join(type_of(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{type_of(schema.get('items', {}))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map[string, {type_of(schema['additionalProperties'])}]"
    fmt = schema.get("format")
    return escape(f"{kind} ({fmt})" if fmt else str(kind))


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "min length "),
                       ("maxLength", "max length "), ("minItems", "min items ")):
        if key in schema:
            parts.append(f"{label}{schema[key]}")
    if "default" in schema and schema["default"] not in (None, {}, []):
        parts.append(f"default {schema['default']}")
    return escape(", ".join(parts))


def schema_table(name: str, schema: dict[str, Any]) -> str:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    rows = []
    for prop, sub in props.items():
        desc = escape(sub.get("description", ""))
        lim = _limits(sub)
        rows.append(f"<tr><td class=p>{escape(prop)}{'' if prop in required else '?'}</td>"
                    f"<td>{type_of(sub)}</td><td>{desc}"
                    f"{' <span class=muted>(' + lim + ')</span>' if lim else ''}</td></tr>")
    if "enum" in schema:
        rows.append(f"<tr><td colspan=3>one of {type_of(schema)}</td></tr>")
    doc = escape(schema.get("description", ""))
    return (f'<div class=op id="schema-{escape(name)}"><h3>{escape(name)}</h3>'
            f"{f'<p>{doc}</p>' if doc else ''}"
            "<table><tr><th>field (? = optional)</th><th>type</th><th>meaning</th></tr>"
            + "".join(rows) + "</table></div>")


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [f'<div class=op id="{escape(op["operationId"])}">'
           f'<span class="m {method}">{method.upper()}</span>'
           f'<span class=p>{escape(path)}</span> — {escape(op["summary"])}'
           f"{' <span class=muted>(no token)</span>' if not op.get('security') else ''}"]
    if op.get("description"):
        out.append(f"<p>{prose(op['description'])}</p>")
    if op.get("parameters"):
        out.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>")
        for p in op["parameters"]:
            req = " (required)" if p.get("required") else ""
            out.append(f"<tr><td class=p>{escape(p['name'])}</td><td>{escape(p['in'])}</td>"
                       f"<td>{type_of(p['schema'])} {_limits(p['schema'])}</td>"
                       f"<td>{escape(p.get('description', ''))}{req}</td></tr>")
        out.append("</table>")
    if "requestBody" in op:
        body = op["requestBody"]["content"]["application/json"]["schema"]
        out.append(f"<p>Body: {type_of(body)} (JSON)</p>")
    out.append("<table><tr><th>status</th><th>body</th><th>when</th></tr>")
    for status, resp in op["responses"].items():
        content = resp.get("content", {})
        kinds = ", ".join(f"{type_of(c['schema'])} <span class=muted>{escape(mt)}</span>"
                          for mt, c in content.items())
        out.append(f"<tr><td>{escape(status)}</td><td>{kinds}</td>"
                   f"<td>{escape(resp.get('description', ''))}</td></tr>")
    out.append("</table></div>")
    return "".join(out)


def render_docs(doc: dict[str, Any]) -> str:
    info = doc["info"]
    by_tag: dict[str, list[str]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append(_operation(path, method, op))
    schemas = doc["components"]["schemas"]
    nav = "".join(f'<a href="#tag-{escape(t)}">{escape(t)}</a>' for t in by_tag)
    sections = "".join(f'<h2 id="tag-{escape(t)}">{escape(t)}</h2>' + "".join(ops)
                       for t, ops in by_tag.items())
    models = "".join(schema_table(n, sc) for n, sc in sorted(schemas.items()))
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(info['title'])} — reference</title><style>{_CSS}</style></head>"
        f"<body><main><h1>{escape(info['title'])}</h1>"
        f"<p class=muted>version {escape(info['version'])} · OpenAPI {escape(doc['openapi'])}"
        " · <a href=/openapi.json>openapi.json</a> · <a href=/ui>web page</a></p>"
        f"<p>{prose(info['description'])}</p>"
        "<p>Example: <code>curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: "
        "application/json' -d '{\"action\":\"purge\",\"targets\":"
        "[\"https://www.example.com/a.png\"]}' http://HOST/v1/tasks</code></p>"
        f"<nav>{nav}<a href=#schemas>schemas</a></nav>{sections}"
        f"<h2 id=schemas>schemas</h2>{models}</main></body></html>"
    )
