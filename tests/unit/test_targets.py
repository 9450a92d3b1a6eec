from __future__ import annotations

import pytest

from cdnctl.core.errors import InvalidRegexError, InvalidUrlError, ValidationError
from cdnctl.core.model import TargetType
from cdnctl.core.targets import domain_matcher, parse_target, parse_url


def test_url_is_canonicalised_and_keeps_raw():
    t = parse_target(TargetType.URL, " https://WWW.Example.com/a.png?x=1#frag ")
    assert t.value == "https://www.example.com/a.png?x=1"
    assert t.domain == "www.example.com"
    assert t.raw == " https://WWW.Example.com/a.png?x=1#frag "


def test_url_keeps_port_and_defaults_path():
    assert parse_url("http://example.com:8080")[0] == "http://example.com:8080/"


@pytest.mark.parametrize("bad", [
    "", "example.com/a", "ftp://example.com/a", "http:///a", "http://exa mple.com/",
    "http://example.com/\x00", "http://*.example.com/a", "http://" + "a" * 5000 + ".com/",
    "http://example.com:99999/",
])
def test_bad_urls_are_refused(bad):
    with pytest.raises(InvalidUrlError):
        parse_target(TargetType.URL, bad)


def test_bare_host_urls_allowed_only_when_asked():
    assert parse_url("example.com/a.png", allow_bare=True) == ("http://example.com/a.png",
                                                               "example.com")


def test_ignore_params_and_prefix_drop_query():
    assert parse_target(TargetType.URL_IGNORE_PARAMS, "http://e.com/a?b=1").value == "http://e.com/a"
    assert parse_target(TargetType.PREFIX, "http://e.com/img/?v=2").value == "http://e.com/img/"


def test_regex_must_be_linear_time_and_anchored_to_a_host():
    t = parse_target(TargetType.REGEX, r"https?://www\.example\.com/img/.*\.png")
    assert t.domain == "www.example.com"
    with pytest.raises(InvalidRegexError, match="linear-time"):
        parse_target(TargetType.REGEX, r"https://x.com/(a)\1")  # backreference
    with pytest.raises(InvalidRegexError, match="linear-time"):
        parse_target(TargetType.REGEX, r"https://x.com/(?=a)")  # lookahead
    with pytest.raises(InvalidRegexError, match="scheme and host"):
        parse_target(TargetType.REGEX, r".*\.png")


def test_host_tag_and_all_targets():
    assert parse_target(TargetType.HOST, "IMG.example.com.").value == "img.example.com"
    with pytest.raises(ValidationError):
        parse_target(TargetType.HOST, "*.example.com")
    assert parse_target(TargetType.TAG, "product-42").domain is None
    with pytest.raises(ValidationError):
        parse_target(TargetType.TAG, "two words")
    assert parse_target(TargetType.ALL, "example.com").value == "example.com"


def test_domain_matcher_handles_wildcards():
    match = domain_matcher(["www.example.com", "*.cdn.example.com"])
    assert match("www.example.com")
    assert match("a.cdn.example.com")
    assert not match("cdn.example.com")
    assert not match("evil.com")


def test_the_plain_url_fast_path_agrees_with_the_full_parser(monkeypatch: pytest.MonkeyPatch):
    """parse_url skips urlsplit for plain URLs: on random URL-ish strings both paths give
    the same canonical URL and host, or the same error."""
    import random
    import re

    from cdnctl.core import targets

    def outcome(raw: str) -> object:
        try:
            return targets.parse_url(raw)
        except ValidationError as exc:
            return type(exc)

    pieces = ["http", "https", "HTTP", "://", "/", "?", "#", ".", "-", "_", "a", "www",
              "example", "com", ":80", ":", "@", "%20", " ", "\t", "*", "..", "=", "&", "Z",
              "\u00e9", "[", "]", "\\", "//"]
    rng = random.Random(7)
    samples = [rng.choice(["http://", "https://", ""])
               + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
               for _ in range(20_000)]
    fast = [outcome(raw) for raw in samples]
    monkeypatch.setattr(targets, "_PLAIN_URL", re.compile(r"(?!)"))  # never matches
    assert [outcome(raw) for raw in samples] == fast
