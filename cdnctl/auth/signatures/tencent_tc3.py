"""Tencent Cloud API 3.0 signatures: TC3-HMAC-SHA256 and the legacy HmacSHA1/HmacSHA256 form.

See ``shared/spec/tencent-huawei.md`` §1.2 (scheme) and §1.3 (error codes).
Tencent answers every error with HTTP 200 and the code in ``Response.Error``,
so every :class:`SignatureError` raised here has ``http_status == 200``.

* :func:`verify_tc3` checks the ``Authorization: TC3-HMAC-SHA256 ...`` header for
  both shapes the SDK sends: ``POST`` with a JSON body and ``GET`` with the
  parameters flattened into the query string (signed exactly as sent).
* :func:`verify_legacy` checks the v1 ``Signature`` form parameter.
* :func:`detect` / :func:`verify_request` pick the scheme for one request.

Checks run in this order: required parts, timestamp format and skew, secret id
existence, signature. ``X-TC-Token`` / ``Token`` (STS session tokens) are
accepted as they are; they are not part of either signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Literal

from cdnctl.auth.signatures._common import (
    SecretLookup,
    SignatureError,
    SignedRequest,
    constant_time_equal,
)

__all__ = [
    "DEFAULT_SKEW",
    "TC3_ALGORITHM",
    "Scheme",
    "detect",
    "legacy_string_to_sign",
    "verify_legacy",
    "verify_request",
    "verify_tc3",
]

Scheme = Literal["tc3", "legacy"]

TC3_ALGORITHM = "TC3-HMAC-SHA256"
DEFAULT_SKEW = 300  # seconds: "cannot differ by more than five minutes"
DEFAULT_SERVICE = "teo"
_LEGACY_METHODS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}


# --- errors (spec §1.3; texts from Tencent's common error-code table) ---------------


def _error(code: str, message: str) -> SignatureError:
    return SignatureError(code, message, 200)


def _invalid_authorization() -> SignatureError:
    return _error(
        "AuthFailure.InvalidAuthorization", "Authorization in the request header is invalid."
    )


def _missing(param: str) -> SignatureError:
    return _error("MissingParameter", f"The request is missing a required parameter `{param}`.")


def _bad_type(param: str) -> SignatureError:
    return _error("InvalidParameter", f"The value type of parameter `{param}` is not valid.")


def _expired() -> SignatureError:
    return _error(
        "AuthFailure.SignatureExpire",
        "Signature expired. Timestamp and server time cannot differ by more than five "
        "minutes. Please ensure your current local time matches the standard time.",
    )


def _not_found() -> SignatureError:
    return _error(
        "AuthFailure.SecretIdNotFound",
        "Key does not exist. Check if the key has been deleted or disabled in the console, "
        "and if not, check if the key is correctly entered. Note that whitespaces should "
        "not exist before or after the key.",
    )


def _failure() -> SignatureError:
    return _error(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated. Please check your signature is correct.",
    )


def _timestamp(value: str, now: float, skew: float) -> int:
    if not value.isascii() or not value.isdigit():
        raise _bad_type("Timestamp")
    stamp = int(value)
    if abs(now - stamp) > skew:
        raise _expired()
    return stamp


def _secret(lookup: SecretLookup, secret_id: str) -> str:
    secret = lookup(secret_id)
    if secret is None:
        raise _not_found()
    return secret


# --- scheme detection ---------------------------------------------------------------


def detect(req: SignedRequest) -> Scheme | None:
    """``"tc3"`` for an ``Authorization`` header, ``"legacy"`` for a ``Signature``
    parameter in the query or form body, ``None`` when there is neither."""
    if req.header("authorization") is not None:
        return "tc3"
    if any(k == "Signature" for k, _ in (*req.query, *req.form())):
        return "legacy"
    return None


def verify_request(
    req: SignedRequest,
    lookup: SecretLookup,
    *,
    now: float,
    skew: float = DEFAULT_SKEW,
    service: str = DEFAULT_SERVICE,
) -> str:
    """Verify whichever scheme ``req`` uses; return the SecretId."""
    scheme = detect(req)
    if scheme == "tc3":
        return verify_tc3(req, lookup, now=now, skew=skew, service=service)
    if scheme == "legacy":
        params = dict(req.query)
        params.update(req.form())
        return verify_legacy(
            params, req.method, req.header("host") or "", req.path, lookup, now, skew
        )
    raise _invalid_authorization()


# --- TC3-HMAC-SHA256 (spec §1.2) -----------------------------------------------------


def _hmac_sha256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def _tc3_canonical_request(
    req: SignedRequest, signed_headers: list[str], *, lower_values: bool
) -> str:
    if req.header("x-tc-content-sha256") == "UNSIGNED-PAYLOAD":
        payload = b"UNSIGNED-PAYLOAD"
    else:
        payload = b"" if req.method == "GET" else req.body
    lines = []
    for name in signed_headers:
        value = req.headers.get(name, "").strip()
        lines.append(f"{name}:{value.lower() if lower_values else value}\n")
    return "\n".join(
        [
            req.method,
            req.path or "/",
            req.raw_query if req.method == "GET" else "",
            "".join(lines),
            ";".join(signed_headers),
            hashlib.sha256(payload).hexdigest(),
        ]
    )


def verify_tc3(
    req: SignedRequest,
    lookup: SecretLookup,
    *,
    now: float,
    skew: float = DEFAULT_SKEW,
    service: str = DEFAULT_SERVICE,
) -> str:
    """Verify a ``TC3-HMAC-SHA256`` request and return its SecretId.

    The canonical query of a ``GET`` is ``req.raw_query`` exactly as received
    (the SDK signs its own ``urlencode`` output); a ``POST`` signs the raw body.
    Header values are canonicalised lower-cased as documented and, failing
    that, as received (the Python SDK does not lower-case them).
    """
    algorithm, _, rest = (req.header("authorization") or "").strip().partition(" ")
    if algorithm != TC3_ALGORITHM:
        raise _invalid_authorization()
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise _invalid_authorization()
        fields[name] = value.strip()
    scope = fields.get("Credential", "").split("/")
    signed_headers = [h.strip().lower() for h in fields.get("SignedHeaders", "").split(";")]
    if (
        len(scope) != 4
        or not all(scope)
        or scope[3] != "tc3_request"
        or not {"content-type", "host"} <= set(signed_headers)
        or not fields.get("Signature")
    ):
        raise _invalid_authorization()
    secret_id, date, scope_service, _ = scope

    for header, param in (("x-tc-action", "Action"), ("x-tc-version", "Version")):
        if not req.header(header):
            raise _missing(param)
    stamp_text = (req.header("x-tc-timestamp") or "").strip()
    if not stamp_text:
        raise _missing("Timestamp")
    stamp = _timestamp(stamp_text, now, skew)
    secret = _secret(lookup, secret_id)

    if scope_service != service or date != time.strftime("%Y-%m-%d", time.gmtime(stamp)):
        raise _failure()
    key = _hmac_sha256(
        _hmac_sha256(_hmac_sha256(("TC3" + secret).encode("utf-8"), date), service),
        "tc3_request",
    )
    candidates = {
        _tc3_canonical_request(req, signed_headers, lower_values=lower) for lower in (True, False)
    }
    ok = False
    for canonical in candidates:
        string_to_sign = "\n".join(
            [
                TC3_ALGORITHM,
                stamp_text,
                f"{date}/{service}/tc3_request",
                hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
            ]
        )
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        ok |= constant_time_equal(expected, fields["Signature"])
    if not ok:
        raise _failure()
    return secret_id


# --- legacy v1 form signature (spec §1.2, "Legacy v1 signature") --------------------


def legacy_string_to_sign(params: Mapping[str, str], method: str, host: str, path: str) -> str:
    """``<METHOD><host><path>?k=v&...``: keys with ``_`` turned into ``.``, sorted,
    decoded values, ``Signature`` left out."""
    pairs = sorted((k.replace("_", "."), v) for k, v in params.items() if k != "Signature")
    return f"{method.upper()}{host}{path}?" + "&".join(f"{k}={v}" for k, v in pairs)


def verify_legacy(
    params: Mapping[str, str],
    method: str,
    host: str,
    path: str,
    lookup: SecretLookup,
    now: float,
    skew: float = DEFAULT_SKEW,
) -> str:
    """Verify a legacy ``Signature`` (HmacSHA1/HmacSHA256) request; return its SecretId.

    ``params`` are the decoded form/query parameters; ``host`` is the ``Host``
    header as received (port included) and ``path`` the request path (``/``).
    """
    for name in ("Action", "Version", "SecretId", "Timestamp", "Nonce", "Signature"):
        if not params.get(name):
            raise _missing(name)
    digestmod = _LEGACY_METHODS.get(params.get("SignatureMethod") or "HmacSHA1")
    if digestmod is None:
        raise _error(
            "InvalidParameterValue", "The value of parameter `SignatureMethod` is not valid."
        )
    if not params["Nonce"].isascii() or not params["Nonce"].isdigit():
        raise _bad_type("Nonce")
    _timestamp(params["Timestamp"], now, skew)
    secret = _secret(lookup, params["SecretId"])

    string_to_sign = legacy_string_to_sign(params, method, host, path)
    digest = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), digestmod).digest()
    if not constant_time_equal(base64.b64encode(digest).decode("ascii"), params["Signature"]):
        raise _failure()
    return params["SecretId"]
