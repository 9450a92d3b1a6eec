"""Daily quotas: pure arithmetic over per-kind limits and what was used today."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cdnctl.core.model import QuotaKind

#: Defaults per account and UTC day. They follow Alibaba CDN's published
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


def day_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def resets_at(now: datetime) -> datetime:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


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
