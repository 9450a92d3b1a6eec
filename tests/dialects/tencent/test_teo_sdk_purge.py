"""EdgeOne CreatePurgeTask / CreatePrefetchTask through tencentcloud-sdk-python-teo against
a running cdnctl whose ``zone-abc`` is a real varnishd: every purge type, every signing
form, and the effect on the cache (a purged object is a MISS, a prefetched one a HIT).
"""

from __future__ import annotations

import pytest

from tests.dialects.tencent.teo_harness import TeoServer, call, settle
from tests.servers import ROOT, Origin, VarnishServer, fetch

pytestmark = pytest.mark.servers

WWW = "www.example.com"
IMG = "img.example.com"


async def warm(varnish: VarnishServer, path: str, host: str = WWW) -> None:
    await fetch(varnish.url, path, host=host)
    assert (await fetch(varnish.url, path, host=host)).x_cache == "HIT"


async def x_cache(varnish: VarnishServer, path: str, host: str = WWW) -> str:
    return (await fetch(varnish.url, path, host=host)).x_cache


@pytest.mark.parametrize(("method", "sign"), [
    ("POST", "TC3-HMAC-SHA256"), ("GET", "TC3-HMAC-SHA256"),
    ("POST", "HmacSHA256"), ("POST", "HmacSHA1"), ("GET", "HmacSHA256"),
])
async def test_purge_url_in_every_signing_form(teo: TeoServer, varnish_server: VarnishServer,
                                               method: str, sign: str) -> None:
    path = f"/url/{method}-{sign}.txt?v=1"
    await warm(varnish_server, path)
    client = teo.client(method=method, sign=sign)
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_url",
                Targets=[f"http://{WWW}{path}"])
    assert resp.FailedList == []
    (row,) = settle(client, resp.JobId)
    assert row["JobId"] == resp.JobId
    assert (row["Target"], row["Type"], row["Status"], row["Method"]) == (
        f"http://{WWW}{path}", "purge_url", "success", "delete")
    assert row["CreateTime"].endswith("Z")
    assert row["UpdateTime"] >= row["CreateTime"]
    assert await x_cache(varnish_server, path) == "MISS"


async def test_purge_prefix_delete_and_invalidate(teo: TeoServer,
                                                  varnish_server: VarnishServer) -> None:
    client = teo.client()
    for path in ("/dir/a.css", "/dir/sub/b.js", "/dirx/c.js", "/soft/a.css"):
        await warm(varnish_server, path)
    hard = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_prefix",
                Method="delete", Targets=[f"http://{WWW}/dir/"])
    (row,) = settle(client, hard.JobId)
    assert (row["Type"], row["Method"], row["Status"]) == ("purge_prefix", "delete", "success")
    assert await x_cache(varnish_server, "/dir/a.css") == "MISS"
    assert await x_cache(varnish_server, "/dir/sub/b.js") == "MISS"
    assert await x_cache(varnish_server, "/dirx/c.js") == "HIT"
    soft = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_prefix",
                Targets=[f"http://{WWW}/soft/"])  # no Method: EdgeOne's default, invalidate
    (row,) = settle(client, soft.JobId)
    assert (row["Method"], row["Status"]) == ("invalidate", "success")
    assert await x_cache(varnish_server, "/soft/a.css") == "MISS"  # Varnish bans are hard


async def test_purge_host_only_touches_that_host(teo: TeoServer,
                                                 varnish_server: VarnishServer) -> None:
    await warm(varnish_server, "/host/a.png", IMG)
    await warm(varnish_server, "/host/a.png", WWW)
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_host",
                Method="delete", Targets=[IMG])
    (row,) = settle(client, resp.JobId)
    assert (row["Target"], row["Type"], row["Status"]) == (IMG, "purge_host", "success")
    assert await x_cache(varnish_server, "/host/a.png", IMG) == "MISS"
    assert await x_cache(varnish_server, "/host/a.png", WWW) == "HIT"


async def test_purge_cache_tag_scoped_by_cache_tag_domains(
        teo: TeoServer, varnish_server: VarnishServer) -> None:
    path = "/tag/a.css?xkey=teo-t1"
    await warm(varnish_server, path, WWW)
    await warm(varnish_server, path, IMG)
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_cache_tag",
                Method="delete", Targets=["teo-t1"], CacheTag={"Domains": [WWW]})
    (row,) = settle(client, resp.JobId)
    assert (row["Target"], row["Type"], row["Status"]) == ("teo-t1", "purge_cache_tag",
                                                           "success")
    assert await x_cache(varnish_server, path, WWW) == "MISS"
    assert await x_cache(varnish_server, path, IMG) == "HIT"
    # Without CacheTag the tag is purged on every domain of the zone: one task (one row),
    # scoped to the zone's site; the same when CacheTag names every domain of the zone.
    for cache_tag in ({}, {"CacheTag": {"Domains": [IMG, WWW]}}):
        await warm(varnish_server, path, WWW)
        await warm(varnish_server, path, IMG)
        resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_cache_tag",
                    Targets=["teo-t1"], **cache_tag)
        (row,) = settle(client, resp.JobId)
        assert (row["Target"], row["Status"]) == ("teo-t1", "success")
        assert await x_cache(varnish_server, path, WWW) == "MISS"
        assert await x_cache(varnish_server, path, IMG) == "MISS"


