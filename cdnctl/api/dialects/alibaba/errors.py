"""Alibaba error codes: the vendor error type, the gateway's common errors, and the one
table mapping cdnctl's core errors to each product's codes, messages and HTTP statuses.

Codes and messages are Alibaba's (``shared/spec/alibaba.md`` §3, §4, §5); where the
spec marks a code as inferred, the choice is listed on the compatibility pages
(``docs/dialects/alibaba-cdn.md``, ``docs/dialects/alibaba-esa.md``).
"""

from __future__ import annotations

from enum import StrEnum

from cdnctl.core.errors import (
    CdnctlError,
    IdempotencyConflictError,
    InvalidDomainError,
    InvalidRegexError,
    InvalidUrlError,
    LimitExceededError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    UnsupportedError,
    ValidationError,
)
from cdnctl.core.model import QuotaKind


class Product(StrEnum):
    CDN = "cdn"
    ESA = "esa"


HOST_ID = {Product.CDN: "cdn.aliyuncs.com", Product.ESA: "esa.cn-hangzhou.aliyuncs.com"}


class AlibabaError(Exception):
    """An error answered in Alibaba's envelope: ``Code``, ``Message`` and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, *,
                 retry_after_ms: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_ms = retry_after_ms


# --- gateway (common) errors, spec §3.3 ---------------------------------------------


def missing(param: str) -> AlibabaError:
    """A required parameter is absent (the gateway's form)."""
    return AlibabaError(f"Missing{param}", f"{param} is mandatory for this action.")


def invalid(param: str) -> AlibabaError:
    """A parameter fails its type or enum check (the gateway's form)."""
    return AlibabaError(f"Invalid{param}", f"Specified parameter {param} is not valid.")


def api_not_found() -> AlibabaError:
    return AlibabaError("InvalidApi.NotFound",
                        "Specified api is not found, please check your url and method.", 404)


def invalid_version() -> AlibabaError:
    return AlibabaError("InvalidVersion", "Specified parameter Version is not valid.")


def internal_error() -> AlibabaError:
    return AlibabaError(
        "InternalError",
        "The request processing has failed due to some unknown error, exception or failure.",
        500)


def throttled_user(retry_after: float) -> AlibabaError:
    return AlibabaError("Throttling.User", "Request was denied due to user flow control.",
                        400, retry_after_ms=_ms(retry_after))


def too_many_requests_cdn(retry_after: float) -> AlibabaError:
    return AlibabaError("TooManyRequests", "The server is busy. Please try again later.", 429,
                        retry_after_ms=_ms(retry_after))


def too_many_requests_esa(retry_after: float) -> AlibabaError:
    return AlibabaError("TooManyRequests", "Too many requests.Please try again later.", 400,
                        retry_after_ms=_ms(retry_after))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


# --- product errors shared by several operations ------------------------------------

def invalid_parameters() -> AlibabaError:
    return AlibabaError("InvalidParameters", "The specified parameters are invalid.")


def invalid_urls() -> AlibabaError:
    return AlibabaError("InvalidParameters.InvalidUrls", "The specified urls are invalid.")


def object_path_malformed() -> AlibabaError:
    return AlibabaError("InvalidObjectPath.Malformed", "The specified ObjectPath is invalid.")


def domain_not_found() -> AlibabaError:
    return AlibabaError("InvalidDomain.NotFound", "The domain provided does not belong to you.",
                        404)


def task_id_malformed(product: Product) -> AlibabaError:
    word = "TaskId" if product is Product.CDN else "taskId"
    return AlibabaError("InvalidTaskId.Malformed", f"The specified {word} is invalid.")


def site_not_found() -> AlibabaError:
    return AlibabaError("SiteNotFound", "The specified site does not exist.", 404)


def quota_exceeded(product: Product, kind: str) -> AlibabaError:
    if product is Product.ESA:
        return AlibabaError("QuotaExceeded", "The quota is exceeded.")
    if kind == QuotaKind.PREFETCH:
        return AlibabaError("QuotaExceeded.Preload",
                            "Your refresh attempts have exceeded the daily limit.")
    if kind == QuotaKind.BLOCK:
        return AlibabaError("QuotaExceeded.Block",
                            "Your block attempts have exceeded the daily limit.")
    return AlibabaError("QuotaExceeded.Refresh",
                        "Your refresh attempts have exceeded the daily limit.")


def from_core(exc: CdnctlError, product: Product) -> AlibabaError:
    """The one table: a core error as the product's Alibaba error (MRO order matters)."""
    if isinstance(exc, QuotaExceededError):
        return quota_exceeded(product, exc.kind)
    if isinstance(exc, RateLimitedError):
        return throttled_user(exc.retry_after)
    if isinstance(exc, InvalidDomainError):
        return domain_not_found()
    if isinstance(exc, LimitExceededError):
        if product is Product.ESA:
            return invalid_parameters()
        return AlibabaError("SingleRequest.OverLimit",
                            "A maximum of 1000 URLs are supported for each request.")
    if isinstance(exc, UnsupportedError):
        return AlibabaError("OperationDenied",
                            f"The operation is not supported by this domain's nodes: "
                            f"{exc.message}", 403)
    if isinstance(exc, InvalidUrlError | InvalidRegexError):
        return invalid_urls() if product is Product.ESA else object_path_malformed()
    if isinstance(exc, ValidationError):
        return invalid_parameters() if product is Product.ESA else object_path_malformed()
    if isinstance(exc, NotFoundError):
        return invalid_parameters()
    if isinstance(exc, IdempotencyConflictError):
        return invalid_parameters()
    return internal_error()
