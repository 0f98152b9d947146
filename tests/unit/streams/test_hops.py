"""Hop headers: a round trip, and a bounded set however many hops a command makes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from streams.hops import Hop, Origin, read_hop, write_hop

T = datetime(2026, 3, 9, 15, 0, 0, 250000, tzinfo=UTC)
ORIGIN = Origin("pms.commands", 4, 1234)


@pytest.mark.parametrize(
    "hop",
    [
        pytest.param(Hop(1, 1, T, ORIGIN), id="minimal"),
        pytest.param(
            Hop(
                3,
                2,
                T,
                ORIGIN,
                due_at=T + timedelta(seconds=60),
                error_code="TIMEOUT",
                error_class="PMSTimeout",
                error_message="no answer in 15 s",
            ),
            id="full",
        ),
        pytest.param(Hop(9, 4, T, Origin("x.pms.commands", 0, 0), error_code="INTERNAL"), id="dead-letter"),
    ],
)
def test_round_trip(hop: Hop) -> None:
    assert read_hop(write_hop([], hop)) == hop


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([], id="original-command"),
        pytest.param([("pms-hop", b"1")], id="partial"),
        pytest.param(
            [
                ("pms-hop", b"x"),
                ("pms-attempts", b"1"),
                ("pms-first-seen", b"2026-03-09T15:00:00Z"),
                ("pms-origin-topic", b"t"),
                ("pms-origin-partition", b"0"),
                ("pms-origin-offset", b"1"),
            ],
            id="not-a-number",
        ),
        pytest.param(
            [
                ("pms-hop", b"1"),
                ("pms-attempts", b"1"),
                ("pms-first-seen", b"yesterday"),
                ("pms-origin-topic", b"t"),
                ("pms-origin-partition", b"0"),
                ("pms-origin-offset", b"1"),
            ],
            id="not-an-instant",
        ),
    ],
)
def test_unreadable_or_absent_journey_reads_as_none(headers: list[tuple[str, bytes | None]]) -> None:
    assert read_hop(headers) is None


def test_headers_stay_bounded_after_many_hops() -> None:
    headers: list[tuple[str, bytes]] = [("ce_id", b"abc"), ("traceparent", b"00-x-y-01")]
    first = write_hop(headers, Hop(1, 1, T, ORIGIN, due_at=T, error_code="UNAVAILABLE", error_message="m"))
    current = first
    for n in range(2, 60):
        current = write_hop(
            current, Hop(n, n, T, ORIGIN, due_at=T, error_code="UNAVAILABLE", error_message="m")
        )

    names = Counter(name for name, _ in current)
    assert max(names.values()) == 1
    assert len(current) == len(first)
    assert current[:2] == headers  # other headers kept, in place
    hop = read_hop(current)
    assert hop is not None
    assert (hop.hop, hop.attempts) == (59, 59)


def test_a_later_hop_without_a_due_time_or_error_drops_the_earlier_ones() -> None:
    earlier = write_hop([], Hop(1, 1, T, ORIGIN, due_at=T, error_code="TIMEOUT", error_message="slow"))
    later = read_hop(write_hop(earlier, Hop(2, 1, T, ORIGIN)))
    assert later == Hop(2, 1, T, ORIGIN)


def test_error_message_is_truncated() -> None:
    hop = read_hop(write_hop([], Hop(1, 1, T, ORIGIN, error_message="e" * 5000)))
    assert hop is not None
    assert hop.error_message == "e" * 300
