"""A made-up cluster in the status contract's shape, for the benchmark (500 practices), the browser test and the
README's screenshot: practices as the demo names them plus numbered ones, one with an open circuit, one
half-open, one parked, a few failing; two workers; tiers, dead letters, alerts and lag; two alerts-service
instances, the leader holding one alert its Slack sink refused. Ids and codes only.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ops.dashboard.messages import parse_alert, partition_lag
from ops.dashboard.records import parse_status
from ops.dashboard.state import ClusterState, DeadLetter, DeadLetters, GroupLag

__all__ = ["FixedSource", "sample_records", "sample_state"]

OPEN = "es-demo"  # the practice whose circuit is open
HALF_OPEN = "dx-0003"


def sample_state(practices: int = 12, now: datetime | None = None, seed: int = 7) -> ClusterState:
    now = now or datetime.now(UTC)
    state = ClusterState()
    for key, value in sample_records(practices, now, seed):
        state.apply(parse_status(key, value))
    for alert in _alerts(now):
        parsed = parse_alert(json.dumps(alert).encode())
        assert parsed is not None
        state.add_alert(parsed)
    state.dead_letters = DeadLetters(3, tuple(_letters(now)))
    state.lag = GroupLag(
        "pms-relay-demo",
        "demo.pms.commands",
        (
            partition_lag(0, 120, 0, 121, int((now.timestamp() - 0.4) * 1000), now),
            partition_lag(1, 98, 0, 98, None, now),
            partition_lag(2, 77, 0, 81, int((now.timestamp() - 2.5) * 1000), now),
        ),
    )
    return state


def sample_records(practices: int, now: datetime, seed: int = 7) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs as the workers publish them: two workers (each twice, for a rate), then practices;
    then the alerts service's two instances."""
    workers = ("relay-a-4242", "relay-b-4243")
    for earlier in (True, False):
        for index, worker in enumerate(workers):
            yield f"worker|{worker}".encode(), json.dumps(_worker(worker, index, now, earlier)).encode()
    rng = random.Random(seed)
    names = ["dx-demo", OPEN, HALF_OPEN, "dx-0004"] + [f"dx-{n:04d}" for n in range(5, practices + 1)]
    for n, practice in enumerate(names[:practices]):
        body = _practice(practice, workers[n % 2], now, rng)
        yield f"practice|{practice}".encode(), json.dumps(body).encode()
    for instance, leader in (("alerts-a-5151", True), ("alerts-b-5152", False)):
        yield f"alerts|{instance}".encode(), json.dumps(_alerting(instance, leader, now)).encode()


def _alerting(instance: str, leader: bool, now: datetime) -> dict[str, Any]:
    refused = {"reason": "HTTP 503", "at": _iso(now - timedelta(seconds=40)),
               "dedup_key": f"pms-relay:circuit_open:{OPEN}:eaglesoft"}  # fmt: skip
    return {
        "instance_id": instance, "leader": leader, "sinks": ["oncall-webhook", "slack"],
        "firing": 2 if leader else 0, "undelivered": 1 if leader else 0,
        "last_failures": {"slack": refused} if leader else {}, "updated_at": _iso(now - timedelta(seconds=2)),
    }  # fmt: skip


def _iso(instant: datetime) -> str:
    return instant.isoformat()


def _worker(worker: str, index: int, now: datetime, earlier: bool) -> dict[str, Any]:
    at = now - timedelta(seconds=7 if earlier else 2)
    base = 1800 + 400 * index
    return {
        "worker_id": worker,
        "host": f"relay-{'ab'[index]}",
        "pid": 4242 + index,
        "version": "0.1.0",
        "state": "running",
        "partitions": [f"demo.pms.commands:{p}" for p in ((0, 2) if index == 0 else (1,))],
        "started_at": _iso(now - timedelta(minutes=42)),
        "updated_at": _iso(at),
        "commands_in": base - (60 if earlier else 0),
        "answers_out": base - 5 - (58 if earlier else 0),
        "in_flight": 5 + index,
        "max_in_flight": 2048,
        "retry_tiers": {
            "demo.pms.commands.retry.2s": {"depth": 2 + index, "oldest_overdue_s": 0.3},
            "demo.pms.commands.retry.5s": {"depth": index, "oldest_overdue_s": 0.0},
            "demo.pms.commands.retry.10s": {"depth": 1 - index, "oldest_overdue_s": 6.5 * (1 - index)},
        },
        "dead_letters_written": 1 + index,
    }


