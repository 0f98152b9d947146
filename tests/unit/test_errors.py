"""The error tree: what the caller must do is carried on the exception."""

from __future__ import annotations

import pytest

from adapters import errors as e


@pytest.mark.parametrize(
    ("error", "code", "retryable"),
    [
        (e.PMSTimeout("t"), e.ErrorCode.TIMEOUT, True),
        (e.ConnectionLost("c"), e.ErrorCode.UNAVAILABLE, True),
        (e.Unavailable("u", http_status=503), e.ErrorCode.UNAVAILABLE, True),
        (e.RateLimited("r", retry_after=3.0), e.ErrorCode.RATE_LIMITED, True),
        (e.ValidationFailed("v"), e.ErrorCode.VALIDATION, False),
        (e.NotFound("n"), e.ErrorCode.NOT_FOUND, False),
        (e.Conflict("c"), e.ErrorCode.CONFLICT, False),
        (e.Unauthorized("u"), e.ErrorCode.UNAUTHORIZED, False),
        (e.Forbidden("f"), e.ErrorCode.FORBIDDEN, False),
        (e.Unsupported("s"), e.ErrorCode.UNSUPPORTED, False),
        (e.WriteFailed("w", code=e.ErrorCode.CONFLICT), e.ErrorCode.CONFLICT, False),
        (e.ConfigurationError("x"), e.ErrorCode.INTERNAL, False),
    ],
)
def test_codes_and_retryability(error: e.PMSError, code: e.ErrorCode, retryable: bool) -> None:
    assert error.code is code
    assert error.retryable is retryable
    assert isinstance(error, e.RetryableError) is retryable


def test_outcome_unknown_and_retry_after_travel_on_the_error() -> None:
    error = e.PMSTimeout("POST /appointments timed out", outcome_unknown=True)
    assert error.outcome_unknown
    assert e.RateLimited("slow down", retry_after=12.5).retry_after == 12.5
    assert "outcome_unknown=True" in repr(error)
