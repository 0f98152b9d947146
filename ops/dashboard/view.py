"""One page's worth of the cluster: every row with its level, sorted worst first. Pure: a state copy and a
clock in, a :class:`View` out, which the template renders and ``/api/snapshot`` serialises."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel

from ops.dashboard.levels import (
    Level,
    alerting_level,
    lag_level,
    leader_of,
    practice_level,
    silent,
    tier_level,
    worker_level,
)
from ops.dashboard.records import AlertsStatus, PracticeStatus, SinkFailure, WorkerStatus
from ops.dashboard.settings import DashboardSettings
from ops.dashboard.state import Alert, ClusterState, DeadLetter, GroupLag, Throughput

__all__ = [
    "AlertingRow",
    "FailureRow",
    "LetterRow",
    "PracticeRow",
    "SinkRow",
    "TierRow",
    "View",
    "WorkerRow",
    "build_view",
    "plain",
]


@dataclass(frozen=True)
class WorkerRow:
    level: Level
    reason: str
    status: WorkerStatus
    throughput: Throughput


@dataclass(frozen=True)
class PracticeRow:
    level: Level
    reason: str
    status: PracticeStatus
    trace_url: str | None  # of its last error


@dataclass(frozen=True)
class TierRow:
    topic: str
    level: Level
    depth: int
    oldest_overdue_s: float


@dataclass(frozen=True)
class FailureRow:
    practice_id: str
    command_id: str
    code: str
    at: datetime
    trace_url: str | None


@dataclass(frozen=True)
class LetterRow:
    letter: DeadLetter
    redrive: str | None
    trace_url: str | None


@dataclass(frozen=True)
class SinkRow:
    sink: str
    failure: SinkFailure


@dataclass(frozen=True)
class AlertingRow:
    """Alert delivery: the leader's count of alerts no sink took, and each sink's last refusal."""

    level: Level
    reason: str
    leader: AlertsStatus | None
    instances: tuple[AlertsStatus, ...]
    failures: tuple[SinkRow, ...]  # newest first

    @property
    def undelivered(self) -> int:
        return self.leader.undelivered if self.leader else 0


@dataclass(frozen=True)
class View:
    now: datetime
    level: Level
    counts: dict[str, int]  # practices by level name
    workers_level: Level  # the worst worker's; amber when none has published
    workers: tuple[WorkerRow, ...]
    practices: tuple[PracticeRow, ...]
    tiers: tuple[TierRow, ...]
    lag: GroupLag | None
    lag_level: Level
    lag_reason: str
    throughput: Throughput
    failures: tuple[FailureRow, ...]
    dead_letter_depth: int
    dead_letters: tuple[LetterRow, ...]
    alerts: tuple[Alert, ...]
    alerting: AlertingRow
    skipped: int


def build_view(state: ClusterState, now: datetime, settings: DashboardSettings) -> View:
    t = settings.thresholds
    workers = sorted(
        (_worker_row(w, state, now, settings) for w in state.workers.values()),
        key=lambda r: (-r.level, r.status.worker_id),
    )
    practices = sorted(
        (_practice_row(p, now, settings) for p in state.practices.values()),
        key=lambda r: (-r.level, -(r.status.window_5m.error_rate or 0.0), r.status.practice_id),
    )
    tiers = _tiers(workers, now, settings)
    lag_lvl, lag_reason = lag_level(state.lag, t)
    alerting = _alerting(state.alerting.values(), now, settings)
    levels = [
        alerting.level,
        *(r.level for r in workers),
        *(r.level for r in practices),
        *(r.level for r in tiers),
        lag_lvl,
        Level.GREEN if workers else Level.AMBER,
    ]
    return View(
        now=now,
        level=max(levels, default=Level.GREEN),
        counts={level.name.lower(): sum(r.level is level for r in practices) for level in Level},
        workers_level=workers[0].level if workers else Level.AMBER,
        workers=tuple(workers),
        practices=tuple(practices),
        tiers=tiers,
        lag=state.lag,
        lag_level=lag_lvl,
        lag_reason=lag_reason,
        throughput=_total(r.throughput for r in workers if not silent(r.status.updated_at, now, t)),
        failures=_failures(state.practices.values(), settings),
        dead_letter_depth=state.dead_letters.depth,
        dead_letters=tuple(
            LetterRow(
                letter,
                settings.redrive_command(letter.command_id) if letter.command_id else None,
                settings.trace_url(letter.trace_id),
            )
            for letter in state.dead_letters.newest
        ),
        alerts=tuple(state.alerts),
        alerting=alerting,
        skipped=state.skipped,
    )


def _worker_row(
    w: WorkerStatus, state: ClusterState, now: datetime, settings: DashboardSettings
) -> WorkerRow:
    level, reason = worker_level(w, now, settings.thresholds)
    return WorkerRow(level, reason, w, state.throughput.get(w.worker_id, Throughput()))


def _practice_row(p: PracticeStatus, now: datetime, settings: DashboardSettings) -> PracticeRow:
    level, reason = practice_level(p, now, settings.thresholds)
    return PracticeRow(level, reason, p, settings.trace_url(p.last_error.trace_id if p.last_error else None))


def _alerting(services: Iterable[AlertsStatus], now: datetime, settings: DashboardSettings) -> AlertingRow:
    instances = tuple(sorted(services, key=lambda s: (not s.leader, s.instance_id)))
    level, reason = alerting_level(instances, now, settings.thresholds)
    leader = leader_of(instances, now, settings.thresholds)
    failures = sorted(
        (SinkRow(sink, f) for sink, f in (leader.last_failures.items() if leader else ())),
        key=lambda r: r.failure.at,
        reverse=True,
    )
    return AlertingRow(level, reason, leader, instances, tuple(failures))


def _tiers(workers: list[WorkerRow], now: datetime, settings: DashboardSettings) -> tuple[TierRow, ...]:
    """Each tier across the live workers: the depths add up, the oldest overdue is the worst of them."""
    depth: dict[str, int] = {}
    overdue: dict[str, float] = {}
    for row in workers:
        if silent(row.status.updated_at, now, settings.thresholds):
            continue
        for topic, tier in row.status.retry_tiers.items():
            depth[topic] = depth.get(topic, 0) + tier.depth
            overdue[topic] = max(overdue.get(topic, 0.0), tier.oldest_overdue_s)
    return tuple(
        TierRow(topic, tier_level(overdue[topic], settings.thresholds), depth[topic], overdue[topic])
        for topic in sorted(depth)
    )


def _total(rates: Iterable[Throughput]) -> Throughput:
    total = Throughput()
    for rate in rates:
        total = Throughput(total.in_per_s + rate.in_per_s, total.out_per_s + rate.out_per_s)
    return total


def _failures(practices: Iterable[PracticeStatus], settings: DashboardSettings) -> tuple[FailureRow, ...]:
    rows = [
        FailureRow(p.practice_id, f.command_id, f.code, f.at, settings.trace_url(f.trace_id))
        for p in practices
        for f in p.recent_failures
    ]
    rows.sort(key=lambda r: r.at, reverse=True)
    return tuple(rows[: settings.failure_limit])


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: records, rows and levels become objects, strings and numbers."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Level):
        return value.css
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, GroupLag):  # its totals are properties, not fields
            data |= {"records": value.records, "seconds": value.seconds}
        elif isinstance(value, AlertingRow):
            data["undelivered"] = value.undelivered
        return data
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | deque):
        return [plain(v) for v in value]
    return value
