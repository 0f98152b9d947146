"""A notice: what was (or is about to be) sent for one dedup key, and to which sinks it got through.

Notices are the records of the one-partition compacted ``<prefix>pms.alert-notices`` topic, keyed by dedup
key, JSON values. The leader writes a notice *before* it sends and again once each sink answered; a new leader
reads the topic to its end and so knows what is firing, when it was last sent (repeat intervals go on), and
which sinks never confirmed (those get it once more: at-least-once, and every sink dedups by key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from ops.alerts.conditions import ActiveAlert, runbook
from ops.alerts.settings import Condition, Severity

__all__ = ["Notice", "Status", "decode_notice", "encode_notice"]


class Status(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Delivered(StrEnum):
    OK = "ok"
    FAILED = "failed"  # retries exhausted or refused (4xx): reported, not retried by a new leader


@dataclass(frozen=True)
class Notice:
    key: str
    condition: Condition
    severity: Severity
    status: Status
    summary: str
    started_at: datetime
    practice_id: str | None = None
    pms: str | None = None
    ended_at: datetime | None = None
    trace_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    last_sent_at: datetime | None = None
    delivered: Mapping[str, Delivered] = field(default_factory=dict)  # sink name -> outcome

    @classmethod
    def firing(cls, alert: ActiveAlert, severity: Severity, now: datetime) -> Notice:
        return cls(
            key=alert.key,
            condition=alert.condition,
            severity=severity,
            status=Status.FIRING,
            summary=alert.summary,
            started_at=alert.since or now,
            practice_id=alert.practice_id,
            pms=alert.pms,
            trace_id=alert.trace_id,
            details=dict(alert.details),
        )

    @property
    def runbook(self) -> str:
        return runbook(self.condition)

    def refreshed(self, alert: ActiveAlert) -> Notice:
        """The same firing notice with the condition's current summary and figures (for a repeat)."""
        return replace(self, summary=alert.summary, details=dict(alert.details), trace_id=alert.trace_id)

    def resolved(self, now: datetime) -> Notice:
        return replace(self, status=Status.RESOLVED, ended_at=now)

    def sent(self, now: datetime) -> Notice:
        return replace(self, last_sent_at=now, delivered={})

    def with_delivery(self, sink: str, outcome: Delivered) -> Notice:
        return replace(self, delivered={**self.delivered, sink: outcome})


def encode_notice(notice: Notice) -> bytes:
    data = asdict(notice)
    for name in ("started_at", "ended_at", "last_sent_at"):
        data[name] = data[name].isoformat() if data[name] is not None else None
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def decode_notice(value: bytes | None) -> Notice | None:
    """The notice in a record, or None (a tombstone, or a record this version cannot read)."""
    if value is None:
        return None
    try:
        data = json.loads(value)
        return Notice(
            key=str(data["key"]),
            condition=Condition(data["condition"]),
            severity=Severity(data["severity"]),
            status=Status(data["status"]),
            summary=str(data["summary"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            practice_id=data.get("practice_id"),
            pms=data.get("pms"),
            ended_at=_time(data.get("ended_at")),
            trace_id=data.get("trace_id"),
            details=dict(data.get("details") or {}),
            last_sent_at=_time(data.get("last_sent_at")),
            delivered={str(k): Delivered(v) for k, v in (data.get("delivered") or {}).items()},
        )
    except (ValueError, KeyError, TypeError):
        return None


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
