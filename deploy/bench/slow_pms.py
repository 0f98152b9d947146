"""P2 slow PMS: throughput when every call takes 200 ms, and whether one slow practice delays the others.

- Throughput: 500 practices, one slot each, every PMS call 200 ms, 20% writes (bookings are ordered per
  operatory, so subject order is exercised). Little's law bounds it at slots / 0.2 s; the goal is 0.8 of that.
- Isolation: fast practices (instant PMS) paced at a steady rate, alone and then with a slow practice
  (200 ms, one slot, its backlog overflowing to the retry tier) taking a share of the traffic; the fast
  practices' p99 must stay within 10%.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from deploy.bench.figures import Figure
from deploy.bench.instant import Latencies
from deploy.bench.instant_system import InstantSystem, Setup, practice_ids
from deploy.bench.load import Planned
from deploy.bench.run import Context, loadavg
from deploy.bench.stats import Latencies as Percentiles
from deploy.bench.stats import median

__all__ = ["SECTION", "figures", "isolation_figure", "throughput_figure"]

SECTION = "P2 slow PMS"
_PMS_SECONDS = 0.2
_SLOW = "slow"


def throughput_figure(rates: Sequence[float], slots: int, pms_seconds: float, detail: str) -> Figure:
    bound = slots / pms_seconds
    rate = median(rates)
    return Figure(
        SECTION,
        f"cmd/s, {slots} slots x {pms_seconds * 1000:g} ms",
        f"{rate:,.0f}",
        goal=f">= {0.8 * bound:,.0f} (0.8 x {bound:,.0f})",
        met=rate >= 0.8 * bound,
        detail=detail,
    )


def isolation_figure(alone_p99: Sequence[float], with_slow_p99: Sequence[float], detail: str) -> Figure:
    alone, mixed = median(alone_p99), median(with_slow_p99)
    change = mixed / alone - 1 if alone > 0 else math.nan
    return Figure(
        SECTION,
        "fast practices' p99, alone -> with a slow one (ms)",
        f"{alone:.0f} -> {mixed:.0f} ({change:+.0%})",
        goal="within 10%",
        met=None if math.isnan(change) else round(change, 6) <= 0.10,
        detail=detail,
    )


def _throughput(ctx: Context) -> Figure:
    practices, count, repeats = 500, ctx.pick(2500, 6000), ctx.pick(1, 3)
    setup = Setup(practices=practices, slots=1, latency=Latencies(_PMS_SECONDS))
    with InstantSystem(setup, ctx.bootstrap, ctx.dir("p2-slow")) as system:
        rates = [system.burst(count, write_share=0.2).result.throughput for _ in range(repeats)]
    detail = f"{count} commands (20% writes) x {repeats}, 1 worker, 6 partitions, loadavg {loadavg()}"
    return throughput_figure(rates, practices, _PMS_SECONDS, detail)


def _isolation(ctx: Context) -> Figure:
    fast = practice_ids(8)
    count, repeats, rate = ctx.pick(900, 1800), ctx.pick(1, 2), 100.0
    setup = Setup(practices=8, latency=Latencies(0.0, {_SLOW: _PMS_SECONDS}), extra_practices=(_SLOW,))
    alone, mixed = [], []

    def is_fast(planned: Planned) -> bool:
        return planned.practice_id != _SLOW

    with InstantSystem(setup, ctx.bootstrap, ctx.dir("p2-isolation")) as system:
        for _ in range(repeats):
            burst = system.burst(count, practices=fast, rate=rate)
            alone.append(Percentiles.of(burst.seconds(is_fast)).p99)
            burst = system.burst(count, practices=[*fast, _SLOW], rate=rate, wait_for=is_fast)
            mixed.append(Percentiles.of(burst.seconds(is_fast)).p99)
            system.rig.wait_answers(list(burst.sent_at), timeout=90)  # let the slow one drain
    detail = (
        f"{count} reads at {rate:g}/s x {repeats}; 8 fast practices, 1 at {_PMS_SECONDS * 1000:g} ms "
        f"with 1 slot gets 1/9 of them"
    )
    return isolation_figure(alone, mixed, detail)


def figures(ctx: Context) -> list[Figure]:
    return [_throughput(ctx), _isolation(ctx)]
