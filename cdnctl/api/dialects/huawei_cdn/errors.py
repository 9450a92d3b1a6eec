"""Huawei error envelopes, and the one table from core errors to Huawei codes.

Two layers answer errors on the real service (``shared/spec/tencent-huawei.md``
§2.1, §2.3), and the SDK accepts both because it searches nested dicts:

* the API gateway, top level: ``{"error_code": "APIGW.0301", "error_msg": ...,
  "request_id": ...}`` — authentication (401), unknown API (404), body too
  large (413), throttling (429);
* the CDN service, nested: ``{"error": {"error_code": "CDN.0110", "error_msg":
  ...}}`` — everything about the request's content.

Every error has an HTTP status >= 400 (a 200 would be read as success by the
SDK) and the ``X-Request-Id`` header (the SDK's ``request_id`` comes from it,
never from the body). Documented codes carry the vendor's exact English text;
``CDN.0001`` (parameter format error, the code Huawei uses for a malformed or
missing parameter) carries a message naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from starlette.responses import JSONResponse

from cdnctl.auth.signatures import SignatureError
from cdnctl.core.errors import (
    AuthError,
    CdnctlError,
    InvalidDomainError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)

#: The vendor's English texts for the codes this dialect answers.
MESSAGES: dict[str, str] = {
    "CDN.0000": "Internal system error.",
    "CDN.0001": "Parameter format error.",
    "CDN.0003": "The object does not exist.",
    "CDN.0004": "Insufficient permission.",
    "CDN.0005": "The upper limit is exceeded.",
    "CDN.0021": "The user does not have operation permissions because the fine-grained "
                "authentication is not passed.",
    "CDN.0105": "The acceleration domain name does not exist.",
    "CDN.0106": "This operation is not supported by the domain name in the current state.",
    "CDN.0108": "The URL domain name is not the acceleration domain name of the current "
                "tenant.",
    "CDN.0110": "The number of URLs to be preheated or refreshed exceeds the upper limit.",
    "APIGW.0101": "The API does not exist or has not been published in the environment",
    "APIGW.0201": "Request entity too large",
    "APIGW.0301": "Incorrect IAM authentication information",
    "APIGW.0308": "The throttling threshold has been reached",
}


class HuaweiError(Exception):
    """An error answer: HTTP status, vendor code and message, and which layer speaks."""

    def __init__(self, status: int, code: str, message: str | None = None, *,
                 gateway: bool = False, headers: dict[str, str] | None = None) -> None:
        msg = message if message is not None else MESSAGES[code]
        super().__init__(f"{code}: {msg}")
        self.status = status
        self.code = code
        self.message = msg
        self.gateway = gateway
        self.headers = headers or {}


def param_error(message: str) -> HuaweiError:
    """400 ``CDN.0001``: a parameter is missing, malformed or out of range."""
    return HuaweiError(400, "CDN.0001", message)


def cdn_error(code: str, status: int = 400) -> HuaweiError:
    """A documented CDN service error with its vendor text."""
    return HuaweiError(status, code)


def not_found() -> HuaweiError:
    return HuaweiError(404, "CDN.0003")


def unknown_api() -> HuaweiError:
    return HuaweiError(404, "APIGW.0101", gateway=True)


def too_large(limit: int) -> HuaweiError:
    return HuaweiError(413, "APIGW.0201",
                       f"{MESSAGES['APIGW.0201']}: the body exceeds {limit} bytes", gateway=True)


def auth_failed(detail: str) -> HuaweiError:
    return HuaweiError(401, "APIGW.0301", f"{MESSAGES['APIGW.0301']}: {detail}", gateway=True)


def throttled(limit: float, retry_after: float) -> HuaweiError:
    """429 ``APIGW.0308`` in the gateway's wording (per-tenant limit per second)."""
    text = (f"{MESSAGES['APIGW.0308']}: policy user over ratelimit,"
            f"limit:{limit:g},time:1 second")
    return HuaweiError(429, "APIGW.0308", text, gateway=True,
                       headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


def from_signature(exc: SignatureError) -> HuaweiError:
    """The verifier already speaks the gateway's language (code, message, status)."""
    return HuaweiError(exc.http_status, exc.code, exc.message, gateway=True)


def from_core(exc: CdnctlError, *, batch: str = "CDN.0110",
              is_cdn_domain: Callable[[str], bool] = lambda _d: True,
              rate: float | None = None) -> HuaweiError:
    """Map a core error. ``batch`` is the code for "too many URLs / quota used up"
    (``CDN.0110`` for refresh and preheat, ``CDN.0005`` elsewhere);
    ``is_cdn_domain`` tells an unknown domain (``CDN.0105``) from another tenant's
    (``CDN.0108``); ``rate`` is the limit quoted in a throttling message."""
    if isinstance(exc, RateLimitedError):
        return throttled(rate if rate is not None else 0, exc.retry_after)
    if isinstance(exc, QuotaExceededError | LimitExceededError):
        return cdn_error(batch)
    if isinstance(exc, InvalidDomainError):
        return cdn_error("CDN.0108" if is_cdn_domain(exc.domain) else "CDN.0105")
    if isinstance(exc, UnsupportedError):
        return cdn_error("CDN.0106")
    if isinstance(exc, ValidationError):
        return param_error(exc.message)
    if isinstance(exc, NotFoundError):
        return not_found()
    if isinstance(exc, AuthError):
        return auth_failed(exc.message)
    return param_error(exc.message)


def render(err: HuaweiError, request_id: str) -> JSONResponse:
    """The envelope of ``err``'s layer, with ``X-Request-Id``."""
    body: dict[str, object]
    if err.gateway:
        body = {"error_code": err.code, "error_msg": err.message, "request_id": request_id}
    else:
        body = {"error": {"error_code": err.code, "error_msg": err.message}}
    headers = {**err.headers, "X-Request-Id": request_id}
    return JSONResponse(body, status_code=err.status, headers=headers)


def internal_error(request_id: str) -> JSONResponse:
    return render(HuaweiError(500, "CDN.0000"), request_id)
