"""Alibaba Cloud POP gateway signatures: ACS3-HMAC-SHA256 and RPC v1 (HMAC-SHA1).

Shared by both Alibaba dialects (CDN 2018-05-10 and ESA 2024-09-10); see
``shared/spec/alibaba.md`` sections 2 and 3 for the wire rules and the errors.

* :func:`detect` tells which scheme a request uses.
* :func:`verify_acs3` checks the ``Authorization: ACS3-HMAC-SHA256 ...`` header,
  canonicalising exactly the headers listed in ``SignedHeaders``.
* :func:`verify_rpc_v1` checks the ``Signature`` parameter of the query string and
  form body merged (:func:`rpc_params`).
* :func:`verify_request` does all of the above for one request.

Every check failure raises :class:`SignatureError` with the gateway's code,
message and HTTP status. Checks run in this order: required parts, timestamp
format and skew, access key existence, signature, nonce replay. The nonce is
recorded only once the signature is valid, so forged requests cannot burn nonces.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Literal

from cdnctl.auth.signatures._common import (
    NonceCache,
    SecretLookup,
    SignatureError,
    SignedRequest,
    constant_time_equal,
    parse_utc,
    pct,
)

__all__ = [
    "ACS3_ALGORITHM",
    "DEFAULT_SKEW",
    "Scheme",
    "detect",
    "rpc_params",
    "rpc_string_to_sign",
    "verify_acs3",
    "verify_request",
    "verify_rpc_v1",
]

Scheme = Literal["acs3", "rpc_v1"]

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
DEFAULT_SKEW = 900  # seconds: the POP gateway's 15-minute window
# Headers every ACS3 request must carry, and sign.
_ACS3_REQUIRED = frozenset({"host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"})
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_STS_ECHO = " server string to sign is:"


# --- errors (spec §3.3) -------------------------------------------------------------


def _missing(param: str) -> SignatureError:
    return SignatureError(f"Missing{param}", f"{param} is mandatory for this action.", 400)


def _invalid(param: str) -> SignatureError:
    return SignatureError(f"Invalid{param}", f"Specified parameter {param} is not valid.", 400)


def _incomplete(string_to_sign: str | None = None) -> SignatureError:
    message = "The request signature does not conform to Aliyun standards."
    if string_to_sign is not None:
        message += _STS_ECHO + string_to_sign
    return SignatureError("IncompleteSignature", message, 400)


def _mismatch(string_to_sign: str) -> SignatureError:
    # aliyunsdkcore does Message.split(':')[1] and compares it with its own
    # string to sign, so the echo must follow the first ':' (spec §2.3).
    return SignatureError(
        "SignatureDoesNotMatch",
        "Specified signature is not matched with our calculation." + _STS_ECHO + string_to_sign,
        400,
    )


def _bad_method() -> SignatureError:
    return SignatureError("InvalidSignatureMethod", "Specified signature method is not valid.", 400)


def _bad_time_format() -> SignatureError:
    return SignatureError(
        "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.", 400
    )


def _expired() -> SignatureError:
    return SignatureError(
        "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400
    )


def _key_not_found() -> SignatureError:
    return SignatureError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)


def _nonce_used() -> SignatureError:
    return SignatureError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)


def _check_time(value: str, now: float, skew: float) -> None:
    stamp = parse_utc(value, _DATE_FORMAT)
    if stamp is None:
        raise _bad_time_format()
    if abs(now - stamp) > skew:
        raise _expired()


def _secret(lookup: SecretLookup, access_key_id: str) -> str:
    secret = lookup(access_key_id)
    if secret is None:
        raise _key_not_found()
    return secret


def _check_nonce(nonces: NonceCache | None, access_key_id: str, nonce: str, now: float) -> None:
    if nonces is not None and nonces.seen(access_key_id, nonce, now):
        raise _nonce_used()


# --- scheme detection ---------------------------------------------------------------


def rpc_params(req: SignedRequest) -> dict[str, str]:
    """Query and form-body parameters merged (the body wins on a clash), blanks kept."""
    params = dict(req.query)
    params.update(req.form())
    return params


def detect(req: SignedRequest) -> Scheme | None:
    """``"acs3"`` for an ``Authorization`` header, ``"rpc_v1"`` for a ``Signature``
    parameter, ``None`` when the request carries no signature at all.

    An ``Authorization`` header of another kind (without a ``Signature``
    parameter) is reported as ``"acs3"`` so that :func:`verify_acs3` rejects it
    with the gateway's ``IncompleteSignature``.
    """
    auth = req.header("authorization")
    if auth is not None and auth.lstrip().startswith("ACS3-"):
        return "acs3"
    if "Signature" in rpc_params(req):
        return "rpc_v1"
    if auth is not None:
        return "acs3"
    return None


def verify_request(
    req: SignedRequest,
    lookup: SecretLookup,
    *,
    now: float,
    nonces: NonceCache | None,
    skew: float = DEFAULT_SKEW,
) -> str:
    """Verify whichever scheme ``req`` uses; return the access key id."""
    scheme = detect(req)
    if scheme == "acs3":
        return verify_acs3(req, lookup, now=now, nonces=nonces, skew=skew)
    if scheme == "rpc_v1":
        return verify_rpc_v1(rpc_params(req), req.method, lookup, now=now, nonces=nonces, skew=skew)
    raise _missing("Signature")


# --- ACS3-HMAC-SHA256 (spec §2.2) ----------------------------------------------------


def _auth_fields(rest: str) -> dict[str, str] | None:
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name or name in fields:
            return None
        fields[name] = value.strip()
    return fields


def _acs3_string_to_sign(req: SignedRequest, signed_headers: list[str], payload_hash: str) -> str:
    query = "&".join(f"{pct(k)}={pct(v)}" for k, v in sorted(req.query))
    headers = "".join(f"{name}:{req.headers.get(name, '').strip()}\n" for name in signed_headers)
    canonical = "\n".join(
        [req.method, req.path or "/", query, headers, ";".join(signed_headers), payload_hash]
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ACS3_ALGORITHM}\n{digest}"


def _required_signed(headers: Mapping[str, str]) -> set[str]:
    """``host``, the required headers, every ``x-acs-*`` and ``content-type`` if present."""
    required = set(_ACS3_REQUIRED)
    required.update(name for name in headers if name.startswith("x-acs-"))
    if "content-type" in headers:
        required.add("content-type")
    return required


def verify_acs3(
    req: SignedRequest,
    lookup: SecretLookup,
    *,
    now: float,
    nonces: NonceCache | None,
    skew: float = DEFAULT_SKEW,
) -> str:
    """Verify an ``ACS3-HMAC-SHA256`` request and return its access key id.

    ``now`` is the server's Unix time; ``nonces`` (``None`` disables the replay
    check) remembers ``x-acs-signature-nonce`` values per access key id.
    """
    auth = (req.header("authorization") or "").strip()
    algorithm, _, rest = auth.partition(" ")
    if algorithm != ACS3_ALGORITHM:
        if algorithm.startswith("ACS3-"):  # ACS3-HMAC-SM3 / ACS3-RSA-SHA256: not offered
            raise _bad_method()
        raise _incomplete()
    fields = _auth_fields(rest)
    if fields is None or not all(
        fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")
    ):
        raise _incomplete()
    access_key_id = fields["Credential"]
    signed_headers = [h.strip().lower() for h in fields["SignedHeaders"].split(";")]
    if not all(signed_headers):
        raise _incomplete()

    payload_hash = hashlib.sha256(req.body).hexdigest()
    string_to_sign = _acs3_string_to_sign(req, signed_headers, payload_hash)
    missing = _ACS3_REQUIRED - req.headers.keys()
    unsigned = _required_signed(req.headers) - set(signed_headers)
    if missing or unsigned:
        raise _incomplete(string_to_sign)

    _check_time(req.headers["x-acs-date"], now, skew)
    secret = _secret(lookup, access_key_id)

    if not constant_time_equal(payload_hash, req.headers["x-acs-content-sha256"].strip()):
        raise _mismatch(string_to_sign)
    expected = hmac.new(
        secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256
    ).hexdigest()
    if not constant_time_equal(expected, fields["Signature"]):
        raise _mismatch(string_to_sign)

    _check_nonce(nonces, access_key_id, req.headers["x-acs-signature-nonce"].strip(), now)
    return access_key_id


# --- RPC v1, HMAC-SHA1, SignatureVersion 1.0 (spec §2.3) -----------------------------


def rpc_string_to_sign(params: Mapping[str, str], method: str) -> str:
    """``METHOD&%2F&pct(sorted k=v pairs)`` over every parameter except ``Signature``."""
    canonical = "&".join(f"{pct(k)}={pct(params[k])}" for k in sorted(params) if k != "Signature")
    return f"{method.upper()}&{pct('/')}&{pct(canonical)}"


def verify_rpc_v1(
    params: Mapping[str, str],
    method: str,
    lookup: SecretLookup,
    *,
    now: float,
    nonces: NonceCache | None,
    skew: float = DEFAULT_SKEW,
) -> str:
    """Verify an RPC v1 (``Signature`` parameter) request; return its access key id.

    ``params`` are the query and form-body parameters merged and decoded, blank
    values kept (see :func:`rpc_params`); ``method`` is the HTTP method used.
    """
    for name in ("Signature", "AccessKeyId", "Timestamp", "SignatureNonce", "SignatureVersion"):
        if not params.get(name):
            raise _missing(name)
    if params.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        raise _bad_method()
    if params["SignatureVersion"] != "1.0":
        raise _invalid("SignatureVersion")

    _check_time(params["Timestamp"], now, skew)
    access_key_id = params["AccessKeyId"]
    secret = _secret(lookup, access_key_id)

    string_to_sign = rpc_string_to_sign(params, method)
    digest = hmac.new(
        (secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1
    ).digest()
    if not constant_time_equal(base64.b64encode(digest).decode("ascii"), params["Signature"]):
        raise _mismatch(string_to_sign)

    _check_nonce(nonces, access_key_id, params["SignatureNonce"], now)
    return access_key_id
