from __future__ import annotations

import httpx
import pytest

from adapters.dentrix.errors import ASCEND_ERRORS, vendor_error_code
from adapters.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)


def _fault(code: str, text: str = "Jane Doe rejected") -> dict[str, object]:
    return {"fault": {"faultstring": text, "detail": {"errorcode": code}}}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "retry_after"),
    [
        (401, _fault("oauth.v2.InvalidAccessToken"), {}, Unauthorized, None),
        (401, _fault("oauth.v2.AccessTokenExpired"), {}, Unauthorized, None),
        (429, _fault("policies.ratelimit.QuotaViolation"), {"Retry-After": "7"}, RateLimited, 7.0),
        (429, None, {}, RateLimited, None),
        (500, _fault("policies.ratelimit.SpikeArrestViolation"), {"Retry-After": "1"}, RateLimited, 1.0),
        (400, _fault("validation.failed"), {}, ValidationFailed, None),
        (422, None, {}, ValidationFailed, None),
        (403, _fault("access.denied"), {}, Forbidden, None),
        (404, None, {}, NotFound, None),
        (408, None, {}, PMSTimeout, None),
        (409, None, {}, Conflict, None),
        (500, None, {}, Unavailable, None),
        (502, _fault("messaging.adaptors.http.flow.ServiceUnavailable"), {}, Unavailable, None),
        (503, None, {"Retry-After": "3"}, Unavailable, None),
        (418, None, {}, PMSError, None),
    ],
)
def test_map_ascend_error(
    status: int,
    body: object,
    headers: dict[str, str],
    expected: type[PMSError],
    retry_after: float | None,
) -> None:
    response = (
        httpx.Response(status, json=body, headers=headers)
        if body is not None
        else httpx.Response(status, headers=headers)
    )
    error = ASCEND_ERRORS(response)
    assert type(error) is expected
    assert error.http_status == status
    assert error.retry_after == retry_after
    assert not error.outcome_unknown


def test_message_carries_status_and_code_but_never_the_fault_string() -> None:
    error = ASCEND_ERRORS(httpx.Response(400, json=_fault("validation.failed", "firstName Jane invalid")))
    assert error.message == "Dentrix -> HTTP 400 vendor_code=validation.failed"
    assert "validation.failed" in error.message
    assert "Jane" not in error.message
    assert error.vendor_code == "validation.failed"
    assert error.code is ErrorCode.VALIDATION


def test_non_json_body_maps_by_status() -> None:
    error = ASCEND_ERRORS(httpx.Response(503, text="<html>gateway</html>"))
    assert isinstance(error, Unavailable)
    assert error.retryable
    assert error.vendor_code is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_fault("x.y"), "x.y"),
        ({"fault": {"faultstring": "no detail"}}, None),
        ({"fault": "flat"}, None),
        ([], None),
        (None, None),
        ({"fault": {"detail": {"errorcode": ""}}}, None),
    ],
)
def test_vendor_error_code(body: object, expected: str | None) -> None:
    assert vendor_error_code(body) == expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, "policies.ratelimit.QuotaViolation", RateLimited),
        (599, None, Unavailable),
        (302, None, PMSError),
    ],
)
def test_error_type(status: int, code: str | None, expected: type[PMSError]) -> None:
    assert ASCEND_ERRORS.error_type(status, code) is expected


def test_message_names_the_route_not_the_query() -> None:
    request = httpx.Request("GET", "https://h/ascend-gateway/api/v1/patients?filter=lastName~=Doe")
    error = ASCEND_ERRORS(httpx.Response(404, request=request))
    assert error.message == "GET /ascend-gateway/api/v1/patients -> HTTP 404"
