"""Translation of HTTP failures into :mod:`adapters.errors`, each kind in one place.

Transport exceptions (no response) are mapped here for every vendor, like httpx's
``map_httpcore_exceptions``. Responses with an error status are mapped by the vendor's
:data:`ErrorMapper`, which usually reads its error body for a vendor code and then calls
:func:`default_error_mapper`.

Messages name the method, the route (never the query string: it may hold a patient's name), the status and
the vendor code. They never carry a request or response body.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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
    "default_error_mapper",
    "describe_request",
    "map_response",
    "map_transport_errors",
    "parse_retry_after",
    "status_error_type",
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


@contextmanager
def map_transport_errors(where: str, *, write: bool) -> Iterator[None]:
    """Raise the :mod:`adapters.errors` type for an httpx transport failure inside the block.

    ``write``: whether a request that reached the PMS could have changed something, so that losing the
    answer leaves the outcome unknown.
    """
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ConnectionLost(f"{where}: could not connect ({type(exc).__name__})") from exc
    except httpx.PoolTimeout as exc:
        raise PMSTimeout(f"{where}: no pooled connection in time, not sent") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        raise PMSTimeout(f"{where}: no answer in time ({type(exc).__name__})", outcome_unknown=write) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise ConnectionLost(
            f"{where}: connection dropped mid-call ({type(exc).__name__})", outcome_unknown=write
        ) from exc
    except httpx.HTTPError as exc:
        raise PMSError(f"{where}: HTTP failure ({type(exc).__name__})") from exc
