"""Apigee-style error bodies: ``{"fault": {"faultstring": ..., "detail": {"errorcode": ...}}}``.

Fault strings name fields and parameters, never the values a caller sent (they may be patient data).
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.sandbox.faults import Decision

__all__ = ["ApiFault", "fault_body", "fault_response", "render_decision"]

# Apigee's own fault strings and codes for gateway-level failures.
_GATEWAY_FAULTS: dict[int, tuple[str, str]] = {
    500: ("Internal Server Error", "messaging.adaptors.http.flow.InternalServerError"),
    502: ("Unexpected EOF at target", "messaging.adaptors.http.flow.UnexpectedEOFAtTarget"),
    503: ("The Service is temporarily unavailable", "messaging.adaptors.http.flow.ServiceUnavailable"),
    504: ("Gateway Timeout", "messaging.adaptors.http.flow.GatewayTimeout"),
}
QUOTA_FAULT = "Rate limit quota violation. Quota limit exceeded. Identifier : _default"
QUOTA_CODE = "policies.ratelimit.QuotaViolation"


class ApiFault(Exception):
    """Raised by handlers; turned into an Apigee fault response by the app's exception handler."""

    def __init__(self, status: int, errorcode: str, faultstring: str, headers: dict[str, str] | None = None):
        super().__init__(faultstring)
        self.status = status
        self.errorcode = errorcode
        self.faultstring = faultstring
        self.headers = headers or {}


def fault_body(faultstring: str, errorcode: str) -> dict[str, object]:
    return {"fault": {"faultstring": faultstring, "detail": {"errorcode": errorcode}}}


def fault_response(
    status: int, errorcode: str, faultstring: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(fault_body(faultstring, errorcode), status_code=status, headers=headers)


async def handle_api_fault(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiFault)
    return fault_response(exc.status, exc.errorcode, exc.faultstring, exc.headers)


def render_decision(decision: Decision) -> Response:
    """The answer to a ``respond`` fault: a quota violation (429) or a gateway 5xx."""
    status = decision.status or 503
    if status == 429:
        retry_after = str(math.ceil(decision.retry_after_s or 0))
        return fault_response(429, QUOTA_CODE, QUOTA_FAULT, {"Retry-After": retry_after})
    faultstring, code = _GATEWAY_FAULTS.get(
        status, ("Server Error", "messaging.adaptors.http.flow.ServerError")
    )
    return fault_response(status, code, faultstring)
