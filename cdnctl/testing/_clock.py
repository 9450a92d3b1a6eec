"""A clock moved by hand and metrics that keep every call."""


from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cdnctl.core.model import (
    TaskState,
)

# -- clock and metrics -------------------------------------------------------------------


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2024, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


@dataclass
class RecordingMetrics:
    """Keeps every metric call, for assertions."""

    finished: list[TaskState] = field(default_factory=list)
    attempts: list[tuple[str, float, bool, str]] = field(default_factory=list)

    def task_finished(self, state: TaskState) -> None:
        self.finished.append(state)

    def attempt(self, node: str, latency_ms: float, ok: bool, code: str) -> None:
        self.attempts.append((node, latency_ms, ok, code))