def _practice(practice: str, worker: str, now: datetime, rng: random.Random) -> dict[str, Any]:
    finished = rng.randint(20, 400)
    errors = 0 if rng.random() < 0.85 else rng.randint(1, max(1, finished // 60))
    circuit = "open" if practice == OPEN else ("half-open" if practice == HALF_OPEN else "closed")
    if circuit == "open":
        errors = finished // 2 + 3
    failures = [
        _failure(practice, now - timedelta(seconds=rng.randint(5, 600)), rng) for _ in range(min(errors, 3))
    ]
    failures.sort(key=lambda f: f["at"], reverse=True)
    p50 = rng.uniform(40, 180)
    return {
        "practice_id": practice,
        "pms": "eaglesoft" if practice.startswith("es") else "dentrix",
        "worker_id": worker,
        "circuit": circuit,
        "failures": 5 if circuit == "open" else (1 if circuit == "half-open" else 0),
        "parked_until": _iso(now + timedelta(seconds=40)) if practice == "dx-0004" else None,
        "last_success_at": _iso(
            now - timedelta(seconds=rng.randint(1, 90) + (300 if circuit == "open" else 0))
        ),
        "last_error": failures[0] | {} if failures else None,
        "recent_failures": failures,
        "window_5m": {"finished": finished // 12, "errors": min(errors, finished // 12)},
        "window_60m": {"finished": finished, "errors": errors},
        "pms_latency_ms": {"p50": round(p50, 1), "p95": round(p50 * rng.uniform(1.5, 4), 1)},
        "slots_in_use": rng.randint(0, 4),
        "slots": 4,
        "backlog": 0,
        "updated_at": _iso(now - timedelta(seconds=rng.uniform(0, 4))),
    }


def _failure(practice: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    return {
        "command_id": f"{rng.getrandbits(128):032x}"[:8] + "-" + practice[:2] + f"-{rng.getrandbits(16):04x}",
        "code": rng.choice(["UNAVAILABLE", "UNAVAILABLE", "TIMEOUT", "DEADLINE_EXCEEDED", "CONFLICT"]),
        "at": _iso(at),
        "trace_id": f"{rng.getrandbits(128):032x}",
    }


def _alerts(now: datetime) -> list[dict[str, Any]]:
    def alert(old: str, new: str, seconds: int, practice: str = OPEN) -> dict[str, Any]:
        return {"type": "circuit", "practice_id": practice, "pms": "eaglesoft", "from": old, "to": new,
                "failures": 5, "at": _iso(now - timedelta(seconds=seconds))}  # fmt: skip

    return [alert("closed", "open", 300, HALF_OPEN), alert("open", "half-open", 20, HALF_OPEN),
            alert("closed", "open", 12)]  # fmt: skip


def _letters(now: datetime) -> list[DeadLetter]:
    return [
        DeadLetter(1, 2, "5f0c8a7e-3d1b-4f6e-9a2c-7b8d9e0f1a2b", "ListAppointments", "dx-demo", "UNAVAILABLE", 4,
                   now - timedelta(seconds=35), "4bf92f3577b34da6a3ce929d0e0e4736"),
        DeadLetter(0, 0, "0e2f4a6c-8b1d-4c3e-a5f7-9d0b2c4e6f8a", "SearchPatients", "dx-0007", "INTERNAL", 1,
                   now - timedelta(minutes=50), None),
    ]  # fmt: skip


class FixedSource:
    """A :class:`ops.dashboard.app.Source` that serves one state (the benchmark, tests, screenshots)."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    def snapshot(self) -> ClusterState:
        return self.state.copy()

    def health(self) -> dict[str, Any]:
        return {"status": "UP", "components": {"source": {"status": "UP", "details": {"fixed": True}}}}
