"""The task and delivery state machines, as data.

Storage applies every move as a compare-and-set (``UPDATE ... WHERE state =
:expected``); this table says which moves exist at all::

    queued ──► running ──► succeeded
       │          ├──────► failed
       │          ├──────► timed_out
       └──────────┴──────► canceled
"""

from __future__ import annotations

from cdnctl.core.errors import InvalidTransitionError
from cdnctl.core.model import DeliveryState, TaskState

_T = TaskState
ALLOWED: dict[TaskState, frozenset[TaskState]] = {
    _T.QUEUED: frozenset({_T.RUNNING, _T.SUCCEEDED, _T.FAILED, _T.TIMED_OUT, _T.CANCELED}),
    _T.RUNNING: frozenset({_T.SUCCEEDED, _T.FAILED, _T.TIMED_OUT, _T.CANCELED}),
    _T.SUCCEEDED: frozenset(),
    _T.FAILED: frozenset(),
    _T.TIMED_OUT: frozenset(),
    _T.CANCELED: frozenset(),
}

_D = DeliveryState
DELIVERY_ALLOWED: dict[DeliveryState, frozenset[DeliveryState]] = {
    _D.PENDING: frozenset({_D.CLAIMED, _D.FAILED, _D.CANCELED}),
    _D.CLAIMED: frozenset({_D.SUCCEEDED, _D.FAILED, _D.PENDING, _D.CANCELED}),
    _D.SUCCEEDED: frozenset(),
    _D.FAILED: frozenset(),
    _D.CANCELED: frozenset(),
}


def sources_of(target: TaskState) -> frozenset[TaskState]:
    """Every state from which ``target`` may be reached (for CAS ``WHERE state IN``)."""
    return frozenset(s for s, nexts in ALLOWED.items() if target in nexts)


def delivery_sources_of(target: DeliveryState) -> frozenset[DeliveryState]:
    return frozenset(s for s, nexts in DELIVERY_ALLOWED.items() if target in nexts)


def check(current: TaskState, new: TaskState) -> None:
    if new not in ALLOWED[current]:
        raise InvalidTransitionError(f"task cannot move from {current} to {new}")


def settle(total: int, succeeded: int, failed: int) -> TaskState | None:
    """The terminal state a task reaches once all its deliveries are done, else None."""
    if succeeded + failed < total:
        return None
    return TaskState.FAILED if failed else TaskState.SUCCEEDED
