"""Eaglesoft's wire formats: naive office-local times, dates, ``Y``/``N`` flags. Pure functions.

The PMS stores wall-clock readings with no zone, so a reading in a daylight-saving gap (02:30 on the March
change) is stored and served as it is: only the integrator, who knows the zone, can tell it never happened.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

__all__ = ["TIME_FORMAT", "format_time", "parse_date", "parse_time", "parse_window_bound"]

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def format_time(value: datetime) -> str:
    if value.tzinfo is not None:
        raise ValueError("Eaglesoft times are naive office-local readings")
    return value.strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SS`` (seconds optional); any offset or ``Z`` is refused: the PMS knows no zones."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError("not a date-time YYYY-MM-DDTHH:MM:SS") from None
    if value.tzinfo is not None or len(text) < 16 or "T" not in text:
        raise ValueError("not a naive date-time YYYY-MM-DDTHH:MM:SS")
    return value.replace(microsecond=0)


def parse_date(text: str) -> date:
    if len(text) != 10:
        raise ValueError("not a date YYYY-MM-DD")
    return date.fromisoformat(text)


def parse_window_bound(text: str, *, end: bool) -> datetime:
    """A ``StartDate``/``EndDate`` filter value: a naive date-time, or a date meaning the start of that day
    (``end=False``) or the end of it (``end=True``)."""
    if len(text) == 10:
        day = parse_date(text)
        return datetime.combine(day + timedelta(days=1) if end else day, time(0, 0))
    return parse_time(text)
