"""Finding a free slot in an operatory, the way a receptionist scans next week's book. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.domain import Appointment, AppointmentStatus

__all__ = ["free_slots", "next_week"]

_OPEN, _CLOSE = time(9, 0), time(17, 0)
_STEP = timedelta(minutes=30)
_FREED = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.BROKEN, AppointmentStatus.NO_SHOW})


def next_week(today: date) -> tuple[date, date]:
    """Monday and Friday of the week after ``today``'s."""
    monday = today + timedelta(days=7 - today.weekday())
    return monday, monday + timedelta(days=4)


def free_slots(
    booked: Iterable[Appointment],
    operatory_id: str,
    days: Iterable[date],
    zone: str,
    minutes: int = 30,
) -> list[tuple[datetime, datetime]]:
    """Every ``minutes``-long slot, on half hours between 9:00 and 17:00 office time, that overlaps no live
    appointment of ``operatory_id``; in UTC, earliest first."""
    tz = ZoneInfo(zone)
    length = timedelta(minutes=minutes)
    busy = [(a.start, a.end) for a in booked if a.operatory_id == operatory_id and a.status not in _FREED]
    slots = []
    for day in days:
        start = datetime.combine(day, _OPEN, tz)
        close = datetime.combine(day, _CLOSE, tz)
        while start + length <= close:
            begin, end = start.astimezone(UTC), (start + length).astimezone(UTC)
            if all(end <= b_start or begin >= b_end for b_start, b_end in busy):
                slots.append((begin, end))
            start += _STEP
    return slots
