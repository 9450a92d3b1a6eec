"""Upload tasks: a URL-list file accepted from a client (Alibaba ESA ``UploadFile``),
then expanded in chunks into cdnctl jobs once submitted.

Everything a client was told was accepted is stored: the file itself, the expansion
cursor (so a restarted server resumes where it stopped; each chunk is submitted with an
idempotency key, so a replayed chunk never duplicates tasks), the per-line error
counters, and a lease so that one process at a time expands a given upload.

Storage implements :class:`UploadRepository` (``cdnctl.storage.uploads``, on the task
repository's database), with an in-memory twin in :mod:`cdnctl.testing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

#: Expansion states, then the terminal ones. ``activacted`` is Alibaba's spelling.
INIT, ACTIVATED, RUNNING = "init", "activacted", "running"
SUCCESS, PARTIAL, FAIL = "success", "partial", "fail"
TERMINAL = frozenset({SUCCESS, PARTIAL, FAIL})


@dataclass(frozen=True, slots=True)
class NewUpload:
    account_id: str
    site_id: int
    name: str
    type: str  # file | preload | directory | ignoreparams
    url: str
    created_at: datetime
    content: bytes
    lines: int


@dataclass(frozen=True, slots=True)
class Upload:
    id: int
    account_id: str
    site_id: int
    name: str
    type: str
    url: str
    created_at: datetime
    state: str
    force: bool
    size: int
    lines: int
    cursor: int  # bytes of the file already expanded
    line_no: int  # lines already expanded
    chunk: int  # chunks already submitted (the next idempotency key)
    submitted: int  # tasks created
    failed_children: int  # set when the upload settles
    errors: dict[str, int] = field(default_factory=dict)  # ErrorCode -> lines
    samples: dict[str, list[int]] = field(default_factory=dict)  # ErrorCode -> line numbers


@dataclass(frozen=True, slots=True)
class Progress:
    cursor: int
    line_no: int
    chunk: int
    submitted: int
    errors: dict[str, int]
    samples: dict[str, list[int]]


class UploadRepository(Protocol):
    """Upload tasks and their files. Every method is one transaction."""

    async def create(self, new: NewUpload) -> Upload: ...

    async def get(self, account_id: str, site_id: int, upload_id: int) -> Upload | None: ...

    async def find(self, account_id: str, site_id: int, *, type: str | None,
                   created_from: datetime, created_to: datetime | None) -> list[Upload]:
        """The site's uploads created in ``[created_from, created_to)``, newest first."""
        ...

    async def content(self, upload_id: int) -> bytes: ...

    async def submit(self, upload_id: int, force: bool, now: datetime) -> bool:
        """``init`` -> ``activacted`` (compare-and-set); False if it was not ``init``."""
        ...

    async def lease(self, upload_id: int, owner: str, now: datetime,
                    seconds: float) -> Upload | None:
        """Take the expansion lease of an ``activacted`` upload whose lease is free."""
        ...

    async def progress(self, upload_id: int, owner: str, p: Progress, *, done: bool,
                       now: datetime, seconds: float) -> bool:
        """Record expansion progress (renewing the lease); ``done`` -> ``running``."""
        ...

    async def settle(self, upload_id: int, state: str, failed_children: int,
                     now: datetime) -> None:
        """``running`` -> a terminal state (compare-and-set)."""
        ...

    async def stale(self, now: datetime) -> list[int]:
        """``activacted`` uploads nobody holds a lease on (to resume after a restart)."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete uploads (and their files) created before ``before``; how many."""
        ...
