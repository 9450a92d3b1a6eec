"""Expanding a submitted upload task into cdnctl jobs, and aggregating its status.

The file is read from the database and walked in chunks of at most ``max_targets``
lines: each chunk is validated in a worker thread (one line, one ``service.spec``),
its valid lines are submitted as one job under the idempotency key
``alibaba-esa-upload:<id>:<chunk>``, and the cursor is saved. Nothing is kept only
in memory, so a crash resumes at the last saved chunk and never duplicates a task.
Lines past the daily quota are counted as ``QuotaExcess``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cdnctl.api.dialects.alibaba._tasks import QUOTA_TZ, purge_spec
from cdnctl.api.dialects.alibaba._wire import Call
from cdnctl.api.dialects.alibaba.cdn import MAX_ENTRY, with_scheme
from cdnctl.api.dialects.alibaba.errors import Product
from cdnctl.api.dialects.alibaba.esa import in_site, scope_of, site_limits
from cdnctl.core import uploads
from cdnctl.core.errors import (
    IdempotencyConflictError,
    InvalidDomainError,
    InvalidRegexError,
    InvalidUrlError,
    QuotaExceededError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import Account, Action, QuotaKind, Site, TargetType, TaskSpec, TaskState
from cdnctl.core.ports import TaskFilter
from cdnctl.core.service import Submission
from cdnctl.core.uploads import Progress, Upload

if TYPE_CHECKING:
    from cdnctl.app import Runtime

log = logging.getLogger(__name__)
LEASE_SECONDS = 60.0
SAVE_EVERY = 1.0
SAMPLES = 5
ERROR_ORDER = ("InvalidUrl", "InvalidDomain", "QuotaExcess", "OtherErrors")
TYPES = {"file": TargetType.URL, "directory": TargetType.PREFIX,
         "ignoreparams": TargetType.URL_IGNORE_PARAMS, "preload": TargetType.URL}
_running: dict[tuple[int, int], asyncio.Task[None]] = {}


def source_of(upload: Upload) -> str:
    return f"alibaba-esa:{upload.site_id}:upload:{upload.id}"


def lines_from(content: bytes, start: int, limit: int) -> tuple[list[bytes], int]:
    """Up to ``limit`` lines from byte offset ``start``; returns them and the next offset."""
    out: list[bytes] = []
    pos = start
    size = len(content)
    while pos < size and len(out) < limit:
        end = content.find(b"\n", pos)
        nxt = size if end < 0 else end + 1
        out.append(content[pos:nxt])
        pos = nxt
    return out, pos


@dataclass
class Tally:
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[int]] = field(default_factory=dict)

    def add(self, code: str, line_no: int, count: int = 1) -> None:
        self.errors[code] = self.errors.get(code, 0) + count
        seen = self.samples.setdefault(code, [])
        if len(seen) < SAMPLES:
            seen.append(line_no)


def classify(exc: Exception) -> str:
    if isinstance(exc, InvalidDomainError):
        return "InvalidDomain"
    if isinstance(exc, UnsupportedError):
        return "OtherErrors"
    if isinstance(exc, InvalidUrlError | InvalidRegexError | UnicodeDecodeError):
        return "InvalidUrl"
    if isinstance(exc, ValidationError) and exc.field in (None, "host", "targets"):
        return "InvalidUrl"
    return "OtherErrors"


def validate(call: Call, site: Site, upload: Upload, force: bool, lines: list[bytes],
             first_line: int, tally: Tally) -> list[TaskSpec]:
    """One chunk, in a worker thread: valid lines become specs, the rest are tallied."""
    target_type = TYPES[upload.type]
    svc = call.runtime.service
    specs: list[TaskSpec] = []
    for offset, raw in enumerate(lines):
        line_no = first_line + offset
        try:
            text = raw.decode("utf-8").strip()
            if not text:
                continue
            if len(text) > MAX_ENTRY:
                raise InvalidUrlError("line too long")
            url = with_scheme(text)
            if upload.type == "preload":
                spec = svc.spec(call.account, Action.PREFETCH, TargetType.URL, url,
                                headers={"Accept-Encoding": "gzip"})
            else:
                spec = purge_spec(call, target_type, url, force=force)
            specs.append(in_site(call, site, spec))
        except Exception as exc:  # every refusal is a per-line error code, never a 500
            tally.add(classify(exc), line_no)
    return specs


async def expand(runtime: Runtime, upload_id: int) -> None:
    """Expand one submitted upload (if nobody else holds its lease)."""
    repo = runtime.uploads
    owner = uuid.uuid4().hex
    upload = await repo.lease(upload_id, owner, runtime.clock.now(), LEASE_SECONDS)
    if upload is None:
        return
    account = runtime.directory.account(upload.account_id)
    site = runtime.directory.site_by_id(upload.account_id, upload.site_id)
    content = await repo.content(upload_id)
    tally = Tally(dict(upload.errors), {k: list(v) for k, v in upload.samples.items()})
    p = Progress(cursor=upload.cursor, line_no=upload.line_no, chunk=upload.chunk,
                 submitted=upload.submitted, errors=tally.errors, samples=tally.samples)
    if account is None or site is None:  # the configuration changed under it
        tally.add("OtherErrors", p.line_no + 1, max(1, upload.lines - p.line_no))
        await repo.progress(upload_id, owner, p, done=True, now=runtime.clock.now(),
                            seconds=LEASE_SECONDS)
        return
    call = Call(runtime=runtime, account=account, params={}, request_id=uuid.uuid4().hex,
                action="SubmitUploadTask", product=Product.ESA, access_key_id="")
    chunk_size = runtime.service.limits.max_targets
    quota_left: int | None = None
    saved = time.monotonic()
    while p.cursor < len(content):
        lines, cursor = lines_from(content, p.cursor, chunk_size)
        specs = await asyncio.to_thread(validate, call, site, upload, upload.force, lines,
                                        p.line_no + 1, tally)
        created, quota_left = await _submit_chunk(call, site, upload, p.chunk, specs,
                                                  quota_left, tally, p.line_no + 1)
        p = Progress(cursor=cursor, line_no=p.line_no + len(lines), chunk=p.chunk + 1,
                     submitted=p.submitted + created, errors=tally.errors,
                     samples=tally.samples)
        done = p.cursor >= len(content)
        # Save after every chunk that created tasks, and at least every SAVE_EVERY s: a
        # replayed chunk is harmless (idempotency key), the saved tally goes with its cursor.
        if not (done or created or time.monotonic() - saved >= SAVE_EVERY):
            continue
        saved = time.monotonic()
        if not await repo.progress(upload_id, owner, p, done=done, now=runtime.clock.now(),
                                   seconds=LEASE_SECONDS):
            log.warning("upload %s: lease lost, another process continues it", upload_id)
            return
    if not content or upload.cursor >= len(content):
        await repo.progress(upload_id, owner, p, done=True, now=runtime.clock.now(),
                            seconds=LEASE_SECONDS)


async def _submit_chunk(call: Call, site: Site, upload: Upload, chunk: int,
                        specs: list[TaskSpec], quota_left: int | None, tally: Tally,
                        first_line: int) -> tuple[int, int | None]:
    """Submit a chunk's valid specs; the part beyond the quota counts as QuotaExcess."""
    if not specs:
        return 0, quota_left
    if quota_left is not None and quota_left <= 0:
        tally.add("QuotaExcess", first_line, len(specs))
        return 0, 0
    svc = call.runtime.service
    limits = site_limits(call, site)
    for attempt in range(2):
        try:
            done = await svc.submit(Submission(
                account=call.account, specs=specs, source=source_of(upload),
                request_id=call.request_id, idempotency_key=f"alibaba-esa-upload:{upload.id}"
                f":{chunk}", quota_scope=scope_of(site), quota_limits=limits, quota_tz=QUOTA_TZ,
                meta={"action": "SubmitUploadTask", "site_id": site.id,
                      "upload_id": upload.id}))
            return len(done.tasks), quota_left
        except IdempotencyConflictError:
            return 0, quota_left  # submitted before a restart with a different quota cut
        except QuotaExceededError as exc:
            kind = QuotaKind(exc.kind) if attempt == 0 else None
            left = await _remaining(call, site, kind) if kind is not None else 0
            tally.add("QuotaExcess", first_line, len(specs) - left)
            if left <= 0:
                return 0, 0
            specs, quota_left = specs[:left], 0
    return 0, 0


