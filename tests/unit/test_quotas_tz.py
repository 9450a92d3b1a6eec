"""Quota days in a vendor's time zone (Alibaba: the Beijing day, UTC+8): the pure
arithmetic of ``core.quotas`` and what ``ContentService`` charges and reports with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cdnctl.api.dialects.alibaba._tasks import QUOTA_TZ
from cdnctl.core.directory import Directory
from cdnctl.core.errors import QuotaExceededError
from cdnctl.core.model import Account, Action, Node, QuotaKind, Site, TargetType
from cdnctl.core.quotas import day_of, resets_at
from cdnctl.core.service import ContentService, Submission
from cdnctl.testing import FakeEdge, FrozenClock, InMemoryTaskRepository

BEIJING = timezone(timedelta(hours=8))
LATE = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)  # 2024-03-02 07:30 in Beijing


def test_the_alibaba_quota_day_is_the_beijing_day() -> None:
    assert QUOTA_TZ.utcoffset(None) == timedelta(hours=8)


@pytest.mark.parametrize(("now", "tz", "day", "reset"), [
    # UTC (the default): the calendar day in UTC, reset at the next UTC midnight
    (LATE, UTC, "2024-03-01", datetime(2024, 3, 2, tzinfo=UTC)),
    # 23:30 UTC is already the next day in Beijing; that day ends at 16:00 UTC
    (LATE, BEIJING, "2024-03-02", datetime(2024, 3, 2, 16, tzinfo=UTC)),
    # just before and at Beijing midnight (16:00 UTC)
    (datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC), BEIJING, "2024-03-01",
     datetime(2024, 3, 1, 16, tzinfo=UTC)),
    (datetime(2024, 3, 1, 16, tzinfo=UTC), BEIJING, "2024-03-02",
     datetime(2024, 3, 2, 16, tzinfo=UTC)),
    # an aware time in another zone is the same instant
    (LATE.astimezone(BEIJING), UTC, "2024-03-01", datetime(2024, 3, 2, tzinfo=UTC)),
    # month and leap-day boundaries in Beijing
    (datetime(2024, 2, 28, 16, 0, tzinfo=UTC), BEIJING, "2024-02-29",
     datetime(2024, 2, 29, 16, tzinfo=UTC)),
    (datetime(2024, 12, 31, 20, 0, tzinfo=UTC), BEIJING, "2025-01-01",
     datetime(2025, 1, 1, 16, tzinfo=UTC)),
])
def test_day_of_and_resets_at(now: datetime, tz: timezone, day: str, reset: datetime) -> None:
    assert day_of(now, tz) == day
    assert resets_at(now, tz) == reset
    assert resets_at(now, tz).tzinfo is UTC
    if tz is UTC:
        assert (day_of(now), resets_at(now)) == (day, reset)


ACCT = Account(id="a1", name="acme", quotas={QuotaKind.URL: 2})
SITE = Site(id=1, account_id="a1", name="example.com", zone_id="z1",
            domains=("www.example.com",), pool="edge")
NODE = Node(name="n1", pool="edge", kind="fake", url="")


def rig(now: datetime) -> tuple[ContentService, FrozenClock]:
    clock = FrozenClock(now)
    edge = FakeEdge("n1")
    directory = Directory([ACCT], [SITE], [NODE], {"n1": edge.capabilities})
    return ContentService(InMemoryTaskRepository(), directory, clock), clock


async def purge(service: ContentService, path: str, *, tz: timezone = UTC) -> None:
    spec = service.spec(ACCT, Action.PURGE, TargetType.URL, f"http://www.example.com/{path}")
    await service.submit(Submission(ACCT, [spec], quota_tz=tz))


async def test_a_submission_at_2330_utc_counts_for_the_next_beijing_day() -> None:
    service, clock = rig(datetime(2024, 3, 1, 15, 0, tzinfo=UTC))  # 23:00 Beijing, 1 March
    await purge(service, "a", tz=BEIJING)
    await purge(service, "b", tz=BEIJING)
    with pytest.raises(QuotaExceededError) as err:
        await purge(service, "c", tz=BEIJING)
    assert err.value.resets_at == datetime(2024, 3, 1, 16, tzinfo=UTC)  # Beijing midnight
    clock.set(LATE)  # 23:30 UTC, still 1 March in UTC, 2 March in Beijing: a fresh quota
    await purge(service, "c", tz=BEIJING)
    (url,) = [q for q in await service.quota(ACCT, tz=BEIJING) if q.kind is QuotaKind.URL]
    assert (url.used, url.remaining, url.resets_at) == (
        1, 1, datetime(2024, 3, 2, 16, tzinfo=UTC))
    (url,) = [q for q in await service.quota(ACCT) if q.kind is QuotaKind.URL]
    assert url.resets_at == datetime(2024, 3, 2, tzinfo=UTC)  # a UTC report: UTC midnight
