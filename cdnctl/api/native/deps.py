"""What every native handler needs from a request: the runtime, the caller, the body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from starlette.requests import Request

from cdnctl.api.errors import BadRequestError
from cdnctl.core.errors import AuthError
from cdnctl.core.model import Account

if TYPE_CHECKING:
    from cdnctl.app import Runtime

M = TypeVar("M", bound=pydantic.BaseModel)


def runtime_of(request: Request) -> Runtime:
    """The :class:`~cdnctl.app.Runtime` the app serves (set by ``create_app``/its lifespan)."""
    runtime: Runtime | None = request.app.state.runtime
    if runtime is None:
        raise RuntimeError("the application has no runtime (lifespan not started?)")
    return runtime


def request_id_of(request: Request) -> str:
    rid: str = getattr(request.state, "request_id", "")
    return rid


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise AuthError("missing Authorization header; send 'Authorization: Bearer <token>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def authenticate(request: Request) -> Account:
    """The account owning the bearer token, or :class:`AuthError`."""
    token = bearer_token(request)
    account = runtime_of(request).directory.account_by_token(token)
    if account is None:
        raise AuthError("invalid token")
    request.state.account_id = account.id
    return account


def loc_name(loc: tuple[int | str, ...]) -> str:
    """``("targets", 3)`` -> ``targets[3]``; ``("headers", "X")`` -> ``headers.X``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def schema_errors(exc: pydantic.ValidationError) -> BadRequestError:
    """A pydantic error as a 400 (not JSON) or 422 (wrong shape) naming every field."""
    errors: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        if err["type"] == "json_invalid":
            return BadRequestError("InvalidJson", f"the body is not valid JSON: {err['msg']}")
        field = loc_name(tuple(err["loc"]))
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        errors.append({"field": field, "message": msg, "type": err["type"]})
    first = errors[0] if errors else {"field": "", "message": "invalid body"}
    where = f"{first['field']}: " if first["field"] else ""
    return BadRequestError("SchemaError", f"{where}{first['message']}", status=422,
                           field=first["field"] or None, errors=errors)


async def json_body(request: Request, model: type[M]) -> M:
    """Parse the body as ``model`` (strict JSON: no coercion, unknown fields refused)."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype.lower() not in ("application/json", ""):
        raise BadRequestError("UnsupportedMediaType",
                              f"send the body as application/json, not {ctype}", status=415)
    body = await request.body()
    if not body.strip():
        raise BadRequestError("InvalidJson", "the request body is empty; send a JSON object")
    try:
        return model.model_validate_json(body, strict=True)
    except pydantic.ValidationError as exc:
        raise schema_errors(exc) from None
