"""Tencent Cloud error codes and messages (English and Chinese), and the one table
mapping cdnctl's core errors to them.

Every error leaves as ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``
with HTTP 200 (see :mod:`.rendering`). :class:`TeoError` carries both languages;
the request's ``X-TC-Language`` (or legacy ``Language``) picks one. Codes and
English texts follow Tencent's common error table and the TEO 2022-09-01 error
list (``shared/spec/tencent-huawei.md`` §1.3); Chinese texts follow the SDK's
``errorcodes.py`` and the Chinese API documentation.
"""

# ruff: noqa: RUF001  (Chinese messages use full-width punctuation)

from __future__ import annotations

import re
from collections.abc import Callable

from cdnctl.api.dialects.tencent_teo.quotas import KINDS
from cdnctl.auth.signatures import SignatureError
from cdnctl.core.errors import (
    AuthError,
    CdnctlError,
    ConflictError,
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

EN = "en-US"
ZH = "zh-CN"
LANGUAGES = (EN, ZH)


class TeoError(Exception):
    """A Tencent error envelope: code plus its English and Chinese message."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(f"{code}: {en}")
        self.code = code
        self.en = en
        self.zh = zh

    def message(self, language: str) -> str:
        return self.en if language == EN else self.zh


# -- fixed messages, by code ---------------------------------------------------------

MESSAGES: dict[str, tuple[str, str]] = {
    "InternalError": ("An internal error occurred.", "内部错误。"),
    "InvalidParameter.DomainNotFound": (
        "The domain name does not exist or is not belong to this account.",
        "域名不存在或不属于该账号。"),
    "InvalidParameter.ParameterError": (
        'Parameter error: Invalid "End time". The interval between the start and end time '
        "cannot exceed 7 days.",
        '参数错误: 无效 "结束时间", 不在允许的查询范围内: [开始时间, 开始+ 7天]。'),
    "InvalidParameter.Target": ("Resource error.", "资源存在错误。"),
    "InvalidParameter.InvalidFilterName": ("Invalid filter field.", "不合法的过滤字段。"),
    "InvalidParameter.TooManyFilters": ("Too many filter items.", "过滤项过多。"),
    "InvalidParameter.TooManyFilterValues": ("Too many filter values.", "过滤值过多。"),
    "LimitExceeded.BatchQuota": (
        "Reached the upper limit of resource number (per request).",
        "本次提交的资源数超过上限。"),
    "LimitExceeded.DailyQuota": (
        "Reached the daily upper limit of resource number.", "当天提交的资源数超过上限。"),
    "LimitExceeded.PackNotAllow": ("Not supported by the plan.", "计费套餐不支持。"),
    "ResourceUnavailable.ZoneNotFound": (
        "The site does not exist or is not belong to this account.",
        "站点不存在或不属于该账号。"),
    "UnsupportedOperation": ("Unsupported operation.", "操作不支持。"),
    "FailedOperation": ("Operation failed.", "操作失败。"),
    "ResourceNotFound": ("The resource does not exist.", "资源不存在。"),
    # signature errors: the verifier supplies the English text
    "AuthFailure.InvalidAuthorization": (
        "Authorization in the request header is invalid.",
        "请求头部的 Authorization 不符合腾讯云标准。"),
    "AuthFailure.SignatureExpire": (
        "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
        "签名过期。Timestamp 和服务器时间相差不得超过五分钟，请检查本地时间是否和标准时间同步。"),
    "AuthFailure.SecretIdNotFound": (
        "Key does not exist.",
        "密钥不存在。请在控制台检查密钥是否已被删除或者禁用，如状态正常，请检查密钥是否填写正确，"
        "注意前后不得有空格。"),
    "AuthFailure.SignatureFailure": (
        "The provided credentials could not be validated. Please check your signature is "
        "correct.",
        "签名错误。签名计算错误，请对照调用方式中的签名方法文档检查签名计算过程。"),
    "AuthFailure.TokenFailure": ("The token is invalid.", "token 错误。"),
    "AuthFailure.UnauthorizedOperation": (
        "The request is not authorized.", "请求未授权。"),
}


def fixed(code: str, en: str | None = None, zh: str | None = None) -> TeoError:
    """An error with the catalogue's messages (either one may be replaced)."""
    default_en, default_zh = MESSAGES[code]
    return TeoError(code, en or default_en, zh or default_zh)


# -- parameterised messages --------------------------------------------------------


def missing(param: str) -> TeoError:
    return TeoError("MissingParameter",
                    f"The request is missing a required parameter `{param}`.",
                    f"缺少必填参数`{param}`。")


def bad_type(param: str) -> TeoError:
    return TeoError("InvalidParameter",
                    f"The value type of parameter `{param}` is not valid.",
                    f"参数`{param}`的类型不合法。")


def bad_value(param: str, en_why: str = "", zh_why: str = "") -> TeoError:
    en = f"The value of parameter `{param}` is not valid."
    zh = f"参数`{param}`的取值不合法。"
    return TeoError("InvalidParameterValue", f"{en} {en_why}".strip(), f"{zh}{zh_why}")


def unknown_parameter(param: str) -> TeoError:
    return TeoError("UnknownParameter",
                    f"The parameter `{param}` is not recognized.",
                    f"参数`{param}`未定义。")


def invalid_action(action: str) -> TeoError:
    return TeoError("InvalidAction",
                    f"The requested action `{action}` does not exist.",
                    f"接口`{action}`不存在。")


def no_such_version(version: str) -> TeoError:
    return TeoError("NoSuchVersion",
                    f"The requested version `{version}` of service `teo` does not exist.",
                    f"服务`teo`不存在接口版本`{version}`。")


def size_exceeded(limit: int) -> TeoError:
    return TeoError("RequestSizeLimitExceeded",
                    f"The request size exceeds the limit of {limit} bytes.",
                    f"请求包超过大小限制 {limit} 字节。")


def invalid_request(en: str, zh: str) -> TeoError:
    return TeoError("InvalidRequest", en, zh)


def rate_limited(limit: float) -> TeoError:
    return TeoError(
        "RequestLimitExceeded",
        f"Your current request times exceeds the frequency limit `{limit:g}` for a second. "
        "Please reduce the frequency of calls.",
        f"您当前每秒请求次数超过了每秒频率上限 `{limit:g}`，请稍后重试。")


def parameter_error(en: str, zh: str) -> TeoError:
    return TeoError("InvalidParameter.ParameterError", f"Parameter error: {en}", f"参数错误: {zh}")


def batch_quota(kind: str, limit: int, given: int) -> TeoError:
    return fixed("LimitExceeded.BatchQuota",
                 f"Reached the upper limit of resource number (per request): {given} {kind} "
                 f"targets, at most {limit}.",
                 f"本次提交的资源数超过上限：{kind} 提交 {given} 条，上限 {limit} 条。")


# -- signature errors ----------------------------------------------------------------

_PARAM = re.compile(r"`([^`]*)`")


def from_signature(exc: SignatureError) -> TeoError:
    """The verifier's code and English text, with the Chinese text added."""
    found = _PARAM.search(exc.message)
    param = found.group(1) if found else ""
    if exc.code == "MissingParameter":
        return TeoError(exc.code, exc.message, missing(param).zh)
    if exc.code == "InvalidParameter":
        return TeoError(exc.code, exc.message, bad_type(param).zh)
    if exc.code == "InvalidParameterValue":
        return TeoError(exc.code, exc.message, bad_value(param).zh)
    zh = MESSAGES.get(exc.code, (exc.message, exc.message))[1]
    return TeoError(exc.code, exc.message, zh)


# -- core errors -----------------------------------------------------------------------


class ZoneDomainError(InvalidDomainError):
    """The domain is the account's, but not a domain of the zone the request names."""

    def __init__(self, *, domain: str, zone_id: str) -> None:
        super().__init__(f"the domain {domain!r} is not a domain of site {zone_id}",
                         domain=domain)
        self.zone_id = zone_id


Mapper = Callable[[CdnctlError], TeoError]
_TYPE_OF_KIND = {kind.value: name for name, kind in KINDS.items()}


def _quota(exc: CdnctlError) -> TeoError:
    assert isinstance(exc, QuotaExceededError)
    kind = _TYPE_OF_KIND.get(exc.kind, exc.kind)
    return fixed("LimitExceeded.DailyQuota",
                 f"Reached the daily upper limit of resource number: {kind} limit "
                 f"{exc.limit}, {exc.remaining} left today.",
                 f"当天提交的资源数超过上限：{kind} 上限 {exc.limit}，今日剩余 {exc.remaining}。")


def _rate(exc: CdnctlError) -> TeoError:
    digits = re.search(r"rate limit of ([0-9.]+)", exc.message)
    return rate_limited(float(digits.group(1)) if digits else 20.0)


def _target(exc: CdnctlError) -> TeoError:
    return fixed("InvalidParameter.Target", f"Resource error: {exc.message}",
                 f"资源存在错误：{exc.message}")


def _domain(exc: CdnctlError) -> TeoError:
    domain = getattr(exc, "domain", "")
    return fixed("InvalidParameter.DomainNotFound",
                 f"The domain name {domain} does not exist or is not belong to this account.",
                 f"域名 {domain} 不存在或不属于该账号。")


def _zone_domain(exc: CdnctlError) -> TeoError:
    assert isinstance(exc, ZoneDomainError)
    return fixed("InvalidParameter.DomainNotFound",
                 f"The domain name {exc.domain} does not belong to the site {exc.zone_id}.",
                 f"域名 {exc.domain} 不属于站点 {exc.zone_id}。")


def _unsupported(exc: CdnctlError) -> TeoError:
    return fixed("LimitExceeded.PackNotAllow", f"Not supported by the plan: {exc.message}",
                 f"计费套餐不支持：{exc.message}")


#: Resolved along the exception's MRO: the most specific class wins.
CORE_ERRORS: dict[type[CdnctlError], Mapper] = {
    ZoneDomainError: _zone_domain,
    InvalidDomainError: _domain,
    InvalidUrlError: _target,
    InvalidRegexError: _target,
    LimitExceededError: lambda e: fixed("LimitExceeded.BatchQuota",
                                        f"{MESSAGES['LimitExceeded.BatchQuota'][0]} "
                                        f"{e.message}"),
    UnsupportedError: _unsupported,
    ValidationError: _target,
    QuotaExceededError: _quota,
    RateLimitedError: _rate,
    NotFoundError: lambda e: fixed("ResourceNotFound", f"The resource does not exist: "
                                   f"{e.message}"),
    IdempotencyConflictError: lambda e: fixed("FailedOperation", f"Operation failed: "
                                              f"{e.message}"),
    ConflictError: lambda e: fixed("FailedOperation", f"Operation failed: {e.message}"),
    AuthError: lambda e: fixed("AuthFailure.UnauthorizedOperation"),
}


def from_core(exc: CdnctlError) -> TeoError:
    for cls in type(exc).__mro__:
        mapper = CORE_ERRORS.get(cls)
        if mapper is not None:
            return mapper(exc)
    return fixed("InternalError")


def failure_code(exc: CdnctlError) -> str:
    """The Tencent code a core error maps to (used to pick the whole-call error)."""
    return from_core(exc).code
