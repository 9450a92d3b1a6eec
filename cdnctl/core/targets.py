"""Parse and validate what clients ask to purge, prefetch or block.

Every dialect turns its vendor's strings into :class:`~cdnctl.core.model.Target`
through these functions, so the core's rules (absolute http(s) URLs, owned
domains, linear-time regexes, sizes) hold whatever door a request came in by.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import re2  # RE2: guaranteed linear-time matching, rejects backreferences & lookaround

from cdnctl.core.errors import InvalidRegexError, InvalidUrlError, ValidationError
from cdnctl.core.model import Target, TargetType

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a rejected pattern is the client's error, not a log line
MAX_URL_LENGTH = 4096
MAX_REGEX_LENGTH = 1024
MAX_TAG_LENGTH = 1024
_HOST_RE = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                      r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_REGEX_HOST = re.compile(
    r"^\^?(?:https?|\(https\?\)|https\?)(?::|\\:)(?:\\?/){2}([A-Za-z0-9.\-\\]+?)(?:\\?/|$)"
)
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")
_TAG_RE = re.compile(r"^[\x21-\x7e]+$")


# The shape nearly every URL has: lower-case http(s) scheme and host, no user, port or
# fragment, no whitespace or control character. Such a URL is already canonical but for
# its host's trailing dot and an empty path, so parse_url needs no urlsplit for it.
_PLAIN_URL = re.compile(r"(https?)://([a-z0-9_.\-]{1,253})(/[^?#\s\x00-\x1f\x7f]*)?"
                        r"(?:\?([^#\s\x00-\x1f\x7f]*))?")


@functools.lru_cache(maxsize=4096)  # a batch of URLs names the same few hosts
def normalize_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise ValidationError(f"{host!r} is not a valid host name", field="host")
    return host


def parse_url(raw: str, *, allow_bare: bool = False) -> tuple[str, str]:
    """Validate an absolute http(s) URL; return (canonical URL, host).

    ``allow_bare`` accepts ``example.com/a.png`` (older vendor docs) as http.
    """
    if len(raw) <= MAX_URL_LENGTH and (m := _PLAIN_URL.fullmatch(raw)) is not None:
        scheme, netloc, path, query = m.groups()
        try:
            host = normalize_host(netloc)
        except ValidationError:
            raise InvalidUrlError(f"URL has an invalid host: {raw!r}") from None
        url = f"{scheme}://{host}{path or '/'}"
        return (f"{url}?{query}" if query else url), host
    text = raw.strip()
    if not text:
        raise InvalidUrlError("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidUrlError(f"URL longer than {MAX_URL_LENGTH} characters")
    if allow_bare and "://" not in text:
        text = "http://" + text
    if _BAD_URL_CHARS.search(text):
        raise InvalidUrlError(f"URL contains whitespace or control characters: {raw!r}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidUrlError(f"malformed URL {raw!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidUrlError(f"URL must be absolute http(s): {raw!r}")
    if not parts.hostname:
        raise InvalidUrlError(f"URL has no host: {raw!r}")
    try:
        host = normalize_host(parts.hostname)
    except ValidationError:
        raise InvalidUrlError(f"URL has an invalid host: {raw!r}") from None
    if host.startswith("*."):
        raise InvalidUrlError(f"URL host cannot be a wildcard: {raw!r}")
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, "")), host


def parse_regex(raw: str) -> str:
    """Accept a regex only if RE2 compiles it (so it matches in linear time)."""
    if not raw:
        raise InvalidRegexError("empty regular expression")
    if len(raw) > MAX_REGEX_LENGTH:
        raise InvalidRegexError(f"regular expression longer than {MAX_REGEX_LENGTH} characters")
    try:
        re2.compile(raw, _RE2_OPTIONS)
    except re2.error as exc:
        raise InvalidRegexError(
            f"regular expression {raw!r} is invalid or not linear-time (RE2: {exc})"
        ) from None
    return raw


def regex_host(pattern: str) -> str:
    """The host a regex target is anchored to: ``https?://host/...`` -> host.

    A regex purge must stay inside one owned domain, so it has to start with a
    literal scheme and host.
    """
    m = _REGEX_HOST.match(pattern)
    if not m:
        raise InvalidRegexError(
            "a regex must start with a literal scheme and host, e.g. "
            r"'https?://www.example.com/img/.*\.png'"
        )
    return normalize_host(m.group(1).replace("\\.", ".").replace("\\-", "-"))


def parse_target(target_type: TargetType, raw: str) -> Target:
    """Validate one target of a given type (no ownership check yet)."""
    value, domain = parse_value(target_type, raw)
    return Target(type=target_type, value=value, domain=domain, raw=raw)


def parse_value(target_type: TargetType, raw: str) -> tuple[str, str | None]:
    """:func:`parse_target` as ``(canonical value, domain)``, for callers that build the
    Target themselves (with its site)."""
    value: str
    domain: str | None
    match target_type:
        case TargetType.URL | TargetType.URL_IGNORE_PARAMS:
            value, domain = parse_url(raw)
            if target_type is TargetType.URL_IGNORE_PARAMS:
                value = value.split("?", 1)[0]
        case TargetType.PREFIX:
            value, domain = parse_url(raw)
            value = value.split("?", 1)[0]
        case TargetType.REGEX:
            value = parse_regex(raw.strip())
            domain = regex_host(value)
        case TargetType.HOST:
            value = domain = normalize_host(raw)
            if domain.startswith("*."):
                raise ValidationError("a host target cannot be a wildcard", field="targets")
        case TargetType.ALL:
            value = domain = normalize_host(raw) if raw.strip() not in ("", "*") else "*"
            if value == "*":
                domain = None
        case TargetType.TAG:
            value = raw.strip()
            if not value or len(value) > MAX_TAG_LENGTH or not _TAG_RE.match(value):
                raise ValidationError(
                    f"cache tag {raw!r} must be 1-{MAX_TAG_LENGTH} printable ASCII characters "
                    "without spaces", field="targets")
            domain = None
    return value, domain


def domain_matcher(domains: list[str]) -> Callable[[str], bool]:
    """A predicate for 'host is one of these domains' (``*.example.com`` wildcards allowed)."""
    exact = {d for d in domains if not d.startswith("*.")}
    suffixes = tuple(d[1:] for d in domains if d.startswith("*."))

    def match(host: str) -> bool:
        return host in exact or (bool(suffixes) and host.endswith(suffixes))

    return match
