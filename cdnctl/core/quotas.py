"""Daily quotas: pure arithmetic over per-kind limits and what was used today.

A quota day is a calendar day in a time zone: UTC unless a vendor counts its days
elsewhere (Alibaba: the Beijing day, UTC+8). Usage is stored per ``day_of`` label.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from cdnctl.core.errors import QuotaExceededError
from cdnctl.core.model import QuotaKind
from cdnctl.core.ports import QuotaCharge

#: Defaults per account and (UTC) day. They follow Alibaba CDN's published
#: numbers (the strictest of the four vendors); every account may override them.
DEFAULT_DAILY: Mapping[QuotaKind, int] = {
    QuotaKind.URL: 10_000,
    QuotaKind.PREFIX: 100,
    QuotaKind.REGEX: 20,
    QuotaKind.URL_IGNORE_PARAMS: 100,
    QuotaKind.HOST: 100,
    QuotaKind.ALL: 10,
    QuotaKind.TAG: 10_000,
    QuotaKind.PREFETCH: 1_000,
    QuotaKind.BLOCK: 100,
}


def day_of(now: datetime, tz: tzinfo = UTC) -> str:
    """The quota day (``YYYY-MM-DD``) ``now`` falls in, counting days in ``tz``."""
    return now.astimezone(tz).strftime("%Y-%m-%d")


def resets_at(now: datetime, tz: tzinfo = UTC) -> datetime:
    """When the quota day of ``now`` ends: the next midnight in ``tz``, as UTC."""
    tomorrow = now.astimezone(tz).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=tz).astimezone(UTC)


def exceeded(charge: QuotaCharge, used: int) -> QuotaExceededError:
    """The refusal of ``charge`` when ``used`` of its quota is already taken today."""
    day = date.fromisoformat(charge.day)
    return QuotaExceededError(
        kind=charge.kind.value, limit=charge.limit, remaining=max(0, charge.limit - used),
        resets_at=datetime.combine(day + timedelta(days=1), time(),
                                   tzinfo=charge.tz).astimezone(UTC))


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    kind: QuotaKind
    limit: int
    used: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def limits_for(overrides: Mapping[QuotaKind, int],
               defaults: Mapping[QuotaKind, int] = DEFAULT_DAILY) -> dict[QuotaKind, int]:
    return {**defaults, **overrides}


def demand(kinds: Iterable[QuotaKind]) -> Counter[QuotaKind]:
    return Counter(kinds)
