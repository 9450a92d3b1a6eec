"""POST/GET /v1/tasks, /v1/tasks/{id}, cancel, /v1/jobs/{id}, /v1/quota, /v1/blocks."""

from __future__ import annotations

import pytest
from test_api_harness import AUTH, OTHER, build, client, config, purge, settle

from cdnctl.config import parse
from cdnctl.core.edge import EdgeRejectedError


async def test_submit_runs_on_every_node_with_per_node_proof() -> None:
    rt = build()
    async with client(rt) as c:
        r = await purge(c, "https://www.example.com/a.png", "https://img.example.com/b.png")
        assert r.status_code == 202
        body = r.json()
        assert r.headers["location"] == f"/v1/jobs/{body['job_id']}"
        assert body["created"] is True
        assert [t["status"] for t in body["tasks"]] == ["queued", "queued"]
        assert body["tasks"][0]["counts"] == {"total": 2, "succeeded": 0, "failed": 0,
                                              "pending": 2}
        await settle(rt)
        task_id = body["tasks"][0]["id"]
        r = await c.get(f"/v1/tasks/{task_id}", headers=AUTH)
    assert r.status_code == 200
    t = r.json()
    assert (t["status"], t["progress"], t["target"]) == (
        "succeeded", 100, "https://www.example.com/a.png")
    assert [d["node"] for d in t["deliveries"]] == ["edge-1", "edge-2"]
    for d in t["deliveries"]:
        assert d["state"] == "succeeded"
        assert d["attempt_count"] == 1
        [attempt] = d["attempts"]
        assert attempt["outcome"] == "ok"
        assert attempt["http_status"] == 200
        assert attempt["latency_ms"] >= 0
        assert attempt["detail"] == f"{d['node']} did purge"
    assert [op.target for op in rt.edges["edge-1"].ops] == [
        "https://www.example.com/a.png", "https://img.example.com/b.png"]


async def test_failed_node_shows_in_task_detail() -> None:
    rt = build()
    rt.edges["edge-2"].fail = lambda _op: EdgeRejectedError("403 Forbidden", http_status=403)
    async with client(rt) as c:
        r = await purge(c, "https://www.example.com/a")
        await settle(rt)
        t = (await c.get(f"/v1/tasks/{r.json()['tasks'][0]['id']}", headers=AUTH)).json()
    assert t["status"] == "failed"
    assert t["counts"] == {"total": 2, "succeeded": 1, "failed": 1, "pending": 0}
    bad = next(d for d in t["deliveries"] if d["node"] == "edge-2")
    assert bad["state"] == "failed"
    assert bad["attempts"][0]["outcome"] == "edge_rejected"
    assert bad["attempts"][0]["http_status"] == 403


@pytest.mark.parametrize(("kind", "target", "expect"), [
    ("prefix", "https://www.example.com/img/?x=1", "https://www.example.com/img/"),
    ("regex", r"https?://www\.example\.com/.*\.png", r"https?://www\.example\.com/.*\.png"),
    ("host", "WWW.example.com", "www.example.com"),
    ("all", "example.com", "example.com"),
    ("tag", "product-42", "product-42"),
    ("url_ignore_params", "https://www.example.com/a?b=1", "https://www.example.com/a"),
])
async def test_submit_every_target_type(kind: str, target: str, expect: str) -> None:
    async with client(build()) as c:
        r = await purge(c, target, type=kind, method="invalidate")
    assert r.status_code == 202, r.text
    [t] = r.json()["tasks"]
    assert (t["type"], t["target"], t["raw_target"], t["method"]) == (
        kind, expect, target, "invalidate")


async def test_idempotent_replay_returns_the_stored_job() -> None:
    async with client(build()) as c:
        first = await purge(c, "https://www.example.com/a", idempotency_key="k-1")
        again = await purge(c, "https://www.example.com/a", idempotency_key="k-1")
        by_header = await c.post("/v1/tasks", json={
            "action": "purge", "targets": ["https://www.example.com/a"]},
            headers={**AUTH, "Idempotency-Key": "k-1"})
        other = await purge(c, "https://www.example.com/OTHER", idempotency_key="k-1")
        clash = await c.post("/v1/tasks", json={
            "action": "purge", "targets": ["https://www.example.com/a"],
            "idempotency_key": "k-1"}, headers={**AUTH, "Idempotency-Key": "k-2"})
        listed = (await c.get("/v1/tasks", headers=AUTH)).json()["tasks"]
    assert first.status_code == 202
    assert again.status_code == 200
    assert by_header.status_code == 200
    assert again.json()["job_id"] == by_header.json()["job_id"] == first.json()["job_id"]
    assert again.json()["created"] is False
    assert other.status_code == 409
    assert other.json()["error"] == "IdempotencyConflict"
    assert clash.status_code == 400
    assert clash.json()["field"] == "idempotency_key"
    assert len(listed) == 1


