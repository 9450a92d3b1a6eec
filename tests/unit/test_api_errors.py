"""Every error path of the native API: one body shape, the right status, never a trace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from test_api_harness import AUTH, build, client, config, purge

from cdnctl.api.errors import RULES, rule_for
from cdnctl.config import parse
from cdnctl.core import errors as core_errors
from cdnctl.testing import InMemoryTaskRepository

POST = {"action": "purge", "targets": ["https://www.example.com/a"]}


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    (b"{not json", 400, "InvalidJson", None),
    (b"", 400, "InvalidJson", None),
    (b"[1, 2]", 422, "SchemaError", None),
    (json.dumps({**POST, "targets": "https://www.example.com/a"}).encode(), 422, "SchemaError",
     "targets"),
    (json.dumps({**POST, "targets": []}).encode(), 422, "SchemaError", "targets"),
    (json.dumps({**POST, "targets": ["ok", 7]}).encode(), 422, "SchemaError", "targets[1]"),
    (json.dumps({**POST, "action": "nuke"}).encode(), 422, "SchemaError", "action"),
    (json.dumps({**POST, "type": "file"}).encode(), 422, "SchemaError", "type"),
    (json.dumps({**POST, "surprise": 1}).encode(), 422, "SchemaError", "surprise"),
    (json.dumps({"action": "block", "targets": ["https://www.example.com/a"],
                 "block_ttl_seconds": True}).encode(), 422, "SchemaError", "block_ttl_seconds"),
    (json.dumps({"action": "block", "targets": ["https://www.example.com/a"],
                 "block_ttl_seconds": "60"}).encode(), 422, "SchemaError", "block_ttl_seconds"),
    (json.dumps({"action": "prefetch", "targets": ["https://www.example.com/a"],
                 "headers": {"X-A": "b\r\nInjected: 1"}}).encode(), 422, "SchemaError",
     "headers"),
    (json.dumps({"action": "prefetch", "targets": ["https://www.example.com/a"],
                 "headers": {"Host": "evil"}}).encode(), 422, "SchemaError", "headers"),
    (json.dumps({"action": "prefetch", "targets": ["https://www.example.com/a"],
                 "method": "invalidate"}).encode(), 400, "ValidationError", "method"),
    (json.dumps({**POST, "headers": {"A": "b"}}).encode(), 400, "ValidationError", "headers"),
    (json.dumps({**POST, "block_ttl_seconds": 5}).encode(), 400, "ValidationError",
     "block_ttl_seconds"),
    (json.dumps({"action": "prefetch", "type": "prefix",
                 "targets": ["https://www.example.com/"]}).encode(), 400, "ValidationError",
     "type"),
])
async def test_malformed_bodies_are_4xx(body: bytes, status: int, code: str,
                                        field: str | None) -> None:
    async with client(build()) as c:
        r = await c.post("/v1/tasks", content=body,
                         headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()
    assert err["error"] == code
    assert err.get("field") == field
    assert err["detail"]
    assert err["request_id"] == r.headers["x-request-id"]


@pytest.mark.parametrize(("targets", "kind", "code", "status", "index"), [
    (["https://www.example.com/ok", "ftp://www.example.com/x"], "url", "InvalidUrl", 400, 1),
    (["/relative/path"], "url", "InvalidUrl", 400, 0),
    (["https://www.example.com/a", "https://not-mine.example.net/a"], "url", "InvalidDomain",
     400, 1),
    (["https://www.other.example/a"], "url", "InvalidDomain", 400, 0),
    ([r"https?://www\.example\.com/(a)\1"], "regex", "InvalidRegex", 400, 0),
    (["https://www.example.com/(?=x)"], "regex", "InvalidRegex", 400, 0),
    ([".*"], "regex", "InvalidRegex", 400, 0),
    ([r"https?://old\.example\.org/.*"], "regex", "Unsupported", 422, 0),
    (["nosuchsite.example"], "all", "InvalidDomain", 400, 0),
    (["has space"], "tag", "ValidationError", 400, 0),
])
async def test_target_errors_name_the_index(targets: list[str], kind: str, code: str,
                                            status: int, index: int) -> None:
    async with client(build()) as c:
        r = await purge(c, *targets, type=kind)
        listed = (await c.get("/v1/tasks", headers=AUTH)).json()["tasks"]
    assert r.status_code == status, r.text
    err = r.json()
    assert (err["error"], err["index"], err["field"]) == (code, index, f"targets[{index}]")
    assert err["detail"].startswith(f"targets[{index}]: ")
    assert listed == []  # nothing was created


async def test_every_bad_target_is_listed() -> None:
    async with client(build()) as c:
        r = await purge(c, "https://www.example.com/a", "nope", "https://x.example.net/",
                        "https://www.example.com/b")
    err = r.json()
    assert err["index"] == 1
    assert [e["field"] for e in err["errors"]] == ["targets[1]", "targets[2]"]
    assert [e["type"] for e in err["errors"]] == ["InvalidUrl", "InvalidDomain"]


async def test_too_many_targets() -> None:
    async with client(build(parse(config(limits={"max_targets": 2})))) as c:
        r = await purge(c, *(f"https://www.example.com/{i}" for i in range(3)))
    assert r.status_code == 400
    assert r.json()["error"] == "LimitExceeded"


async def test_oversized_body_declared_and_streamed() -> None:
    big = json.dumps({**POST, "targets": ["https://www.example.com/" + "a" * 5000]})
    async with client(build()) as c:
        declared = await c.post("/v1/tasks", content=big,
                                headers={**AUTH, "Content-Type": "application/json"})

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(big), 1000):
                yield big[i:i + 1000].encode()

        streamed = await c.post("/v1/tasks", content=chunks(),
                                headers={**AUTH, "Content-Type": "application/json"})
    for r in (declared, streamed):
        assert r.status_code == 413
        assert r.json()["error"] == "PayloadTooLarge"
        assert r.headers["x-request-id"]
    assert "content-length" not in {k.lower() for k in streamed.request.headers}


async def test_not_json_content_type() -> None:
    async with client(build()) as c:
        r = await c.post("/v1/tasks", content=json.dumps(POST),
                         headers={**AUTH, "Content-Type": "text/plain"})
    assert r.status_code == 415
    assert r.json()["error"] == "UnsupportedMediaType"


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer wrong-token",
                                    "tok-acme"])
async def test_missing_or_bad_token(header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    async with client(build()) as c:
        for method, path in (("POST", "/v1/tasks"), ("GET", "/v1/tasks"), ("GET", "/v1/quota"),
                             ("GET", "/v1/tasks/1"), ("GET", "/v1/nodes"), ("GET", "/v1/sites")):
            r = await c.request(method, path, headers=headers, json=POST)
            assert r.status_code == 401, (method, path)
            assert r.json()["error"] == "Unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")


async def test_rate_limited_submit() -> None:
    cfg = config(limits={"burst": 1}, accounts=[
        {"id": "1001", "name": "acme", "tokens": ["tok-acme"], "rate_limits": {"submit": 0.01}},
        {"id": "1002", "name": "other", "tokens": ["tok-other"]}])
    async with client(build(parse(cfg))) as c:
        first = await purge(c, "https://www.example.com/a")
        second = await purge(c, "https://www.example.com/b")
        reads = await c.get("/v1/tasks", headers=AUTH)
    assert first.status_code == 202
    assert second.status_code == 429
    assert second.json()["error"] == "RateLimited"
    assert second.json()["retry_after"] == 100.0
    assert second.headers["retry-after"] == "100"
    assert reads.status_code == 200  # reads have their own bucket


class ExplodingRepo(InMemoryTaskRepository):
    async def get_task(self, account_id: str, task_id: int):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals: password=hunter2")


async def test_unexpected_errors_are_500_without_details(caplog: pytest.LogCaptureFixture) -> None:
    async with client(build(repo=ExplodingRepo())) as c:
        r = await c.get("/v1/tasks/1", headers={**AUTH, "X-Request-Id": "req-123"})
    assert r.status_code == 500
    assert r.json()["error"] == "InternalError"
    assert "hunter2" not in r.text
    assert "Traceback" not in r.text
    assert r.headers["x-request-id"] == "req-123"
    assert r.json()["request_id"] == "req-123"
    assert any("req-123" in rec.getMessage() for rec in caplog.records)


async def test_unknown_route_and_method_are_json() -> None:
    async with client(build()) as c:
        nf = await c.get("/v2/nothing")
        na = await c.delete("/v1/tasks", headers=AUTH)
        root = await c.post("/", content=b"")
    assert (nf.status_code, nf.json()["error"]) == (404, "NotFound")
    assert (na.status_code, na.json()["error"]) == (405, "MethodNotAllowed")
    assert root.status_code == 400
    assert root.json()["error"] == "UnknownRequest"


async def test_request_ids_are_generated_or_kept_when_sane() -> None:
    async with client(build()) as c:
        a = await c.get("/healthz")
        b = await c.get("/healthz")
        kept = await c.get("/healthz", headers={"X-Request-Id": "abc-123"})
        replaced = await c.get("/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert a.headers["x-request-id"] != b.headers["x-request-id"]
    assert kept.headers["x-request-id"] == "abc-123"
    assert replaced.headers["x-request-id"] != "bad id\twith junk"


def test_rules_resolve_along_the_mro() -> None:
    class NewKindOfBadInput(core_errors.InvalidUrlError):
        pass

    assert rule_for(NewKindOfBadInput()).status == 400
    assert rule_for(core_errors.IdempotencyConflictError()).status == 409
    assert rule_for(core_errors.UnsupportedError()).status == 422
    assert rule_for(core_errors.AuthError()).status == 401
    assert rule_for(core_errors.NotFoundError()).status == 404
    assert {c.__name__ for c in RULES} >= {"ValidationError", "QuotaExceededError",
                                          "RateLimitedError", "ConflictError"}
