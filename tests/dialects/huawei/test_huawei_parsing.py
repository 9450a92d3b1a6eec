"""Huawei dialect: request parsing, rendering and error mapping, without I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cdnctl.api.dialects.huawei_cdn import errors, parsing, rendering
from cdnctl.api.dialects.huawei_cdn._jobs import summarize
from cdnctl.auth.signatures import SignatureError
from cdnctl.core.errors import (
    AuthError,
    ConflictError,
    InvalidDomainError,
    InvalidUrlError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
)
from cdnctl.core.model import (
    Action,
    BlockRule,
    Job,
    Method,
    QuotaKind,
    TargetType,
    Task,
    TaskState,
)
from cdnctl.core.ports import JobOrder, JobStatus, JobSummary
from cdnctl.core.quotas import QuotaStatus

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_MS = parsing.to_ms(NOW)


def body(key: str, **inner: object) -> bytes:
    return json.dumps({key: inner}).encode()


def q(**params: object) -> parsing.Query:
    return parsing.Query({k: str(v) for k, v in params.items()})


def code_of(exc_info: pytest.ExceptionInfo[errors.HuaweiError]) -> tuple[int, str]:
    return exc_info.value.status, exc_info.value.code


# -- bodies -------------------------------------------------------------------
def test_refresh_defaults_to_file_hard_purge():
    batch = parsing.parse_refresh(body("refresh_task", urls=["http://a.example/x"]))
    assert batch == parsing.UrlBatch(Action.PURGE, TargetType.URL, Method.DELETE,
                                     ["http://a.example/x"])


def test_refresh_directory_modes():
    all_mode = parsing.parse_refresh(body("refresh_task", type="directory",
                                          urls=["http://a.example/d/"]))
    assert (all_mode.type, all_mode.method) == (TargetType.PREFIX, Method.DELETE)
    changed = parsing.parse_refresh(body("refresh_task", type="directory",
                                         mode="detect_modify_refresh",
                                         urls=["http://a.example/d/"]))
    assert (changed.type, changed.method) == (TargetType.PREFIX, Method.INVALIDATE)
    # mode only concerns directories
    file_mode = parsing.parse_refresh(body("refresh_task", type="file",
                                           mode="detect_modify_refresh",
                                           urls=["http://a.example/f"]))
    assert file_mode.method is Method.DELETE


def test_zh_url_encode_encodes_non_ascii_only():
    batch = parsing.parse_refresh(body("refresh_task", zh_url_encode=True,
                                       urls=["http://a.example/中文/a b?x=1&y=%41"]))
    assert batch.urls == ["http://a.example/%E4%B8%AD%E6%96%87/a%20b?x=1&y=%41"]
    kept = parsing.parse_refresh(body("refresh_task", zh_url_encode=False,
                                      urls=["http://a.example/中文"]))
    assert kept.urls == ["http://a.example/中文"]
    unset = parsing.parse_preheat(body("preheating_task", zh_url_encode=None,
                                       urls=["http://a.example/中文"]))
    assert unset.urls == ["http://a.example/中文"]


@pytest.mark.parametrize(("raw", "code"), [
    (b"", "CDN.0001"),
    (b"not json", "CDN.0001"),
    (b"[]", "CDN.0001"),
    (b'{"other": {}}', "CDN.0001"),
    (b'{"refresh_task": []}', "CDN.0001"),
    (b'{"refresh_task": {}}', "CDN.0001"),
    (b'{"refresh_task": {"urls": []}}', "CDN.0001"),
    (b'{"refresh_task": {"urls": "http://a.example/"}}', "CDN.0001"),
    (b'{"refresh_task": {"urls": [1]}}', "CDN.0001"),
    (b'{"refresh_task": {"urls": ["ftp://a.example/x"]}}', "CDN.0001"),
    (b'{"refresh_task": {"urls": ["a.example/x"]}}', "CDN.0001"),
    (b'{"refresh_task": {"type": "regex", "urls": ["http://a.example/"]}}', "CDN.0001"),
    (b'{"refresh_task": {"mode": "some", "urls": ["http://a.example/"]}}', "CDN.0001"),
    (b'{"refresh_task": {"zh_url_encode": "yes", "urls": ["http://a.example/"]}}',
     "CDN.0001"),
    (b'\xff\xfe', "CDN.0001"),
])
def test_refresh_rejects(raw, code):
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_refresh(raw)
    assert code_of(exc) == (400, code)


def test_url_count_limits():
    many = [f"http://a.example/{i}" for i in range(1001)]
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_refresh(body("refresh_task", urls=many))
    assert code_of(exc) == (400, "CDN.0110")
    assert len(parsing.parse_refresh(body("refresh_task", urls=many[:1000])).urls) == 1000
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_refresh(body("refresh_task", type="directory",
                                   urls=[u + "/" for u in many[:101]]))
    assert code_of(exc) == (400, "CDN.0110")
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_preheat(body("preheating_task", urls=many))
    assert code_of(exc) == (400, "CDN.0110")
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_ban("ban", body("access_control_urls", urls=many))
    assert code_of(exc) == (400, "CDN.0005")
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_refresh(body("refresh_task", urls=["http://a.example/" + "x" * 4096]))
    assert code_of(exc) == (400, "CDN.0001")


def test_preheat():
    batch = parsing.parse_preheat(body("preheating_task", urls=["https://a.example/p"]))
    assert (batch.action, batch.type, batch.urls) == (Action.PREFETCH, TargetType.URL,
                                                      ["https://a.example/p"])


def test_ban_duration():
    assert parsing.parse_ban("ban", body("access_control_urls",
                                         urls=["http://a.example/"])).days == 7
    assert parsing.parse_ban("ban", body("access_control_urls", urls=["http://a.example/"],
                                         ban_duration=None)).days == 7
    for days in (1, 30):
        got = parsing.parse_ban("ban", body("access_control_urls", urls=["http://a.example/"],
                                            ban_duration=days))
        assert (got.action, got.days) == (Action.BLOCK, days)
    assert parsing.parse_ban("unban", body("access_control_urls",
                                           urls=["http://a.example/"])).action is Action.UNBLOCK
    for bad in (0, 31, "7", True, 1.5):
        with pytest.raises(errors.HuaweiError) as exc:
            parsing.parse_ban("ban", body("access_control_urls", urls=["http://a.example/"],
                                          ban_duration=bad))
        assert code_of(exc) == (400, "CDN.0001")
    with pytest.raises(errors.HuaweiError) as exc:
        parsing.parse_ban("block", body("access_control_urls", urls=["http://a.example/"]))
    assert code_of(exc) == (400, "CDN.0001")


# -- query strings ----------------------------------------------------------------
def test_access_tasks_defaults_to_last_three_days():
    got = parsing.parse_access_tasks(q(), NOW)
    assert got.window.start == NOW - timedelta(days=3)
    assert got.window.contains(NOW)
    assert not got.window.contains(NOW + timedelta(seconds=1))
    assert (got.offset, got.limit, got.statuses) == (0, 10, None)


def test_access_tasks_rules():
    start = NOW_MS - 7 * 86400_000
    ok = parsing.parse_access_tasks(q(start_time=start, end_time=NOW_MS, offset=5, limit=100,
                                      status="succeed"), NOW)
    assert ok.window.start == parsing.from_ms(start)
    assert ok.window.contains(NOW)  # the end is inclusive
    assert (ok.offset, ok.limit, ok.statuses) == (5, 100, [JobStatus.SUCCEEDED])
    bad = [
        {"start_time": NOW_MS},  # both or neither
        {"end_time": NOW_MS},
        {"start_time": start - 1, "end_time": NOW_MS},  # > 7 days
        {"start_time": NOW_MS, "end_time": NOW_MS - 1},  # reversed
        {"start_time": "yesterday", "end_time": NOW_MS},
        {"start_time": -5, "end_time": NOW_MS},
        {"start_time": 10**19, "end_time": 10**19},
        {"start_time": 9_999_999_999_999_999_999, "end_time": 9_999_999_999_999_999_999},
        {"limit": 101}, {"limit": 0}, {"limit": "ten"}, {"offset": -1},
        {"status": "done"},
    ]
    for params in bad:
        with pytest.raises(errors.HuaweiError) as exc:
            parsing.parse_access_tasks(q(**params), NOW)
        assert code_of(exc) == (400, "CDN.0001"), params


def test_ban_urls_query():
    got = parsing.parse_ban_urls(q())
    assert (got.offset, got.limit, got.url, got.window) == (0, 10, None,
                                                            parsing.Window(None, None))
    got = parsing.parse_ban_urls(q(page_size=50, page_number=3, url="http://a.example/x"))
    assert (got.offset, got.limit, got.url) == (100, 50, "http://a.example/x")
    for params in ({"page_size": 51, "page_number": 1}, {"page_size": 5},
                   {"page_number": 2}, {"start_time": NOW_MS},
                   {"page_size": 1, "page_number": 65536}):
        with pytest.raises(errors.HuaweiError) as exc:
            parsing.parse_ban_urls(q(**params))
        assert code_of(exc) == (400, "CDN.0001"), params


def test_history_query():
    got = parsing.parse_history(q())
    assert (got.offset, got.limit, got.statuses, got.type) == (0, 30, None, TargetType.URL)
    assert (got.order, got.descending) == (JobOrder.CREATED_AT, True)
    assert got.actions == [Action.PURGE, Action.PREFETCH]
    got = parsing.parse_history(q(page_size=10000, page_number=2, status="task_done",
                                  start_date=1, end_date=2, order_field="failed",
                                  order_type="asc", file_type="directory",
                                  task_type="refresh"))
    assert (got.offset, got.limit) == (10000, 10000)
    assert got.statuses == [JobStatus.SUCCEEDED, JobStatus.FAILED]
    assert (got.order, got.descending, got.type) == (JobOrder.FAILED, False, TargetType.PREFIX)
    assert got.actions == [Action.PURGE]
    assert parsing.parse_history(q(status="task_inprocess")).statuses == [JobStatus.PROCESSING]
    assert parsing.parse_history(q(task_type="preheating")).actions == [Action.PREFETCH]
    # only one of order_field / order_type: both fall back to create_time desc
    one = parsing.parse_history(q(order_field="total"))
    assert (one.order, one.descending) == (JobOrder.CREATED_AT, True)
    one = parsing.parse_history(q(order_type="asc"))
    assert (one.order, one.descending) == (JobOrder.CREATED_AT, True)
    # start / end may be given alone here
    assert parsing.parse_history(q(start_date=5)).window.start == parsing.from_ms(5)
    for params in ({"page_size": 10001, "page_number": 1}, {"page_size": 10},
                   {"status": "done"}, {"order_field": "url", "order_type": "asc"},
                   {"file_type": "dir"}, {"task_type": "ban"}, {"start_date": 9, "end_date": 1}):
        with pytest.raises(errors.HuaweiError) as exc:
            parsing.parse_history(q(**params))
        assert code_of(exc) == (400, "CDN.0001"), params


def test_detail_query():
    got = parsing.parse_detail(q(), NOW)
    assert (got.offset, got.limit, got.status, got.url, got.create_time) == (0, 30, None, None,
                                                                          None)
    got = parsing.parse_detail(q(page_size=2, page_number=2, status="waiting",
                                 url="http://a.example/", create_time=NOW_MS), NOW)
    assert (got.offset, got.limit, got.status, got.create_time) == (2, 2, "waiting", NOW)
    for params in ({"status": "queued"}, {"create_time": NOW_MS - 16 * 86400_000},
                   {"page_size": 3}):
        with pytest.raises(errors.HuaweiError) as exc:
            parsing.parse_detail(q(**params), NOW)
        assert code_of(exc) == (400, "CDN.0001"), params


# -- rendering --------------------------------------------------------------------
def task(i: int, state: TaskState, *, action: Action = Action.PURGE,
         type_: TargetType = TargetType.URL, error: str | None = None) -> Task:
    return Task(id=i, job_id="j1", account_id="1", action=action, type=type_,
                target=f"http://a.example/{i}", raw_target=f"http://a.example/{i}",
                domain="a.example", method=Method.DELETE, state=state, created_at=NOW,
                updated_at=NOW, deadline=NOW, deliveries_total=2, deliveries_succeeded=0,
                deliveries_failed=0, error_code=error, description="node-1: refused" if error
                else None)


JOB = Job(id="j1", account_id="1", created_at=NOW, source="huawei-cdn", request_id="r",
          idempotency_key=None, task_count=4)


def test_summary_counters_and_statuses():
    tasks = [task(1, TaskState.QUEUED), task(2, TaskState.RUNNING),
             task(3, TaskState.SUCCEEDED), task(4, TaskState.TIMED_OUT)]
    s = summarize(JOB, tasks)
    assert (s.total, s.processing, s.succeeded, s.failed) == (4, 2, 1, 1)
    assert s.status is JobStatus.PROCESSING
    assert rendering.history_task(s) == {
        "id": "j1", "task_type": "refresh", "status": "task_inprocess", "processing": 2,
        "succeed": 1, "failed": 1, "total": 4, "create_time": NOW_MS, "file_type": "file"}
    done = summarize(JOB, [task(1, TaskState.SUCCEEDED), task(2, TaskState.CANCELED)])
    assert done.status is JobStatus.FAILED
    assert rendering.history_status(done) == "task_done"
    ok = summarize(JOB, [task(1, TaskState.SUCCEEDED)])
    assert ok.status is JobStatus.SUCCEEDED


def test_url_objects():
    assert rendering.url_object(task(7, TaskState.QUEUED)) == {
        "id": "7", "url": "http://a.example/7", "status": "processing", "create_time": NOW_MS,
        "task_id": "j1", "task_type": "REFRESH"}
    failed = rendering.url_object(task(8, TaskState.FAILED, action=Action.PREFETCH,
                                       error="origin_5xx"))
    assert failed["status"] == "failed"
    assert failed["task_type"] == "PREHEATING"
    assert (failed["fail_classify"], failed["fail_desc"]) == ("ORIGIN_ERROR", "node-1: refused")
    assert rendering.fail_classify("edge_unreachable") == "INNER_ERROR"
    assert rendering.fail_classify(None) == "UNKNOWN_ERROR"
    timed_out = rendering.url_object(task(9, TaskState.TIMED_OUT))
    assert (timed_out["fail_classify"], timed_out["fail_desc"]) == ("UNKNOWN_ERROR", "timed_out")


def test_access_control_and_ban_shapes():
    tasks = [task(2, TaskState.SUCCEEDED, action=Action.BLOCK),
             task(1, TaskState.SUCCEEDED, action=Action.BLOCK)]
    summary = JobSummary(job=JOB, action=Action.BLOCK, type=TargetType.URL, total=2,
                         processing=0, succeeded=2, failed=0)
    assert rendering.access_control_task(summary, tasks) == {
        "id": "j1", "urls": ["http://a.example/1", "http://a.example/2"], "status": "succeed",
        "action": "ban", "create_time": NOW_MS}
    rule = BlockRule(account_id="1", url="http://a.example/1", domain="a.example",
                     created_at=NOW, expires_at=None, task_id=1)
    assert rendering.ban_url(rule) == {"type": "static", "url": "http://a.example/1",
                                       "create_time": NOW_MS, "modify_time": NOW_MS}


def test_quota_types():
    later = NOW + timedelta(days=1)
    statuses = [QuotaStatus(QuotaKind.URL, 2000, 3, later),
                QuotaStatus(QuotaKind.PREFIX, 100, 0, later),
                QuotaStatus(QuotaKind.PREFETCH, 1000, 1, later),
                QuotaStatus(QuotaKind.REGEX, 20, 0, later)]
    assert rendering.quotas(statuses, "42") == [
        {"quota_limit": 2000, "type": "file_refresh", "used": 3, "user_domain_id": "42"},
        {"quota_limit": 100, "type": "dir_refresh", "used": 0, "user_domain_id": "42"},
        {"quota_limit": 1000, "type": "preheat", "used": 1, "user_domain_id": "42"}]
    assert [q["type"] for q in rendering.quotas(statuses[:1], "42")] == ["file_refresh"]


# -- errors -----------------------------------------------------------------------
def test_envelopes_carry_the_request_id():
    cdn = errors.render(errors.cdn_error("CDN.0110"), "rid-1")
    assert cdn.status_code == 400
    assert cdn.headers["X-Request-Id"] == "rid-1"
    assert json.loads(cdn.body) == {"error": {
        "error_code": "CDN.0110",
        "error_msg": "The number of URLs to be preheated or refreshed exceeds the upper limit."}}
    gw = errors.render(errors.throttled(30, 0.2), "rid-2")
    assert gw.status_code == 429
    assert gw.headers["Retry-After"] == "1"
    assert json.loads(gw.body) == {
        "error_code": "APIGW.0308", "request_id": "rid-2",
        "error_msg": "The throttling threshold has been reached: policy user over ratelimit,"
                     "limit:30,time:1 second"}
    internal = errors.internal_error("rid-3")
    assert internal.status_code == 500
    assert json.loads(internal.body)["error"]["error_code"] == "CDN.0000"


def test_core_error_table():
    resets = NOW + timedelta(days=1)
    known = {"www.example.com"}.__contains__
    cases = [
        (QuotaExceededError(kind="url", limit=1, remaining=0, resets_at=resets), "CDN.0110"),
        (LimitExceededError("too many"), "CDN.0110"),
        (InvalidDomainError(domain="www.example.com"), "CDN.0108"),
        (InvalidDomainError(domain="nobody.example"), "CDN.0105"),
        (UnsupportedError("no soft purge"), "CDN.0106"),
        (InvalidUrlError("bad url"), "CDN.0001"),
        (NotFoundError(), "CDN.0003"),
        (ConflictError(), "CDN.0001"),
    ]
    for exc, code in cases:
        assert errors.from_core(exc, is_cdn_domain=known).code == code, exc
    assert errors.from_core(LimitExceededError(), batch="CDN.0005").code == "CDN.0005"
    assert errors.from_core(NotFoundError()).status == 404
    auth = errors.from_core(AuthError("no"))
    assert (auth.status, auth.code, auth.gateway) == (401, "APIGW.0301", True)
    rate = errors.from_core(RateLimitedError(retry_after=2.5), rate=10)
    assert (rate.status, rate.code, rate.headers) == (429, "APIGW.0308", {"Retry-After": "3"})
    sig = errors.from_signature(SignatureError("APIGW.0301", "Incorrect IAM authentication "
                                               "information: verify aksk signature fail", 401))
    assert (sig.status, sig.gateway) == (401, True)
