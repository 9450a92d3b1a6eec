"""Parse and check Huawei requests (query strings and JSON bodies) into plain values.

Every documented rule lives here: required fields, enums, ranges, "given
together" pairs, time windows (Unix milliseconds), per-call URL limits. A bad
value is a 400 ``CDN.0001`` naming the parameter; too many URLs in one call is
``CDN.0110`` (refresh, preheat) or ``CDN.0005`` (ban / unban). Nothing here does
I/O; :mod:`.operations` turns the results into core calls.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from cdnctl.api.dialects.huawei_cdn.errors import HuaweiError, cdn_error, param_error
from cdnctl.core.model import Action, Method, TargetType
from cdnctl.core.ports import JobOrder, JobStatus

MAX_URLS = 1000  # refresh (file), preheat, ban / unban: per call
MAX_DIRECTORIES = 100  # refresh (directory): per call
MAX_URL_LENGTH = 4096
DEFAULT_BAN_DAYS = 7
_INT = re.compile(r"^-?[0-9]{1,19}$")
# Everything printable in ASCII stays as sent; only non-ASCII (and spaces) is encoded.
_ASCII_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))


# -- times ------------------------------------------------------------------
def to_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


# -- query strings ------------------------------------------------------------
class Query:
    """The query parameters (first value of each name) with typed, checked getters."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.params = params

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value else None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            raise param_error(f"The value of {name} must be one of {', '.join(allowed)}.")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return default
        if not _INT.match(raw.strip()):
            raise param_error(f"The value of {name} must be an integer.")
        value = int(raw)
        if not low <= value <= high:
            raise param_error(f"The value of {name} must be between {low} and {high}.")
        return value

    def millis(self, name: str) -> datetime | None:
        raw = self.params.get(name)
        if raw is None or raw == "":
            return None
        if not _INT.match(raw.strip()) or int(raw) < 0:
            raise param_error(f"The value of {name} must be a timestamp in milliseconds.")
        try:
            return from_ms(int(raw))
        except OverflowError:
            raise param_error(f"The value of {name} is out of range.") from None

    def together(self, first: str, second: str) -> None:
        if bool(self.text(first)) != bool(self.text(second)):
            raise param_error(f"{first} and {second} must be specified together.")


def page(query: Query, *, default_size: int, max_size: int) -> tuple[int, int]:
    """``page_size``/``page_number`` (1-based, given together) as (offset, limit)."""
    query.together("page_size", "page_number")
    size = query.integer("page_size", default_size, 1, max_size)
    number = query.integer("page_number", 1, 1, 65535)
    return (number - 1) * size, size


