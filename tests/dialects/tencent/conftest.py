"""Fixtures for the EdgeOne SDK tests: one running cdnctl per test module, whose
``zone-abc`` is served by a real varnishd running contrib/varnish/cdnctl.vcl in front
of a loopback origin (see :mod:`teo_harness` for the zones).

The servers come from :mod:`tests.servers` directly rather than through the
``tests.fixtures_servers`` plugin, so these modules collect the same way whichever
other test directory imported that plugin first. A missing varnishd skips locally and
fails when ``CDNCTL_TEST_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.dialects.tencent.teo_harness import TeoServer, settings_for
from tests.servers import Origin, ServerUnavailableError, VarnishServer

REQUIRE_SERVERS = os.environ.get("CDNCTL_TEST_REQUIRE_SERVERS") == "1"  # read before scrubbing


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    server = Origin().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def varnish_server(origin: Origin) -> Iterator[VarnishServer]:
    try:
        server = VarnishServer(origin.port, first_byte_timeout=1.0)
    except ServerUnavailableError as exc:
        if REQUIRE_SERVERS:
            pytest.fail(f"{exc} (and CDNCTL_TEST_REQUIRE_SERVERS=1)", pytrace=False)
        pytest.skip(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def teo(varnish_server: VarnishServer, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[TeoServer]:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)  # the SDK's proxy handling would divert loopback calls
    server = TeoServer(settings_for(tmp_path_factory.mktemp("teo") / "teo.db",
                                    varnish_server.url))
    server.start()
    try:
        yield server
    finally:
        server.stop()
