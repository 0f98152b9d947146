"""Status, Retry-After and transport-exception translation, one row per case."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from adapters.errors import (
    Conflict,
    ConnectionLost,
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
from adapters.http.errors import (
    ROUTE_EXTENSION,
    VendorErrors,
    default_error_mapper,
    describe_request,
    map_response,
    map_transport_errors,
    parse_retry_after,
)

NOW = datetime(2026, 3, 9, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("30", 30.0),
        (" 0 ", 0.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Mon, 09 Mar 2026 15:00:10 GMT", 10.0),
        ("Mon, 09 Mar 2026 14:59:00 GMT", 0.0),  # already past
        ("Mon, 09 Mar 2026 15:02:00 +0000", 120.0),
        ("Mon, 99 Foo 2026 15:00:10 GMT", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "kind", "code", "retryable"),
    [
        (400, ValidationFailed, ErrorCode.VALIDATION, False),
        (401, Unauthorized, ErrorCode.UNAUTHORIZED, False),
        (403, Forbidden, ErrorCode.FORBIDDEN, False),
        (404, NotFound, ErrorCode.NOT_FOUND, False),
        (409, Conflict, ErrorCode.CONFLICT, False),
        (422, ValidationFailed, ErrorCode.VALIDATION, False),
        (429, RateLimited, ErrorCode.RATE_LIMITED, True),
        (500, Unavailable, ErrorCode.UNAVAILABLE, True),
        (502, Unavailable, ErrorCode.UNAVAILABLE, True),
        (503, Unavailable, ErrorCode.UNAVAILABLE, True),
        (504, Unavailable, ErrorCode.UNAVAILABLE, True),
        (507, Unavailable, ErrorCode.UNAVAILABLE, True),
        (302, PMSError, ErrorCode.INTERNAL, False),
        (418, PMSError, ErrorCode.INTERNAL, False),
    ],
)
def test_default_error_mapper(status: int, kind: type[PMSError], code: ErrorCode, retryable: bool) -> None:
    error = default_error_mapper(status, 2.0, "E42", where="GET /patients/{id}")
    assert type(error) is kind
    assert (error.code, error.retryable, error.http_status, error.retry_after, error.vendor_code) == (
        code,
        retryable,
        status,
        2.0,
        "E42",
    )
    assert str(error) == f"GET /patients/{{id}} -> HTTP {status} vendor_code=E42"


def test_map_response_reads_retry_after_and_route_not_query() -> None:
    request = httpx.Request(
        "GET", "https://pms.test/patients?lastName=Doe", extensions={ROUTE_EXTENSION: "/patients"}
    )
    error = map_response(httpx.Response(429, headers={"Retry-After": "7"}, text="Doe", request=request))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7.0
    assert str(error) == "GET /patients -> HTTP 429"


@pytest.mark.parametrize(
    ("url", "extensions", "expected"),
    [
        ("https://pms.test/patients/12?name=Doe", {}, "GET /patients/12"),
        ("https://pms.test/patients/12?name=Doe", {ROUTE_EXTENSION: "/patients/{id}"}, "GET /patients/{id}"),
    ],
)
def test_describe_request(url: str, extensions: dict[str, str], expected: str) -> None:
    assert describe_request(httpx.Request("GET", url, extensions=extensions)) == expected


@pytest.mark.parametrize(
    ("raised", "write", "kind", "outcome_unknown"),
    [
        (httpx.ConnectError, True, ConnectionLost, False),
        (httpx.ConnectTimeout, True, ConnectionLost, False),
        (httpx.PoolTimeout, True, PMSTimeout, False),
        (httpx.ReadTimeout, True, PMSTimeout, True),
        (httpx.ReadTimeout, False, PMSTimeout, False),
        (httpx.WriteTimeout, True, PMSTimeout, True),
        (httpx.RemoteProtocolError, True, ConnectionLost, True),
        (httpx.RemoteProtocolError, False, ConnectionLost, False),
        (httpx.ReadError, True, ConnectionLost, True),
        (httpx.WriteError, True, ConnectionLost, True),
        (httpx.UnsupportedProtocol, True, PMSError, False),
        (httpx.DecodingError, False, PMSError, False),
        (httpx.ProxyError, False, PMSError, False),
    ],
)
def test_map_transport_errors(
    raised: type[httpx.HTTPError], write: bool, kind: type[PMSError], outcome_unknown: bool
) -> None:
    request = httpx.Request("POST", "https://pms.test/patients?name=Doe")
    cause = raised("Doe at https://pms.test/patients?name=Doe", request=request)  # type: ignore[call-arg]
    with pytest.raises(PMSError) as info, map_transport_errors("POST /patients", write=write):
        raise cause
    assert type(info.value) is kind
    assert info.value.outcome_unknown is outcome_unknown
    assert info.value.__cause__ is cause
    assert "Doe" not in str(info.value)
    assert str(info.value).startswith("POST /patients: ")


def test_map_transport_errors_leaves_other_exceptions_alone() -> None:
    with pytest.raises(KeyError), map_transport_errors("GET /x", write=False):
        raise KeyError("k")


_CODES = VendorErrors(
    label="Vendor",
    code_of=lambda body: body.get("code") if isinstance(body, dict) else None,
    types={"quota": RateLimited, "badfield": ValidationFailed, "locked": Unavailable},
    key=str.lower,
)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "BadField", ValidationFailed),  # a known code refines the status, compared after `key`
        (409, "locked", Unavailable),
        (400, "unknown", ValidationFailed),  # an unknown code leaves the status to decide
        (503, "badfield", Unavailable),  # a 5xx stays retryable whatever its code says
        (500, "quota", RateLimited),  # but its code may say how to retry
        (302, None, PMSError),
    ],
)
def test_vendor_errors_refine_the_status_by_code(status: int, code: str | None, kind: type[PMSError]) -> None:
    assert _CODES.error_type(status, code) is kind


def test_vendor_errors_map_a_response_with_its_code_and_retry_after() -> None:
    request = httpx.Request("GET", "https://pms.test/x?name=Doe", extensions={ROUTE_EXTENSION: "/x"})
    response = httpx.Response(
        429, json={"code": "quota", "text": "Doe"}, headers={"Retry-After": "4"}, request=request
    )
    error = _CODES(response)
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.vendor_code, str(error)) == (
        4.0,
        "quota",
        "GET /x -> HTTP 429 vendor_code=quota",
    )


def test_vendor_errors_name_the_vendor_without_a_request() -> None:
    assert str(_CODES(httpx.Response(404, text="<html>"))) == "Vendor -> HTTP 404"
