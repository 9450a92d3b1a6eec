"""Value encodings on Alibaba's wire (spec §1.3): booleans, integers, times, lists, JSON.

Pure functions over the merged query/form parameters; every failure is the
Alibaba error the operation documents (or the gateway's ``Invalid<Param>``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cdnctl.api.dialects.alibaba.errors import AlibabaError, Product, invalid, missing

if TYPE_CHECKING:
    from cdnctl.app import Runtime
    from cdnctl.core.model import Account

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DIGITS = re.compile(r"^[0-9]{1,18}$")
_LINES = re.compile(r"\r?\n")
#: How long task data is kept for the query APIs, and the widest query window.
RETENTION = timedelta(days=3)
#: How far in the future an EndTime may lie (client clock skew) before it is refused.
FUTURE_SLACK = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated call: who, what, and the merged parameters."""

    runtime: Runtime
    account: Account
    params: Mapping[str, str]
    request_id: str
    action: str
    product: Product
    access_key_id: str

    def get(self, name: str) -> str | None:
        """The parameter's value, ``None`` when absent or empty."""
        value = self.params.get(name)
        return value if value not in (None, "") else None

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise missing(name)
        return value

    def now(self) -> datetime:
        return self.runtime.clock.now()


def parse_bool(call: Call, name: str, default: bool = False) -> bool:
    """``True``/``False`` (Python SDKs) or ``true``/``false``, case-insensitively."""
    raw = call.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low == "true":
        return True
    if low == "false":
        return False
    raise invalid(name)


def parse_int(call: Call, name: str, *, default: int | None = None,
              bounds: tuple[int, int] | None = None,
              out_of_range: Callable[[], AlibabaError] | None = None) -> int | None:
    raw = call.get(name)
    if raw is None:
        return default
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,18}", text):
        raise invalid(name)
    value = int(text)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise (out_of_range or (lambda: invalid(name)))()
    return value


def parse_id(raw: str) -> int | None:
    """A numeric id (task / upload id), or ``None`` when malformed."""
    text = raw.strip()
    return int(text) if _DIGITS.match(text) else None


def parse_time(raw: str) -> datetime | None:
    """``yyyy-MM-ddTHH:mm:ssZ`` (UTC) or ``None`` when malformed."""
    if not _TIME_RE.match(raw):
        return None
    try:
        return datetime.strptime(raw, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def render_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def split_lines(raw: str) -> list[str]:
    """``\\n`` or ``\\r\\n`` separated entries, blanks dropped, duplicates folded."""
    entries = (e.strip() for e in _LINES.split(raw))
    return list(dict.fromkeys(e for e in entries if e))


def split_commas(raw: str) -> list[str]:
    return [e.strip() for e in raw.split(",")]


def parse_json(call: Call, name: str) -> Any:
    """A JSON-in-query ("shrink") parameter; ``None`` when absent."""
    raw = call.get(name)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid(name) from None


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime | None


def time_window(call: Call, *, end_slack: timedelta = FUTURE_SLACK) -> Window:
    """StartTime/EndTime with the refresh family's rules (seed ``DescribeRefreshTasks``):
    both or neither, well formed, not in the future, End after Start, at most 3 days back.
    Neither: the last 3 days."""
    now = call.now()
    raw_start, raw_end = call.get("StartTime"), call.get("EndTime")
    if raw_start is None and raw_end is None:
        return Window(start=now - RETENTION, end=None)
    if raw_start is None or raw_end is None:
        raise AlibabaError("MissingTimeParameter",
                           "The StartTime and EndTime must be both specified.")
    start = parse_time(raw_start)
    if start is None:
        raise AlibabaError("InvalidStartTime.Malformed", "The specified StartTime is invalid.")
    end = parse_time(raw_end)
    if end is None:
        raise AlibabaError("InvalidEndTime.Malformed", "The specified EndTime is invalid.")
    if start > now:
        raise AlibabaError("InvalidStartTime.ValueNotSupported",
                           "The specified StartTime is invalid.")
    if end > now + end_slack:
        raise AlibabaError("InvalidEndTime.ValueNotSupported",
                           "The specified EndTime is invalid.")
    if end <= start:
        raise AlibabaError("InvalidEndTime.Mismatch",
                           "The specified EndTime is earlier than the StartTime.")
    if start < now - RETENTION:
        raise AlibabaError("InvalidTime", "The query time cannot exceed the last 3 days.")
    return Window(start=start, end=end)