async def test_prefetch_headers_and_block_ttl_reach_the_task() -> None:
    rt = build()
    async with client(rt) as c:
        r = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "prefetch", "targets": ["https://www.example.com/big.bin"],
            "headers": {"Accept-Encoding": "gzip"}})
        b = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "block", "targets": ["https://www.example.com/secret"],
            "block_ttl_seconds": 3600})
        await settle(rt)
        blocks = (await c.get("/v1/blocks", headers=AUTH)).json()["blocks"]
        other_blocks = (await c.get("/v1/blocks", headers=OTHER)).json()["blocks"]
        u = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "unblock", "targets": ["https://www.example.com/secret"]})
        after = (await c.get("/v1/blocks", headers=AUTH)).json()["blocks"]
    assert r.status_code == 202
    assert r.json()["tasks"][0]["site_id"] == 1
    assert r.json()["tasks"][0]["headers"] == {"Accept-Encoding": "gzip"}
    assert rt.edges["edge-1"].ops[0].headers == {"Accept-Encoding": "gzip"}
    assert b.status_code == 202
    assert b.json()["tasks"][0]["block_expires_at"] is not None
    assert [x["url"] for x in blocks] == ["https://www.example.com/secret"]
    assert blocks[0]["expires_at"] is not None
    assert other_blocks == []
    assert u.status_code == 202
    assert after == []


async def test_blocks_are_filtered_counted_and_paged() -> None:
    rt = build()
    async with client(rt) as c:
        for name in ("a", "b", "c"):
            await c.post("/v1/tasks", headers=AUTH, json={
                "action": "block", "targets": [f"https://www.example.com/{name}.zip"]})
            rt.clock.advance(60)  # type: ignore[attr-defined]
        await c.post("/v1/tasks", headers=AUTH, json={
            "action": "block", "targets": ["https://img.example.com/x.png"]})
        await settle(rt)

        async def get(**params: str) -> dict[str, object]:
            r = await c.get("/v1/blocks", params=params, headers=AUTH)
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        everything = await get()
        page = await get(limit="2", offset="1")
        zips = await get(url=".zip")
        window = await get(created_after="2024-01-01T00:01:00Z",
                           created_before="2024-01-01T00:03:00Z")
        bad = await c.get("/v1/blocks", params={"since": "x"}, headers=AUTH)
    urls = [b["url"] for b in everything["blocks"]]  # type: ignore[attr-defined]
    assert urls == ["https://img.example.com/x.png", "https://www.example.com/c.zip",
                    "https://www.example.com/b.zip", "https://www.example.com/a.zip"]
    assert everything["total"] == 4
    assert ([b["url"] for b in page["blocks"]], page["total"]) == (  # type: ignore[attr-defined]
        urls[1:3], 4)
    assert zips["total"] == 3
    assert [b["url"] for b in window["blocks"]] == urls[1:3]  # type: ignore[attr-defined]
    assert (bad.status_code, bad.json()["field"]) == (400, "since")


async def test_list_filters_and_keyset_pagination() -> None:
    rt = build()
    async with client(rt) as c:
        for i in range(5):
            await purge(c, f"https://www.example.com/{i}")
            rt.clock.advance(60)  # type: ignore[attr-defined]
        await c.post("/v1/tasks", headers=AUTH, json={
            "action": "prefetch", "targets": ["https://img.example.com/p"]})
        seen: list[int] = []
        cursor = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/v1/tasks", params=params, headers=AUTH)).json()
            seen += [t["id"] for t in page["tasks"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break

        async def ids(**params: str) -> list[int]:
            r = await c.get("/v1/tasks", params=params, headers=AUTH)
            assert r.status_code == 200, r.text
            return [t["id"] for t in r.json()["tasks"]]

        by_action = await ids(action="prefetch")
        by_domain = await ids(domain="img.example.com")
        by_target = await ids(target="example.com/3")
        by_status = await ids(status="queued,running")
        no_status = await ids(status="succeeded")
        after = await ids(created_after="2024-01-01T00:02:00Z")
        before = await ids(created_before="2024-01-01T00:01:00+00:00")
        by_type = await ids(type="url", action="purge")
        first_job = (await c.get("/v1/tasks", params={"limit": "1"}, headers=AUTH)).json()
        by_job = await ids(job_id=first_job["tasks"][0]["job_id"])
        by_site = await ids(site="1")
        by_sites = await ids(site="2,1")
        no_site = await ids(site="2")
        others = (await c.get("/v1/tasks", headers=OTHER)).json()["tasks"]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 6
    assert by_action == by_domain == [seen[0]]
    assert len(by_target) == 1
    assert by_status == seen
    assert no_status == []
    assert len(after) == 4  # tasks created at minutes 2, 3, 4 and 5
    assert len(before) == 1
    assert len(by_type) == 5
    assert by_job == [seen[0]]
    assert by_site == by_sites == seen
    assert no_site == []
    assert others == []


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"status": "done"}, "status"),
    ({"action": "nuke"}, "action"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"state": "failed"}, "state"),
    ({"site": "example.com"}, "site"),
    ({"site": "-1"}, "site"),
])
async def test_list_rejects_bad_query(params: dict[str, str], field: str) -> None:
    async with client(build()) as c:
        r = await c.get("/v1/tasks", params=params, headers=AUTH)
    assert r.status_code == 400
    assert r.json()["field"] == field


