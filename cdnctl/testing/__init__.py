"""Test doubles that ship with the package (procrastinate ``testing``, httpx ``MockTransport``).

* :class:`InMemoryTaskRepository` — the :class:`~cdnctl.core.ports.TaskRepository`
  contract in pure Python; ``tests/integration/test_repository_contract.py`` runs the
  same suite over it, SQLite and PostgreSQL.
* :class:`InMemoryUploadRepository` — the :class:`~cdnctl.core.uploads.UploadRepository`
  twin (``tests/integration/test_upload_repository.py`` runs it with SQLite and PostgreSQL).
* :class:`FrozenClock` — a :class:`~cdnctl.core.ports.Clock` you move by hand.
* :class:`RecordingMetrics` — a :class:`~cdnctl.core.ports.Metrics` that keeps every call.
* :class:`FakeEdge` — an edge adapter that records calls and fails as scripted.
"""

from __future__ import annotations

from cdnctl.testing._clock import FrozenClock, RecordingMetrics
from cdnctl.testing._edges import FakeEdge
from cdnctl.testing._tasks import InMemoryTaskRepository
from cdnctl.testing._uploads import InMemoryUploadRepository

__all__ = [
    "FakeEdge",
    "FrozenClock",
    "InMemoryTaskRepository",
    "InMemoryUploadRepository",
    "RecordingMetrics",
]
