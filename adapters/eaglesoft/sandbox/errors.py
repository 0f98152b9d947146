"""Eaglesoft error answers: ``{"ErrorCode": "…", "Message": "…"}``. Messages name fields, never values."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.sandbox.faults import Decision

__all__ = ["EsError", "error_response", "handle_es_error", "render_decision"]

_SERVER_ERRORS = {
    500: ("InternalError", "An internal error occurred"),
    503: ("ServiceUnavailable", "The service is temporarily unavailable"),
}


class EsError(Exception):
    """Raised by handlers; the app's exception handler turns it into an error answer."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "Message": message}, status_code=status, headers=headers)


async def handle_es_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EsError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


def render_decision(decision: Decision) -> Response:
    """The answer to a ``respond`` fault: 429 with ``Retry-After`` (whole seconds), or a 5xx."""
    status = decision.status or 503
    if status == 429:
        retry_after = str(math.ceil(decision.retry_after_s or 0))
        return error_response(429, "TooManyRequests", "Too many requests", {"Retry-After": retry_after})
    code, message = _SERVER_ERRORS.get(status, ("ServerError", "The server could not handle the request"))
    return error_response(status, code, message)
