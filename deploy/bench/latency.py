"""P3 latency: commands paced at half of P1's relay throughput (instant PMS, so PMS time is 0), 20% writes;
the p99 of command-to-answer for reads and for writes. A write's IN_FLIGHT record is made durable before its
PMS call, so a write's figure includes that wait.

Command-to-answer runs from the bench's produce call to the answer's arrival at its collector, which stamps
each answer as soon as the consumer hands it over (no batching delay of its own).

The floor: a bare Faust agent forwarding the same commands at the same pace, bursts alternated with the
relay's in one run. On two shared cores the broker, the bench and the worker compete, and at a few hundred
commands a second the bare agent's own p99 is far above 10 ms; the relay's addition over it is its own cost.
The same pair also runs at 100/s, where the machine is not saturated.
"""

from __future__ import annotations

from collections.abc import Sequence

from deploy.bench.figures import Figure
from deploy.bench.instant_system import InstantSystem, Setup
from deploy.bench.load import WRITES
from deploy.bench.run import Context, loadavg
from deploy.bench.stats import Latencies, median

__all__ = ["SECTION", "figures", "latency_figures"]

SECTION = "P3 latency"
_DEFAULT_RATE = 100.0  # when P1 did not run
_CALM_RATE = 100.0


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


def floor_figures(rate: float, relay_p99_ms: Sequence[float], bare_p99_ms: Sequence[float]) -> list[Figure]:
    """The bare agent's p99 at the same pace, and the relay's addition over it (pairwise medians, ms)."""
    bare = median(bare_p99_ms)
    added = median([r - b for r, b in zip(relay_p99_ms, bare_p99_ms, strict=True)])
    return [
        Figure(SECTION, f"bare Faust agent p99 at {rate:.0f}/s (ms)", f"{bare:.1f}", detail="the floor"),
        Figure(
            SECTION,
            f"relay p99 over the bare agent's at {rate:.0f}/s (ms)",
            f"{added:+.1f}",
            detail=f"all commands; relay p99 {median(relay_p99_ms):.1f}",
        ),
    ]


def figures(ctx: Context) -> list[Figure]:
    rate = (ctx.relay_throughput or 2 * _DEFAULT_RATE) / 2
    repeats = ctx.pick(1, 2)
    rows: list[Figure] = []
    with (
        InstantSystem(Setup(bare=True), ctx.bootstrap, ctx.dir("p3-bare")) as bare,
        InstantSystem(Setup(), ctx.bootstrap, ctx.dir("p3")) as relay,
    ):
        for pace in (rate,) if abs(rate - _CALM_RATE) < 1 else (rate, _CALM_RATE):
            count = ctx.pick(max(600, int(pace * 5)), max(2000, int(pace * 15)))
            reads: list[float] = []
            writes: list[float] = []
            relay_p99: list[float] = []
            bare_p99: list[float] = []
            for _ in range(repeats):
                floor = bare.burst(count, write_share=0.2, rate=pace)
                bare_p99.append(Latencies.of(floor.seconds()).p99)
                burst = relay.burst(count, write_share=0.2, rate=pace)
                relay_p99.append(Latencies.of(burst.seconds()).p99)
                reads += burst.seconds(lambda p: p.command_type not in WRITES)
                writes += burst.seconds(lambda p: p.command_type in WRITES)
            source = "half of P1" if pace == rate and ctx.relay_throughput else "fixed"
            detail = (
                f"{count} commands x {repeats} at {pace:.0f}/s ({source}), 8 practices, loadavg {loadavg()}"
            )
            found = latency_figures(reads, writes, 0.0, detail)
            if pace != rate:  # the goal is set at half of P1; the calm pace is for reading the figures
                found = [
                    Figure(f.section, f"{f.name} at {pace:.0f}/s", f.value, detail=f.detail) for f in found
                ]
            rows += found + floor_figures(pace, relay_p99, bare_p99)
    return rows
