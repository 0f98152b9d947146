"""The performance run's pure parts: medians, spreads, /proc/status, each section's figure rows."""

from __future__ import annotations

import math

import pytest

from deploy.bench.cpu import parse_rss
from deploy.bench.instant import Latencies
from deploy.bench.latency import floor_figures, latency_figures
from deploy.bench.memory import growth_figures, per_practice_figures
from deploy.bench.overhead import overhead_figures
from deploy.bench.slow_pms import isolation_figure, throughput_figure
from deploy.bench.stats import median, spread

MIB = 2**20


@pytest.mark.parametrize(
    ("values", "expected"),
    [([3.0], 3.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0, 2.0, 3.0], 2.5), ([1.0, math.nan, 5.0], 3.0)],
)
def test_median(values: list[float], expected: float) -> None:
    assert median(values) == expected


def test_median_and_spread_of_nothing() -> None:
    assert math.isnan(median([]))
    assert spread([]) == "-"
    assert spread([3.0, 1.0, 2.0]) == "1-3"


def test_parse_rss_reads_vmrss_in_bytes() -> None:
    assert parse_rss("Name:\tpython\nVmRSS:\t  2048 kB\nVmSwap: 0 kB\n") == 2048 * 1024
    with pytest.raises(ValueError, match="VmRSS"):
        parse_rss("Name: python\n")


@pytest.mark.parametrize(
    ("bare", "relay", "ratio", "met"),
    [([1000.0, 2000.0], [1000.0, 2000.0], "1.00x", True), ([1000.0, 1000.0], [500.0, 300.0], "0.40x", False)],
)
def test_overhead_ratio_is_the_median_of_pairs(
    bare: list[float], relay: list[float], ratio: str, met: bool
) -> None:
    rows = overhead_figures(bare, relay, [0.3, 0.3], [1.0, 1.2], "d")
    row = next(r for r in rows if r.name == "relay / bare")
    assert (row.value, row.met) == (ratio, met)
    assert rows[-1].value == "1.10"


@pytest.mark.parametrize(("rate", "met"), [(2000.0, True), (1999.0, False)])
def test_throughput_goal_is_eight_tenths_of_littles_law(rate: float, met: bool) -> None:
    figure = throughput_figure([rate], 500, 0.2, "d")
    assert figure.met is met
    assert "2,000" in figure.goal


@pytest.mark.parametrize(
    ("alone", "mixed", "met"), [(10.0, 11.0, True), (10.0, 11.5, False), (10.0, 8.0, True)]
)
def test_isolation_within_ten_percent(alone: float, mixed: float, met: bool) -> None:
    assert isolation_figure([alone], [mixed], "d").met is met


def test_latency_rows_subtract_the_pms_time_and_judge_each_kind() -> None:
    reads = [0.105] * 99 + [0.2]  # p99 = 105 ms less 100 ms PMS
    writes = [0.130] * 100
    rows = latency_figures(reads, writes, 0.1, "d")
    assert [(r.value, r.met) for r in rows] == [("5.0", True), ("30.0", False)]


def test_latency_rows_without_commands_are_undecided() -> None:
    assert [r.met for r in latency_figures([], [], 0.0, "d")] == [None, None]


def test_floor_rows_give_the_bare_p99_and_the_relays_pairwise_addition() -> None:
    rows = floor_figures(300.0, [150.0, 40.0], [140.0, 20.0])
    assert [r.value for r in rows] == ["80.0", "+15.0"]  # medians: of 140 and 20; of +10 and +20


def test_memory_rows() -> None:
    growth = growth_figures(100 * MIB, 120 * MIB, 121 * MIB, 10, 5)
    assert growth[-1].met is True
    assert growth_figures(100 * MIB, 120 * MIB, 140 * MIB, 10, 5)[-1].met is False
    per = per_practice_figures(100 * MIB, 100 * MIB + 1000 * MIB // 10, 1000)
    assert (per[0].value, per[1].value, per[1].met) == ("0.10", "1.07", False)


def test_latencies_travel_as_json() -> None:
    latencies = Latencies(0.2, {"slow": 1.5})
    again = Latencies.from_json(latencies.to_json())
    assert (again.of("slow"), again.of("other")) == (1.5, 0.2)
    assert Latencies.from_json(None).of("x") == 0.0
