"""Tasks know their site: validation notes it, a tag purge is scoped to one site (or to
the account's only one), and the worker hands a tag purge only its site's hosts — over
the in-memory repository and fake edges (no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cdnctl.core.directory import Directory
from cdnctl.core.errors import InvalidDomainError, UnsupportedError
from cdnctl.core.model import (
    Account,
    Action,
    Capability,
    Node,
    Site,
    TargetType,
    TaskState,
)
from cdnctl.core.ports import TaskFilter
from cdnctl.core.service import ContentService, Submission
from cdnctl.dispatch.executor import edge_op
from cdnctl.dispatch.retry import RetryPolicy
from cdnctl.dispatch.worker import Worker, WorkerSettings
from cdnctl.testing import FakeEdge, FrozenClock, InMemoryTaskRepository

MULTI = Account(id="1", name="multi")  # two sites on two pools, one sharing a pool
SOLO = Account(id="2", name="solo")  # one site, on the shared pool
BARE = Account(id="3", name="bare")  # no site at all
SHOP = Site(id=10, account_id="1", name="shop", zone_id="z-shop",
            domains=("shop.example.com", "*.img.example.com"), pool="p1")
BLOG = Site(id=11, account_id="1", name="blog", zone_id="z-blog",
            domains=("blog.example.com",), pool="p2")
MINE = Site(id=20, account_id="2", name="mine", zone_id="z-mine",
            domains=("www.solo.example",), pool="p1")
NODES = [Node("a", "p1", "fake", ""), Node("b", "p1", "fake", ""), Node("c", "p2", "fake", "")]


class Rig:
    def __init__(self, sites: list[Site] | None = None,
                 capabilities: dict[str, frozenset[Capability]] | None = None) -> None:
        self.clock = FrozenClock()
        self.repo = InMemoryTaskRepository()
        self.edges = {n.name: FakeEdge(n.name) for n in NODES}
        caps = {n.name: frozenset(Capability) for n in NODES} | (capabilities or {})
        self.directory = Directory([MULTI, SOLO, BARE], sites or [SHOP, BLOG, MINE], NODES,
                                   caps)
        self.service = ContentService(self.repo, self.directory, self.clock)
        self.worker = Worker(self.repo, self.directory, self.edges, self.clock,
                             WorkerSettings(retry=RetryPolicy(max_attempts=1, wait=0,
                                                              jitter=0)),
                             worker_id="w1")

    async def submit(self, account: Account, target_type: TargetType, *raws: str,
                     site: Site | None = None):
        specs = [self.service.spec(account, Action.PURGE, target_type, raw, site=site)
                 for raw in raws]
        return await self.service.submit(Submission(account=account, specs=specs))

    def calls(self) -> dict[str, list[tuple[str, ...]]]:
        return {name: [op.hosts for op in edge.calls] for name, edge in self.edges.items()
                if edge.calls}


def test_targets_note_their_site():
    svc = Rig().service
    for kind, raw, site_id in [
        (TargetType.URL, "https://shop.example.com/a", 10),
        (TargetType.URL, "https://x.img.example.com/a", 10),  # under a "*." domain
        (TargetType.PREFIX, "https://blog.example.com/d/", 11),
        (TargetType.REGEX, r"https?://blog\.example\.com/.*\.png", 11),
        (TargetType.HOST, "blog.example.com", 11),
        (TargetType.ALL, "shop", 10),
        (TargetType.ALL, "blog.example.com", 11),
        (TargetType.TAG, "t1", None),  # decided by spec()
    ]:
        assert svc.target(MULTI, kind, raw).site_id == site_id, raw
    with pytest.raises(InvalidDomainError):
        svc.target(MULTI, TargetType.URL, "https://www.solo.example/a")


def test_a_tag_is_scoped_to_the_given_site_or_the_only_one():
    svc = Rig().service
    scoped = svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1", site=BLOG).target
    assert (scoped.site_id, scoped.domain) == (11, None)
    assert [n.name for n in svc.nodes_for(MULTI.id, scoped)] == ["c"]
    wide = svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1").target
    assert wide.site_id is None  # several sites, none given: every site
    assert [n.name for n in svc.nodes_for(MULTI.id, wide)] == ["a", "b", "c"]
    only = svc.spec(SOLO, Action.PURGE, TargetType.TAG, "t1").target
    assert only.site_id == 20
    assert [n.name for n in svc.nodes_for(SOLO.id, only)] == ["a", "b"]
    assert svc.spec(BARE, Action.PURGE, TargetType.TAG, "t1").target.site_id is None
    with pytest.raises(InvalidDomainError):
        svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1", site=MINE)  # not the caller's


def test_a_site_given_for_other_types_must_contain_the_target():
    svc = Rig().service
    url = svc.spec(MULTI, Action.PURGE, TargetType.URL, "https://shop.example.com/a", site=SHOP)
    assert url.target.site_id == 10
    with pytest.raises(InvalidDomainError):
        svc.spec(MULTI, Action.PURGE, TargetType.URL, "https://blog.example.com/a", site=SHOP)
    with pytest.raises(InvalidDomainError):
        svc.spec(MULTI, Action.PURGE, TargetType.ALL, "blog", site=SHOP)


def test_capabilities_are_checked_on_the_scoped_nodes_only():
    no_tags = frozenset(Capability) - {Capability.PURGE_TAG}
    svc = Rig(capabilities={"c": no_tags}).service
    assert svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1", site=SHOP).target.site_id == 10
    with pytest.raises(UnsupportedError, match="c "):
        svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1", site=BLOG)
    with pytest.raises(UnsupportedError):
        svc.spec(MULTI, Action.PURGE, TargetType.TAG, "t1")  # every pool, c included


async def test_tasks_are_stored_and_listed_by_site():
    rig = Rig()
    done = await rig.submit(MULTI, TargetType.URL, "https://shop.example.com/a",
                            "https://blog.example.com/b")
    (tag,) = (await rig.submit(MULTI, TargetType.TAG, "t1", site=SHOP)).tasks
    (wide,) = (await rig.submit(MULTI, TargetType.TAG, "t2")).tasks
    assert [t.site_id for t in done.tasks] + [tag.site_id, wide.site_id] == [10, 11, 10, None]
    assert await rig.service.task(MULTI, tag.id) == tag

    async def listed(*site_ids: int) -> list[int]:
        page = await rig.service.tasks(TaskFilter(account_id=MULTI.id, site_ids=site_ids),
                                       limit=10)
        return [t.id for t in page.items]

    assert await listed(10) == [tag.id, done.tasks[0].id]
    assert await listed(11) == [done.tasks[1].id]
    assert await listed(20) == []  # another account's site


async def test_a_scoped_tag_purges_only_its_sites_hosts_on_its_pool():
    rig = Rig()
    (task,) = (await rig.submit(MULTI, TargetType.TAG, "t1", site=SHOP)).tasks
    await rig.worker.run_until_idle()
    assert (await rig.service.task(MULTI, task.id)).state is TaskState.SUCCEEDED
    assert rig.calls() == {"a": [SHOP.domains], "b": [SHOP.domains]}


async def test_the_only_sites_hosts_on_a_shared_pool():
    """The multi-tenant fix: SOLO's tag purge on a pool it shares with MULTI names only
    SOLO's hosts (an edge given none would purge the tag on every tenant's hosts)."""
    rig = Rig()
    await rig.submit(SOLO, TargetType.TAG, "t1")
    await rig.worker.run_until_idle()
    assert rig.calls() == {"a": [MINE.domains], "b": [MINE.domains]}


async def test_an_account_wide_tag_gives_each_node_its_pools_hosts():
    rig = Rig()
    (task,) = (await rig.submit(MULTI, TargetType.TAG, "t1")).tasks
    await rig.worker.run_until_idle()
    assert (await rig.service.task(MULTI, task.id)).state is TaskState.SUCCEEDED
    assert rig.calls() == {"a": [SHOP.domains], "b": [SHOP.domains], "c": [BLOG.domains]}


async def test_a_tag_on_one_host_keeps_that_host():
    rig = Rig()
    spec = rig.service.spec(MULTI, Action.PURGE, TargetType.TAG, "t1", site=SHOP)
    one_host = replace(spec, target=replace(spec.target, domain="shop.example.com"))
    await rig.service.submit(Submission(account=MULTI, specs=[one_host]))
    (item, _) = await rig.repo.claim("w", limit=10, now=rig.clock.now(), lease_seconds=30)
    assert edge_op(item, rig.directory).hosts == ("shop.example.com",)


async def test_a_tag_whose_site_is_gone_fails_instead_of_purging_every_host():
    rig = Rig()
    (task,) = (await rig.submit(MULTI, TargetType.TAG, "t1", site=SHOP)).tasks
    rig.worker.directory = Directory([MULTI, SOLO, BARE], [BLOG, MINE], NODES,
                                     rig.directory.capabilities)
    await rig.worker.run_until_idle()
    stored = await rig.service.task(MULTI, task.id)
    assert stored.state is TaskState.FAILED
    assert "site 10 is no longer configured" in (stored.description or "")
    assert rig.calls() == {}
