"""pytest fixtures that start real servers on loopback (load with
``pytest_plugins = ["tests.fixtures_servers"]``).

A server whose binary or module is missing skips the test, except when
``CDNCTL_TEST_REQUIRE_SERVERS=1`` (CI), where it fails it: CI never passes by
skipping.  Every server is killed at fixture teardown, whatever happened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.servers import (
    HungServer,
    NginxServer,
    Origin,
    ServerUnavailableError,
    VarnishServer,
)


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CDNCTL_TEST_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{reason} (and CDNCTL_TEST_REQUIRE_SERVERS=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    server = Origin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def varnish_server(origin: Origin) -> Iterator[VarnishServer]:
    """One varnishd per test module, running contrib/varnish/cdnctl.vcl."""
    try:
        server = VarnishServer(origin.port, first_byte_timeout=1.0)
    except ServerUnavailableError as exc:
        unavailable(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def nginx_server(origin: Origin) -> Iterator[NginxServer]:
    """One nginx per test module, running contrib/nginx/cdnctl.conf."""
    try:
        server = NginxServer(origin.port, read_timeout=1.0)
    except ServerUnavailableError as exc:
        unavailable(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def hung_server() -> Iterator[HungServer]:
    server = HungServer()
    try:
        yield server
    finally:
        server.close()
