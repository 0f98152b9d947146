"""Open Dental's wire formats, as the sandbox reads and writes them: dates ``yyyy-MM-dd``, office-local naive
times ``yyyy-MM-dd HH:mm:ss``, ``0001-01-01`` for none, booleans ``"true"``/``"false"``. Pure functions.

The PMS stores wall-clock readings with no zone, so a reading in a daylight-saving gap (02:30 on the March
change) is stored and served as it is: only the integrator, who knows the zone, can tell it never happened.
"""

from __future__ import annotations

from datetime import date, datetime

__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "EMPTY_DATE",
    "EMPTY_DATETIME",
    "format_date",
    "format_datetime",
    "is_bool_text",
    "parse_date",
    "parse_datetime",
    "parse_stamp",
]

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
EMPTY_DATE = "0001-01-01"
EMPTY_DATETIME = "0001-01-01 00:00:00"


def format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        raise ValueError("Open Dental times are naive office-local readings")
    return value.strftime(DATETIME_FORMAT)


def format_date(value: date) -> str:
    return value.strftime(DATE_FORMAT)


def parse_datetime(text: object) -> datetime:
    """Exactly ``yyyy-MM-dd HH:mm:ss`` (``0001-01-01 00:00:00`` included); anything else is a ValueError."""
    if not isinstance(text, str) or len(text) != 19:
        raise ValueError("not yyyy-MM-dd HH:mm:ss")
    return datetime.strptime(text, DATETIME_FORMAT)


def parse_date(text: object) -> date:
    """Exactly ``yyyy-MM-dd``; anything else is a ValueError."""
    if not isinstance(text, str) or len(text) != 10:
        raise ValueError("not yyyy-MM-dd")
    return datetime.strptime(text, DATE_FORMAT).date()


def parse_stamp(text: object) -> datetime:
    """A ``DateTStamp`` filter: ``yyyy-MM-dd HH:mm:ss``, or a date meaning that day's midnight."""
    if isinstance(text, str) and len(text) == 10:
        return datetime.combine(parse_date(text), datetime.min.time())
    return parse_datetime(text)


def is_bool_text(value: object) -> bool:
    return value in ("true", "false")
