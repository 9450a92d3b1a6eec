"""InMemoryUploadRepository: the UploadRepository twin."""


from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cdnctl.core.errors import NotFoundError
from cdnctl.core.uploads import ACTIVATED, INIT, RUNNING, NewUpload, Progress, Upload


@dataclass
class _StoredUpload:
    upload: Upload
    content: bytes
    lease_owner: str | None = None
    lease_until: datetime | None = None


class InMemoryUploadRepository:
    """The upload-task contract in pure Python (same moves as
    :class:`cdnctl.storage.uploads.SqlUploadRepository`); one lock around each method."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._uploads: dict[int, _StoredUpload] = {}
        self._next_id = 1

    @staticmethod
    def _copy(upload: Upload) -> Upload:
        return dataclasses.replace(upload, errors=dict(upload.errors),
                                   samples={k: list(v) for k, v in upload.samples.items()})

    def _free(self, stored: _StoredUpload, now: datetime) -> bool:
        return stored.lease_until is None or stored.lease_until < now

    async def create(self, new: NewUpload) -> Upload:
        with self._lock:
            upload = Upload(id=self._next_id, account_id=new.account_id, site_id=new.site_id,
                            name=new.name, type=new.type, url=new.url,
                            created_at=new.created_at, state=INIT, force=False,
                            size=len(new.content), lines=new.lines, cursor=0, line_no=0,
                            chunk=0, submitted=0, failed_children=0)
            self._next_id += 1
            self._uploads[upload.id] = _StoredUpload(upload, bytes(new.content))
            return self._copy(upload)

    async def get(self, account_id: str, site_id: int, upload_id: int) -> Upload | None:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if stored is None or (stored.upload.account_id, stored.upload.site_id) != (
                    account_id, site_id):
                return None
            return self._copy(stored.upload)

    async def find(self, account_id: str, site_id: int, *, type: str | None,
                   created_from: datetime, created_to: datetime | None) -> list[Upload]:
        with self._lock:
            return [self._copy(s.upload) for _, s in sorted(self._uploads.items(), reverse=True)
                    if s.upload.account_id == account_id and s.upload.site_id == site_id
                    and s.upload.created_at >= created_from
                    and (created_to is None or s.upload.created_at < created_to)
                    and (type is None or s.upload.type == type)]

    async def content(self, upload_id: int) -> bytes:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if stored is None:
                raise NotFoundError(f"upload {upload_id} not found")
            return stored.content

    async def submit(self, upload_id: int, force: bool, now: datetime) -> bool:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if stored is None or stored.upload.state != INIT:
                return False
            stored.upload = dataclasses.replace(stored.upload, state=ACTIVATED, force=force)
            return True

    async def lease(self, upload_id: int, owner: str, now: datetime,
                    seconds: float) -> Upload | None:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if (stored is None or stored.upload.state != ACTIVATED
                    or not self._free(stored, now)):
                return None
            stored.lease_owner, stored.lease_until = owner, now + timedelta(seconds=seconds)
            return self._copy(stored.upload)

    async def progress(self, upload_id: int, owner: str, p: Progress, *, done: bool,
                       now: datetime, seconds: float) -> bool:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if (stored is None or stored.upload.state != ACTIVATED
                    or stored.lease_owner != owner):
                return False
            stored.upload = dataclasses.replace(
                stored.upload, cursor=p.cursor, line_no=p.line_no, chunk=p.chunk,
                submitted=p.submitted, errors=dict(p.errors),
                samples={k: list(v) for k, v in p.samples.items()},
                state=RUNNING if done else ACTIVATED)
            stored.lease_until = now + timedelta(seconds=seconds)
            if done:
                stored.lease_owner = stored.lease_until = None
            return True

    async def settle(self, upload_id: int, state: str, failed_children: int,
                     now: datetime) -> None:
        with self._lock:
            stored = self._uploads.get(upload_id)
            if stored is not None and stored.upload.state == RUNNING:
                stored.upload = dataclasses.replace(stored.upload, state=state,
                                                    failed_children=failed_children)

    async def stale(self, now: datetime) -> list[int]:
        with self._lock:
            return sorted(i for i, s in self._uploads.items()
                          if s.upload.state == ACTIVATED and self._free(s, now))

    async def prune(self, before: datetime) -> int:
        with self._lock:
            old = [i for i, s in self._uploads.items() if s.upload.created_at < before]
            for i in old:
                del self._uploads[i]
            return len(old)
