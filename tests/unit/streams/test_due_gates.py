"""Retry copies wait until they are due, each partition on its own: a waiting head never holds up another."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.structs import TopicPartition
from faust.types import TP

from streams.commits import CommitLedger, Ticket
from streams.due_gates import DueGates
from streams.hops import Hop, Origin, write_hop


@dataclass
class _Message:
    tp: TP
    headers: list[tuple[str, bytes]]
    offset: int = 0


@dataclass
class _Event:
    message: _Message


@dataclass
class _Consumer:
    paused: set[TP] = field(default_factory=set)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)

    def pause_partitions(self, tps: set[TP]) -> None:
        assert all(type(tp) is TP for tp in tps), "Faust asserts its own TP type in its bookkeeping"
        self.paused |= tps

    def resume_partitions(self, tps: set[TP]) -> None:
        assert all(type(tp) is TP for tp in tps), "Faust asserts its own TP type in its bookkeeping"
        self.paused -= tps
        self.resumed.set()


@dataclass
class _App:
    consumer: _Consumer = field(default_factory=_Consumer)


def _copy(tp: TP, due_in: float, offset: int = 0) -> _Event:
    due = datetime.now(UTC) + timedelta(seconds=due_in)
    hop = Hop(hop=1, attempts=1, first_seen=due, origin=Origin("pms.commands", tp.partition, 0), due_at=due)
    return _Event(_Message(tp, write_hop([], hop), offset))


async def test_a_copy_waits_for_its_due_time_without_holding_up_another_partition() -> None:
    submitted: list[tuple[int, datetime]] = []
    both = asyncio.Event()

    async def submit(event: Any, ticket: Ticket) -> None:
        ticket.finish()
        submitted.append((event.message.tp.partition, datetime.now(UTC)))
        if len(submitted) == 2:
            both.set()

    gates = DueGates(_App(), CommitLedger(), submit, high_water=10)  # type: ignore[arg-type]
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
    async def submit(event: Any, ticket: Ticket) -> None:
        ticket.finish()

    app = _App()
    gates = DueGates(app, CommitLedger(), submit, high_water=2)  # type: ignore[arg-type]
    tp = TP("pms.commands.retry.1m", 3)
    for offset in range(3):
        # Messages carry aiokafka's TopicPartition, not Faust's TP.
        await gates.put(_copy(TopicPartition(tp.topic, tp.partition), due_in=0.05, offset=offset))  # type: ignore[arg-type]
    assert tp in app.consumer.paused

    async with asyncio.timeout(5):
        await app.consumer.resumed.wait()
    assert tp not in app.consumer.paused
    await gates.release(None)


async def test_waiting_copies_hold_the_commit_point_and_a_revocation_leaves_them_for_the_next_owner() -> None:
    async def submit(event: Any, ticket: Ticket) -> None:
        ticket.finish()

    ledger = CommitLedger()
    gates = DueGates(_App(), ledger, submit, high_water=100)  # type: ignore[arg-type]
    tp = TP("pms.commands.retry.10s", 1)
    for offset in range(40, 45):
        await gates.put(_copy(tp, due_in=60, offset=offset))  # type: ignore[arg-type]
    assert ledger.committable() == {tp: 40}  # nothing waiting is committed past

    await gates.release({tp})
    ledger.revoke({tp})
    assert ledger.committable() == {}  # the next owner (maybe this worker again) reads 40.. again
    await gates.put(_copy(tp, due_in=60, offset=41))  # type: ignore[arg-type]
    assert ledger.committable() == {}  # read while revoked: not tracked, not committed
    ledger.open({tp})
    await gates.put(_copy(tp, due_in=0, offset=40))  # type: ignore[arg-type]
    for _ in range(500):  # bounded poll for the gate's task to submit it
        if ledger.committable() == {tp: 41}:
            break
        await asyncio.sleep(0.01)
    assert ledger.committable() == {tp: 41}
    await gates.release(None)


async def test_waiting_reports_copies_per_tier_and_how_overdue_the_oldest_is() -> None:
    release = asyncio.Event()

    async def submit(event: Any, ticket: Ticket) -> None:
        await release.wait()  # the worker is full: a due copy cannot be handed on
        ticket.finish()

    gates = DueGates(_App(), CommitLedger(), submit, high_water=100)  # type: ignore[arg-type]
    short, long = "pms.commands.retry.10s", "pms.commands.retry.10m"
    await gates.put(_copy(TP(short, 0), due_in=-30, offset=1))  # type: ignore[arg-type]
    await gates.put(_copy(TP(short, 0), due_in=60, offset=2))  # type: ignore[arg-type]
    await gates.put(_copy(TP(short, 1), due_in=-5, offset=1))  # type: ignore[arg-type]
    await gates.put(_copy(TP(long, 0), due_in=600, offset=1))  # type: ignore[arg-type]
    await asyncio.sleep(0)

    waiting = gates.waiting()
    now = datetime.now(UTC).timestamp()
    assert {topic: w.copies for topic, w in waiting.items()} == {short: 3, long: 1}
    assert 29 <= waiting[short].overdue(now) <= 31  # the oldest of both partitions, still held
    assert waiting[long].overdue(now) == 0.0  # not due yet

    release.set()
    for _ in range(500):  # bounded poll for the overdue copies to be handed on
        if gates.waiting()[short].copies == 1:
            break
        await asyncio.sleep(0.01)
    assert gates.waiting()[short].copies == 1
    await gates.release(None)
    assert gates.waiting() == {}
