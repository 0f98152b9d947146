"""Ascend (Apigee) error answers: where the vendor code sits, and what the known codes mean.

Apigee answers errors with ``{"fault": {"faultstring": "…", "detail": {"errorcode": "…"}}}``. The shared rule
of :class:`adapters.http.errors.VendorErrors` applies: the status decides, a known code refines it (a quota
violation is a rate limit, even on a 5xx). The fault string is never copied into a message: a validation
fault may echo the rejected input, which can be patient data.
"""

from __future__ import annotations

from typing import Any

from adapters.errors import PMSError, RateLimited, Unauthorized
from adapters.http.errors import VendorErrors

__all__ = ["ASCEND_ERRORS", "vendor_error_code"]

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


ASCEND_ERRORS = VendorErrors(label="Dentrix", code_of=vendor_error_code, types=_VENDOR_CODES)
"""The HTTP layer's error mapper for Ascend."""
