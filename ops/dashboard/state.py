"""What the dashboard knows about the cluster: the latest status record per key, recent alerts, the dead-letter
topic's depth and newest letters, the workers' group lag. Folded from Kafka by :mod:`ops.dashboard.feed`; the
folding itself is pure and table-tested.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from ops.dashboard.records import AlertsStatus, PracticeStatus, StatusRecord, Tombstone, WorkerStatus

__all__ = [
    "Alert",
    "ClusterState",
    "DeadLetter",
    "DeadLetters",
    "GroupLag",
    "PartitionLag",
    "Throughput",
]


@dataclass(frozen=True)
class Alert:
    """A circuit transition from ``pms.alerts`` (its JSON body: ids, states and a count only)."""

    practice_id: str
    pms: str
    old: str
    new: str
    failures: int
    at: datetime


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as its headers describe it; its value (the command, maybe patient data) is never read."""

    partition: int
    offset: int
    command_id: str | None
    command_type: str | None
    practice_id: str | None
    code: str | None
    attempts: int | None
    at: datetime | None
    trace_id: str | None


@dataclass(frozen=True)
class DeadLetters:
    depth: int = 0
    newest: tuple[DeadLetter, ...] = ()  # newest first


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int | None  # None: the group has committed nothing here yet
    end: int
    records: int
    seconds: float | None  # age of the oldest unconsumed record; None when unknown, 0 when caught up


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    partitions: tuple[PartitionLag, ...] = ()
    error: str | None = None

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def seconds(self) -> float | None:
        known = [p.seconds for p in self.partitions if p.seconds is not None]
        return max(known) if known else None


@dataclass(frozen=True)
class Throughput:
    """Commands in and answers out per second, from the change in a worker's counters between two records."""

    in_per_s: float = 0.0
    out_per_s: float = 0.0


@dataclass
class ClusterState:
    alert_limit: int = 50
    workers: dict[str, WorkerStatus] = field(default_factory=dict)
    practices: dict[str, PracticeStatus] = field(default_factory=dict)
    throughput: dict[str, Throughput] = field(default_factory=dict)  # by worker id
    alerting: dict[str, AlertsStatus] = field(default_factory=dict)  # by alerts-service instance id
    alerts: deque[Alert] = field(default_factory=deque)  # newest first
    dead_letters: DeadLetters = DeadLetters()
    lag: GroupLag | None = None
    skipped: int = 0  # status messages that were not contract records

    def apply(self, record: StatusRecord | None) -> None:
        if record is None:
            self.skipped += 1
        elif isinstance(record, Tombstone):
            self._forget(record.key)
        elif isinstance(record, WorkerStatus):
            self._worker(record)
        elif isinstance(record, AlertsStatus):
            self.alerting[record.instance_id] = record
        else:
            self.practices[record.practice_id] = record

    def add_alert(self, alert: Alert) -> None:
        self.alerts.appendleft(alert)
        while len(self.alerts) > self.alert_limit:
            self.alerts.pop()

    def copy(self) -> ClusterState:
        """A consistent copy for one page: the feed keeps folding into the original meanwhile."""
        return replace(
            self,
            workers=dict(self.workers),
            practices=dict(self.practices),
            throughput=dict(self.throughput),
            alerting=dict(self.alerting),
            alerts=deque(self.alerts),
        )

    def _worker(self, record: WorkerStatus) -> None:
        previous = self.workers.get(record.worker_id)
        if previous is not None and record.updated_at > previous.updated_at:
            self.throughput[record.worker_id] = throughput(previous, record)
        self.workers[record.worker_id] = record

    def _forget(self, key: str) -> None:
        kind, _, name = key.partition("|")
        if kind == "worker":
            self.workers.pop(name, None)
            self.throughput.pop(name, None)
        elif kind == "alerts":
            self.alerting.pop(name, None)
        else:
            self.practices.pop(name, None)


def throughput(before: WorkerStatus, after: WorkerStatus) -> Throughput:
    seconds = (after.updated_at - before.updated_at).total_seconds()
    if seconds <= 0 or after.started_at != before.started_at:  # a restart resets the counters
        return Throughput()
    return Throughput(
        in_per_s=max(0, after.commands_in - before.commands_in) / seconds,
        out_per_s=max(0, after.answers_out - before.answers_out) / seconds,
    )
