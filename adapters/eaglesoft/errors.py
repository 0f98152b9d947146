"""Eaglesoft failures translated to the one error tree of :mod:`adapters.errors`.

Two kinds of failure reach us:

- an HTTP error answer, ``{"ErrorCode": "…", "Message": "…"}`` with 400, 401, 404, 409, 429
  (``Retry-After``), 500 or 503: :data:`EAGLESOFT_ERRORS`, the HTTP layer's ``ErrorMapper`` (the shared rule
  of :class:`adapters.http.errors.VendorErrors`: the status decides, a known code refines it, a 5xx stays
  retryable whatever its code);
- an accepted asynchronous write that ``GET /writes/{id}`` later reports ``Failed`` with an ``ErrorCode``:
  :func:`write_failure`. A code that says "try again" (``RecordLocked``, ``ServerBusy``: nothing was
  applied) is retryable; a known permanent code is raised as its specific type (``InvalidPatient`` is a
  :class:`~adapters.errors.ValidationFailed`), an unknown one as :class:`~adapters.errors.WriteFailed`.

Codes are matched ignoring case and punctuation. ``Message`` is never copied into our messages: a
validation message may echo the rejected input, which can be patient data.
"""

from __future__ import annotations

from typing import Any

from adapters.errors import (
    ConfigurationError,
    Conflict,
    ErrorCode,
    NotFound,
    PMSError,
    RateLimited,
    Unauthorized,
    Unavailable,
    Unsupported,
    ValidationFailed,
    WriteFailed,
)
from adapters.http.errors import VendorErrors

__all__ = ["EAGLESOFT_ERRORS", "vendor_error_code", "write_failure"]

# Vendor codes that say more than their status (matched ignoring case and punctuation).
_VENDOR_CODES: dict[str, type[PMSError]] = {
    "sessionexpired": Unauthorized,
    "invalidcredentials": Unauthorized,
    # Our registry entry names a practice this server does not have (or not as a number): fix the config.
    "invalidpracticeid": ConfigurationError,
    "practicenotfound": ConfigurationError,
    "versionunsupported": Unsupported,
    # A record with a write still pending: nothing was queued, sending again later may pass.
    "recordlocked": Unavailable,
    "toomanyrequests": RateLimited,
    "notfound": NotFound,
    "validationfailed": ValidationFailed,
    "unknownfield": ValidationFailed,
    "invalidparameter": ValidationFailed,
}


# ``Failed`` write codes that a later attempt can get past: raised as Unavailable (retryable; the outcome is
# known, nothing was applied).
_TRANSIENT_WRITE_CODES = frozenset({"recordlocked", "serverbusy"})
# Permanent codes, raised as the most specific type so that callers treat a late failure like an early one
# (an unknown patient is a ValidationFailed whether the PMS says so at once or a moment later).
_WRITE_CODES: dict[str, type[PMSError]] = {
    "invalidpatient": ValidationFailed,
    "invalidchair": ValidationFailed,
    "invalidprovider": ValidationFailed,
    "validationfailed": ValidationFailed,
    "notfound": NotFound,
    "conflict": Conflict,
    "versionunsupported": Unsupported,
}


def _key(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def vendor_error_code(body: Any) -> str | None:
    """The ``ErrorCode`` of an Eaglesoft error body, or None when the body has another shape."""
    code = body.get("ErrorCode") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code else None


EAGLESOFT_ERRORS = VendorErrors(label="Eaglesoft", code_of=vendor_error_code, types=_VENDOR_CODES, key=_key)
"""The HTTP layer's error mapper for Eaglesoft."""


def write_failure(write_id: str, error_code: str | None, *, what: str) -> PMSError:
    """The error for an accepted write that Eaglesoft reports ``Failed`` with ``error_code``; an unknown
    code is a :class:`~adapters.errors.WriteFailed` (permanent, INTERNAL).

    ``what`` names the operation (``"create appointment"``). The vendor's ``Reason`` sentence is not
    copied: the code says everything the caller acts on, and a message carries ids and codes only.
    """
    key = _key(error_code or "")
    message = f"Eaglesoft {what}: write {write_id} failed" + (
        f" vendor_code={error_code}" if error_code else ""
    )
    if key in _TRANSIENT_WRITE_CODES:
        return Unavailable(message, vendor_code=error_code)
    kind = _WRITE_CODES.get(key)
    if kind is None:
        return WriteFailed(message, code=ErrorCode.INTERNAL, vendor_code=error_code)
    return kind(message, vendor_code=error_code)
