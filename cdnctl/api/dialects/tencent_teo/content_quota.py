"""``DescribeContentQuota``: per type, the batch limit, the daily limit and what is left
of it today in the zone."""

from __future__ import annotations

from typing import Any

from cdnctl.api.dialects.tencent_teo import quotas
from cdnctl.api.dialects.tencent_teo.context import Call

PURGE_ORDER = ("purge_prefix", "purge_url", "purge_host", "purge_all", "purge_cache_tag")


async def describe_content_quota(call: Call) -> dict[str, Any]:
    p = call.params
    p.check_known(("ZoneId",))
    zone_id = p.required("ZoneId")
    call.zone(zone_id, allow_all=True)
    table = quotas.limits(zone_id, call.runtime.service.limits.max_targets)
    statuses = await call.runtime.service.quota(
        call.account, scope=quotas.scope(call.account, zone_id), limits=quotas.daily(table))
    left = {s.kind: s.remaining for s in statuses}

    def row(name: str) -> dict[str, Any]:
        lim = table[name]
        return {"Batch": lim.batch, "Daily": lim.daily,
                "DailyAvailable": left.get(quotas.KINDS[name], lim.daily), "Type": name}

    return {"PurgeQuota": [row(n) for n in PURGE_ORDER],
            "PrefetchQuota": [row(quotas.PREFETCH_TYPE)]}
