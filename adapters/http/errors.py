"""Translation of HTTP failures into :mod:`adapters.errors`, each kind in one place.

Transport exceptions (no response) are mapped here for every vendor, like httpx's
``map_httpcore_exceptions``. Responses with an error status are mapped by an :data:`ErrorMapper`: for a
vendor, its :class:`VendorErrors` (where its error bodies carry a code, and what its codes mean), so every
vendor follows one rule: the status decides by the usual REST conventions (:func:`status_error_type`), a
known vendor code refines it, and a 5xx stays retryable whatever its code says.

Messages name the method, the route (never the query string: it may hold a patient's name), the status and
the vendor code. They never carry a request or response body.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters.errors import (
    Conflict,
    ConnectionLost,
    Forbidden,
    NotFound,
    PMSError,
    PMSTimeout,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)

__all__ = [
    "ROUTE_EXTENSION",
    "ErrorMapper",
    "VendorErrors",
    "default_error_mapper",
    "describe_request",
    "map_response",
    "map_transport_errors",
    "parse_retry_after",
    "status_error_type",
    "transport_error",
]

ErrorMapper = Callable[[httpx.Response], PMSError]

# Request extension under which the client records the route template (e.g. "/patients/{id}").
ROUTE_EXTENSION = "pms.route"

_BY_STATUS: dict[int, type[PMSError]] = {
    400: ValidationFailed,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    408: PMSTimeout,
    409: Conflict,
    422: ValidationFailed,
    429: RateLimited,
}


def status_error_type(status: int) -> type[PMSError]:
    """The error type an HTTP status means by the usual REST conventions; vendors refine it by their codes.

    Anything unrecognised (a redirect, an odd 4xx) is a generic PMSError, never silently transient.
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return Unavailable if status >= 500 else PMSError


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date. None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now or datetime.now(UTC))
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT
    return max(0.0, (when - now).total_seconds())


def default_error_mapper(
    status: int, retry_after: float | None = None, vendor_code: str | None = None, *, where: str = ""
) -> PMSError:
    """The error for an HTTP ``status`` by the usual REST conventions; ``where`` is e.g. ``"GET /patients"``."""
    message = " ".join(
        p for p in (where, f"-> HTTP {status}", f"vendor_code={vendor_code}" if vendor_code else "") if p
    )
    return status_error_type(status)(
        message, http_status=status, retry_after=retry_after, vendor_code=vendor_code
    )


def map_response(response: httpx.Response, *, vendor_code: str | None = None) -> PMSError:
    """An :data:`ErrorMapper` for vendors without an error body worth reading."""
    return default_error_mapper(
        response.status_code,
        parse_retry_after(response.headers.get("Retry-After")),
        vendor_code,
        where=describe_request(response.request),
    )


def describe_request(request: httpx.Request) -> str:
    """``"METHOD route"``: the route template when the caller gave one, else the path without its query."""
    route = request.extensions.get(ROUTE_EXTENSION)
    return f"{request.method} {route if isinstance(route, str) else request.url.path}"


def _same(code: str) -> str:
    return code


@dataclass(frozen=True)
class VendorErrors:
    """A vendor's error answers, as an :data:`ErrorMapper`: ``code_of`` finds the vendor code in a parsed
    error body (None for another shape), ``types`` says what the known codes mean, compared after ``key``
    (e.g. ignoring case). ``label`` names the vendor in a message when the request is unknown."""

    label: str
    code_of: Callable[[Any], str | None]
    types: Mapping[str, type[PMSError]]
    key: Callable[[str], str] = _same

    def error_type(self, status: int, vendor_code: str | None) -> type[PMSError]:
        """The most specific type for a status and vendor code; an unknown failure stays a generic PMSError.

        A 5xx says the PMS failed: its code may say how to retry (a quota violation is a rate limit) but
        never turn it into a permanent error.
        """
        by_code = self.types.get(self.key(vendor_code)) if vendor_code else None
        if by_code is None or (status >= 500 and not by_code.retryable):
            return status_error_type(status)
        return by_code

    def __call__(self, response: httpx.Response) -> PMSError:
        status = response.status_code
        code = self.code_of(_json_or_none(response))
        kind = self.error_type(status, code)
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if kind is RateLimited else None
        message = f"{self._where(response)} -> HTTP {status}" + (f" vendor_code={code}" if code else "")
        return kind(message, http_status=status, retry_after=retry_after, vendor_code=code)

    def _where(self, response: httpx.Response) -> str:
        try:
            return describe_request(response.request)
        except RuntimeError:  # a response built without its request (tests, hand-made fakes)
            return self.label


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError, httpx.ResponseNotRead):
        return None


def map_transport_errors(where: str, *, write: bool) -> _TransportErrors:
    """Raise the :mod:`adapters.errors` type for an httpx transport failure inside the block
    (:func:`transport_error`).

    ``write``: whether a request that reached the PMS could have changed something, so that losing the
    answer leaves the outcome unknown.
    """
    return _TransportErrors(where, write)


class _TransportErrors:
    # A class, not a generator-based context manager: it wraps every PMS request, and a generator's
    # set-up and tear-down cost several times its own work.
    __slots__ = ("_where", "_write")

    def __init__(self, where: str, write: bool) -> None:
        self._where, self._write = where, write

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, httpx.HTTPError):
            raise transport_error(self._where, exc, write=self._write) from exc


def transport_error(where: str, exc: httpx.HTTPError, *, write: bool) -> PMSError:
    """The :mod:`adapters.errors` type for an httpx failure with no response, decided by its type."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectionLost(f"{where}: could not connect ({kind})")
    if isinstance(exc, httpx.PoolTimeout):
        return PMSTimeout(f"{where}: no pooled connection in time, not sent")
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return PMSTimeout(f"{where}: no answer in time ({kind})", outcome_unknown=write)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ConnectionLost(f"{where}: connection dropped mid-call ({kind})", outcome_unknown=write)
    return PMSError(f"{where}: HTTP failure ({kind})")
