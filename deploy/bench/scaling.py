"""Scaling: relay throughput (instant PMS, reads) over 1, 8, 100 and 1,000 practices on one worker; one and
two workers; 6 and 24 partitions. Every burst is the same size; each row names what changed."""

from __future__ import annotations

from deploy.bench.figures import Figure
from deploy.bench.instant_system import Burst, InstantSystem, Setup, practice_ids
from deploy.bench.run import Context, loadavg

__all__ = ["SECTION", "figures", "scaling_figure"]

SECTION = "Scaling"


def scaling_figure(name: str, burst: Burst, detail: str) -> Figure:
    result = burst.result
    return Figure(
        SECTION,
        name,
        f"{result.throughput:,.0f} cmd/s",
        detail=f"{burst.cpu_ms_per_command:.2f} ms CPU/cmd, p99 {result.latency.p99:.0f} ms, {detail}",
    )


def figures(ctx: Context) -> list[Figure]:
    count = ctx.pick(2000, 5000)
    rows = []
    with InstantSystem(Setup(practices=1000), ctx.bootstrap, ctx.dir("scaling-practices")) as system:
        for practices in (1, 8, 100, 1000):
            burst = system.burst(count, practices=practice_ids(practices))
            rows.append(scaling_figure(f"{practices:,} practices", burst, "1 worker, 6 partitions"))
    for workers, partitions in ((2, 6), (1, 24)):
        setup = Setup(practices=100, workers=workers, partitions=partitions)
        with InstantSystem(setup, ctx.bootstrap, ctx.dir(f"scaling-{workers}w{partitions}p")) as system:
            burst = system.burst(count)
        rows.append(scaling_figure(f"{workers} worker(s), {partitions} partitions", burst, "100 practices"))
    return [*rows, Figure(SECTION, "load", loadavg(), detail=f"{count} reads per burst")]
