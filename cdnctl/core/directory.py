"""Who owns what: accounts, their sites and domains, and the nodes serving them.

Built once from the configuration; read-only afterwards. The service asks it
"does this account own this host?" and "which nodes serve this host?".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cdnctl.core.model import AccessKey, Account, Capability, Node, Site


def hash_token(token: str) -> str:
    """How native API bearer tokens are stored: SHA-256 hex (tokens are long random strings)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Directory:
    accounts: list[Account]
    sites: list[Site]
    nodes: list[Node]
    capabilities: Mapping[str, frozenset[Capability]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id = {a.id: a for a in self.accounts}
        self._by_name = {a.name: a for a in self.accounts}
        self._by_token = {h: a for a in self.accounts for h in a.token_hashes}
        self._by_key = {k.id: (a, k) for a in self.accounts for k in a.keys}
        self._sites_of: dict[str, list[Site]] = {}
        for s in self.sites:
            self._sites_of.setdefault(s.account_id, []).append(s)
        self._pools: dict[str, list[Node]] = {}
        for n in self.nodes:
            self._pools.setdefault(n.pool, []).append(n)
        self._exact: dict[str, Site] = {}
        self._wild: list[tuple[str, Site]] = []
        for s in self.sites:
            for d in s.domains:
                if d.startswith("*."):
                    self._wild.append((d[1:], s))
                else:
                    self._exact[d] = s
        self._wild.sort(key=lambda p: -len(p[0]))  # most specific suffix first

    # accounts -------------------------------------------------------------
    def account(self, account_id: str) -> Account | None:
        return self._by_id.get(account_id)

    def account_by_name(self, name: str) -> Account | None:
        return self._by_name.get(name)

    def account_by_token(self, token: str) -> Account | None:
        return self._by_token.get(hash_token(token))

    def access_key(self, key_id: str) -> tuple[Account, AccessKey] | None:
        return self._by_key.get(key_id)

    # sites and domains ----------------------------------------------------
    def sites_of(self, account_id: str) -> list[Site]:
        return list(self._sites_of.get(account_id, ()))

    def site_by_id(self, account_id: str, site_id: int) -> Site | None:
        return next((s for s in self.sites_of(account_id) if s.id == site_id), None)

    def site_by_zone(self, account_id: str, zone_id: str) -> Site | None:
        return next((s for s in self.sites_of(account_id) if s.zone_id == zone_id), None)

    def site_for_host(self, host: str) -> Site | None:
        site = self._exact.get(host)
        if site is not None:
            return site
        return next((s for suffix, s in self._wild if host.endswith(suffix)), None)

    def owns(self, account_id: str, host: str) -> bool:
        site = self.site_for_host(host)
        return site is not None and site.account_id == account_id

    def domains_of(self, account_id: str) -> list[str]:
        return [d for s in self.sites_of(account_id) for d in s.domains]

    def site_by_name(self, account_id: str, name: str) -> Site | None:
        return next((s for s in self.sites_of(account_id) if s.name == name), None)

    def site_named(self, name: str) -> Site | None:
        """Site names are unique across accounts (checked when the config is read)."""
        return next((s for s in self.sites if s.name == name), None)

    # nodes ----------------------------------------------------------------
    def pool(self, name: str) -> list[Node]:
        return list(self._pools.get(name, ()))

    def nodes_for_host(self, host: str) -> list[Node]:
        site = self.site_for_host(host)
        return self.pool(site.pool) if site else []

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def capable(self, nodes: Iterable[Node], needed: frozenset[Capability]) -> list[Node]:
        """The nodes lacking any of ``needed``."""
        return [n for n in nodes if not needed <= self.capabilities.get(n.name, frozenset())]