# -- bodies -----------------------------------------------------------------
def json_object(body: bytes, key: str) -> dict[str, Any]:
    """The object under ``key`` of a JSON object body."""
    try:
        doc = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise param_error("The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise param_error(f"The request body must be a JSON object with {key}.")
    inner = doc.get(key)
    if inner is None:
        raise param_error(f"The parameter {key} is missing.")
    if not isinstance(inner, dict):
        raise param_error(f"The parameter {key} must be an object.")
    return inner


def _urls(obj: dict[str, Any], where: str, limit: int, too_many: HuaweiError) -> list[str]:
    urls = obj.get("urls")
    if urls is None:
        raise param_error(f"The parameter {where}.urls is missing.")
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise param_error(f"The parameter {where}.urls must be an array of strings.")
    if not urls:
        raise param_error(f"The parameter {where}.urls must not be empty.")
    if len(urls) > limit:
        raise too_many
    for url in urls:
        if not url.lower().startswith(("http://", "https://")):
            raise param_error(f"The URL must start with http:// or https://: {url}")
        if len(url) > MAX_URL_LENGTH:
            raise param_error(f"The URL is longer than {MAX_URL_LENGTH} characters: {url[:64]}…")
    return list(urls)


def _flag(obj: dict[str, Any], name: str, where: str) -> bool:
    value = obj.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise param_error(f"The parameter {where}.{name} must be a boolean.")
    return value


def zh_encode(url: str) -> str:
    """``zh_url_encode``: percent-encode (UTF-8) every non-ASCII character of the URL."""
    return quote(url, safe=_ASCII_SAFE)


@dataclass(frozen=True, slots=True)
class UrlBatch:
    """A refresh or preheat request."""

    action: Action
    type: TargetType
    method: Method
    urls: list[str]


def parse_refresh(body: bytes) -> UrlBatch:
    obj = json_object(body, "refresh_task")
    kind = obj.get("type", "file") or "file"
    if kind not in ("file", "directory"):
        raise param_error("The value of refresh_task.type must be file or directory.")
    mode = obj.get("mode", "all") or "all"
    if mode not in ("all", "detect_modify_refresh"):
        raise param_error("The value of refresh_task.mode must be all or detect_modify_refresh.")
    encode = _flag(obj, "zh_url_encode", "refresh_task")
    directory = kind == "directory"
    limit = MAX_DIRECTORIES if directory else MAX_URLS
    urls = _urls(obj, "refresh_task", limit, cdn_error("CDN.0110"))
    # detect_modify_refresh = "refresh only changed resources": a soft purge (mark
    # stale, revalidate with the origin) refetches exactly what changed.
    soft = directory and mode == "detect_modify_refresh"
    return UrlBatch(action=Action.PURGE,
                    type=TargetType.PREFIX if directory else TargetType.URL,
                    method=Method.INVALIDATE if soft else Method.DELETE,
                    urls=[zh_encode(u) for u in urls] if encode else urls)


def parse_preheat(body: bytes) -> UrlBatch:
    obj = json_object(body, "preheating_task")
    encode = _flag(obj, "zh_url_encode", "preheating_task")
    urls = _urls(obj, "preheating_task", MAX_URLS, cdn_error("CDN.0110"))
    return UrlBatch(action=Action.PREFETCH, type=TargetType.URL, method=Method.DELETE,
                    urls=[zh_encode(u) for u in urls] if encode else urls)


@dataclass(frozen=True, slots=True)
class BanBatch:
    action: Action  # BLOCK or UNBLOCK
    urls: list[str]
    days: int


def parse_ban(action: str, body: bytes) -> BanBatch:
    if action not in ("ban", "unban"):
        raise param_error("The value of action must be ban or unban.")
    obj = json_object(body, "access_control_urls")
    days = obj.get("ban_duration", DEFAULT_BAN_DAYS)
    if days is None:
        days = DEFAULT_BAN_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 30:
        raise param_error("The value of access_control_urls.ban_duration must be an integer "
                          "between 1 and 30.")
    urls = _urls(obj, "access_control_urls", MAX_URLS, cdn_error("CDN.0005"))
    return BanBatch(action=Action.BLOCK if action == "ban" else Action.UNBLOCK, urls=urls,
                    days=days)


# -- list queries -------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Window:
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive

    def contains(self, when: datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _window(query: Query, first: str, second: str, *, together: bool,
            max_span: timedelta | None = None) -> Window:
    if together:
        query.together(first, second)
    start, end = query.millis(first), query.millis(second)
    if start is not None and end is not None:
        if end < start:
            raise param_error(f"{second} must not be earlier than {first}.")
        if max_span is not None and end - start > max_span:
            days = max_span.days
            raise param_error(f"The span between {first} and {second} cannot exceed {days} days.")
    # Both ends are given inclusively (milliseconds); the window's end is exclusive.
    return Window(start=start, end=end + timedelta(milliseconds=1) if end is not None else None)


ACCESS_STATUSES = {"processing": JobStatus.PROCESSING, "succeed": JobStatus.SUCCEEDED,
                   "failed": JobStatus.FAILED}


@dataclass(frozen=True, slots=True)
class AccessTaskQuery:
    window: Window
    offset: int
    limit: int
    statuses: list[JobStatus] | None


def parse_access_tasks(query: Query, now: datetime) -> AccessTaskQuery:
    window = _window(query, "start_time", "end_time", together=True,
                     max_span=timedelta(days=7))
    if window.start is None:  # the documented defaults are garbled: the last 3 days
        window = Window(start=now - timedelta(days=3), end=now + timedelta(milliseconds=1))
    offset = query.integer("offset", 0, 0, 2**31 - 1)
    limit = query.integer("limit", 10, 1, 100)
    status = query.choice("status", tuple(ACCESS_STATUSES))
    return AccessTaskQuery(window=window, offset=offset, limit=limit,
                           statuses=[ACCESS_STATUSES[status]] if status else None)


@dataclass(frozen=True, slots=True)
class BanUrlQuery:
    window: Window
    offset: int
    limit: int
    url: str | None


def parse_ban_urls(query: Query) -> BanUrlQuery:
    window = _window(query, "start_time", "end_time", together=True)
    offset, limit = page(query, default_size=10, max_size=50)
    return BanUrlQuery(window=window, offset=offset, limit=limit, url=query.text("url"))


_ORDER = {"task_type": JobOrder.ACTION, "total": JobOrder.TOTAL,
          "processing": JobOrder.PROCESSING, "succeed": JobOrder.SUCCEEDED,
          "failed": JobOrder.FAILED, "create_time": JobOrder.CREATED_AT}


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    window: Window
    offset: int
    limit: int
    statuses: list[JobStatus] | None
    actions: list[Action]
    type: TargetType
    order: JobOrder
    descending: bool


def parse_history(query: Query) -> HistoryQuery:
    offset, limit = page(query, default_size=30, max_size=10000)
    status = query.choice("status", ("task_inprocess", "task_done"))
    statuses = None
    if status is not None:
        statuses = ([JobStatus.PROCESSING] if status == "task_inprocess"
                    else [JobStatus.SUCCEEDED, JobStatus.FAILED])
    window = _window(query, "start_date", "end_date", together=False)
    field = query.choice("order_field", tuple(_ORDER))
    direction = query.choice("order_type", ("desc", "asc"))
    if field is None or direction is None:  # documented: both, or the defaults for both
        field, direction = "create_time", "desc"
    task_type = query.choice("task_type", ("refresh", "preheating"))
    actions = ([Action.PURGE, Action.PREFETCH] if task_type is None
               else [Action.PURGE] if task_type == "refresh" else [Action.PREFETCH])
    file_type = query.choice("file_type", ("file", "directory")) or "file"  # documented default
    return HistoryQuery(window=window, offset=offset, limit=limit, statuses=statuses,
                        actions=actions,
                        type=TargetType.URL if file_type == "file" else TargetType.PREFIX,
                        order=_ORDER[field], descending=direction == "desc")


URL_STATUSES = ("processing", "succeed", "failed", "waiting", "refreshing", "preheating")


@dataclass(frozen=True, slots=True)
class DetailQuery:
    offset: int
    limit: int
    status: str | None
    url: str | None
    create_time: datetime | None


def parse_detail(query: Query, now: datetime) -> DetailQuery:
    offset, limit = page(query, default_size=30, max_size=10000)
    create_time = query.millis("create_time")
    if create_time is not None and create_time < now - timedelta(days=15):
        raise param_error("create_time cannot be more than 15 days ago.")
    return DetailQuery(offset=offset, limit=limit, status=query.choice("status", URL_STATUSES),
                       url=query.text("url"), create_time=create_time)
