"""Retry copies wait until they are due, each partition on its own: a waiting head never holds up another."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faust.types import TP

from streams.hops import Hop, Origin, write_hop
from topology import _DueGates


@dataclass
class _Message:
    tp: TP
    headers: list[tuple[str, bytes]]


@dataclass
class _Event:
    message: _Message


@dataclass
class _Consumer:
    paused: set[TP] = field(default_factory=set)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)

    def pause_partitions(self, tps: set[TP]) -> None:
        self.paused |= tps

    def resume_partitions(self, tps: set[TP]) -> None:
        self.paused -= tps
        self.resumed.set()


@dataclass
class _App:
    consumer: _Consumer = field(default_factory=_Consumer)


def _copy(tp: TP, due_in: float) -> _Event:
    due = datetime.now(UTC) + timedelta(seconds=due_in)
    hop = Hop(hop=1, attempts=1, first_seen=due, origin=Origin("pms.commands", tp.partition, 0), due_at=due)
    return _Event(_Message(tp, write_hop([], hop)))


async def test_a_copy_waits_for_its_due_time_without_holding_up_another_partition() -> None:
    submitted: list[tuple[int, datetime]] = []
    both = asyncio.Event()

    async def submit(event: Any) -> None:
        submitted.append((event.message.tp.partition, datetime.now(UTC)))
        if len(submitted) == 2:
            both.set()

    gates = _DueGates(_App(), submit, high_water=10)  # type: ignore[arg-type]
    later, now = TP("pms.commands.retry.10s", 0), TP("pms.commands.retry.10s", 1)
    waiting = _copy(later, due_in=0.3)
    await gates.put(waiting)  # type: ignore[arg-type]
    await gates.put(_copy(now, due_in=0))  # type: ignore[arg-type]

    async with asyncio.timeout(5):
        await both.wait()

    assert [partition for partition, _ in submitted] == [1, 0]
    due = datetime.fromisoformat(dict(waiting.message.headers)["pms-due-at"].decode().replace("Z", "+00:00"))
    assert submitted[1][1] >= due  # never before its due time
    await gates.release(None)


async def test_a_partition_with_too_many_waiting_copies_pauses_then_resumes() -> None:
    async def submit(event: Any) -> None:
        return None

    app = _App()
    gates = _DueGates(app, submit, high_water=2)  # type: ignore[arg-type]
    tp = TP("pms.commands.retry.1m", 3)
    for _ in range(3):
        await gates.put(_copy(tp, due_in=0.05))  # type: ignore[arg-type]
    assert tp in app.consumer.paused

    async with asyncio.timeout(5):
        await app.consumer.resumed.wait()
    assert tp not in app.consumer.paused
    await gates.release(None)
