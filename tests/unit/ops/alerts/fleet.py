"""Status records for the alert tests, in the contract's JSON shape, folded into a dashboard state."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ops.dashboard.records import parse_status
from ops.dashboard.state import ClusterState

__all__ = ["fleet", "practice", "worker"]


def _at(at: datetime) -> str:
    return at.isoformat()


def practice(pid: str, now: datetime, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "practice_id": pid,
        "pms": "EAGLESOFT",  # the adapter's kind, as workers write it; keys and overrides say eaglesoft
        "worker_id": "w1",
        "circuit": "closed",
        "last_success_at": _at(now - timedelta(seconds=5)),
        "window_5m": {"finished": 50, "errors": 0},
        "updated_at": _at(now),
    }
    return record | fields


def worker(now: datetime, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "worker_id": "w1",
        "state": "running",
        "started_at": _at(now - timedelta(hours=1)),
        "updated_at": _at(now),
    }
    return record | fields


def fleet(
    now: datetime, *practices: dict[str, Any], workers: tuple[dict[str, Any], ...] = ()
) -> ClusterState:
    state = ClusterState()
    for w in workers or (worker(now),):
        state.apply(parse_status(f"worker|{w['worker_id']}".encode(), json.dumps(w).encode()))
    for p in practices:
        state.apply(parse_status(f"practice|{p['practice_id']}".encode(), json.dumps(p).encode()))
    assert state.skipped == 0
    return state
