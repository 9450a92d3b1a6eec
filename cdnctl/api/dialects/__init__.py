"""Vendor dialects: wire-compatible copies of cloud CDN APIs over the same use cases.

Each dialect is a subpackage (``alibaba_cdn``, ``alibaba_esa``, ``tencent_teo``,
``huawei_cdn``) exposing a module-level ``DIALECT`` that satisfies
:class:`Dialect`. The app asks each dialect, in order, whether a request to
``/`` is its own (on its headers and parameters: ``x-acs-action``,
``X-TC-Action``, ``Action``/``Version`` …); dialects with their own paths
(Huawei ``/v1.0/cdn/...``) also add routes. A dialect translates only: it
verifies the vendor signature (``cdnctl.auth.signatures``), calls
``runtime.service`` and renders the vendor's response or error envelope. It
never touches storage directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from cdnctl.app import Runtime


class Dialect(Protocol):
    name: str

    def claims(self, request: Request, params: dict[str, str]) -> bool:
        """Is this request to ``/`` ours? ``params`` = query merged with a form body."""
        ...

    async def handle(self, request: Request, params: dict[str, str], runtime: Runtime) -> Response:
        """Answer a request this dialect claimed. Never raises: errors are vendor envelopes."""
        ...

    def routes(self, runtime: Runtime) -> list[BaseRoute]:
        """Extra routes with their own paths (may be empty)."""
        ...


RootHandler = Callable[[Request], Awaitable[Response]]


def installed() -> list[Dialect]:
    """Every dialect package present, in dispatch order."""
    import importlib

    found: list[Dialect] = []
    for name in ("alibaba", "tencent_teo", "huawei_cdn"):
        try:
            module = importlib.import_module(f"cdnctl.api.dialects.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"cdnctl.api.dialects.{name}":
                continue
            raise
        found.append(module.DIALECT)
    return found