async def test_task_job_and_cancel_are_per_account() -> None:
    rt = build()
    async with client(rt) as c:
        r = (await purge(c, "https://www.example.com/a")).json()
        task_id, job_id = r["tasks"][0]["id"], r["job_id"]
        assert (await c.get(f"/v1/tasks/{task_id}", headers=OTHER)).status_code == 404
        assert (await c.get(f"/v1/jobs/{job_id}", headers=OTHER)).status_code == 404
        assert (await c.post(f"/v1/tasks/{task_id}/cancel", headers=OTHER)).status_code == 404
        job = await c.get(f"/v1/jobs/{job_id}", headers=AUTH)
        canceled = await c.post(f"/v1/tasks/{task_id}/cancel", headers=AUTH)
        again = await c.post(f"/v1/tasks/{task_id}/cancel", headers=AUTH)
        missing = await c.get("/v1/tasks/999999", headers=AUTH)
        not_int = await c.get("/v1/tasks/abc", headers=AUTH)
        no_job = await c.get("/v1/jobs/nope", headers=AUTH)
    assert job.status_code == 200
    assert job.json()["source"] == "native"
    assert [t["id"] for t in job.json()["tasks"]] == [task_id]
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert again.status_code == 409
    assert again.json()["error"] == "InvalidTransition"
    assert missing.status_code == 404
    assert missing.json() == {"error": "NotFound", "detail": "task 999999 not found",
                              "request_id": missing.headers["x-request-id"]}
    assert not_int.status_code == 404
    assert no_job.status_code == 404


async def test_quota_counts_todays_submissions() -> None:
    rt = build(parse(config(accounts=[
        {"id": "1001", "name": "acme", "tokens": ["tok-acme"], "quotas": {"url": 3}},
        {"id": "1002", "name": "other", "tokens": ["tok-other"]}])))
    async with client(rt) as c:
        await purge(c, "https://www.example.com/a", "https://www.example.com/b")
        q = (await c.get("/v1/quota", headers=AUTH)).json()["quotas"]
        over = await purge(c, "https://www.example.com/c", "https://www.example.com/d")
        after = (await c.get("/v1/quota", headers=AUTH)).json()["quotas"]
    url = next(x for x in q if x["kind"] == "url")
    assert url == {"kind": "url", "limit": 3, "used": 2, "remaining": 1,
                   "resets_at": "2024-01-02T00:00:00Z"}
    assert {x["kind"] for x in q} >= {"url", "prefix", "regex", "prefetch", "block"}
    assert over.status_code == 429
    err = over.json()
    assert (err["error"], err["kind"], err["limit"], err["remaining"], err["resets_at"]) == (
        "QuotaExceeded", "url", 3, 1, "2024-01-02T00:00:00Z")
    assert int(over.headers["retry-after"]) >= 1
    assert next(x for x in after if x["kind"] == "url")["used"] == 2  # nothing was charged


async def test_a_dry_run_plans_and_does_nothing() -> None:
    rt = build(parse(config(accounts=[
        {"id": "1001", "name": "acme", "tokens": ["tok-acme"], "quotas": {"url": 3}},
        {"id": "1002", "name": "other", "tokens": ["tok-other"]}])))
    async with client(rt) as c:
        plan = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "purge", "dry_run": True,
            "targets": ["https://WWW.example.com/a", "https://old.example.org/b"]})
        everything = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "purge", "type": "all", "dry_run": True, "targets": ["example.com"]})
        bad = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "purge", "dry_run": True,
            "targets": ["https://www.example.com/a", "https://nope.example.net/"]})
        over = await c.post("/v1/tasks", headers=AUTH, json={
            "action": "purge", "dry_run": True,
            "targets": [f"https://www.example.com/{i}" for i in range(4)]})
        await settle(rt)
        listed = (await c.get("/v1/tasks", headers=AUTH)).json()["tasks"]
        quota = (await c.get("/v1/quota", headers=AUTH)).json()["quotas"]
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["dry_run"] is True
    assert [(t["target"], t["raw_target"], t["site_id"], t["nodes"]) for t in body["tasks"]] == [
        ("https://www.example.com/a", "https://WWW.example.com/a", 1, ["edge-1", "edge-2"]),
        ("https://old.example.org/b", "https://old.example.org/b", 2, ["basic-1"])]
    assert [(q["kind"], q["used"], q["remaining"]) for q in body["quota"]] == [("url", 2, 1)]
    [all_task] = everything.json()["tasks"]
    assert (all_task["type"], all_task["target"], all_task["nodes"]) == (
        "all", "example.com", ["edge-1", "edge-2"])
    # Refused as a submission would be, with the same errors.
    assert (bad.status_code, bad.json()["error"], bad.json()["field"]) == (
        400, "InvalidDomain", "targets[1]")
    assert (over.status_code, over.json()["error"], over.json()["remaining"]) == (
        429, "QuotaExceeded", 3)
    # Nothing stored, charged or sent.
    assert listed == []
    assert next(q for q in quota if q["kind"] == "url")["used"] == 0
    assert all(not edge.ops for edge in rt.edges.values())
