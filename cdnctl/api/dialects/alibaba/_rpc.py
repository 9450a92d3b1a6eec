"""Alibaba's RPC style on ``/``: dispatch on Action + Version, verify the signature,
throttle, call the operation, render JSON or XML.

Order of checks, as the POP gateway does them: the API (version, then action), the
signature (ACS3-HMAC-SHA256 or RPC v1 HMAC-SHA1, with the clock-skew window and the
nonce replay cache), the per-account QPS limit, then the operation's own validation.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from cdnctl.api.dialects.alibaba import _render
from cdnctl.api.dialects.alibaba._wire import Call
from cdnctl.api.dialects.alibaba.errors import (
    AlibabaError,
    Product,
    api_not_found,
    from_core,
    internal_error,
    invalid_version,
    missing,
)
from cdnctl.auth.signatures._common import NonceCache, SignatureError, SignedRequest
from cdnctl.auth.signatures.alibaba import DEFAULT_SKEW, verify_request
from cdnctl.core.errors import CdnctlError, RateLimitedError

if TYPE_CHECKING:
    from cdnctl.app import Runtime

log = logging.getLogger(__name__)

VERSIONS = {"2018-05-10": Product.CDN, "2024-09-10": Product.ESA}
Handler = Callable[[Call], Awaitable[dict[str, Any]]]
Throttle = Callable[[float], AlibabaError]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    handler: Handler
    rate: float | None  # default requests/s per account (None: cdnctl's default)
    throttle: Throttle  # the error answered when the rate is exceeded


class AlibabaDialect:
    """Alibaba CDN (2018-05-10) and ESA (2024-09-10) on one dispatcher."""

    name = "alibaba"

    def __init__(self, operations: Mapping[Product, Mapping[str, Operation]], *,
                 skew: float = DEFAULT_SKEW, nonces: NonceCache | None = None) -> None:
        self.operations = operations
        self.skew = skew
        self.nonces = nonces or NonceCache(ttl=2 * skew)
        self.background: list[Callable[[Runtime], None]] = []

    # -- Dialect protocol -----------------------------------------------------
    def claims(self, request: Request, params: dict[str, str]) -> bool:
        headers = request.headers
        if "x-acs-action" in headers or "x-acs-version" in headers:
            return True
        if headers.get("authorization", "").lstrip().startswith("ACS3-"):
            return True
        if "Action" not in params:
            return False
        return ("AccessKeyId" in params or "SignatureNonce" in params
                or params.get("Version") in VERSIONS)

    def routes(self, runtime: Runtime) -> list[BaseRoute]:
        for hook in self.background:
            hook(runtime)
        return []

    async def handle(self, request: Request, params: dict[str, str], runtime: Runtime,
                     ) -> Response:
        rid = _render.request_id(getattr(request.state, "request_id", ""))
        version = request.headers.get("x-acs-version") or params.get("Version") or ""
        action = request.headers.get("x-acs-action") or params.get("Action") or ""
        product = VERSIONS.get(version, Product.CDN)
        xml = _wants_xml(request, params)
        try:
            op = self._operation(version, action)
            call = await self._authenticate(request, params, runtime, rid, op, product)
            self._throttle(call, op)
            body = await op.handler(call)
        except AlibabaError as exc:
            return _render.error(exc, product, rid, xml=xml)
        except CdnctlError as exc:
            return _render.error(from_core(exc, product), product, rid, xml=xml)
        except Exception:
            log.exception("Alibaba %s %s failed (RequestId %s)", version, action, rid)
            return _render.error(internal_error(), product, rid, xml=xml)
        return _render.success(action, body, rid, xml=xml)

    # -- steps ----------------------------------------------------------------
    def _operation(self, version: str, action: str) -> Operation:
        if not action:
            raise missing("Action")
        if not version:
            raise missing("Version")
        product = VERSIONS.get(version)
        if product is None:
            raise invalid_version()
        op = self.operations.get(product, {}).get(action)
        if op is None:
            raise api_not_found()
        return op

    async def _authenticate(self, request: Request, params: Mapping[str, str],
                            runtime: Runtime, rid: str, op: Operation, product: Product,
                            ) -> Call:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        signed = SignedRequest.create(
            request.method, raw_path.decode("latin-1").partition("?")[0],
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=list(request.headers.items()), body=await request.body())
        directory = runtime.directory

        def lookup(key_id: str) -> str | None:
            found = directory.access_key(key_id)
            return found[1].secret if found is not None else None

        try:
            key_id = verify_request(signed, lookup, now=runtime.clock.now().timestamp(),
                                    nonces=self.nonces, skew=self.skew)
        except SignatureError as exc:
            raise AlibabaError(exc.code, exc.message, exc.http_status) from None
        found = directory.access_key(key_id)
        if found is None:  # the key vanished between lookup and now: treat as unknown
            raise AlibabaError("InvalidAccessKeyId.NotFound",
                               "Specified access key is not found.", 404)
        return Call(runtime=runtime, account=found[0], params=params, request_id=rid,
                    action=op.name, product=product, access_key_id=key_id)

    @staticmethod
    def _throttle(call: Call, op: Operation) -> None:
        svc = call.runtime.service
        # An explicit rate makes the burst equal the rate (the vendor's "N per second").
        rate = op.rate if op.rate is not None else svc.limits.default_rate
        try:
            svc.check_rate(call.account, op.name, rate=rate)
        except RateLimitedError as exc:
            raise op.throttle(exc.retry_after) from None


def _wants_xml(request: Request, params: Mapping[str, str]) -> bool:
    """XML when asked (``Format=XML``), or for an RPC v1 call without ``Format`` (the real
    gateway's default); ACS3 callers ask for JSON (``accept: application/json``)."""
    fmt = params.get("Format", "")
    if fmt:
        return fmt.upper() == "XML"
    if "Signature" in params and not request.headers.get("authorization"):
        return True
    return "xml" in request.headers.get("accept", "").lower()

