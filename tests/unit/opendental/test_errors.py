"""Open Dental's failures, by status: plain-text explanations carry no code, so the status decides."""

from __future__ import annotations

import httpx
import pytest

from adapters.errors import (
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from adapters.opendental.errors import OPEN_DENTAL_ERRORS


def _response(status: int, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://api.opendental.test/api/v1/appointments")
    request.extensions["pms.route"] = "/appointments"
    return httpx.Response(status, text=text, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "text", "kind", "retryable"),
    [
        (400, "PatNum is invalid.", ValidationFailed, False),
        (401, "Invalid DeveloperKey or CustomerKey.", Unauthorized, False),
        (404, "Appointment not found.", NotFound, False),
        (408, "", PMSTimeout, True),
        (429, "Too many requests.", RateLimited, True),
        (500, "An unexpected error occurred on the server.", Unavailable, True),
        (503, "", Unavailable, True),
        (504, "The request timed out after 60 seconds.", Unavailable, True),
        (302, "", PMSError, False),
    ],
)
def test_status_decides(status: int, text: str, kind: type[PMSError], retryable: bool) -> None:
    error = OPEN_DENTAL_ERRORS(_response(status, text))
    assert type(error) is kind
    assert (error.retryable, error.http_status, error.vendor_code) == (retryable, status, None)
    assert error.message == f"POST /appointments -> HTTP {status}"
    assert not text or text not in error.message  # the explanation may echo patient data: never copied


def test_429_carries_retry_after() -> None:
    error = OPEN_DENTAL_ERRORS(_response(429, "Too many requests.", {"Retry-After": "2"}))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0
