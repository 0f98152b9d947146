"""Figures of one benchmark case from raw timestamps: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CaseResult",
    "Latencies",
    "cpu_per_command_ms",
    "median",
    "percentile",
    "render_table",
    "spread",
    "summarize",
]


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of an ascending sequence; NaN when empty."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Latencies:
    """Send-to-answer latencies, in milliseconds."""

    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latencies:
        ordered = sorted(s * 1000 for s in seconds)
        return cls(
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
            ordered[-1] if ordered else math.nan,
        )


@dataclass(frozen=True)
class CaseResult:
    name: str
    workers: int
    latency_ms: float
    sent: int
    answered: int
    errors: int  # answers on the errors topic (a benchmark of reads should have none)
    wall_s: float  # first send to last answer
    latency: Latencies
    cpu_s: Mapping[str, float] = field(default_factory=dict)  # process role -> CPU seconds during the burst
    cpu_window_s: float = 0.0  # the wall time those CPU seconds were counted over (send to all answered)

    @property
    def throughput(self) -> float:
        return self.answered / self.wall_s if self.wall_s > 0 else math.nan


def summarize(
    name: str,
    *,
    workers: int,
    latency_ms: float,
    sent_at: Mapping[str, float],
    answered_at: Mapping[str, float],
    errors: int,
    cpu_s: Mapping[str, float] | None = None,
    cpu_window_s: float = 0.0,
) -> CaseResult:
    """``sent_at``/``answered_at``: command id -> clock reading (one clock for both). Answers to commands
    that were not part of the burst (warm-up) are ignored."""
    pairs = [(sent, answered_at[cid]) for cid, sent in sent_at.items() if cid in answered_at]
    first_send = min(sent_at.values(), default=0.0)
    last_answer = max((answered for _, answered in pairs), default=first_send)
    return CaseResult(
        name=name,
        workers=workers,
        latency_ms=latency_ms,
        sent=len(sent_at),
        answered=len(pairs),
        errors=errors,
        wall_s=last_answer - first_send,
        latency=Latencies.of([answered - sent for sent, answered in pairs]),
        cpu_s=dict(cpu_s or {}),
        cpu_window_s=cpu_window_s,
    )


_COLUMNS = (
    "case", "workers", "PMS ms", "sent", "answered", "errors", "wall s", "cmd/s",
    "p50 ms", "p95 ms", "p99 ms", "max ms",
)  # fmt: skip


def _row(result: CaseResult) -> list[str]:
    lat = result.latency
    return [
        result.name,
        str(result.workers),
        f"{result.latency_ms:g}",
        str(result.sent),
        str(result.answered),
        str(result.errors),
        f"{result.wall_s:.2f}",
        f"{result.throughput:.0f}",
        *(f"{value:.0f}" for value in (lat.p50, lat.p95, lat.p99, lat.max)),
    ]


def _cpu_cell(result: CaseResult, role: str) -> str:
    seconds = result.cpu_s.get(role)
    if seconds is None:
        return "-"
    share = seconds / result.cpu_window_s * 100 if result.cpu_window_s > 0 else math.nan
    return f"{seconds:.1f} ({share:.0f}%)"


def cpu_per_command_ms(result: CaseResult, role: str = "worker") -> float:
    """CPU milliseconds of ``role`` per command answered in the burst; NaN when unknown."""
    seconds = result.cpu_s.get(role)
    if seconds is None or result.answered == 0:
        return math.nan
    return seconds / result.answered * 1000


def render_table(results: Sequence[CaseResult]) -> str:
    """A plain-text table: one line per case; CPU columns as ``seconds (% of one core over the burst)``, and
    the workers' CPU per command answered."""
    roles = sorted({role for result in results for role in result.cpu_s})
    per_command = ["worker ms/cmd"] if "worker" in roles else []
    header = [*_COLUMNS, *(f"CPU {role}" for role in roles), *per_command]
    rows = [
        [
            *_row(r),
            *(_cpu_cell(r, role) for role in roles),
            *(f"{cpu_per_command_ms(r):.3f}" for _ in per_command),
        ]
        for r in results
    ]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in rows)])


def median(values: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count); NaN when empty."""
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return math.nan
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values: Sequence[float], fmt: str = "{:.0f}") -> str:
    """``min-max`` of ``values``, for a figure's conditions."""
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "-"
    return f"{fmt.format(min(kept))}-{fmt.format(max(kept))}"
