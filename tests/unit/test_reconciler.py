"""The block reconciler over fake edges and the in-memory repository (no I/O)."""

from __future__ import annotations

from cdnctl.core.directory import Directory
from cdnctl.core.edge import EdgeUnreachableError, NodeHealth
from cdnctl.core.model import Account, Action, Node, Site, TargetType
from cdnctl.core.service import ContentService, Submission
from cdnctl.dispatch.reconciler import BlockReconciler
from cdnctl.testing import FakeEdge, FrozenClock, InMemoryTaskRepository

ACCT = Account(id="1", name="acme")
SITE = Site(id=1, account_id="1", name="example.com", zone_id="z",
            domains=("www.example.com",), pool="edge")
NODE = Node(name="v1", pool="edge", kind="fake", url="")


class Booting(FakeEdge):
    """A fake node that reports a boot id, like the Varnish VCL does."""

    boot = "boot-1"

    async def health(self) -> NodeHealth:
        return NodeHealth(up=self.up, latency_ms=0.0, instance=self.boot)


async def setup(edge: FakeEdge):
    clock = FrozenClock()
    repo = InMemoryTaskRepository()
    directory = Directory([ACCT], [SITE], [NODE], {"v1": edge.capabilities})
    service = ContentService(repo, directory, clock)
    for url, ttl in (("http://www.example.com/a", 600), ("http://www.example.com/b", None)):
        spec = service.spec(ACCT, Action.BLOCK, TargetType.URL, url, block_ttl_seconds=ttl)
        await service.submit(Submission(ACCT, [spec]))
    return clock, repo, directory, BlockReconciler(repo, directory, {"v1": edge}, clock)


def blocks(edge: FakeEdge) -> list[tuple[str, int | None]]:
    return sorted((op.target, op.block_ttl_seconds) for op in edge.calls
                  if op.action is Action.BLOCK)


async def test_first_sight_and_recovery_reapply_with_remaining_ttl():
    edge = Booting("v1")
    clock, _, _, rec = await setup(edge)
    clock.advance(100)
    (done,) = await rec.tick()
    assert done.applied == 2
    assert blocks(edge) == [("http://www.example.com/a", 501), ("http://www.example.com/b", None)]
    edge.calls.clear()
    assert await rec.tick() == []  # steady state: nothing to do
    edge.up = False
    assert await rec.tick() == []
    edge.up = True
    (done,) = await rec.tick()  # back up: everything again
    assert done.applied == 2


async def test_a_restart_between_checks_is_noticed_by_the_boot_id():
    edge = Booting("v1")
    _, _, _, rec = await setup(edge)
    await rec.tick()
    edge.calls.clear()
    edge.boot = "boot-2"  # varnishd restarted; never seen down
    (done,) = await rec.tick()
    assert done.applied == 2


async def test_periodic_resync_and_failed_reapply_retries():
    edge = Booting("v1", script=[EdgeUnreachableError("blip")])
    _, _, _, rec = await setup(edge)
    (done,) = await rec.tick()
    assert done.failed == 1  # will be retried: the node is marked not up
    (done,) = await rec.tick()
    assert (done.applied, done.failed) == (2, 0)
    rec.resync_interval = 0.0  # every tick is now a full re-sync
    (done,) = await rec.tick()
    assert done.applied == 2


async def test_an_unblock_committed_meanwhile_wins():
    edge = Booting("v1")
    _clock, repo, _directory, rec = await setup(edge)
    real = repo.block_rules
    calls = 0

    async def racing(*args, **kwargs):  # the second read happens after an unblock
        nonlocal calls
        calls += 1
        rules = await real(*args, **kwargs)
        return rules if calls == 1 else [r for r in rules if not r.url.endswith("/b")]

    repo.block_rules = racing
    (done,) = await rec.tick()
    assert done.applied == 1
    assert [op.target for op in edge.calls if op.action is Action.UNBLOCK] == [
        "http://www.example.com/b"]
