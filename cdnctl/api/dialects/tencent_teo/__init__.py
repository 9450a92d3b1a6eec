"""Tencent Cloud EdgeOne (TEO API 2022-09-01) content management, wire-compatible with
``tencentcloud-sdk-python-teo``.

Requests to ``/`` are ours when they carry ``X-TC-Action`` (TC3-HMAC-SHA256, POST
JSON or GET), or are a legacy HmacSHA1/HmacSHA256 form with ``Action``,
``Version=2022-09-01``, ``SecretId`` and ``Nonce``. The signature is checked by
:mod:`cdnctl.auth.signatures.tencent_tc3`; the five actions below translate to the
core's use cases; every answer, errors included, is HTTP 200 with
``{"Response": ...}``. See ``docs/dialects/tencent-eo.md``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from cdnctl.api.dialects.tencent_teo import errors as err
from cdnctl.api.dialects.tencent_teo import parsing, rendering
from cdnctl.api.dialects.tencent_teo.content_quota import describe_content_quota
from cdnctl.api.dialects.tencent_teo.context import Call
from cdnctl.api.dialects.tencent_teo.create import create_prefetch_task, create_purge_task
from cdnctl.api.dialects.tencent_teo.describe import (
    describe_prefetch_tasks,
    describe_purge_tasks,
)
from cdnctl.auth.signatures import SignatureError, SignedRequest, verify_tencent
from cdnctl.core.errors import CdnctlError

if TYPE_CHECKING:
    from cdnctl.app import Runtime

log = logging.getLogger(__name__)

Operation = Callable[[Call], Awaitable[dict[str, Any]]]
OPERATIONS: Mapping[str, Operation] = {
    "CreatePurgeTask": create_purge_task,
    "DescribePurgeTasks": describe_purge_tasks,
    "CreatePrefetchTask": create_prefetch_task,
    "DescribePrefetchTasks": describe_prefetch_tasks,
    "DescribeContentQuota": describe_content_quota,
}
#: Tencent's published limit for each of the five actions, per account; an account's
#: ``rate_limits`` (keyed by action name) overrides it.
RATE_PER_SECOND = 20.0


def signed_request(request: Request, body: bytes) -> SignedRequest:
    scope = request.scope
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return SignedRequest.create(request.method, path.partition("?")[0], query,
                                request.headers.items(), body)


class TencentTeoDialect:
    name = "tencent-eo"

    def claims(self, request: Request, params: dict[str, str]) -> bool:
        if request.headers.get("x-tc-action"):
            return True
        return (bool(params.get("Action")) and params.get("Version") == parsing.VERSION
                and bool(params.get("SecretId")) and bool(params.get("Nonce"))
                and params.get("SignatureMethod", "HmacSHA1") in parsing.LEGACY_METHODS)

    async def handle(self, request: Request, params: dict[str, str], runtime: Runtime
                     ) -> Response:
        request_id = getattr(request.state, "request_id", "") or str(uuid.uuid4())
        language = err.ZH
        try:
            signed = signed_request(request, await request.body())
            form = dict(signed.query)
            form.update(signed.form())
            language = parsing.language(signed, form)
            return rendering.success(await self._serve(signed, form, runtime, request_id,
                                                       language), request_id)
        except err.TeoError as exc:
            failure = exc
        except SignatureError as exc:
            failure = err.from_signature(exc)
        except CdnctlError as exc:
            failure = err.from_core(exc)
        except Exception:
            log.exception("tencent-eo: unhandled error (request %s)", request_id)
            failure = err.fixed("InternalError")
        return rendering.error(failure, language, request_id)

    async def _serve(self, signed: SignedRequest, form: dict[str, str], runtime: Runtime,
                     request_id: str, language: str) -> dict[str, Any]:
        parsing.check_size(signed, runtime.settings.server.max_body_bytes)
        directory = runtime.directory

        def secret_of(key_id: str) -> str | None:
            found = directory.access_key(key_id)
            return found[1].secret if found is not None else None

        key_id = verify_tencent(signed, secret_of, now=runtime.clock.now().timestamp())
        found = directory.access_key(key_id)
        if found is None:  # the key vanished between two lookups: cannot happen today
            raise err.fixed("AuthFailure.SecretIdNotFound")
        account = found[0]
        version = parsing.common(signed, form, "Version")
        if version != parsing.VERSION:
            raise err.no_such_version(version)
        action = parsing.common(signed, form, "Action")
        operation = OPERATIONS.get(action)
        if operation is None:
            raise err.invalid_action(action)
        runtime.service.check_rate(account, action, rate=RATE_PER_SECOND)
        params = parsing.action_params(signed, form)
        return await operation(Call(runtime, account, request_id, language, params))

    def routes(self, runtime: Runtime) -> list[BaseRoute]:
        return []


DIALECT = TencentTeoDialect()

__all__ = ["DIALECT", "OPERATIONS", "TencentTeoDialect"]
