"""Reading a Tencent Cloud API 3.0 request: which shape it is, its common parameters,
and the action's parameters as a typed tree.

Three shapes reach ``/`` (spec §1.1):

* TC3, ``POST`` with a JSON object body (the SDK default);
* TC3, ``GET`` with the parameters flattened into the query string
  (``Filters.0.Values.1=...``, booleans as ``True``/``False``);
* legacy ``HmacSHA1``/``HmacSHA256``: everything, common parameters included, in a
  flattened form body (or query), no ``X-TC-*`` headers.

Flattened parameters are rebuilt into the nested structure before validation and
coerced to the documented types; JSON values must already have them.
"""

# ruff: noqa: RUF001  (Chinese messages use full-width punctuation)

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cdnctl.api.dialects.tencent_teo import errors as err
from cdnctl.auth.signatures import SignedRequest

VERSION = "2022-09-01"
#: Common parameters of the legacy form (and of a GET request, when sent there).
COMMON = frozenset({"Action", "Version", "Timestamp", "Nonce", "SecretId", "SignatureMethod",
                    "Signature", "Language", "RequestClient", "Region", "Token"})
LEGACY_METHODS = frozenset({"HmacSHA1", "HmacSHA256"})
GET_LIMIT = 32 * 1024
LEGACY_POST_LIMIT = 1024 * 1024
TC3_POST_LIMIT = 10 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"


def content_type(req: SignedRequest) -> str:
    return (req.header("content-type") or "").split(";", 1)[0].strip().lower()


def is_legacy(req: SignedRequest) -> bool:
    return req.header("authorization") is None


def common(req: SignedRequest, params: Mapping[str, str], name: str) -> str:
    """A common parameter: the ``X-TC-<name>`` header (TC3) or the form parameter."""
    if is_legacy(req):
        return params.get(name, "")
    return (req.header(f"x-tc-{name.lower()}") or "").strip()


def language(req: SignedRequest, params: Mapping[str, str]) -> str:
    """``en-US`` or ``zh-CN`` (the default, as for Tencent's own API)."""
    header = req.header("x-tc-language")
    wanted = header if header is not None else params.get("Language", "")
    return err.EN if wanted.strip().lower() == "en-us" else err.ZH


def check_size(req: SignedRequest, max_body: int) -> None:
    if req.method == "GET":
        if len(req.raw_query) > GET_LIMIT:
            raise err.size_exceeded(GET_LIMIT)
        return
    limit = min(LEGACY_POST_LIMIT if is_legacy(req) else TC3_POST_LIMIT, max_body)
    if len(req.body) > limit:
        raise err.size_exceeded(limit)


def action_params(req: SignedRequest, form: Mapping[str, str]) -> Params:
    """The action's own parameters (common ones left out)."""
    if req.method == "POST" and content_type(req) == "application/json":
        try:
            data = json.loads(req.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise err.invalid_request("The request body is not valid JSON.",
                                      "请求体不是合法的 JSON。") from None
        if not isinstance(data, dict):
            raise err.invalid_request("The request body must be a JSON object.",
                                      "请求体必须是 JSON 对象。")
        return Params(data, flat=False)
    if req.method == "POST" and content_type(req) not in (FORM, ""):
        raise err.invalid_request(
            f"Content-Type `{content_type(req)}` is not supported; use application/json.",
            f"不支持的 Content-Type `{content_type(req)}`，请使用 application/json。")
    flat = {k: v for k, v in form.items() if k not in COMMON}
    return Params(unflatten(flat), flat=True)


def unflatten(flat: Mapping[str, str]) -> dict[str, Any]:
    """``{"Filters.0.Values.1": "x"}`` -> ``{"Filters": [{"Values": [<gap>, "x"]}]}``.

    Objects whose keys are all indexes become lists, in index order.
    """
    root: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        if not all(parts):
            raise err.unknown_parameter(key)
        node = root
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise err.bad_type(".".join(parts[: i + 1]))
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise err.bad_type(key)
        node[parts[-1]] = value
    rebuilt = _lists(root, "")
    if not isinstance(rebuilt, dict):  # only indexes at the top level: "0=..."
        raise err.unknown_parameter(next(iter(flat)))
    return rebuilt


def _lists(node: dict[str, Any], path: str) -> Any:
    out = {k: _lists(v, f"{path}{k}.") if isinstance(v, dict) else v for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        indexes = sorted(int(k) for k in out)
        if indexes != list(range(len(indexes))):
            raise err.bad_value(path.rstrip(".") or "?", "List indexes must start at 0 "
                                "without gaps.", "列表下标必须从 0 开始且连续。")
        return [out[str(i)] for i in indexes]
    return out


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


@dataclass(frozen=True)
class Params:
    """A (nested) parameter object with typed, validating accessors.

    ``flat``: values came from a flattened form and are strings to coerce.
    """

    data: Mapping[str, Any]
    flat: bool
    path: str = ""

    def name(self, key: str) -> str:
        return f"{self.path}{key}"

    def check_known(self, allowed: Iterable[str]) -> None:
        known = set(allowed)
        for key in self.data:
            if key not in known:
                raise err.unknown_parameter(self.name(key))

    def present(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise err.missing(self.name(key))
            return None
        if not isinstance(value, str):
            raise err.bad_type(self.name(key))
        if required and not value:
            raise err.missing(self.name(key))
        return value

    def required(self, key: str) -> str:
        """A non-empty string parameter, or ``MissingParameter``."""
        value = self.string(key, required=True)
        assert value is not None
        return value

    def integer(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None:
            return default
        if self.flat and isinstance(value, str):
            text = value.strip()
            digits = text[1:] if text.startswith("-") else text
            if not digits.isascii() or not digits.isdigit():
                raise err.bad_type(self.name(key))
            return int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            raise err.bad_type(self.name(key))
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if self.flat and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise err.bad_type(self.name(key))
        if not isinstance(value, bool):
            raise err.bad_type(self.name(key))
        return value

    def strings(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise err.bad_type(self.name(key))
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise err.bad_type(f"{self.name(key)}.{i}")
        return list(value)

    def obj(self, key: str) -> Params | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise err.bad_type(self.name(key))
        return Params(value, self.flat, f"{self.name(key)}.")

    def objects(self, key: str) -> list[Params] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise err.bad_type(self.name(key))
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise err.bad_type(f"{self.name(key)}.{i}")
            out.append(Params(item, self.flat, f"{self.name(key)}.{i}."))
        return out
