"""One measured figure of the performance run, and the summary table they make (`python -m deploy.bench.perf`).

Each section of the run (overhead, HTTP, slow PMS, latency, fail-over, recovery, memory, scaling) returns a list
of :class:`Figure`; the run prints them together. A figure with a goal says whether it met it; a figure without
one is reported as measured. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Figure", "render_summary"]


@dataclass(frozen=True)
class Figure:
    section: str  # "P1 overhead", "P4 fail-over", ...
    name: str  # what was measured, e.g. "relay / bare Faust (msg/s)"
    value: str  # the measured figure, formatted with its unit
    goal: str = ""  # e.g. ">= 1.0x"; empty when the figure is only reported
    met: bool | None = None  # None: no goal, or not decidable in this run
    detail: str = ""  # the conditions: commands, practices, repeats, machine load


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "met" if figure.met else "NOT met"


def render_summary(figures: Sequence[Figure]) -> str:
    """A plain-text table, one row per figure, in the order given."""
    header = ("section", "figure", "measured", "goal", "verdict", "conditions")
    rows = [header] + [(f.section, f.name, f.value, f.goal, _verdict(f), f.detail) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
