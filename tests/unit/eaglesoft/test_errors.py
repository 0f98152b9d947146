from __future__ import annotations

import httpx
import pytest

from adapters.eaglesoft.errors import EAGLESOFT_ERRORS, vendor_error_code
from adapters.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    PMSError,
    RateLimited,
    Unauthorized,
    Unavailable,
    Unsupported,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "ValidationFailed", ValidationFailed),
        (400, "UnknownField", ValidationFailed),
        (400, "InvalidParameter", ValidationFailed),
        (400, "InvalidPracticeId", ConfigurationError),
        (401, "SessionExpired", Unauthorized),
        (401, "InvalidCredentials", Unauthorized),
        (403, "VersionUnsupported", Unsupported),
        (403, "PracticeNotFound", ConfigurationError),
        (403, None, Forbidden),
        (404, "NotFound", NotFound),
        (409, "RecordLocked", Unavailable),  # a pending write holds the record: retry later
        (409, None, Conflict),
        (429, "TooManyRequests", RateLimited),
        (500, "InternalError", Unavailable),
        (503, "ServiceUnavailable", Unavailable),
        (503, "ValidationFailed", Unavailable),  # a 5xx stays retryable whatever its code
        (302, None, PMSError),  # unexpected: not silently transient
    ],
)
def test_error_type(status: int, code: str | None, kind: type[PMSError]) -> None:
    assert EAGLESOFT_ERRORS.error_type(status, code) is kind


def test_map_eaglesoft_error_reads_code_and_retry_after_never_the_message() -> None:
    request = httpx.Request("GET", "http://es/api/v1/patients?LastName=Lovelace")
    response = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={"ErrorCode": "TooManyRequests", "Message": "Lovelace"},
        request=request,
    )
    error = EAGLESOFT_ERRORS(response)
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.vendor_code, error.http_status) == (7.0, "TooManyRequests", 429)
    assert "Lovelace" not in str(error)


@pytest.mark.parametrize(
    ("body", "code"), [({"ErrorCode": "NotFound"}, "NotFound"), ({"ErrorCode": ""}, None), ("oops", None)]
)
def test_vendor_error_code(body: object, code: str | None) -> None:
    assert vendor_error_code(body) == code
