"""Open Dental's failures: the HTTP status and a plain-text explanation (``PatNum is invalid.``). The sandbox's
explanations name fields and parameters, never the values sent."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from adapters.sandbox.faults import Decision

__all__ = ["OdError", "explanation", "handle_od_error", "render_decision", "too_many_requests"]

_SERVER_ERRORS = {
    500: "An unexpected error occurred on the server.",
    502: "The office's eConnector did not answer the request.",
    503: "The API is temporarily unavailable. Try again later.",
    504: "The request timed out after 60 seconds.",
}


class OdError(Exception):
    """Raised by handlers; the app's exception handler turns it into the plain-text answer."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def explanation(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(message, status_code=status, headers=headers)


async def handle_od_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OdError)
    return explanation(exc.status, exc.message, exc.headers)


def too_many_requests(retry_after_s: float) -> OdError:
    seconds = str(max(1, math.ceil(retry_after_s)))
    return OdError(
        429, "Too many requests. Slow down and retry after the time given.", {"Retry-After": seconds}
    )


def render_decision(decision: Decision) -> Response:
    """The answer to a ``respond`` fault: 429 with ``Retry-After`` (whole seconds), or a 5xx."""
    status = decision.status or 503
    if status == 429:
        error = too_many_requests(decision.retry_after_s or 0)
        return explanation(error.status, error.message, error.headers)
    return explanation(status, _SERVER_ERRORS.get(status, "The server could not handle the request."))
