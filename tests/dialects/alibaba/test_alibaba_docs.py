"""The Python examples of the Alibaba compatibility pages run against cdnctl."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs" / "dialects"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(name: str) -> list[str]:
    return BLOCK.findall((DOCS / name).read_text())


@pytest.mark.parametrize("page", ["alibaba-cdn.md", "alibaba-esa.md"])
def test_examples_run(cdnctl, file_server, page):
    urls = file_server.put("/docs-urls.txt", b"http://www.example.com/from-the-docs.txt\n")
    found = blocks(page)
    assert found
    printed = []
    for code in found:
        code = code.replace("127.0.0.1:8080", cdnctl.endpoint)
        code = code.replace("http://127.0.0.1:9000/urls.txt", urls)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, page, "exec"), {})
        assert out.getvalue()
        printed.append(out.getvalue())
    if page == "alibaba-cdn.md":
        assert "404 InvalidDomain.NotFound" in printed[0]
    else:
        assert "'UploadTaskName': 'nightly'" in printed[0]
