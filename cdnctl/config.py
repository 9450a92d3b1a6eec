"""The configuration file (TOML), typed and strict: an unknown key is an error.

``cdnctl serve --config FILE`` or ``CDNCTL_CONFIG=FILE``; ``CDNCTL_DATABASE_URL``
and ``CDNCTL_LISTEN`` override the file. Every key is documented in
``docs/configuration.md``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cdnctl.core.directory import Directory, hash_token
from cdnctl.core.model import AccessKey, Account, Node, QuotaKind, Site
from cdnctl.core.service import Limits


class ConfigError(Exception):
    """The configuration file is missing or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    listen: str = "127.0.0.1:8080"
    workers: int = Field(1, ge=0, description="in-process dispatch workers (0: API only)")
    processes: int = Field(1, ge=1, description="API server processes sharing the listener")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///cdnctl.db"
    retention_days: float = Field(30, gt=0)


class DispatchConfig(_Strict):
    attempt_timeout: float = Field(5.0, gt=0, description="seconds per edge request")
    max_attempts: int = Field(3, ge=1)
    backoff_initial: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    task_deadline: float = Field(600.0, gt=0, description="seconds until a task is timed_out")
    node_concurrency: int = Field(8, ge=1)
    lease_seconds: float = Field(60.0, gt=0)
    claim_batch: int = Field(256, ge=1)
    poll_interval: float = Field(1.0, gt=0)
    block_check_interval: float = Field(5.0, gt=0, description="node health checks for blocks")
    block_resync_interval: float = Field(300.0, gt=0, description="full block re-sync period")


class LimitsConfig(_Strict):
    max_targets: int = Field(1000, ge=1)
    rate: float = Field(50.0, ge=0, description="requests/s per account and operation")
    burst: float = Field(100.0, ge=1)
    max_block_ttl_seconds: int = Field(30 * 86400, ge=1)


class KeyConfig(_Strict):
    id: str = Field(min_length=1)
    secret: str = Field(min_length=1, repr=False)


class AccountConfig(_Strict):
    id: str = Field(pattern=r"^[0-9]{1,20}$")
    name: str = Field(min_length=1)
    tokens: list[str] = Field(default_factory=list, repr=False)
    token_sha256: list[str] = Field(default_factory=list)
    keys: list[KeyConfig] = Field(default_factory=list)
    quotas: dict[QuotaKind, int] = Field(default_factory=dict)
    rate_limits: dict[str, float] = Field(default_factory=dict)


class SiteConfig(_Strict):
    account: str
    id: int = Field(ge=1)
    zone_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    domains: list[str] = Field(min_length=1)
    pool: str
    quotas: dict[QuotaKind, int] = Field(default_factory=dict)  # daily, per site/zone
    batch_limits: dict[QuotaKind, int] = Field(default_factory=dict)  # targets per request

    @field_validator("domains")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [d.strip().lower().rstrip(".") for d in v]


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)  # kind-specific keys pass through
    name: str = Field(min_length=1)
    pool: str = Field(min_length=1)
    kind: Literal["varnish", "nginx", "simulated", "log"]
    url: str = ""


class Settings(_Strict):
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    dispatch: DispatchConfig = DispatchConfig()
    limits: LimitsConfig = LimitsConfig()
    accounts: list[AccountConfig] = Field(default_factory=list)
    sites: list[SiteConfig] = Field(default_factory=list)
    nodes: list[NodeConfig] = Field(default_factory=list)

    def directory(self) -> Directory:
        by_name = {a.name: a.id for a in self.accounts}
        accounts = [
            Account(
                id=a.id, name=a.name,
                token_hashes=frozenset([hash_token(t) for t in a.tokens] + a.token_sha256),
                keys=tuple(AccessKey(k.id, k.secret) for k in a.keys),
                quotas=dict(a.quotas), rate_limits=dict(a.rate_limits),
            )
            for a in self.accounts
        ]
        sites = [Site(id=s.id, account_id=by_name[s.account], name=s.name, zone_id=s.zone_id,
                      domains=tuple(s.domains), pool=s.pool, quotas=dict(s.quotas),
                      batch_limits=dict(s.batch_limits)) for s in self.sites]
        nodes = [Node(name=n.name, pool=n.pool, kind=n.kind, url=n.url,
                      options=dict(n.model_extra or {})) for n in self.nodes]
        return Directory(accounts=accounts, sites=sites, nodes=nodes)

    def core_limits(self) -> Limits:
        return Limits(max_targets=self.limits.max_targets,
                      task_deadline_seconds=self.dispatch.task_deadline,
                      max_block_ttl_seconds=self.limits.max_block_ttl_seconds,
                      default_rate=self.limits.rate, default_burst=self.limits.burst)


def _check_references(s: Settings) -> None:
    names = [a.name for a in s.accounts]
    _unique("account name", names)
    _unique("account id", [a.id for a in s.accounts])
    _unique("access key id", [k.id for a in s.accounts for k in a.keys])
    _unique("site id", [str(x.id) for x in s.sites])
    _unique("site name", [x.name for x in s.sites])
    _unique("zone id", [x.zone_id for x in s.sites])
    _unique("node name", [n.name for n in s.nodes])
    _unique("domain", [d for x in s.sites for d in x.domains])
    pools = {n.pool for n in s.nodes}
    for site in s.sites:
        if site.account not in names:
            raise ConfigError(f"site {site.name!r}: unknown account {site.account!r}")
        if site.pool not in pools:
            raise ConfigError(f"site {site.name!r}: pool {site.pool!r} has no nodes")


def _unique(what: str, values: list[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ConfigError(f"duplicate {what}: {v!r}")
        seen.add(v)


def parse(data: dict[str, Any], *, source: str = "<config>") -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid configuration"]
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"  {loc}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    _check_references(settings)
    return settings


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the TOML file (``path``, else ``$CDNCTL_CONFIG``); apply env overrides."""
    chosen = path or os.environ.get("CDNCTL_CONFIG")
    data: dict[str, Any] = {}
    if chosen:
        try:
            data = tomllib.loads(Path(chosen).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {chosen}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    if url := os.environ.get("CDNCTL_DATABASE_URL"):
        data.setdefault("database", {})["url"] = url
    if listen := os.environ.get("CDNCTL_LISTEN"):
        data.setdefault("server", {})["listen"] = listen
    if workers := os.environ.get("CDNCTL_WORKERS"):
        data.setdefault("server", {})["workers"] = workers
    return parse(data, source=str(chosen or "<defaults>"))
