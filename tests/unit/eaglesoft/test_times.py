from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.eaglesoft.times import (
    AmbiguousLocalTime,
    LocalTimeKind,
    NonexistentLocalTime,
    classify,
    format_local,
    parse_local,
    to_local,
    to_utc,
)

NY = ZoneInfo("America/New_York")
PHX = ZoneInfo("America/Phoenix")  # no DST
LHI = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift


def local(text: str) -> datetime:
    return datetime.fromisoformat(text)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("reading", "zone", "kind", "instant"),
    [
        # normal readings, winter and summer
        ("2026-01-15T09:00:00", NY, LocalTimeKind.NORMAL, "2026-01-15T14:00:00"),
        ("2026-07-15T09:00:00", NY, LocalTimeKind.NORMAL, "2026-07-15T13:00:00"),
        # the edges of the spring-forward gap (02:00-03:00 on 2026-03-08 does not exist)
        ("2026-03-08T01:59:59", NY, LocalTimeKind.NORMAL, "2026-03-08T06:59:59"),
        ("2026-03-08T02:00:00", NY, LocalTimeKind.GAP, None),
        ("2026-03-08T02:30:00", NY, LocalTimeKind.GAP, None),
        ("2026-03-08T03:00:00", NY, LocalTimeKind.NORMAL, "2026-03-08T07:00:00"),
        # the repeated hour (01:00-02:00 on 2026-11-01 happens twice): the earlier instant (EDT) is taken
        ("2026-11-01T00:59:59", NY, LocalTimeKind.NORMAL, "2026-11-01T04:59:59"),
        ("2026-11-01T01:00:00", NY, LocalTimeKind.OVERLAP, "2026-11-01T05:00:00"),
        ("2026-11-01T01:30:00", NY, LocalTimeKind.OVERLAP, "2026-11-01T05:30:00"),
        ("2026-11-01T02:00:00", NY, LocalTimeKind.NORMAL, "2026-11-01T07:00:00"),
        # a zone without DST has neither
        ("2026-03-08T02:30:00", PHX, LocalTimeKind.NORMAL, "2026-03-08T09:30:00"),
        ("2026-11-01T01:30:00", PHX, LocalTimeKind.NORMAL, "2026-11-01T08:30:00"),
        # a half-hour shift: 02:00-02:30 skipped on 2026-10-04
        ("2026-10-04T02:15:00", LHI, LocalTimeKind.GAP, None),
        ("2026-10-04T02:30:00", LHI, LocalTimeKind.NORMAL, "2026-10-03T15:30:00"),
    ],
)
def test_reading_local_times(reading: str, zone: ZoneInfo, kind: LocalTimeKind, instant: str | None) -> None:
    assert classify(local(reading), zone) is kind
    if instant is None:
        with pytest.raises(NonexistentLocalTime):
            to_utc(local(reading), zone)
    else:
        assert to_utc(local(reading), zone) == utc(instant)


@pytest.mark.parametrize(
    ("instant", "zone", "reading"),
    [
        ("2026-01-15T14:00:00", NY, "2026-01-15T09:00:00"),
        # either side of the gap: an instant always has a real rendering
        ("2026-03-08T06:59:00", NY, "2026-03-08T01:59:00"),
        ("2026-03-08T07:00:00", NY, "2026-03-08T03:00:00"),
        # first pass of the repeated hour (EDT): reads back exactly, accepted
        ("2026-11-01T05:00:00", NY, "2026-11-01T01:00:00"),
        ("2026-11-01T05:59:00", NY, "2026-11-01T01:59:00"),
        # second pass (EST) would read back an hour early: refused
        ("2026-11-01T06:00:00", NY, None),
        ("2026-11-01T06:30:00", NY, None),
        # after the repeated hour
        ("2026-11-01T07:00:00", NY, "2026-11-01T02:00:00"),
        ("2026-11-01T06:30:00", PHX, "2026-10-31T23:30:00"),
    ],
)
def test_writing_instants(instant: str, zone: ZoneInfo, reading: str | None) -> None:
    if reading is None:
        with pytest.raises(AmbiguousLocalTime):
            to_local(utc(instant), zone)
    else:
        rendered = to_local(utc(instant), zone)
        assert rendered == local(reading)
        assert rendered.tzinfo is None
        assert to_utc(rendered, zone) == utc(instant)  # the round trip is exact


def test_instant_with_another_offset_is_converted() -> None:
    berlin = datetime(2026, 1, 15, 15, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert to_local(berlin, NY) == local("2026-01-15T09:00:00")


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1, 9, 0)])
def test_naive_instant_refused(bad: datetime) -> None:
    with pytest.raises(ValueError, match="naive"):
        to_local(bad, NY)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2026-03-08T09:00:00", True),
        ("2026-03-08T09:00:00Z", False),
        ("2026-03-08T09:00:00-05:00", False),
        ("not a time", False),
    ],
)
def test_parse_local(text: str, ok: bool) -> None:
    if ok:
        assert format_local(parse_local(text)) == text
    else:
        with pytest.raises(ValueError):  # noqa: PT011 - fromisoformat's own message varies
            parse_local(text)