async def _remaining(call: Call, site: Site, kind: QuotaKind) -> int:
    statuses = await call.runtime.service.quota(call.account, scope=scope_of(site),
                                                limits=site_limits(call, site), tz=QUOTA_TZ)
    return next((q.remaining for q in statuses if q.kind is kind), 0)


def ensure_expanding(runtime: Runtime, upload: Upload) -> None:
    """Start (or resume) the expansion of an ``activacted`` upload in the background."""
    key = (id(runtime), upload.id)
    if upload.state != uploads.ACTIVATED or key in _running:
        return
    task = asyncio.get_running_loop().create_task(_guarded(runtime, upload.id))
    _running[key] = task
    task.add_done_callback(lambda _t: _running.pop(key, None))


async def _guarded(runtime: Runtime, upload_id: int) -> None:
    try:
        await expand(runtime, upload_id)
    except Exception:
        log.exception("expanding upload %s failed; it resumes when its lease expires",
                      upload_id)


async def resume_all(runtime: Runtime) -> None:
    """After a restart: resume every submitted upload nobody is expanding."""
    try:
        stale = await runtime.uploads.stale(runtime.clock.now())
    except Exception:
        log.exception("looking for upload tasks to resume failed")
        return
    for upload_id in stale:
        await _guarded(runtime, upload_id)


