"""Ascend (Apigee) failures translated to the one error tree of :mod:`adapters.errors`.

Apigee answers errors with ``{"fault": {"faultstring": "…", "detail": {"errorcode": "…"}}}``. The vendor code
decides first (a quota violation is a rate limit whatever the status), then the HTTP status. The fault string is
never copied into a message: a validation fault may echo the rejected input, which can be patient data.
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.errors import (
    PMSError,
    RateLimited,
    Unauthorized,
)
from adapters.http.errors import describe_request, parse_retry_after, status_error_type

__all__ = ["error_type", "map_ascend_error", "vendor_error_code"]

_VENDOR_CODES: dict[str, type[PMSError]] = {
    "oauth.v2.InvalidAccessToken": Unauthorized,
    "oauth.v2.AccessTokenExpired": Unauthorized,
    "oauth.v2.InvalidApiKey": Unauthorized,
    "oauth.v2.InvalidClientIdentifier": Unauthorized,
    "policies.ratelimit.QuotaViolation": RateLimited,
    "policies.ratelimit.SpikeArrestViolation": RateLimited,
}


def vendor_error_code(body: Any) -> str | None:
    """The Apigee ``errorcode`` of an error body, or None when the body has another shape."""
    fault = body.get("fault") if isinstance(body, dict) else None
    detail = fault.get("detail") if isinstance(fault, dict) else None
    code = detail.get("errorcode") if isinstance(detail, dict) else None
    return code if isinstance(code, str) and code else None


def error_type(status: int, vendor_code: str | None) -> type[PMSError]:
    """The most specific error type for a status and Apigee code; unknown failures stay a generic PMSError."""
    if vendor_code in _VENDOR_CODES:
        return _VENDOR_CODES[vendor_code]
    return status_error_type(status)


def map_ascend_error(response: httpx.Response) -> PMSError:
    """Translate a non-2xx Ascend response. Matches the HTTP layer's ``ErrorMapper`` signature."""
    status = response.status_code
    code = vendor_error_code(_json_or_none(response))
    kind = error_type(status, code)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if kind is RateLimited else None
    message = f"{_where(response)} -> HTTP {status}" + (f" vendor_code={code}" if code else "")
    return kind(message, http_status=status, retry_after=retry_after, vendor_code=code)


def _where(response: httpx.Response) -> str:
    try:
        return describe_request(response.request)
    except RuntimeError:  # a response built without its request (tests, hand-made fakes)
        return "Dentrix"


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        return None
