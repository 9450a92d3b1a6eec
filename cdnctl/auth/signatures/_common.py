"""Request parts, error type, nonce cache and helpers shared by the signature verifiers.

The verifiers are pure functions over a :class:`SignedRequest`: the HTTP layer
builds one from what it received (method, raw path, raw query, headers, body)
and never has to know which vendor scheme is in use.
"""

from __future__ import annotations

import calendar
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl, quote

__all__ = [
    "NonceCache",
    "SecretLookup",
    "SignatureError",
    "SignedRequest",
    "constant_time_equal",
    "parse_utc",
    "pct",
]


class SecretLookup(Protocol):
    """Access key id -> secret, or ``None`` when the key id is unknown (or disabled)."""

    def __call__(self, access_key_id: str, /) -> str | None: ...


class SignatureError(Exception):
    """A request failed authentication.

    ``code``, ``message`` and ``http_status`` are exactly what the vendor's gateway
    answers, so a dialect only has to render them in its own error envelope.
    """

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status

    def __repr__(self) -> str:
        return (
            f"SignatureError(code={self.code!r}, message={self.message!r}, "
            f"http_status={self.http_status!r})"
        )


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that vendor signatures cover.

    * ``path``: the raw request path, still percent-encoded as received.
    * ``query``: the query decoded with form rules (``+`` is a space), blank values
      kept, order preserved.
    * ``raw_query``: the query string exactly as it appeared on the request line.
    * ``headers``: header values as received (ASGI servers decode header bytes as
      Latin-1); keys are lower-cased on construction, so look them up lower-case.
    * ``body``: the raw body bytes.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    raw_query: str
    headers: Mapping[str, str]
    body: bytes = field(default=b"")

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    @classmethod
    def create(
        cls,
        method: str,
        path: str,
        raw_query: str = "",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> SignedRequest:
        """Build from raw parts; ``query`` is decoded from ``raw_query``.

        ``path`` may carry the query (a raw request target such as ``/?a=1``) when
        ``raw_query`` is empty. Repeated headers are joined with ``,``.
        """
        if not raw_query and "?" in path:
            path, _, raw_query = path.partition("?")
        items = headers.items() if isinstance(headers, Mapping) else headers
        merged: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            merged[key] = f"{merged[key]},{value}" if key in merged else value
        return cls(
            method=method,
            path=path or "/",
            query=parse_qsl(raw_query, keep_blank_values=True),
            raw_query=raw_query,
            headers=merged,
            body=body,
        )

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name, ``None`` when absent."""
        return self.headers.get(name.lower())

    def form(self) -> list[tuple[str, str]]:
        """Decoded ``application/x-www-form-urlencoded`` body pairs (empty otherwise)."""
        ctype = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded" or not self.body:
            return []
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)


class NonceCache:
    """In-memory, thread-safe, bounded record of signature nonces already used.

    A nonce must be remembered for as long as the request that carried it could
    still pass the clock-skew check: a request stamped ``skew`` seconds in the
    future stays acceptable for ``2 * skew`` seconds after it arrives. ``ttl``
    is therefore the whole acceptance window (default 1800 s = 2 x 15 min).
    When ``max_entries`` is reached the oldest entries are dropped first.
    """

    def __init__(self, ttl: float = 1800.0, max_entries: int = 100_000) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self.ttl = ttl
        self.max_entries = max_entries
        self._expiry: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def seen(self, key: str, nonce: str, now: float) -> bool:
        """Return True if ``(key, nonce)`` is still remembered; otherwise remember it."""
        entry = (key, nonce)
        with self._lock:
            self._purge(now)
            expires = self._expiry.get(entry)
            if expires is not None and expires > now:
                return True
            self._expiry.pop(entry, None)
            self._expiry[entry] = now + self.ttl
            while len(self._expiry) > self.max_entries:
                self._expiry.popitem(last=False)
            return False

    def _purge(self, now: float) -> None:
        # Entries are appended in arrival order, so expiries are (nearly) sorted.
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now:
                return
            del self._expiry[oldest]


def pct(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (unreserved ``A-Za-z0-9-_.~`` kept)."""
    return quote(value, safe="~")


def constant_time_equal(expected: str, given: str) -> bool:
    """Compare two signatures without leaking timing (works on non-ASCII input)."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def parse_utc(value: str, fmt: str) -> float | None:
    """Parse a UTC timestamp with ``time.strptime`` format ``fmt``; ``None`` if malformed."""
    try:
        parsed = time.strptime(value, fmt)
    except ValueError:
        return None
    if time.strftime(fmt, parsed) != value:  # strptime accepts unpadded fields
        return None
    return float(calendar.timegm(parsed))
