from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.eaglesoft.sandbox.wire import format_time, parse_time, parse_window_bound


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-08T02:30:00", datetime(2026, 3, 8, 2, 30)),  # in the DST gap: stored as read
        ("2026-11-01T01:30", datetime(2026, 11, 1, 1, 30)),
        ("2026-03-08T09:00:00.250", datetime(2026, 3, 8, 9, 0)),
    ],
)
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-03-08T09:00:00Z", "2026-03-08T09:00:00-06:00", "2026-03-08", "09:00", "", "2026-13-01T00:00:00"],
)
def test_parse_time_refuses_zones_and_junk(text: str) -> None:
    with pytest.raises(ValueError, match="date-time"):
        parse_time(text)


def test_format_time_is_naive_and_second_precision() -> None:
    assert format_time(datetime(2026, 3, 8, 9, 5, 7, 999)) == "2026-03-08T09:05:07"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 3, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2026-03-08", False, datetime(2026, 3, 8)),
        ("2026-03-08", True, datetime(2026, 3, 9)),
        ("2026-03-08T10:00:00", True, datetime(2026, 3, 8, 10)),
    ],
)
def test_window_bounds(text: str, end: bool, expected: datetime) -> None:
    assert parse_window_bound(text, end=end) == expected
