from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from adapters.dentrix.sandbox.seed import build_seed


@pytest.fixture(scope="module")
def seed42():  # type: ignore[no-untyped-def]
    return build_seed(42)


def _appointments(seed):  # type: ignore[no-untyped-def]
    return {a["id"]: a for org in seed.orgs for a in org.records["appointments"]}


def test_same_seed_same_data(seed42) -> None:  # type: ignore[no-untyped-def]
    again = build_seed(42)
    assert [org.records for org in again.orgs] == [org.records for org in seed42.orgs]
    assert again.clients == seed42.clients


def test_other_seed_other_data(seed42) -> None:  # type: ignore[no-untyped-def]
    other = build_seed(43)
    assert other.orgs[0].id != seed42.orgs[0].id
    assert other.clients[0].client_id != seed42.clients[0].client_id


def test_shape(seed42) -> None:  # type: ignore[no-untyped-def]
    zones = {loc["timeZone"] for org in seed42.orgs for loc in org.records["locations"]}
    assert {"America/New_York", "America/Phoenix", "America/Los_Angeles"} <= zones
    assert len(zones) >= 4
    assert 200 <= sum(len(org.records["patients"]) for org in seed42.orgs) <= 400
    assert any(not op["active"] for org in seed42.orgs for op in org.records["operatories"])
    assert all(len(org.id) == 24 for org in seed42.orgs)
    ids = [int(a) for a in _appointments(seed42)]
    assert len(ids) == len(set(ids))
    assert min(ids) < 1_000_000 <= max(ids)  # ids grow a digit: string sorting would be wrong


@pytest.mark.parametrize(
    ("zone", "day", "minutes"),
    [
        ("America/New_York", date(2026, 3, 8), 60),
        ("America/New_York", date(2026, 11, 1), 180),
        ("America/Denver", date(2026, 3, 8), 60),
        ("America/Phoenix", date(2026, 3, 8), 120),
        ("America/Phoenix", date(2026, 11, 1), 120),
        ("America/Los_Angeles", date(2026, 11, 1), 180),
    ],
)
def test_dst_straddling_appointments(seed42, zone: str, day: date, minutes: int) -> None:  # type: ignore[no-untyped-def]
    appointments = _appointments(seed42)
    zone_of = {loc["id"]: loc["timeZone"] for org in seed42.orgs for loc in org.records["locations"]}
    found = []
    for appointment_id in seed42.planted["dstAppointments"]:
        appt = appointments[appointment_id]
        start = datetime.fromisoformat(appt["start"]).astimezone(ZoneInfo(zone))
        if zone_of[appt["location"]["id"]] == zone and start.date() == day:
            found.append(appt)
    assert found
    assert all(a["duration"] == minutes for a in found)


def test_the_new_york_spring_forward_appointment(seed42) -> None:  # type: ignore[no-untyped-def]
    planted = [_appointments(seed42)[i] for i in seed42.planted["dstAppointments"]]
    assert any(a["start"] == "2026-03-08T06:30:00Z" and a["end"] == "2026-03-08T07:30:00Z" for a in planted)


def test_double_booking_is_planted(seed42) -> None:  # type: ignore[no-untyped-def]
    appointments = _appointments(seed42)
    pair = [appointments[i] for i in seed42.planted["doubleBooked"][:2]]
    assert pair[0]["operatory"] == pair[1]["operatory"]
    assert pair[0]["start"] == pair[1]["start"]


def test_anchor_moves_the_schedule() -> None:
    later = build_seed(42, anchor=date(2026, 10, 26))
    dst = set(later.planted["dstAppointments"])  # fixed dates, whatever the anchor
    starts = sorted(
        a["start"] for org in later.orgs for a in org.records["appointments"] if a["id"] not in dst
    )
    assert starts[0] >= "2026-10-12"
