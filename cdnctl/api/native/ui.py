"""``/ui``: one server-rendered page over the JSON API (no external assets).

Recent tasks with status and progress, a task's per-node deliveries and
attempts, and a purge form. The token is typed into the page and kept in
``sessionStorage``; the page calls ``/v1`` with ``fetch``. Everything the API
returns is inserted with ``textContent`` (never as HTML), and a per-response
CSP nonce allows only this page's own script and style.
"""

from __future__ import annotations

import secrets
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from cdnctl.core.model import TargetType, TaskState

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232a}
header{background:#1d2b3a;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
header a{color:#cfe3ff}main{display:grid;grid-template-columns:1fr 1fr;gap:1rem;padding:1rem}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:.8rem}
table{border-collapse:collapse;width:100%}td,th{padding:.2rem .4rem;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}tr.task{cursor:pointer}tr.task:hover{background:#eef4ff}
.bar{background:#e5e8ec;border-radius:3px;width:80px;height:8px;display:inline-block}
.bar i{display:block;height:8px;border-radius:3px;background:#2f8a4c}
.s-failed,.s-timed_out{color:#b42318}.s-succeeded{color:#2f8a4c}.s-canceled{color:#66707a}
.t{font-family:ui-monospace,Menlo,monospace;word-break:break-all}
textarea{width:100%;min-height:5em}#msg{white-space:pre-wrap}.err{color:#b42318}
@media (max-width:900px){main{grid-template-columns:1fr}}
"""

_JS = """
const $ = (id) => document.getElementById(id);
const tokenKey = "cdnctl-token";
let selected = null;
$("token").value = sessionStorage.getItem(tokenKey) || "";
$("save").addEventListener("click", () => {
  sessionStorage.setItem(tokenKey, $("token").value.trim()); refresh();
});
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
async function api(path, opts) {
  const o = opts || {};
  o.headers = Object.assign({"Authorization": "Bearer " + (sessionStorage.getItem(tokenKey) || "")},
                            o.headers || {});
  const r = await fetch(path, o);
  const body = await r.json().catch(() => ({error: "InvalidResponse", detail: r.statusText}));
  if (!r.ok) throw new Error((body.error || r.status) + ": " + (body.detail || ""));
  return body;
}
function bar(p) {
  const b = el("span", null, "bar"); const i = el("i"); i.style.width = p + "%";
  b.appendChild(i); b.title = p + "%"; return b;
}
async function refresh() {
  const status = $("status").value;
  const q = "/v1/tasks?limit=50" + (status ? "&status=" + encodeURIComponent(status) : "");
  try {
    const data = await api(q);
    const rows = $("tasks"); rows.replaceChildren();
    for (const t of data.tasks) {
      const tr = el("tr", null, "task");
      tr.appendChild(el("td", t.id));
      tr.appendChild(el("td", t.action + " " + t.type));
      tr.appendChild(el("td", t.raw_target, "t"));
      tr.appendChild(el("td", t.status, "s-" + t.status));
      const td = el("td"); td.appendChild(bar(t.progress)); tr.appendChild(td);
      tr.appendChild(el("td", new Date(t.created_at).toLocaleTimeString()));
      tr.addEventListener("click", () => { selected = t.id; detail(); });
      rows.appendChild(tr);
    }
    $("listerr").textContent = "";
  } catch (e) { $("listerr").textContent = e.message; }
  if (selected !== null) detail();
}
async function detail() {
  const box = $("detail");
  try {
    const t = await api("/v1/tasks/" + selected);
    box.replaceChildren();
    box.appendChild(el("h3", "Task " + t.id + ": " + t.status + " (" + t.progress + "%)"));
    box.appendChild(el("p", t.action + " " + t.type + " " + t.target, "t"));
    if (t.error_code) box.appendChild(el("p", t.error_code + ": " + (t.description || ""), "err"));
    const table = el("table");
    const head = el("tr");
    for (const h of ["node", "state", "attempt", "time", "outcome", "HTTP", "ms", "detail"])
      head.appendChild(el("th", h));
    table.appendChild(head);
    for (const d of t.deliveries) {
      const attempts = d.attempts.length ? d.attempts : [null];
      for (const a of attempts) {
        const tr = el("tr");
        tr.appendChild(el("td", d.node)); tr.appendChild(el("td", d.state, "s-" + d.state));
        tr.appendChild(el("td", a ? a.number : "-"));
        tr.appendChild(el("td", a ? new Date(a.time).toLocaleTimeString() : ""));
        tr.appendChild(el("td", a ? a.outcome : ""));
        tr.appendChild(el("td", a ? a.http_status : ""));
        tr.appendChild(el("td", a ? a.latency_ms.toFixed(1) : ""));
        tr.appendChild(el("td", a ? a.detail : "", "t"));
        table.appendChild(tr);
      }
    }
    box.appendChild(table);
  } catch (e) { box.replaceChildren(el("p", e.message, "err")); }
}
$("purge").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const targets = $("targets").value.split("\\n").map((s) => s.trim()).filter(Boolean);
  const body = {action: "purge", type: $("type").value, targets: targets,
                method: $("soft").checked ? "invalidate" : "delete"};
  const json = {"Content-Type": "application/json"};
  try {
    if (body.type === "all") {  // everything: show where it goes (a dry run), then ask
      const dry = JSON.stringify(Object.assign({dry_run: true}, body));
      const plan = await api("/v1/tasks", {method: "POST", headers: json, body: dry});
      const where = plan.tasks.map((t) => t.target + " on " + (t.nodes.join(", ") || "no node"));
      if (!confirm("Purge everything cached for:\\n" + where.join("\\n") +
                   "\\n\\nThe origin will take the full load of the refill.")) {
        $("msg").className = ""; $("msg").textContent = "not submitted"; return;
      }
    }
    const r = await api("/v1/tasks", {method: "POST", body: JSON.stringify(body), headers: json});
    $("msg").className = "";
    $("msg").textContent = "job " + r.job_id + ": " + r.tasks.length + " task(s)";
    if (r.tasks.length) selected = r.tasks[0].id;
    refresh();
  } catch (e) { $("msg").className = "err"; $("msg").textContent = e.message; }
});
$("status").addEventListener("change", refresh);
refresh(); setInterval(refresh, 3000);
"""


def render_ui(nonce: str) -> str:
    types = "".join(f"<option>{escape(t.value)}</option>" for t in TargetType)
    states = "".join(f"<option>{escape(s.value)}</option>" for s in TaskState)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>cdnctl</title><style nonce='{nonce}'>{_CSS}</style></head><body>"
        "<header><b>cdnctl</b><label>token <input id=token type=password size=28 "
        "autocomplete=off></label><button id=save type=button>use token</button>"
        "<a href=/docs>API reference</a></header><main>"
        "<section><h2>Recent tasks</h2><label>status <select id=status><option value=''>any"
        f"</option>{states}</select></label><p id=listerr class=err></p>"
        "<table><thead><tr><th>id</th><th>what</th><th>target</th><th>status</th>"
        "<th>progress</th><th>created</th></tr></thead><tbody id=tasks></tbody></table>"
        "</section><div><section><h2>Purge</h2><form id=purge>"
        f"<label>type <select id=type>{types}</select></label> "
        "<label><input id=soft type=checkbox> soft (invalidate)</label>"
        "<p><textarea id=targets placeholder='one target per line, e.g. "
        "https://www.example.com/index.html' required></textarea></p>"
        "<button type=submit>purge</button> <span id=msg></span></form></section>"
        "<section id=detail><p>Click a task to see what every node answered.</p></section>"
        f"</div></main><script nonce='{nonce}'>{_JS}</script></body></html>"
    )


async def page(request: Request) -> Response:
    nonce = secrets.token_urlsafe(16)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return HTMLResponse(render_ui(nonce), headers={
        "Content-Security-Policy": csp, "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"})


def routes() -> list[BaseRoute]:
    return [Route("/ui", page, methods=["GET"])]
