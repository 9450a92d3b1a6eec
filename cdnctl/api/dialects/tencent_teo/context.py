"""What every operation gets: the runtime, the caller, the request id, its parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdnctl.api.dialects.tencent_teo import errors as err
from cdnctl.api.dialects.tencent_teo.parsing import Params
from cdnctl.core.model import Account, Site

if TYPE_CHECKING:
    from cdnctl.app import Runtime

SOURCE = "tencent-eo"


@dataclass(frozen=True)
class Call:
    runtime: Runtime
    account: Account
    request_id: str
    language: str
    params: Params

    def zone(self, zone_id: str, *, allow_all: bool) -> Site | None:
        """The caller's site whose ``zone_id`` this is; ``None`` for ``*`` (all zones)."""
        if zone_id == "*" and allow_all:
            return None
        site = self.runtime.directory.site_by_zone(self.account.id, zone_id)
        if site is None:
            raise err.fixed("ResourceUnavailable.ZoneNotFound",
                            f"The site {zone_id} does not exist or is not belong to this "
                            "account.",
                            f"站点 {zone_id} 不存在或不属于该账号。")
        return site

    def in_zone(self, site: Site | None, host: str) -> bool:
        """Does ``host`` belong to ``site`` (or, for ``None``, to any of the caller's sites)?"""
        owner = self.runtime.directory.site_for_host(host)
        if owner is None or owner.account_id != self.account.id:
            return False
        return site is None or owner.id == site.id
