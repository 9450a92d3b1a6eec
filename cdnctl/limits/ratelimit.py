"""In-memory token buckets (falconry's ``token-bucket``) behind ``core.ports.RateLimiter``.

Buckets live in this process: with several API processes each enforces its own
share. A shared (SQL or Redis) bucket can replace this behind the same port.
"""

from __future__ import annotations

import threading

import token_bucket


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._limiters: dict[tuple[float, int], token_bucket.Limiter] = {}
        self._lock = threading.Lock()

    def _limiter(self, rate: float, burst: float) -> token_bucket.Limiter:
        key = (rate, max(1, int(burst)))
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = token_bucket.Limiter(rate, key[1], token_bucket.MemoryStorage())
                self._limiters[key] = limiter
            return limiter

    def acquire(self, key: str, rate: float, burst: float) -> float:
        if rate <= 0:
            return 0.0
        if self._limiter(rate, burst).consume(key):
            return 0.0
        return 1.0 / rate  # one token refills in 1/rate seconds
