"""P3 latency: commands paced at half of P1's relay throughput (instant PMS, so PMS time is 0), 20% writes;
the p99 of command-to-answer for reads and for writes. A write's IN_FLIGHT record is made durable before its
PMS call, so a write's figure includes that flush.

Command-to-answer runs from the bench's produce call to the answer's arrival at its collector, which stamps
each answer as soon as the consumer hands it over (no batching delay of its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from deploy.bench.figures import Figure
from deploy.bench.instant_system import InstantSystem, Setup
from deploy.bench.load import WRITES
from deploy.bench.run import Context, loadavg
from deploy.bench.stats import Latencies

__all__ = ["SECTION", "figures", "latency_figures"]

SECTION = "P3 latency"
_DEFAULT_RATE = 100.0  # when P1 did not run


def latency_figures(
    reads: Sequence[float], writes: Sequence[float], pms_seconds: float, detail: str
) -> list[Figure]:
    """Rows for reads (goal <= 10 ms) and writes (<= 25 ms): p99 of seconds less the PMS time, in ms."""
    rows = []
    for kind, seconds, goal in (("reads", reads, 10.0), ("writes", writes, 25.0)):
        lat = Latencies.of([s - pms_seconds for s in seconds])
        rows.append(
            Figure(
                SECTION,
                f"{kind}: p99 command-to-answer minus PMS (ms)",
                f"{lat.p99:.1f}",
                goal=f"<= {goal:g} ms",
                met=lat.p99 <= goal if seconds else None,
                detail=f"p50 {lat.p50:.1f}, max {lat.max:.1f}, n={len(seconds)}; {detail}",
            )
        )
    return rows


def figures(ctx: Context) -> list[Figure]:
    rate = (ctx.relay_throughput or 2 * _DEFAULT_RATE) / 2
    count = ctx.pick(max(600, int(rate * 5)), max(2000, int(rate * 15)))
    with InstantSystem(Setup(), ctx.bootstrap, ctx.dir("p3")) as system:
        burst = system.burst(count, write_share=0.2, rate=rate)
    reads = burst.seconds(lambda p: p.command_type not in WRITES)
    writes = burst.seconds(lambda p: p.command_type in WRITES)
    source = "half of P1" if ctx.relay_throughput else "P1 not run"
    detail = f"{count} commands at {rate:.0f}/s ({source}), 8 practices, loadavg {loadavg()}"
    return latency_figures(reads, writes, 0.0, detail)
