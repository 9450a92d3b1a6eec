"""EdgeOne DescribePurgeTasks / DescribePrefetchTasks / DescribeContentQuota through the
official SDK: every filter of the seed, paging, time windows, the status table
(success, failed, timeout, canceled) and per-zone quotas.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cdnctl.api.dialects.tencent_teo import quotas
from tests.dialects.tencent.teo_harness import (
    TeoServer,
    call,
    json_row,
    patched,
    sdk_error,
    settle,
)

pytestmark = pytest.mark.servers
SIM = "http://sim.example.net"


def window(minutes: int = 10) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"StartTime": (now - timedelta(minutes=minutes)).isoformat(),
            "EndTime": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")}


def describe(teo: TeoServer, zone: str = "zone-sim", **fields: Any) -> tuple[int, list[Any]]:
    resp = call(teo.client(), "DescribePurgeTasks", ZoneId=zone, **{**window(), **fields})
    return resp.TotalCount, [json_row(t) for t in resp.Tasks]


@pytest.fixture(scope="module")
def jobs(teo: TeoServer) -> dict[str, str]:
    """A fixed set of settled purges in zone-sim."""
    client = teo.client()
    made = {
        "urls": call(client, "CreatePurgeTask", ZoneId="zone-sim", Type="purge_url",
                     Targets=[f"{SIM}/q/a.txt", f"{SIM}/q/b.txt", f"{SIM}/q/c.css",
                              "http://x.wild.example.net/q/w.txt"]).JobId,
        "prefix": call(client, "CreatePurgeTask", ZoneId="zone-sim", Type="purge_prefix",
                       Targets=[f"{SIM}/q/"]).JobId,
        "host": call(client, "CreatePurgeTask", ZoneId="zone-sim", Type="purge_host",
                     Targets=["sim.example.net"]).JobId,
        "tag": call(client, "CreatePurgeTask", ZoneId="zone-sim", Type="purge_cache_tag",
                    Targets=["q-tag"]).JobId,
        "all": call(client, "CreatePurgeTask", ZoneId="zone-sim", Type="purge_all").JobId,
    }
    for job in made.values():
        settle(client, job, "zone-sim")
    return made


def test_job_id_alone_finds_every_row(teo: TeoServer, jobs: dict[str, str]) -> None:
    resp = call(teo.client(), "DescribePurgeTasks", ZoneId="zone-sim", Limit=1,
                Filters=[{"Name": "job-id", "Values": [jobs["urls"]]}])
    assert resp.TotalCount == 4
    assert len(resp.Tasks) == 1


def test_filters(teo: TeoServer, jobs: dict[str, str]) -> None:
    job = {"Name": "job-id", "Values": [jobs["urls"]]}
    total, rows = describe(teo, Filters=[job, {"Name": "target", "Values": ["q/a"],
                                               "Fuzzy": True}])
    assert (total, [r["Target"] for r in rows]) == (1, [f"{SIM}/q/a.txt"])
    total, _ = describe(teo, Filters=[job, {"Name": "target", "Values": ["q/a"]}])
    assert total == 0  # exact match without Fuzzy
    total, _ = describe(teo, Filters=[{"Name": "target", "Values": [f"{SIM}/q/b.txt"]}])
    assert total >= 1
    total, rows = describe(teo, Filters=[{"Name": "type", "Values": ["purge_prefix"]}])
    assert {r["JobId"] for r in rows} >= {jobs["prefix"]}
    assert {r["Type"] for r in rows} == {"purge_prefix"}
    total, rows = describe(teo, Filters=[{"Name": "type", "Values": ["purge_all"]}])
    assert jobs["all"] in {r["JobId"] for r in rows}
    assert {r["Target"] for r in rows} == {"sim"}
    total, rows = describe(teo, Filters=[job, {"Name": "domains",
                                               "Values": ["x.wild.example.net"]}])
    assert [r["Target"] for r in rows] == ["http://x.wild.example.net/q/w.txt"]
    total, rows = describe(teo, Filters=[job, {"Name": "statuses",
                                               "Values": ["success", "failed"]}])
    assert total == 4
    total, _ = describe(teo, Filters=[job, {"Name": "statuses", "Values": ["processing"]}])
    assert total == 0


def test_paging_newest_first(teo: TeoServer, jobs: dict[str, str]) -> None:
    total, everything = describe(teo, Limit=1000)
    assert total == len(everything) >= 8
    # the zone's cache-tag purge: one row (one task scoped to the zone's site)
    assert [r["Target"] for r in everything if r["JobId"] == jobs["tag"]] == ["q-tag"]
    assert everything[0]["JobId"] == jobs["all"]  # newest first, purge_all merged in
    _, page = describe(teo, Offset=1, Limit=2)
    assert page == everything[1:3]
    _, page = describe(teo, Offset=total, Limit=5)
    assert page == []
    count, empty = describe(teo, Limit=0)
    assert (count, empty) == (total, [])


def test_time_window(teo: TeoServer, jobs: dict[str, str]) -> None:
    past = datetime.now(UTC) - timedelta(days=3)
    total, _ = describe(teo, StartTime=(past - timedelta(days=1)).isoformat(),
                        EndTime=past.isoformat())
    assert total == 0
    end = datetime.now(UTC) + timedelta(minutes=1)
    total, _ = describe(teo, StartTime=(end - timedelta(days=7)).isoformat(),
                        EndTime=end.isoformat())
    assert total >= 7  # exactly 7 days is allowed


def test_other_zones_do_not_leak(teo: TeoServer, jobs: dict[str, str]) -> None:
    _, rows = describe(teo, "zone-abc", Limit=1000)
    assert not {r["JobId"] for r in rows} & set(jobs.values())
    exc = sdk_error(lambda: call(teo.client(key="AKIDother", secret="SKother"),
                                 "DescribePurgeTasks", ZoneId="zone-sim", **window()))
    assert exc.get_code() == "ResourceUnavailable.ZoneNotFound"


def test_failed_timeout_and_canceled(teo: TeoServer) -> None:
    client = teo.client()
    failed = call(client, "CreatePurgeTask", ZoneId="zone-fail", Type="purge_url",
                  Targets=["http://fail.example.net/x"])
    (row,) = settle(client, failed.JobId, "zone-fail")
    assert (row["Status"], row["FailType"]) == ("failed", "taskFailed")
    assert row["FailMessage"]
    slow = call(client, "CreatePurgeTask", ZoneId="zone-slow", Type="purge_url",
                Targets=["http://slow.example.net/t", "http://slow.example.net/c"])
    job = teo.native("GET", f"/v1/jobs/{slow.JobId}").json()
    canceled = next(t["id"] for t in job["tasks"] if t["target"].endswith("/c"))
    assert teo.native("POST", f"/v1/tasks/{canceled}/cancel").status_code == 200
    rows = {r["Target"]: r for r in settle(client, slow.JobId, "zone-slow")}
    assert rows["http://slow.example.net/c"]["Status"] == "canceled"
    assert rows["http://slow.example.net/t"]["Status"] == "timeout"
    resp = call(client, "DescribePurgeTasks", ZoneId="zone-slow", **window(),
                Filters=[{"Name": "statuses", "Values": ["timeout", "canceled"]}])
    assert resp.TotalCount == 2


def test_describe_prefetch_tasks(teo: TeoServer) -> None:
    client = teo.client(method="GET")
    job = call(client, "CreatePrefetchTask", ZoneId="zone-sim", Targets=[f"{SIM}/pf/1.js"],
               Mode="edge").JobId
    (row,) = settle(client, job, "zone-sim", prefetch=True)
    assert (row["Type"], row["Status"]) == ("prefetch_url", "success")
    resp = call(client, "DescribePrefetchTasks", ZoneId="zone-sim", **window(),
                Filters=[{"Name": "target", "Values": [f"{SIM}/pf/1.js"]},
                         {"Name": "statuses", "Values": ["success", "invalid"]}])
    assert [t.JobId for t in resp.Tasks] == [job]
    purges = call(client, "DescribePurgeTasks", ZoneId="zone-sim",
                  Filters=[{"Name": "job-id", "Values": [job]}])
    assert purges.TotalCount == 0  # prefetches are not purges


def quota(teo: TeoServer, zone: str) -> dict[str, Any]:
    resp = call(teo.client(), "DescribeContentQuota", ZoneId=zone)
    return {q.Type: (q.Batch, q.Daily, q.DailyAvailable)
            for q in [*resp.PurgeQuota, *resp.PrefetchQuota]}


def test_content_quota_counts_per_zone(teo: TeoServer) -> None:
    before, lim_before = quota(teo, "zone-abc"), quota(teo, "zone-lim")
    assert set(before) == {"purge_prefix", "purge_url", "purge_host", "purge_all",
                           "purge_cache_tag", "prefetch_url"}
    job = call(teo.client(), "CreatePurgeTask", ZoneId="zone-lim", Type="purge_url",
               Targets=["http://lim.example.net/1", "http://lim.example.net/2"]).JobId
    settle(teo.client(), job, "zone-lim")
    after = quota(teo, "zone-lim")
    assert after["purge_url"][2] == lim_before["purge_url"][2] - 2
    assert after["purge_prefix"] == lim_before["purge_prefix"]
    assert quota(teo, "zone-abc")["purge_url"] == before["purge_url"]


def test_daily_quota_exhausted(teo: TeoServer) -> None:
    tight = {**quotas.DEFAULTS, "purge_host": quotas.Limit(batch=5, daily=2)}
    client = teo.client()
    with patched(quotas, "DEFAULTS", tight):
        assert quota(teo, "zone-fail")["purge_host"] == (5, 2, 2)
        exc = sdk_error(lambda: call(client, "CreatePurgeTask", ZoneId="zone-fail",
                                     Type="purge_host", Targets=["fail.example.net"] * 3))
        assert exc.get_code() == "LimitExceeded.DailyQuota"
        exc = sdk_error(lambda: call(client, "CreatePurgeTask", ZoneId="zone-fail",
                                     Type="purge_host", Targets=["fail.example.net"] * 6))
        assert exc.get_code() == "LimitExceeded.BatchQuota"
        call(client, "CreatePurgeTask", ZoneId="zone-fail", Type="purge_host",
             Targets=["fail.example.net"] * 2)
        assert quota(teo, "zone-fail")["purge_host"] == (5, 2, 0)
        exc = sdk_error(lambda: call(client, "CreatePurgeTask", ZoneId="zone-fail",
                                     Type="purge_host", Targets=["fail.example.net"]))
        assert exc.get_code() == "LimitExceeded.DailyQuota"


def test_token_and_default_language(teo: TeoServer) -> None:
    client = teo.client(token="TMP-TOKEN", language="zh-CN")
    assert call(client, "DescribeContentQuota", ZoneId="zone-sim").PurgeQuota
    exc = sdk_error(lambda: call(client, "DescribeContentQuota", ZoneId="zone-nope"))
    assert exc.get_code() == "ResourceUnavailable.ZoneNotFound"
    assert exc.get_message() == "站点 zone-nope 不存在或不属于该账号。"
