"""The hand-written JSON of task lists is the models' JSON, byte for byte."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cdnctl.api.native.schemas import (
    SubmitResponse,
    TaskList,
    job_json,
    job_out,
    submit_response_json,
    task_list_json,
    task_out,
)
from cdnctl.core.model import Action, Job, Method, TargetType, Task, TaskState

T0 = datetime(2026, 10, 28, 7, 5, 3, tzinfo=UTC)
NASTY = 'quote " backslash \\ slash / tab \t nl \n cr \r bs \b ff \f nul \x00 us \x1f ' \
        "del \x7f ls \u2028 ps \u2029 é ß 中文 😀"


def _tasks() -> list[Task]:
    out = []
    times = [T0, T0.replace(microsecond=1), T0.replace(microsecond=120000),
             T0.replace(microsecond=999999), datetime(1, 1, 1, tzinfo=UTC),
             T0.astimezone(timezone(timedelta(hours=2))), T0.astimezone(ZoneInfo("UTC")),
             T0.astimezone(ZoneInfo("Europe/Paris")), T0.replace(tzinfo=None)]
    texts = [None, "", "edge_timeout", NASTY]
    combos = itertools.product(TaskState, Action, TargetType, Method)
    for i, (state, action, type_, method) in enumerate(combos):
        t = times[i % len(times)]
        total = i % 4
        succeeded = min(total, i % 3)
        out.append(Task(
            id=10 ** 12 + i, job_id=f"job-{i % 7}", account_id="acct", action=action,
            type=type_, target=f"https://www.example.com/{i}?q=\"{NASTY[: i % 40]}\"",
            raw_target=NASTY if i % 5 == 0 else f"https://www.example.com/{i}",
            domain=None if i % 6 == 0 else "www.example.com", method=method, state=state,
            created_at=t, updated_at=times[(i + 1) % len(times)],
            deadline=times[(i + 2) % len(times)], deliveries_total=total,
            deliveries_succeeded=succeeded, deliveries_failed=(total - succeeded) * (i % 2),
            error_code=texts[i % 4], description=texts[(i + 1) % 4],
            finished_at=None if i % 3 else times[(i + 3) % len(times)],
            headers={} if i % 4 else {"X-A": "1", "X-Nasty": NASTY, NASTY: ""},
            block_expires_at=None if i % 2 else times[(i + 4) % len(times)], site_id=i % 3,
        ))
    return out


TASKS = _tasks()


def test_each_task_renders_as_the_model() -> None:
    for task in TASKS:  # every state, action, type and method; odd times and text
        model = TaskList(tasks=[task_out(task)], next_cursor=None).model_dump_json()
        assert task_list_json([task], None) == model.encode(), task


@pytest.mark.parametrize("cursor", [None, "dDoxMjM", NASTY])
@pytest.mark.parametrize("count", [0, 1, len(TASKS)])
def test_task_list_json_is_the_models_json(cursor: str | None, count: int) -> None:
    tasks = TASKS[:count]
    model = TaskList(tasks=[task_out(t) for t in tasks], next_cursor=cursor)
    assert task_list_json(tasks, cursor) == model.model_dump_json().encode()


@pytest.mark.parametrize("created", [True, False])
def test_submit_response_json_is_the_models_json(created: bool) -> None:
    model = SubmitResponse(job_id="j-1", created=created, tasks=[task_out(t) for t in TASKS])
    assert submit_response_json("j-1", created, TASKS) == model.model_dump_json().encode()


@pytest.mark.parametrize("key", [None, NASTY])
def test_job_json_is_the_models_json(key: str | None) -> None:
    job = Job(id="j-2", account_id="acct", created_at=T0.replace(microsecond=5),
              source="tencent-eo", request_id=NASTY, idempotency_key=key,
              task_count=len(TASKS))
    assert job_json(job, TASKS) == job_out(job, TASKS).model_dump_json().encode()
    assert job_json(job, []) == job_out(job, []).model_dump_json().encode()


def test_the_mirrors_have_the_models_fields() -> None:
    """A field added to a model must be added to its TypedDict mirror too."""
    from cdnctl.api.native import schemas as s

    mirrors = {s.TaskOut: s._TaskDict, s.TaskCounts: s._CountsDict,
               s.TaskList: s._TaskListDict, s.SubmitResponse: s._SubmitDict,
               s.JobOut: s._JobDict}
    for model, mirror in mirrors.items():
        assert list(mirror.__annotations__) == list(model.model_fields), model
