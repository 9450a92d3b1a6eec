"""Alibaba dialect parsing, mapping and rendering, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cdnctl.api.dialects.alibaba import _expand, _render, _tasks, _wire, cdn, cdn_query, errors
from cdnctl.core.errors import (
    IdempotencyConflictError,
    InvalidDomainError,
    InvalidUrlError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import Action, Method, TargetType, Task, TaskState
from cdnctl.core.uploads import Upload

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def task(**kw) -> Task:
    base = {"id": 7, "job_id": "j", "account_id": "1", "action": Action.PURGE,
            "type": TargetType.URL, "target": "http://a.example/x", "raw_target": "a.example/x",
            "domain": "a.example", "method": Method.DELETE, "state": TaskState.QUEUED,
            "created_at": NOW, "updated_at": NOW, "deadline": NOW, "deliveries_total": 3,
            "deliveries_succeeded": 1, "deliveries_failed": 0}
    base.update(kw)
    return Task(**base)


def test_split_lines_and_commas():
    assert _wire.split_lines("a\r\nb\n\n a \nb") == ["a", "b"]
    assert _wire.split_commas("1, 2,") == ["1", "2", ""]


def test_times():
    assert _wire.parse_time("2026-01-02T03:04:05Z") == NOW
    for bad in ("2026-01-02 03:04:05", "2026-1-02T03:04:05Z", "2026-13-02T03:04:05Z", ""):
        assert _wire.parse_time(bad) is None
    assert _wire.render_time(NOW + timedelta(microseconds=900)) == "2026-01-02T03:04:05Z"


def test_ids():
    assert _wire.parse_id(" 42 ") == 42
    assert _wire.parse_id("4a") is None
    assert _wire.parse_id("1" * 19) is None


@pytest.mark.parametrize(("state", "code", "status", "text"), [
    (TaskState.QUEUED, None, "Refreshing", ""),
    (TaskState.RUNNING, None, "Refreshing", ""),
    (TaskState.SUCCEEDED, None, "Complete", ""),
    (TaskState.FAILED, "origin_timeout", "Failed", "Origin Timeout"),
    (TaskState.FAILED, "origin_5xx", "Failed", "Origin Return StatusCode 5XX"),
    (TaskState.FAILED, "edge_unreachable", "Failed", "Internal Error"),
    (TaskState.TIMED_OUT, None, "Failed", "Internal Error"),
    (TaskState.CANCELED, None, "Failed", "Internal Error"),
])
def test_status_and_description(state, code, status, text):
    t = task(state=state, error_code=code)
    assert _tasks.status(t) == status
    assert _tasks.description(t) == text


def test_cdn_task_rendering():
    row = cdn_query.cdn_task(task())
    assert row == {"TaskId": "7", "ObjectPath": "http://a.example/x", "ObjectType": "file",
                   "Status": "Refreshing", "Process": "33%",
                   "CreationTime": "2026-01-02T03:04:05Z", "Description": ""}
    kinds = {(Action.PREFETCH, TargetType.URL): "preload",
             (Action.BLOCK, TargetType.URL): "block", (Action.UNBLOCK, TargetType.URL): "unblock",
             (Action.PURGE, TargetType.URL_IGNORE_PARAMS): "ignoreParams",
             (Action.PURGE, TargetType.TAG): "cachetag"}
    for (action, kind), name in kinds.items():
        assert cdn_query.object_type(task(action=action, type=kind)) == name
    assert cdn_query.object_path(task(raw_target="http://A.example/x")) == "http://A.example/x"


def test_with_scheme():
    assert cdn.with_scheme("a.example/x") == "http://a.example/x"
    assert cdn.with_scheme("https://a.example/x") == "https://a.example/x"
    assert cdn.with_scheme(r"a\.example/.*", TargetType.REGEX) == r"https?://a\.example/.*"
    assert cdn.with_scheme("^https?://a/.*", TargetType.REGEX) == "^https?://a/.*"


def test_xml_and_json_rendering():
    xml = _render.to_xml("XResponse", {"RequestId": "R", "Tasks": {"CDNTask": [
        {"TaskId": "1", "ObjectPath": "http://a/?x=1&y=<2>"}, {"TaskId": "2"}]},
        "Flat": [{"A": 1}, {"A": 2}], "Ok": True, "N": None})
    assert xml == ("<?xml version='1.0' encoding='UTF-8'?><XResponse><RequestId>R</RequestId>"
                   "<Tasks><CDNTask><TaskId>1</TaskId><ObjectPath>http://a/?x=1&amp;y=&lt;2&gt;"
                   "</ObjectPath></CDNTask><CDNTask><TaskId>2</TaskId></CDNTask></Tasks>"
                   "<Flat><A>1</A></Flat><Flat><A>2</A></Flat><Ok>true</Ok><N></N></XResponse>")
    response = _render.error(errors.too_many_requests_cdn(0.2), errors.Product.CDN, "RID",
                             xml=False)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert json.loads(bytes(response.body)) == {
        "RequestId": "RID", "HostId": "cdn.aliyuncs.com", "Code": "TooManyRequests",
        "Message": "The server is busy. Please try again later."}


def test_request_id_form():
    rid = _render.request_id("0123456789abcdef0123456789abcdef")
    assert rid == "01234567-89AB-CDEF-0123-456789ABCDEF"
    fresh = _render.request_id("not-hex")
    assert len(fresh) == 36
    assert fresh == fresh.upper()


@pytest.mark.parametrize(("exc", "cdn_code", "esa_code", "status"), [
    (QuotaExceededError(kind="url", limit=1, remaining=0, resets_at=NOW),
     "QuotaExceeded.Refresh", "QuotaExceeded", 400),
    (QuotaExceededError(kind="prefetch", limit=1, remaining=0, resets_at=NOW),
     "QuotaExceeded.Preload", "QuotaExceeded", 400),
    (QuotaExceededError(kind="block", limit=1, remaining=0, resets_at=NOW),
     "QuotaExceeded.Block", "QuotaExceeded", 400),
    (RateLimitedError(retry_after=0.5), "Throttling.User", "Throttling.User", 400),
    (InvalidDomainError(domain="x"), "InvalidDomain.NotFound", "InvalidDomain.NotFound", 404),
    (LimitExceededError("too many"), "SingleRequest.OverLimit", "InvalidParameters", 400),
    (UnsupportedError("no"), "OperationDenied", "OperationDenied", 403),
    (InvalidUrlError("bad"), "InvalidObjectPath.Malformed", "InvalidParameters.InvalidUrls",
     400),
    (ValidationError("bad"), "InvalidObjectPath.Malformed", "InvalidParameters", 400),
    (NotFoundError("no"), "InvalidParameters", "InvalidParameters", 400),
    (IdempotencyConflictError("no"), "InvalidParameters", "InvalidParameters", 400),
])
def test_core_error_table(exc, cdn_code, esa_code, status):
    cdn_err = errors.from_core(exc, errors.Product.CDN)
    esa_err = errors.from_core(exc, errors.Product.ESA)
    assert (cdn_err.code, esa_err.code, cdn_err.status) == (cdn_code, esa_code, status)


def test_gateway_errors():
    assert errors.missing("TaskId").message == "TaskId is mandatory for this action."
    assert errors.invalid("Area").code == "InvalidArea"
    assert errors.api_not_found().status == 404
    assert errors.internal_error().status == 500


def test_lines_from_chunks():
    content = b"a\nbb\r\n\nccc"
    lines, pos = _expand.lines_from(content, 0, 2)
    assert (lines, pos) == ([b"a\n", b"bb\r\n"], 6)
    lines, pos = _expand.lines_from(content, pos, 10)
    assert (lines, pos) == ([b"\n", b"ccc"], len(content))


def test_classify():
    assert _expand.classify(InvalidDomainError(domain="x")) == "InvalidDomain"
    assert _expand.classify(InvalidUrlError("x")) == "InvalidUrl"
    assert _expand.classify(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")) == "InvalidUrl"
    assert _expand.classify(UnsupportedError("x")) == "OtherErrors"


def upload(**kw) -> Upload:
    base = {"id": 1, "account_id": "1", "site_id": 1, "name": "n", "type": "file",
            "url": "u", "created_at": NOW, "state": "running", "force": False, "size": 1,
            "lines": 1, "cursor": 0, "line_no": 0, "chunk": 0, "submitted": 3,
            "failed_children": 0, "errors": {}, "samples": {}}
    base.update(kw)
    return Upload(**base)


def test_upload_summaries():
    u = upload(state="partial", errors={"InvalidUrl": 7, "QuotaExcess": 1},
               samples={"InvalidUrl": [1, 2, 3, 4, 5], "QuotaExcess": [9]}, failed_children=1)
    assert _expand.error_codes(u) == ["InvalidUrl", "QuotaExcess", "OtherErrors"]
    assert _expand.describe(u) == ("7 invalid url (line 1, 2, 3, 4, 5, ...); "
                                   "1 over the daily quota (line 9); 1 of 3 tasks failed")
    assert _expand.describe(upload(state="success")) == "3 tasks complete"
    assert _expand.describe(upload(state="fail", submitted=0)) == (
        "the file has no line to process")


def test_window_rules():
    class FakeCall:
        def __init__(self, **params):
            self.params = params

        def get(self, name):
            return self.params.get(name) or None

        def now(self):
            return NOW

    window = _wire.time_window(FakeCall())  # type: ignore[arg-type]
    assert window.start == NOW - timedelta(days=3)
    assert window.end is None
    window = _wire.time_window(FakeCall(StartTime="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
                                        EndTime="2026-01-02T03:09:00Z"))
    assert window.end == datetime(2026, 1, 2, 3, 9, tzinfo=UTC)
    with pytest.raises(errors.AlibabaError) as info:
        _wire.time_window(FakeCall(StartTime="2026-01-01T00:00:00Z",  # type: ignore[arg-type]
                                   EndTime="2026-01-01T00:00:00Z"))
    assert info.value.code == "InvalidEndTime.Mismatch"
