"""A small synchronous client for the native API, for the CLI commands."""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

import click
import httpx

DEFAULT_SERVER = "http://127.0.0.1:8080"
USER_AGENT = "cdnctl-cli/1"


class ApiError(click.ClickException):
    """The server answered with an error envelope (or could not be reached)."""

    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None, code: str = "",
                 body: dict[str, Any] | None = None, json_mode: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body or {}
        self.json_mode = json_mode

    def show(self, file: IO[Any] | None = None) -> None:
        if self.json_mode:
            payload = self.body or {"error": self.code or "ClientError", "detail": self.message}
            click.echo(json.dumps(payload, indent=2))
        super().show(file)


class Client:
    def __init__(self, server: str, token: str | None, *, timeout: float = 30.0,
                 json_mode: bool = False, http: httpx.Client | None = None) -> None:
        """``http``: an httpx client to send through instead of a new one (tests use
        Starlette's ``TestClient`` to talk to an in-process app)."""
        self.server = server.rstrip("/")
        self.token = token
        self.json_mode = json_mode
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = http or httpx.Client(base_url=self.server, timeout=timeout)
        self._http.headers.update(headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: Any = None,
                body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                retry_rate_limited: bool = False) -> dict[str, Any]:
        """Send one request; return the JSON body, or raise :class:`ApiError`."""
        if not self.token:
            raise click.UsageError("no token: pass --token or set CDNCTL_TOKEN")
        for _ in range(5):
            try:
                resp = self._http.request(method, path, params=params, json=body,
                                          headers=headers)
            except httpx.TimeoutException:
                raise self._fail(f"the server at {self.server} did not answer in time") from None
            except httpx.HTTPError as exc:
                raise self._fail(f"cannot reach the server at {self.server} ({exc}); "
                                 "is `cdnctl serve` running? (--server / CDNCTL_SERVER)") from None
            if resp.status_code == 429 and retry_rate_limited:
                time.sleep(min(10.0, float(resp.headers.get("retry-after", "1") or 1)))
                continue
            return self._decode(resp)
        return self._decode(resp)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v not in (None, (), [], "")}
        return self.request("GET", path, params=clean)

    def post(self, path: str, body: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self.request("POST", path, body=body, headers=headers)

    def _fail(self, message: str) -> ApiError:
        return ApiError(message, code="ConnectionError", json_mode=self.json_mode)

    def _decode(self, resp: httpx.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.is_success and isinstance(data, dict):
            return data
        if isinstance(data, dict) and "error" in data:
            code, detail = str(data["error"]), str(data.get("detail", ""))
            msg = f"{code}: {detail}" if detail else code
            if data.get("errors") and len(data["errors"]) > 1:
                msg += "".join(f"\n  {e.get('field')}: {e.get('message')}"
                               for e in data["errors"][1:])
            if "retry_after" in data:
                msg += f" (retry after {data['retry_after']}s)"
            if "resets_at" in data:
                msg += f" (resets at {data['resets_at']})"
            return self._raise(msg, resp.status_code, code, data)
        snippet = resp.text[:200].strip() or resp.reason_phrase
        return self._raise(f"HTTP {resp.status_code} from {resp.url}: {snippet}",
                           resp.status_code, "HTTPError", None)

    def _raise(self, msg: str, status: int, code: str,
               body: dict[str, Any] | None) -> dict[str, Any]:
        raise ApiError(msg, status=status, code=code, body=body, json_mode=self.json_mode)


def is_tty(stream: IO[Any] | None = None) -> bool:
    s = stream or sys.stderr
    return bool(getattr(s, "isatty", lambda: False)())