async def status(runtime: Runtime, account: Account, upload: Upload) -> Upload:
    """The upload with its aggregated status: a ``running`` upload settles once every
    child task is finished (``success``, ``partial`` or ``fail``)."""
    if upload.state == uploads.ACTIVATED:
        ensure_expanding(runtime, upload)  # a no-op while another expansion holds the lease
        return upload
    if upload.state != uploads.RUNNING:
        return upload
    svc = runtime.service
    src = [source_of(upload)]
    unfinished = await svc.count(TaskFilter(account_id=account.id, sources=src,
                                            states=[TaskState.QUEUED, TaskState.RUNNING]))
    if unfinished:
        return upload
    failed = await svc.count(TaskFilter(
        account_id=account.id, sources=src,
        states=[TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELED]))
    if upload.submitted == 0 or failed >= upload.submitted:
        final = uploads.FAIL
    elif failed == 0 and not any(upload.errors.values()):
        final = uploads.SUCCESS
    else:
        final = uploads.PARTIAL
    await runtime.uploads.settle(upload.id, final, failed, runtime.clock.now())
    return replace(upload, state=final, failed_children=failed)


def error_codes(upload: Upload) -> list[str]:
    codes = {c for c, n in upload.errors.items() if n}
    if upload.failed_children:
        codes.add("OtherErrors")
    return [c for c in ERROR_ORDER if c in codes]


_WORDS = {"InvalidUrl": "invalid url", "InvalidDomain": "domain not in this site",
          "QuotaExcess": "over the daily quota", "OtherErrors": "refused"}


def describe(upload: Upload) -> str:
    """A short human summary: what was wrong with which lines, and failed tasks."""
    parts: list[str] = []
    for code in ERROR_ORDER:
        count = upload.errors.get(code, 0)
        if count:
            lines = ", ".join(str(n) for n in upload.samples.get(code, []))
            more = ", ..." if count > len(upload.samples.get(code, [])) else ""
            parts.append(f"{count} {_WORDS[code]} (line {lines}{more})")
    if upload.failed_children:
        parts.append(f"{upload.failed_children} of {upload.submitted} tasks failed")
    if not parts and upload.state == uploads.SUCCESS:
        return f"{upload.submitted} tasks complete"
    if not parts and upload.state == uploads.FAIL:
        return "the file has no line to process"
    return "; ".join(parts)

