"""Red, amber, green: how bad each row of the page is, and why. Pure rules over the status records, tested
with tables; the thresholds are one frozen value so a fleet can tune them.

A practice is red when its circuit is open, when its record went silent (its worker stopped publishing), or when
most of its recent commands failed; amber when the circuit is half-open, the practice is parked after a 429,
some recent commands failed, every slot is busy with a backlog, or PMS latency is high; green otherwise.
Alert delivery is red while the alerts leader holds an alert no sink took, amber when no live instance leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from ops.dashboard.records import AlertsStatus, PracticeStatus, WorkerStatus
from ops.dashboard.state import GroupLag

__all__ = [
    "Level",
    "Thresholds",
    "alerting_level",
    "lag_level",
    "leader_of",
    "practice_level",
    "tier_level",
    "worker_level",
]


class Level(IntEnum):
    """Ordered so that sorting by level, descending, puts the worst first."""

    GREEN = 0
    AMBER = 1
    RED = 2

    @property
    def css(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Thresholds:
    status_interval_s: float = 5.0
    silent_after_intervals: float = 3.0  # the contract: older than 3 intervals is silent
    red_error_rate: float = 0.5
    amber_error_rate: float = 0.05
    min_finished_for_rate: int = 4  # one failure out of two commands is not a trend
    amber_p95_ms: float = 2000.0
    amber_lag_s: float = 30.0
    red_lag_s: float = 300.0
    amber_overdue_s: float = 5.0
    red_overdue_s: float = 60.0
    amber_in_flight_share: float = 0.9

    @property
    def silent_after_s(self) -> float:
        return self.status_interval_s * self.silent_after_intervals


Verdict = tuple[Level, str]


def practice_level(p: PracticeStatus, now: datetime, t: Thresholds) -> Verdict:
    """The practice's level and the one reason that set it (the worst first)."""
    rate = p.window_5m.error_rate if p.window_5m.finished >= t.min_finished_for_rate else None
    if p.circuit == "open":
        return Level.RED, "circuit open"
    if silent(p.updated_at, now, t):
        return Level.RED, "silent: no status from its worker"
    if rate is not None and rate >= t.red_error_rate:
        return Level.RED, f"{rate:.0%} errors (5 min)"
    if p.circuit == "half-open":
        return Level.AMBER, "circuit half-open"
    if p.parked_until is not None and p.parked_until > now:
        return Level.AMBER, "parked (rate limited)"
    if rate is not None and rate >= t.amber_error_rate:
        return Level.AMBER, f"{rate:.0%} errors (5 min)"
    if p.slots and p.slots_in_use >= p.slots and p.backlog:
        return Level.AMBER, "every slot busy, backlog waiting"
    if p.pms_latency_ms.p95 is not None and p.pms_latency_ms.p95 >= t.amber_p95_ms:
        return Level.AMBER, "slow PMS (p95)"
    return Level.GREEN, "ok"


def worker_level(w: WorkerStatus, now: datetime, t: Thresholds) -> Verdict:
    if silent(w.updated_at, now, t):
        return Level.RED, "silent: killed or cut off"
    if w.state != "running":
        return Level.AMBER, w.state
    if w.max_in_flight and w.in_flight >= t.amber_in_flight_share * w.max_in_flight:
        return Level.AMBER, "near its in-flight bound"
    if not w.partitions:
        return Level.AMBER, "no partitions assigned"
    return Level.GREEN, "running"


def tier_level(oldest_overdue_s: float, t: Thresholds) -> Level:
    """A retry tier whose oldest copy is overdue: its workers cannot keep up with their retries."""
    if oldest_overdue_s >= t.red_overdue_s:
        return Level.RED
    return Level.AMBER if oldest_overdue_s >= t.amber_overdue_s else Level.GREEN


def lag_level(lag: GroupLag | None, t: Thresholds) -> Verdict:
    if lag is None:
        return Level.AMBER, "not measured yet"
    if lag.error is not None:
        return Level.AMBER, lag.error
    seconds = lag.seconds or 0.0
    if seconds >= t.red_lag_s:
        return Level.RED, "far behind"
    if seconds >= t.amber_lag_s:
        return Level.AMBER, "behind"
    return Level.GREEN, "keeping up"


def leader_of(services: Iterable[AlertsStatus], now: datetime, t: Thresholds) -> AlertsStatus | None:
    """The live instance that leads (the newest record, should two briefly both claim it in a hand-over)."""
    leaders = [s for s in services if s.leader and not silent(s.updated_at, now, t)]
    return max(leaders, key=lambda s: s.updated_at, default=None)


def alerting_level(services: Iterable[AlertsStatus], now: datetime, t: Thresholds) -> Verdict:
    """Whether alerts reach people. With no alerts service seen the page stays neutral: a team may page through
    Prometheus instead (``deploy/prometheus/``)."""
    services = list(services)
    if not services:
        return Level.GREEN, "no alerts service seen"
    leader = leader_of(services, now, t)
    if leader is None:
        if all(silent(s.updated_at, now, t) for s in services):
            return Level.AMBER, "alerts service silent: nobody is paged"
        return Level.AMBER, "no alerts leader (electing)"
    if leader.undelivered:
        noun = "alert" if leader.undelivered == 1 else "alerts"
        return Level.RED, f"{leader.undelivered} {noun} not delivered"
    return Level.GREEN, f"leader {leader.instance_id}, all delivered"


def silent(updated_at: datetime, now: datetime, t: Thresholds) -> bool:
    return (now - updated_at).total_seconds() > t.silent_after_s
