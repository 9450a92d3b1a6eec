"""When to try a delivery again: a value object, decided by error class, not by text."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    wait: float = 0.5  # seconds before the second attempt
    exponential_base: float = 2.0
    max_wait: float = 30.0
    jitter: float = 0.1  # +- fraction, so a fleet of retries does not stampede

    def backoff(self, attempts_made: int) -> float:
        """Seconds to wait after ``attempts_made`` attempts (>= 1)."""
        base = min(self.max_wait, self.wait * self.exponential_base ** (attempts_made - 1))
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))

    def next_attempt(
        self, *, attempts_made: int, transient: bool, now: datetime, deadline: datetime
    ) -> datetime | None:
        """When to retry, or None when this attempt was the last."""
        if not transient or attempts_made >= self.max_attempts:
            return None
        at = now + timedelta(seconds=self.backoff(attempts_made))
        return at if at < deadline else None
