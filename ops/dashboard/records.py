"""The status topic's records, as the contract draws them (/tmp/status_contract.md, README "The dashboard").

Workers publish two kinds of record to the compacted ``<prefix>pms.status`` topic, JSON bodies keyed
``worker|<worker_id>`` and ``practice|<practice_id>``; the alerts service (``pms-relay alerts run``) publishes a
third, ``alerts|<instance_id>``, so undelivered alerts show. A tombstone (no value) means the worker or alerts
instance stopped cleanly. Parsing is pure and tolerant of fields it does not know (a newer worker may add some), strict on the
ones it reads: a record that does not fit is skipped and counted, never shown half-read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AlertsStatus",
    "CommandWindow",
    "Failure",
    "Latency",
    "PracticeStatus",
    "RetryTier",
    "SinkFailure",
    "StatusRecord",
    "Tombstone",
    "WorkerStatus",
    "parse_status",
]

WORKER_PREFIX = "worker|"
PRACTICE_PREFIX = "practice|"
ALERTS_PREFIX = "alerts|"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class RetryTier(_Record):
    depth: int = Field(ge=0)
    oldest_overdue_s: float = 0.0


class WorkerStatus(_Record):
    worker_id: str
    host: str = ""
    pid: int = 0
    version: str = ""
    state: Literal["starting", "running", "rebalancing", "stopping"]
    partitions: tuple[str, ...] = ()
    started_at: datetime
    updated_at: datetime
    commands_in: int = 0
    answers_out: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    retry_tiers: dict[str, RetryTier] = Field(default_factory=dict)
    dead_letters_written: int = 0


class Failure(_Record):
    command_id: str
    code: str
    at: datetime
    trace_id: str | None = None


class CommandWindow(_Record):
    finished: int = Field(0, ge=0)
    errors: int = Field(0, ge=0)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.finished if self.finished else None


class Latency(_Record):
    p50: float | None = None
    p95: float | None = None


class PracticeStatus(_Record):
    practice_id: str
    pms: str
    worker_id: str
    circuit: Literal["closed", "open", "half-open"]
    circuit_since: datetime | None = None  # first open after it was last closed (older workers omit it)
    failures: int = 0
    parked_until: datetime | None = None
    last_success_at: datetime | None = None
    last_error: Failure | None = None
    recent_failures: tuple[Failure, ...] = ()
    window_5m: CommandWindow = CommandWindow()
    window_60m: CommandWindow = CommandWindow()
    pms_latency_ms: Latency = Latency()
    slots_in_use: int = 0
    slots: int = 0
    backlog: int = 0
    updated_at: datetime


class SinkFailure(_Record):
    """A sink's last refusal: a reason (``HTTP 503``, ``ConnectTimeout``), never its URL (Slack's holds a token)."""

    reason: str
    at: datetime
    dedup_key: str


class AlertsStatus(_Record):
    """One alerts-service instance (``ops.alerts.status``). Only the leader sends, so only its ``undelivered``
    counts: notices some sink refused or never took after every retry."""

    instance_id: str
    leader: bool
    sinks: tuple[str, ...] = ()
    firing: int = Field(0, ge=0)
    undelivered: int = Field(0, ge=0)
    last_failures: dict[str, SinkFailure] = Field(default_factory=dict)
    updated_at: datetime


class Tombstone(_Record):
    """A key whose record is gone: a worker or alerts instance that stopped cleanly, or a practice no longer
    served."""

    key: str


StatusRecord = WorkerStatus | PracticeStatus | AlertsStatus | Tombstone

_MODELS: dict[str, type[WorkerStatus | PracticeStatus | AlertsStatus]] = {
    WORKER_PREFIX: WorkerStatus,
    PRACTICE_PREFIX: PracticeStatus,
    ALERTS_PREFIX: AlertsStatus,
}


def parse_status(key: bytes | None, value: bytes | None) -> StatusRecord | None:
    """The record a status message holds; None when it is not one (unknown key, bad JSON, wrong shape)."""
    name = (key or b"").decode("utf-8", "replace")
    model = _MODELS.get(name.partition("|")[0] + "|")
    if model is None:
        return None
    if value is None:
        return Tombstone(key=name)
    try:
        return model.model_validate(json.loads(value))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
