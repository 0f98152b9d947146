"""Due gates: retry copies wait here, read and tracked, until their due time; never early.

One FIFO per partition, so no partition or tier waits for another. Each tier has one delay, so within a
partition copies come due in the order they arrive. A partition holding more than ``high_water`` waiting copies
stops fetching until half of them are gone. A copy is tracked in the commit ledger from the moment it is
read, so a waiting copy holds its partition's commit point.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP, EventT

from streams.commits import CommitLedger, Ticket
from streams.hops import read_hop
from streams.intake import event_headers

__all__ = ["DueGates"]

Event = EventT[Any]


class DueGates:
    """Holds retry copies until they are due (see the module docstring)."""

    def __init__(
        self,
        app: faust.App,
        ledger: CommitLedger,
        submit: Callable[[Event, Ticket], Awaitable[None]],
        high_water: int,
    ) -> None:
        self._app = app
        self._ledger = ledger
        self._submit = submit
        self._high_water = high_water
        self._queues: dict[TP, asyncio.Queue[tuple[Event, Ticket]]] = {}
        self._tasks: dict[TP, asyncio.Task[None]] = {}
        self._paused: set[TP] = set()

    async def put(self, event: Event) -> None:
        # Faust's own TP: the message carries aiokafka's TopicPartition, which Faust's pause and resume
        # bookkeeping refuses (an assertion that crashed the fetcher once a partition was paused).
        tp = TP(event.message.tp.topic, event.message.tp.partition)
        # Tracked from the moment it is read: a copy waiting for its due time holds the commit point.
        ticket = self._ledger.track(tp, event.message.offset)
        if ticket is None:
            return
        queue = self._queues.get(tp)
        if queue is None:
            queue = self._queues[tp] = asyncio.Queue()
            self._tasks[tp] = asyncio.create_task(self._drain(tp, queue))
        queue.put_nowait((event, ticket))
        if queue.qsize() >= self._high_water and tp not in self._paused:
            self._app.consumer.pause_partitions({tp})
            self._paused.add(tp)

    async def _drain(self, tp: TP, queue: asyncio.Queue[tuple[Event, Ticket]]) -> None:
        while True:
            event, ticket = await queue.get()
            hop = read_hop(event_headers(event))
            if hop is not None and hop.due_at is not None:
                wait = (hop.due_at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self._submit(event, ticket)
            if tp in self._paused and queue.qsize() < self._high_water // 2:
                self._app.consumer.resume_partitions({tp})
                self._paused.discard(tp)

    async def release(self, tps: set[TP] | None) -> None:
        """Forget waiting copies of ``tps`` (all when None) unfinished: their next owner reads them again."""
        for tp in list(self._tasks) if tps is None else [tp for tp in tps if tp in self._tasks]:
            task = self._tasks.pop(tp)
            task.cancel()
            self._queues.pop(tp, None)
            self._paused.discard(tp)
        await asyncio.sleep(0)
