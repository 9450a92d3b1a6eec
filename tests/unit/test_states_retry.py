from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cdnctl.core import states
from cdnctl.core.errors import InvalidTransitionError
from cdnctl.core.model import TaskState
from cdnctl.dispatch.retry import RetryPolicy

T = TaskState


def test_terminal_states_have_no_exit():
    for s in (T.SUCCEEDED, T.FAILED, T.TIMED_OUT, T.CANCELED):
        assert states.ALLOWED[s] == frozenset()
        assert s.terminal
        with pytest.raises(InvalidTransitionError):
            states.check(s, T.RUNNING)


def test_sources_of_cancel_are_the_live_states():
    assert states.sources_of(T.CANCELED) == {T.QUEUED, T.RUNNING}
    assert states.sources_of(T.RUNNING) == {T.QUEUED}


def test_settle():
    assert states.settle(3, 2, 0) is None
    assert states.settle(3, 3, 0) is T.SUCCEEDED
    assert states.settle(3, 2, 1) is T.FAILED
    assert states.settle(0, 0, 0) is T.SUCCEEDED


def test_retry_policy_backs_off_exponentially_and_stops():
    p = RetryPolicy(max_attempts=3, wait=1.0, jitter=0.0, max_wait=10)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    far = now + timedelta(hours=1)
    assert p.next_attempt(attempts_made=1, transient=True, now=now, deadline=far) == now + \
        timedelta(seconds=1)
    assert p.next_attempt(attempts_made=2, transient=True, now=now, deadline=far) == now + \
        timedelta(seconds=2)
    assert p.next_attempt(attempts_made=3, transient=True, now=now, deadline=far) is None
    assert p.next_attempt(attempts_made=1, transient=False, now=now, deadline=far) is None
    # never schedule past the task deadline
    assert p.next_attempt(attempts_made=1, transient=True, now=now,
                          deadline=now + timedelta(milliseconds=500)) is None
    assert RetryPolicy(wait=100, max_wait=5, jitter=0).backoff(4) == 5
