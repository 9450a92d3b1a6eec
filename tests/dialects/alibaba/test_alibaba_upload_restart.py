"""An accepted ESA upload task outlives its process: the next process resumes it at
startup, from the stored file (the upload store is ``Runtime.uploads``, migrated with the
rest of the schema; the dialect holds no SQL)."""

from __future__ import annotations

import asyncio

from cdnctl.api.dialects.alibaba import DIALECT
from cdnctl.app import build_runtime
from cdnctl.config import parse
from cdnctl.core.ports import TaskFilter
from cdnctl.core.uploads import RUNNING, NewUpload
from cdnctl.storage import create_engine
from cdnctl.storage.migrations import upgrade
from tests.dialects.alibaba import alibaba_sdk as sdk


async def test_an_accepted_upload_survives_a_restart(tmp_path) -> None:
    """An upload submitted to a process that died before expanding it is picked up by the
    next process at startup (``DIALECT.routes(runtime)`` -> ``resume_all``): its tasks are
    created from the stored file, not from anything that was in the dead process."""
    db = tmp_path / "restart.db"
    engine = create_engine(f"sqlite:///{db}")
    upgrade(engine)
    engine.dispose()
    settings = parse(sdk.settings_data(db, "http://127.0.0.1:9"))
    first = await build_runtime(settings)
    repo = first.uploads
    up = await repo.create(NewUpload("1001", 12, "n", "file", "http://f/x", first.clock.now(),
                                     b"http://sim.example.com/1\nbad line\n", 2))
    assert await repo.submit(up.id, False, first.clock.now())
    await first.aclose()  # the process dies before expanding

    second = await build_runtime(settings)
    try:
        DIALECT.routes(second)  # what create_app does at startup
        for _ in range(100):
            current = await second.uploads.get("1001", 12, up.id)
            if current is not None and current.state == RUNNING:
                break
            await asyncio.sleep(0.05)
        assert current is not None
        assert (current.state, current.submitted, current.errors) == (
            "running", 1, {"InvalidUrl": 1})
        src = f"alibaba-esa:12:upload:{up.id}"
        assert await second.service.count(TaskFilter(account_id="1001", sources=[src])) == 1
    finally:
        await second.aclose()
