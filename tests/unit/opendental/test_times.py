"""Open Dental's wire dates and times: strict formats, and 0001-01-01 for none."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from adapters.opendental.times import format_date, format_datetime, parse_date, parse_datetime


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2026-03-08 01:30:00", datetime(2026, 3, 8, 1, 30)),
        ("2026-03-08 02:30:00", datetime(2026, 3, 8, 2, 30)),  # a gap reading is still a reading on the wire
        ("0001-01-01 00:00:00", None),
        ("", None),
    ],
)
def test_parse_datetime(text: str, value: datetime | None) -> None:
    assert parse_datetime(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-08T01:30:00",
        "2026-03-08 01:30",
        "2026-03-08 01:30:00Z",
        "2026-03-08 01:30:00+00:00",
        "08/03/2026",
    ],
)
def test_other_formats_are_dialect_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"format|unconverted"):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("text", "value"), [("1976-05-24", date(1976, 5, 24)), ("0001-01-01", None), ("", None)]
)
def test_parse_date(text: str, value: date | None) -> None:
    assert parse_date(text) == value


def test_format_round_trips_and_none_is_the_empty_date() -> None:
    assert format_datetime(datetime(2026, 11, 1, 1, 30)) == "2026-11-01 01:30:00"
    assert format_datetime(None) == "0001-01-01 00:00:00"
    assert format_date(date(2026, 3, 2)) == "2026-03-02"
    assert format_date(None) == "0001-01-01"


def test_an_aware_time_is_not_office_local() -> None:
    from datetime import UTC

    with pytest.raises(ValueError, match="offset"):
        format_datetime(datetime(2026, 1, 1, tzinfo=UTC))
