"""The worker's side of ``circuit_open``: the practice record's ``circuit_since`` keeps the first open of an
outage through open/half-open flaps, restarts after a close, and falls back on the circuits table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.activity import Activity
from streams.circuit import Transition
from streams.readings import PracticeReading
from streams.status import practice_record

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
STEPS = {"closed>open": ("closed", "open"), "open>half": ("open", "half-open"), "half>open": ("half-open", "open"),
         "half>closed": ("half-open", "closed")}  # fmt: skip


def _reading(circuit: str, opened_at: float | None = None) -> PracticeReading:
    return PracticeReading("es-1", "eaglesoft", circuit, 3, None, 0, 4, 0, opened_at)


@pytest.mark.parametrize(
    ("steps", "circuit", "since_s"),
    [
        (["closed>open"], "open", 0),
        (["closed>open", "open>half", "half>open", "open>half"], "half-open", 0),
        (["closed>open", "open>half", "half>closed"], "closed", None),
        (["closed>open", "open>half", "half>closed", "closed>open"], "open", 30),
    ],
)
def test_circuit_since(steps: list[str], circuit: str, since_s: float | None) -> None:
    activity = Activity("pms.commands", clock=lambda: T0.timestamp())
    for n, step in enumerate(steps):
        old, new = STEPS[step]
        activity.circuit_changed(Transition("es-1", "EAGLESOFT", old, new, T0 + timedelta(seconds=10 * n), 3))  # type: ignore[arg-type]
    record = practice_record(_reading(circuit), activity.practice("es-1"), worker_id="w", now=T0.timestamp())
    expected = (
        None if since_s is None else (T0 + timedelta(seconds=since_s)).isoformat().replace("+00:00", "Z")
    )
    assert record["circuit_since"] == expected


def test_a_practice_that_moved_here_while_open_falls_back_on_the_table() -> None:
    activity = Activity("pms.commands", clock=lambda: T0.timestamp())
    record = practice_record(
        _reading("open", T0.timestamp() - 60), activity.practice("es-1"), worker_id="w", now=0
    )
    assert record["circuit_since"] is not None
    assert datetime.fromisoformat(record["circuit_since"]) == T0 - timedelta(seconds=60)