async def test_purge_all_empties_every_host_of_the_zone(
        teo: TeoServer, varnish_server: VarnishServer) -> None:
    await warm(varnish_server, "/all/a", WWW)
    await warm(varnish_server, "/all/b", IMG)
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_all")
    (row,) = settle(client, resp.JobId)
    assert (row["Target"], row["Type"], row["Method"], row["Status"]) == (
        "example.com", "purge_all", "invalidate", "success")
    assert await x_cache(varnish_server, "/all/a", WWW) == "MISS"
    assert await x_cache(varnish_server, "/all/b", IMG) == "MISS"


async def test_encode_url_matches_the_percent_encoded_object(
        teo: TeoServer, varnish_server: VarnishServer) -> None:
    encoded = "/enc/%E4%B8%AD%E6%96%87.txt"
    await warm(varnish_server, encoded)
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_url",
                Targets=[f"http://{WWW}/enc/中文.txt"], EncodeUrl=True)
    (row,) = settle(client, resp.JobId)
    assert (row["Target"], row["Status"]) == (f"http://{WWW}{encoded}", "success")
    assert await x_cache(varnish_server, encoded) == "MISS"


async def test_rejected_targets_are_reported_the_rest_purged(
        teo: TeoServer, varnish_server: VarnishServer) -> None:
    await warm(varnish_server, "/partial/ok.txt")
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="zone-abc", Type="purge_url",
                Targets=[f"http://{WWW}/partial/ok.txt", "http://www.other.example/x",
                         "http://sim.example.net/in-another-zone", "not a url"])
    reasons = {f.Reason: f.Targets for f in resp.FailedList}
    assert sorted(t for ts in reasons.values() for t in ts) == [
        "http://sim.example.net/in-another-zone", "http://www.other.example/x", "not a url"]
    assert any("www.other.example" in r for r in reasons)
    assert reasons["The domain name sim.example.net does not belong to the site zone-abc."] == [
        "http://sim.example.net/in-another-zone"]
    (row,) = settle(client, resp.JobId)
    assert row["Status"] == "success"
    assert await x_cache(varnish_server, "/partial/ok.txt") == "MISS"


async def test_zone_wildcard_spreads_targets_over_zones(teo: TeoServer,
                                                        varnish_server: VarnishServer) -> None:
    await warm(varnish_server, "/star/a.txt")
    client = teo.client()
    resp = call(client, "CreatePurgeTask", ZoneId="*", Type="purge_url",
                Targets=[f"http://{WWW}/star/a.txt", "http://sim.example.net/star/b.txt"])
    assert resp.FailedList == []
    (abc,) = settle(client, resp.JobId, "zone-abc")
    (sim,) = settle(client, resp.JobId, "zone-sim")
    assert (abc["Target"], sim["Target"]) == (f"http://{WWW}/star/a.txt",
                                              "http://sim.example.net/star/b.txt")
    assert await x_cache(varnish_server, "/star/a.txt") == "MISS"


async def test_prefetch_warms_varnish_with_headers(teo: TeoServer, varnish_server: VarnishServer,
                                                   origin: Origin) -> None:
    client = teo.client()
    resp = call(client, "CreatePrefetchTask", ZoneId="zone-abc", Mode="default",
                Targets=[f"http://{WWW}/pf/a.js?v=2"],
                Headers=[{"Name": "X-Warm-Test", "Value": "teo"}])
    assert resp.FailedList == []
    (row,) = settle(client, resp.JobId, prefetch=True)
    assert (row["Type"], row["Status"]) == ("prefetch_url", "success")
    assert "Method" not in row
    assert origin.hits("/pf/a.js?v=2") == 1
    assert origin.last_headers["/pf/a.js?v=2"]["X-Warm-Test"] == "teo"
    assert await x_cache(varnish_server, "/pf/a.js?v=2") == "HIT"
    assert origin.hits("/pf/a.js?v=2") == 1


async def test_prefetch_origin_failure_is_reported(teo: TeoServer, origin: Origin) -> None:
    client = teo.client()
    resp = call(client, "CreatePrefetchTask", ZoneId="zone-abc",
                Targets=[f"http://{WWW}/pf/broken.js?status=503&cc=no-store"])
    (row,) = settle(client, resp.JobId, prefetch=True)
    assert (row["Status"], row["FailType"]) == ("failed", "originPullFailed")
    assert "503" in row["FailMessage"]
    described = call(client, "DescribePrefetchTasks", ZoneId="zone-abc",
                     Filters=[{"Name": "job-id", "Values": [resp.JobId]},
                              {"Name": "statuses", "Values": ["failed"]}])
    assert described.TotalCount == 1


def test_docs_snippet(teo: TeoServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The quick-start snippet of docs/dialects/tencent-eo.md runs as written."""
    doc = (ROOT / "docs" / "dialects" / "tencent-eo.md").read_text()
    snippet = doc.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(snippet.replace("127.0.0.1:8080", teo.endpoint), "tencent-eo.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith(" [] " + out[0].split()[-1])  # JobId, empty FailedList, RequestId
    assert out[1] in ("http://www.example.com/a.txt purge_url delete processing",
                      "http://www.example.com/a.txt purge_url delete success")
    assert out[2].startswith("ResourceUnavailable.ZoneNotFound ")
