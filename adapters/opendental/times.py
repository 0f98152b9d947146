"""Open Dental's dates and office-local times on the wire: ``yyyy-MM-dd`` and ``yyyy-MM-dd HH:mm:ss``, with
``0001-01-01`` (``0001-01-01 00:00:00``) meaning "none".

Open Dental stores every time as a wall-clock reading in the office (``AptDateTime``, ``DateTimeArrived``,
``DateTStamp``), with no offset; the practice's IANA zone turns a reading into an instant by the shared
daylight-saving policy of :mod:`adapters.localtime` (re-exported here): a reading in a spring-forward gap is a
data error, one in the repeated fall-back hour is the earlier instant, an instant in the second pass is
refused when writing. Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date, datetime

from adapters.localtime import AmbiguousLocalTime, NonexistentLocalTime, require_naive, to_local, to_utc

__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "EMPTY_DATE",
    "EMPTY_DATETIME",
    "AmbiguousLocalTime",
    "NonexistentLocalTime",
    "format_date",
    "format_datetime",
    "parse_date",
    "parse_datetime",
    "to_local",
    "to_utc",
]

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Open Dental's "no date": the minimum value of a .NET DateTime, never a real day in a dental office.
EMPTY_DATE = "0001-01-01"
EMPTY_DATETIME = "0001-01-01 00:00:00"


def parse_datetime(text: str) -> datetime | None:
    """A naive ``yyyy-MM-dd HH:mm:ss`` reading, or None for ``0001-01-01 00:00:00`` (or ``""``).

    Anything else (an ISO ``T``, an offset, a missing second) is a dialect error (ValueError).
    """
    if text in ("", EMPTY_DATETIME):
        return None
    value = datetime.strptime(text, DATETIME_FORMAT)
    require_naive(value)
    return value


def format_datetime(local: datetime | None) -> str:
    """A naive office-local reading as Open Dental writes it; None is ``0001-01-01 00:00:00``."""
    if local is None:
        return EMPTY_DATETIME
    require_naive(local)
    return local.strftime(DATETIME_FORMAT)


def parse_date(text: str) -> date | None:
    """A ``yyyy-MM-dd`` date, or None for ``0001-01-01`` (or ``""``)."""
    if text in ("", EMPTY_DATE):
        return None
    return datetime.strptime(text, DATE_FORMAT).date()


def format_date(day: date | None) -> str:
    return EMPTY_DATE if day is None else day.strftime(DATE_FORMAT)
