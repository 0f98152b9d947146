"""One error tree for every adapter, split by what the caller must do.

::

    PMSError                         (code, retryable, retry_after, outcome_unknown, http_status)
    ├── RetryableError               try again later: the stream layer sends the command to a retry tier
    │   ├── PMSTimeout               TIMEOUT      no answer in time (outcome_unknown for a write that was sent)
    │   ├── ConnectionLost           UNAVAILABLE  could not connect, or the connection dropped mid-call
    │   ├── Unavailable              UNAVAILABLE  5xx, maintenance, outage
    │   └── RateLimited              RATE_LIMITED 429; ``retry_after`` says when to come back
    ├── PermanentError               answer with an error event now; retrying cannot help
    │   ├── ValidationFailed         VALIDATION   the PMS (or we) rejected the input
    │   ├── NotFound                 NOT_FOUND
    │   ├── Conflict                 CONFLICT     e.g. a double booking in one operatory
    │   ├── Unauthorized             UNAUTHORIZED credentials refused even after one refresh
    │   ├── Forbidden                FORBIDDEN
    │   ├── Unsupported              UNSUPPORTED  the PMS (or its version) cannot do this
    │   └── WriteFailed              CONFLICT / VALIDATION / INTERNAL  an accepted async write failed later
    └── ConfigurationError           stop: fix the practice registry or the code (INTERNAL)

Retryability is decided here, at the adapter boundary, and carried on the exception. Stream code reads
``retryable``, ``retry_after`` and ``outcome_unknown`` and never looks at HTTP status codes.

Messages carry ids and codes only, never patient data: callers pass vendor error codes and record ids,
not request or response bodies.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ConfigurationError",
    "Conflict",
    "ConnectionLost",
    "ErrorCode",
    "Forbidden",
    "NotFound",
    "PMSError",
    "PMSTimeout",
    "PermanentError",
    "RateLimited",
    "RetryableError",
    "Unauthorized",
    "Unavailable",
    "Unsupported",
    "ValidationFailed",
    "WriteFailed",
]


class ErrorCode(StrEnum):
    """The error codes of the contract (``schemas/pms/error.avsc``)."""

    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
    UNKNOWN_PRACTICE = "UNKNOWN_PRACTICE"
    UNSUPPORTED = "UNSUPPORTED"
    INTERNAL = "INTERNAL"


class PMSError(Exception):
    """Base of every adapter failure. Subclasses fix ``code`` and ``retryable``."""

    code: ErrorCode = ErrorCode.INTERNAL
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        outcome_unknown: bool = False,
        vendor_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown
        self.vendor_code = vendor_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code}, retryable={self.retryable}, "
            f"http_status={self.http_status}, retry_after={self.retry_after}, "
            f"outcome_unknown={self.outcome_unknown}, message={self.message!r})"
        )


class RetryableError(PMSError):
    retryable = True
    code = ErrorCode.UNAVAILABLE


class PMSTimeout(RetryableError):
    code = ErrorCode.TIMEOUT


class ConnectionLost(RetryableError):
    code = ErrorCode.UNAVAILABLE


class Unavailable(RetryableError):
    code = ErrorCode.UNAVAILABLE


class RateLimited(RetryableError):
    code = ErrorCode.RATE_LIMITED


class PermanentError(PMSError):
    retryable = False


class ValidationFailed(PermanentError):
    code = ErrorCode.VALIDATION


class NotFound(PermanentError):
    code = ErrorCode.NOT_FOUND


class Conflict(PermanentError):
    code = ErrorCode.CONFLICT


class Unauthorized(PermanentError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(PermanentError):
    code = ErrorCode.FORBIDDEN


class Unsupported(PermanentError):
    code = ErrorCode.UNSUPPORTED


class WriteFailed(PermanentError):
    """An accepted asynchronous write that the PMS later reported as failed."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INTERNAL,
        http_status: int | None = None,
        vendor_code: str | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, vendor_code=vendor_code)
        self.code = code


class ConfigurationError(PMSError):
    """The practice registry or the code is wrong: retrying will not help, an operator must act."""

    code = ErrorCode.INTERNAL
