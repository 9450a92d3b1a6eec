"""Server-side verifiers for the vendor request-signature schemes.

Pure functions over a :class:`SignedRequest` (no web framework, stdlib only).
Each verifier returns the caller's access key id, or raises
:class:`SignatureError` carrying the vendor's exact error code, message and
HTTP status:

* Alibaba Cloud (CDN 2018-05-10, ESA 2024-09-10): :func:`verify_acs3`
  (ACS3-HMAC-SHA256) and :func:`verify_rpc_v1` (HMAC-SHA1, SignatureVersion 1.0);
  :func:`detect_alibaba` / :func:`verify_alibaba` choose between them.
* Tencent Cloud EdgeOne: :func:`verify_tc3` (TC3-HMAC-SHA256) and
  :func:`verify_legacy` (HmacSHA1/HmacSHA256 form signature);
  :func:`detect_tencent` / :func:`verify_tencent` choose between them.
* Huawei Cloud CDN: :func:`verify_sdk_hmac_sha256` (SDK-HMAC-SHA256).
"""

from __future__ import annotations

from cdnctl.auth.signatures._common import (
    NonceCache,
    SecretLookup,
    SignatureError,
    SignedRequest,
)
from cdnctl.auth.signatures.alibaba import detect as detect_alibaba
from cdnctl.auth.signatures.alibaba import rpc_params, verify_acs3, verify_rpc_v1
from cdnctl.auth.signatures.alibaba import verify_request as verify_alibaba
from cdnctl.auth.signatures.huawei import verify_sdk_hmac_sha256
from cdnctl.auth.signatures.tencent_tc3 import detect as detect_tencent
from cdnctl.auth.signatures.tencent_tc3 import verify_legacy, verify_tc3
from cdnctl.auth.signatures.tencent_tc3 import verify_request as verify_tencent

__all__ = [
    "NonceCache",
    "SecretLookup",
    "SignatureError",
    "SignedRequest",
    "detect_alibaba",
    "detect_tencent",
    "rpc_params",
    "verify_acs3",
    "verify_alibaba",
    "verify_legacy",
    "verify_rpc_v1",
    "verify_sdk_hmac_sha256",
    "verify_tc3",
    "verify_tencent",
]
