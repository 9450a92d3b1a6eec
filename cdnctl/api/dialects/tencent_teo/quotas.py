"""EdgeOne's content quotas: per zone, per type, a batch (per request) and a daily limit.

The numbers default to the ones in Tencent's ``DescribeContentQuota`` example
(2000 per request, 10000 a day, for every type). Daily usage is counted by the
core in the quota scope ``zone:<ZoneId>`` (one counter per zone and type, as on
EdgeOne); a submission with ``ZoneId="*"`` is counted in an account-wide scope.

The configuration has no per-zone quota key yet, so every zone gets the defaults
(see ``docs/dialects/tencent-eo.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cdnctl.core.model import Account, Action, QuotaKind, TargetType

#: EdgeOne ``Type`` -> the core's target type, for purges.
PURGE_TYPES: Mapping[str, TargetType] = {
    "purge_url": TargetType.URL,
    "purge_prefix": TargetType.PREFIX,
    "purge_host": TargetType.HOST,
    "purge_all": TargetType.ALL,
    "purge_cache_tag": TargetType.TAG,
}
PURGE_NAMES: Mapping[TargetType, str] = {v: k for k, v in PURGE_TYPES.items()}
PREFETCH_TYPE = "prefetch_url"

#: EdgeOne quota ``Type`` -> the core's quota kind.
KINDS: Mapping[str, QuotaKind] = {
    "purge_prefix": QuotaKind.PREFIX,
    "purge_url": QuotaKind.URL,
    "purge_host": QuotaKind.HOST,
    "purge_all": QuotaKind.ALL,
    "purge_cache_tag": QuotaKind.TAG,
    PREFETCH_TYPE: QuotaKind.PREFETCH,
}


@dataclass(frozen=True, slots=True)
class Limit:
    batch: int
    daily: int


DEFAULTS: dict[str, Limit] = {name: Limit(batch=2000, daily=10000) for name in KINDS}


def type_name(action: Action, target_type: TargetType) -> str:
    return PREFETCH_TYPE if action is Action.PREFETCH else PURGE_NAMES[target_type]


def scope(account: Account, zone_id: str) -> str:
    """The core quota scope a zone's usage is counted in."""
    return f"zone:*:{account.id}" if zone_id == "*" else f"zone:{zone_id}"


def limits(zone_id: str, max_targets: int) -> dict[str, Limit]:
    """Every type's limits for one zone. ``max_targets`` (the core's per-request cap)
    bounds the batch limit so what is reported is what is enforced."""
    del zone_id  # no per-zone overrides in the configuration yet
    return {name: Limit(batch=min(lim.batch, max_targets), daily=lim.daily)
            for name, lim in DEFAULTS.items()}


def daily(table: Mapping[str, Limit]) -> dict[QuotaKind, int]:
    """The ``quota_limits`` to hand to the core with a submission."""
    return {KINDS[name]: lim.daily for name, lim in table.items()}
