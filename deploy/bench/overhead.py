"""P1 overhead: the relay with an in-process instant PMS against a bare Faust agent forwarding bytes.

Both run at once on the same broker, each with its own topics of the same partition count; bursts of the same
commands (same count, same bytes) alternate between them, bare first, and each figure is the median of the
repeats. Goal: the relay's commands/s at least the bare agent's msg/s. CPU per command is the worker
process's own (``/proc``), counted over each burst.
"""

from __future__ import annotations

from collections.abc import Sequence

from deploy.bench.figures import Figure
from deploy.bench.instant_system import InstantSystem, Setup
from deploy.bench.run import Context, loadavg
from deploy.bench.stats import median, spread

__all__ = ["SECTION", "figures", "overhead_figures"]

SECTION = "P1 overhead"


def overhead_figures(
    bare_rates: Sequence[float],
    relay_rates: Sequence[float],
    bare_cpu_ms: Sequence[float],
    relay_cpu_ms: Sequence[float],
    detail: str,
) -> list[Figure]:
    """The section's rows from the repeats' figures (pure)."""
    bare, relay = median(bare_rates), median(relay_rates)
    ratios = [r / b for r, b in zip(relay_rates, bare_rates, strict=True) if b > 0]
    ratio = median(ratios)
    return [
        Figure(SECTION, "bare Faust agent (msg/s)", f"{bare:,.0f}", detail=f"{spread(bare_rates)}; {detail}"),
        Figure(SECTION, "relay, instant PMS (cmd/s)", f"{relay:,.0f}", detail=f"{spread(relay_rates)}"),
        Figure(
            SECTION,
            "relay / bare",
            f"{ratio:.2f}x",
            goal=">= 1.0x",
            met=ratio >= 1.0,
            detail=f"pairwise median, {spread(ratios, '{:.2f}')}",
        ),
        Figure(SECTION, "bare CPU per message (ms)", f"{median(bare_cpu_ms):.2f}", detail="worker process"),
        Figure(SECTION, "relay CPU per command (ms)", f"{median(relay_cpu_ms):.2f}", detail="worker process"),
    ]


def figures(ctx: Context) -> list[Figure]:
    count, repeats = ctx.pick(2000, 5000), ctx.pick(3, 5)
    bare_rates, relay_rates, bare_cpu, relay_cpu = [], [], [], []
    with (
        InstantSystem(Setup(bare=True), ctx.bootstrap, ctx.dir("p1-bare")) as bare,
        InstantSystem(Setup(), ctx.bootstrap, ctx.dir("p1-relay")) as relay,
    ):
        for _ in range(repeats):
            for system, rates, cpu in ((bare, bare_rates, bare_cpu), (relay, relay_rates, relay_cpu)):
                burst = system.burst(count)
                rates.append(burst.result.throughput)
                cpu.append(burst.cpu_ms_per_command)
    ctx.relay_throughput = median(relay_rates)
    detail = f"{count} reads x {repeats}, 8 practices, 6 partitions, 1 worker, loadavg {loadavg()}"
    return overhead_figures(bare_rates, relay_rates, bare_cpu, relay_cpu, detail)
