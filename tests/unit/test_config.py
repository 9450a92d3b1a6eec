from __future__ import annotations

import pytest

from cdnctl.config import ConfigError, load, parse
from cdnctl.core.directory import hash_token
from cdnctl.core.model import QuotaKind

BASE = """
[server]
listen = "127.0.0.1:9000"
[database]
url = "sqlite:///x.db"
[[accounts]]
id = "1000000001"
name = "acme"
tokens = ["tok-1"]
keys = [{ id = "AKID", secret = "s3cret" }]
quotas = { url = 5 }
[[sites]]
account = "acme"
id = 1001
zone_id = "zone-acme"
name = "example.com"
domains = ["www.example.com", "IMG.example.com"]
pool = "edge"
[[nodes]]
name = "varnish-1"
pool = "edge"
kind = "varnish"
url = "http://127.0.0.1:6081"
admin = "127.0.0.1:6082"
"""


def write(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_full_config_builds_the_directory(tmp_path):
    s = load(write(tmp_path, BASE))
    d = s.directory()
    acct = d.account_by_token("tok-1")
    assert acct is not None
    assert acct.name == "acme"
    assert hash_token("tok-1") in acct.token_hashes
    assert "tok-1" not in repr(acct)
    assert d.access_key("AKID")[1].secret == "s3cret"
    assert "s3cret" not in repr(d.access_key("AKID")[1])
    assert d.owns(acct.id, "img.example.com")
    assert [n.name for n in d.nodes_for_host("www.example.com")] == ["varnish-1"]
    assert d.node("varnish-1").options == {"admin": "127.0.0.1:6082"}
    assert acct.quotas == {QuotaKind.URL: 5}


def test_unknown_keys_are_rejected_clearly(tmp_path):
    with pytest.raises(ConfigError, match=r"server\.lisen: unknown key"):
        load(write(tmp_path, BASE.replace("listen =", "lisen =")))


@pytest.mark.parametrize(("needle", "replacement", "message"), [
    ('id = "1000000001"', 'id = "acme-1"', "accounts.0.id"),
    ('account = "acme"', 'account = "nobody"', "unknown account"),
    ('pool = "edge"\n[[nodes]]', 'pool = "other"\n[[nodes]]', "has no nodes"),
    ('kind = "varnish"', 'kind = "squidward"', "nodes.0.kind"),
])
def test_bad_references_and_values(tmp_path, needle, replacement, message):
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, BASE.replace(needle, replacement, 1)))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[server"))


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("CDNCTL_DATABASE_URL", "sqlite:///other.db")
    assert load(write(tmp_path, BASE)).database.url == "sqlite:///other.db"


def test_defaults_without_a_file():
    s = parse({})
    assert s.database.url == "sqlite:///cdnctl.db"
    assert s.database.retention_days == 30
