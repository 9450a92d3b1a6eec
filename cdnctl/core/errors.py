"""The cdnctl error tree. No HTTP here: each API maps these classes in one table.

::

    CdnctlError
    ├── ValidationError             bad input (code names the field or rule)
    │   ├── InvalidUrlError
    │   ├── InvalidRegexError
    │   ├── InvalidDomainError      domain not owned by the account
    │   ├── LimitExceededError      too many targets / domains / bytes in one request
    │   └── UnsupportedError        no node of the pool can do the action
    ├── QuotaExceededError          daily quota used up (carries kind, limit, resets_at)
    ├── RateLimitedError            request rate limit (carries retry_after)
    ├── NotFoundError               task / job / site does not exist for this account
    ├── ConflictError
    │   ├── InvalidTransitionError  a state move the table forbids
    │   ├── ConcurrentUpdateError   a compare-and-set found another state
    │   └── IdempotencyConflictError same key, different request
    └── AuthError                   unknown or bad credentials
"""

from __future__ import annotations

from datetime import datetime


class CdnctlError(Exception):
    """An error in cdnctl."""

    code = "Error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.code).strip().splitlines()[0])

    @property
    def message(self) -> str:
        return str(self.args[0])


class ValidationError(CdnctlError):
    """The request is not valid."""

    code = "ValidationError"

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidUrlError(ValidationError):
    """The URL is not an absolute http(s) URL."""

    code = "InvalidUrl"


class InvalidRegexError(ValidationError):
    """The regular expression is invalid or cannot run in linear time."""

    code = "InvalidRegex"


class InvalidDomainError(ValidationError):
    """The domain does not belong to this account."""

    code = "InvalidDomain"

    def __init__(self, message: str | None = None, *, domain: str = "") -> None:
        super().__init__(message or f"the domain {domain!r} does not belong to this account")
        self.domain = domain


class LimitExceededError(ValidationError):
    """The request exceeds a size limit."""

    code = "LimitExceeded"


class UnsupportedError(ValidationError):
    """No node serving this domain can perform that action."""

    code = "Unsupported"


class QuotaExceededError(CdnctlError):
    """The daily quota for this kind of task is used up."""

    code = "QuotaExceeded"

    def __init__(
        self, message: str | None = None, *, kind: str, limit: int, remaining: int,
        resets_at: datetime,
    ) -> None:
        super().__init__(
            message or f"daily {kind} quota exceeded: limit {limit}, remaining {remaining}"
        )
        self.kind = kind
        self.limit = limit
        self.remaining = remaining
        self.resets_at = resets_at


class RateLimitedError(CdnctlError):
    """Too many requests; slow down."""

    code = "RateLimited"

    def __init__(self, message: str | None = None, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFoundError(CdnctlError):
    """No such object."""

    code = "NotFound"


class ConflictError(CdnctlError):
    """The request conflicts with the current state."""

    code = "Conflict"


class InvalidTransitionError(ConflictError):
    """That state change is not allowed."""

    code = "InvalidTransition"


class ConcurrentUpdateError(ConflictError):
    """The object changed under us."""

    code = "ConcurrentUpdate"


class IdempotencyConflictError(ConflictError):
    """The idempotency key was already used for a different request."""

    code = "IdempotencyConflict"


class AuthError(CdnctlError):
    """Missing or invalid credentials."""

    code = "Unauthorized"
