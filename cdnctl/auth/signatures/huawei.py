"""Huawei Cloud API Gateway AK/SK signature ``SDK-HMAC-SHA256``.

See ``shared/spec/tencent-huawei.md`` §2.2 (scheme) and §2.3 (errors). Every
authentication failure is the gateway's ``401 APIGW.0301`` with an
"Incorrect IAM authentication information: ..." message; the detail after the
colon follows the gateway's published texts where they are known ("Get
secretKey failed,ak:<AK>,err:ak not exist", "verify aksk signature fail").

The signature covers exactly the headers listed in ``SignedHeaders`` (for SDK
traffic ``content-type;host;user-agent;x-domain-id;x-sdk-date``, plus
``x-security-token`` / preset headers). Checks run in this order: required
parts, ``X-Sdk-Date`` format and skew, AK existence, signature.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, unquote

from cdnctl.auth.signatures._common import (
    SecretLookup,
    SignatureError,
    SignedRequest,
    constant_time_equal,
    parse_utc,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_SKEW",
    "canonical_query",
    "canonical_uri",
    "verify_sdk_hmac_sha256",
]

ALGORITHM = "SDK-HMAC-SHA256"
DEFAULT_SKEW = 900  # seconds: API Gateway documents a 15-minute window
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Headers that must be covered by the signature when they are present.
_MUST_SIGN = ("host", "x-sdk-date", "x-domain-id", "x-project-id", "x-security-token")


def _fail(detail: str) -> SignatureError:
    return SignatureError("APIGW.0301", f"Incorrect IAM authentication information: {detail}", 401)


def canonical_uri(raw_path: str) -> str:
    """Percent-decode, split on ``/``, re-encode each segment, force a trailing ``/``."""
    uri = "/".join(quote(segment, safe="~") for segment in unquote(raw_path or "/").split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(raw_query: str) -> str:
    """Pairs percent-decoded (``+`` stays ``+``), sorted by name then value, re-encoded."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(pairs))


def _header_value(value: str) -> str:
    """The SDK signs header values as UTF-8 text but sends them as Latin-1
    characters of those bytes; ASGI decodes them as Latin-1, so undo that."""
    value = value.strip()
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _payload_hash(req: SignedRequest) -> str:
    if not req.body:
        return EMPTY_SHA256
    actual = hashlib.sha256(req.body).hexdigest()
    declared = (req.header("x-sdk-content-sha256") or "").strip()
    if not declared:
        return actual
    if declared != UNSIGNED_PAYLOAD and not constant_time_equal(declared.lower(), actual):
        raise _fail("verify aksk signature fail")
    return declared


def verify_sdk_hmac_sha256(
    req: SignedRequest,
    lookup: SecretLookup,
    *,
    now: float,
    skew: float = DEFAULT_SKEW,
) -> str:
    """Verify an ``SDK-HMAC-SHA256`` request and return its AK.

    ``X-Domain-Id`` is only verified as a signed header here; checking that it
    names the AK's account (403 ``CDN.0021``) is the caller's job.
    """
    auth = (req.header("authorization") or "").strip()
    if not auth:
        raise _fail("Unauthorized")
    algorithm, _, rest = auth.partition(" ")
    if algorithm != ALGORITHM:
        raise _fail(f"unsupported signing algorithm {algorithm}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise _fail("Authorization header is malformed")
        fields[name] = value.strip()
    access_key = fields.get("Access", "")
    signature = fields.get("Signature", "")
    signed_headers = [h.strip().lower() for h in fields.get("SignedHeaders", "").split(";")]
    if not access_key or not signature or not all(signed_headers):
        raise _fail("Authorization header is malformed")
    for name in _MUST_SIGN:
        if (name in req.headers or name in ("host", "x-sdk-date")) and name not in signed_headers:
            raise _fail(f"header {name} is not signed")

    sdk_date = (req.header("x-sdk-date") or "").strip()
    stamp = parse_utc(sdk_date, _DATE_FORMAT)
    if stamp is None:
        raise _fail("x-sdk-date is missing or malformed")
    if abs(now - stamp) > skew:
        raise _fail("signature expired")

    secret = lookup(access_key)
    if secret is None:
        raise _fail(f"Get secretKey failed,ak:{access_key},err:ak not exist")

    headers = "".join(
        f"{name}:{_header_value(req.headers.get(name, ''))}\n" for name in signed_headers
    )
    canonical = "\n".join(
        [
            req.method,
            canonical_uri(req.path),
            canonical_query(req.raw_query),
            headers,
            ";".join(signed_headers),
            _payload_hash(req),
        ]
    )
    string_to_sign = "\n".join(
        [ALGORITHM, sdk_date, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    expected = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if not constant_time_equal(expected, signature):
        raise _fail("verify aksk signature fail")
    return access_key
