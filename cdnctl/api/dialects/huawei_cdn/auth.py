"""Who is calling: AK/SK ``SDK-HMAC-SHA256`` (what the SDK sends) or ``X-Auth-Token``.

* ``Authorization: SDK-HMAC-SHA256 ...`` is verified by
  :func:`cdnctl.auth.signatures.huawei.verify_sdk_hmac_sha256` over exactly the
  signed headers, the raw path and query, and the body, with a 15-minute
  ``X-Sdk-Date`` window on the runtime's clock.
* ``X-Auth-Token: <token>`` (raw HTTP callers) must be one of the account's
  native API tokens. When both are present the signature decides (the SDK signs a
  preset ``X-Auth-Token`` like any other header).
* ``X-Domain-Id`` (the Huawei account id, which is the cdnctl account id), when
  sent, must name the caller's account: 403 ``CDN.0021`` otherwise.
* ``X-Security-Token`` (STS temporary credentials) is refused: cdnctl has no
  temporary credentials, so the pair could never be validated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from cdnctl.api.dialects.huawei_cdn.errors import HuaweiError, auth_failed, from_signature
from cdnctl.auth.signatures import SignatureError, SignedRequest, verify_sdk_hmac_sha256
from cdnctl.core.model import Account

if TYPE_CHECKING:
    from cdnctl.app import Runtime


def signed_request(request: Request, body: bytes) -> SignedRequest:
    """The request parts the signature covers, exactly as received."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    path = raw_path.decode("latin-1").partition("?")[0]
    query: bytes = request.scope.get("query_string", b"")
    return SignedRequest.create(request.method, path, query.decode("latin-1"),
                                request.headers.items(), body)


def authenticate(request: Request, body: bytes, runtime: Runtime) -> Account:
    """The calling account, or a :class:`HuaweiError` (401 / 403)."""
    headers = request.headers
    account: Account | None
    if headers.get("authorization", "").strip() or not headers.get("x-auth-token", "").strip():
        account = _by_signature(request, body, runtime)
    else:
        account = runtime.directory.account_by_token(headers["x-auth-token"].strip())
        if account is None:
            raise auth_failed("decrypt token fail")
    if headers.get("x-security-token", "").strip():
        raise auth_failed("security token is not supported: use a permanent AK/SK")
    domain_id = headers.get("x-domain-id", "").strip()
    if domain_id and domain_id != account.id:
        raise HuaweiError(403, "CDN.0021")
    return account


def _by_signature(request: Request, body: bytes, runtime: Runtime) -> Account:
    directory = runtime.directory

    def secret_for(access_key: str) -> str | None:
        found = directory.access_key(access_key)
        return found[1].secret if found is not None else None

    try:
        access_key = verify_sdk_hmac_sha256(signed_request(request, body), secret_for,
                                            now=runtime.clock.now().timestamp())
    except SignatureError as exc:
        raise from_signature(exc) from None
    found = directory.access_key(access_key)
    if found is None:  # pragma: no cover - the verifier just looked it up
        raise auth_failed(f"Get secretKey failed,ak:{access_key},err:ak not exist")
    return found[0]
