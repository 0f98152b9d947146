"""The benchmark's pure parts (figures, /proc parsing, the burst plan). Not part of the
project suite (``testpaths = tests``); run with ``.venv/bin/pytest deploy/bench/tests``."""

from __future__ import annotations

import math

import pytest

from deploy.bench.cpu import parse_stat
from deploy.bench.load import Planned, plan
from deploy.bench.stats import percentile, render_table, summarize
from schemas.envelopes import CommandType

LA, SP = CommandType.LIST_APPOINTMENTS, CommandType.SEARCH_PATIENTS
CP, CA = CommandType.CREATE_PATIENT, CommandType.CREATE_APPOINTMENT


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0], 50, 1.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 95, 4.0),
        (list(map(float, range(1, 101))), 99, 99.0),
        (list(map(float, range(1, 101))), 100, 100.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 50))


def test_summarize_times_first_send_to_last_answer_and_ignores_unknown_answers() -> None:
    result = summarize(
        "c",
        workers=1,
        latency_ms=0,
        sent_at={"a": 10.0, "b": 10.5, "c": 11.0},
        answered_at={"a": 10.1, "b": 12.5, "warm-up": 99.0},
        errors=0,
        cpu_s={"worker": 1.0},
        cpu_window_s=4.0,
    )
    assert (result.sent, result.answered, result.wall_s) == (3, 2, 2.5)
    assert result.throughput == pytest.approx(0.8)
    assert result.latency.max == pytest.approx(2000.0)
    assert "1.0 (25%)" in render_table([result])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 (cat) R 0 0 0 0 -1 0 0 0 0 0 150 50 0 0 20 0 1 0 5 0 0", 2.0),
        ("7 (a) b (c)) S 0 0 0 0 -1 0 0 0 0 0 10 0 0 0 20 0 1 0 5 0 0", 0.1),
    ],
)
def test_parse_stat_adds_user_and_system_ticks(text: str, expected: float) -> None:
    assert parse_stat(text, ticks_per_second=100) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("count", "share", "expected"),
    [
        (4, 0.0, [("p0", LA), ("p1", SP), ("p0", LA), ("p1", SP)]),
        (4, 0.5, [("p0", LA), ("p1", CP), ("p0", SP), ("p1", CA)]),
        (3, 1.0, [("p0", CP), ("p1", CA), ("p0", CP)]),
    ],
)
def test_plan_spreads_practices_and_spaces_writes(
    count: int, share: float, expected: list[tuple[str, CommandType]]
) -> None:
    assert plan(count, ["p0", "p1"], share) == [Planned(p, t) for p, t in expected]
