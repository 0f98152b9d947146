"""The alerting service's own record on the status topic: ``alerts|<instance_id>``, so the dashboard shows
undelivered alerts. Pure: the notices and the last failure per sink in, a JSON-ready record out. Sink names,
reasons (``HTTP 503``, ``ConnectTimeout``) and dedup keys only: never a URL (Slack's holds its token).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops.alerts.notices import Delivered, Notice, Status

__all__ = ["ALERTS_TYPE", "SinkFailure", "alerts_key", "service_record", "undelivered"]

ALERTS_TYPE = "pms.status.alerts.v1"


def alerts_key(instance_id: str) -> str:
    return f"alerts|{instance_id}"


@dataclass(frozen=True)
class SinkFailure:
    reason: str
    at: datetime
    dedup_key: str


def undelivered(notices: Iterable[Notice]) -> int:
    """Notices, firing or resolved, that some sink refused or never took after every retry."""
    return sum(any(v is Delivered.FAILED for v in n.delivered.values()) for n in notices)


def service_record(
    *,
    instance_id: str,
    leader: bool,
    sinks: Iterable[str],
    notices: Iterable[Notice],
    failures: Mapping[str, SinkFailure],
    now: datetime,
) -> dict[str, Any]:
    notices = list(notices)
    return {
        "instance_id": instance_id,
        "leader": leader,
        "sinks": sorted(sinks),
        "firing": sum(n.status is Status.FIRING for n in notices),
        "undelivered": undelivered(notices) if leader else 0,
        "last_failures": {
            sink: {"reason": f.reason, "at": f.at.isoformat(), "dedup_key": f.dedup_key}
            for sink, f in sorted(failures.items())
        },
        "updated_at": now.isoformat(),
    }
