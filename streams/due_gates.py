"""Due gates: retry copies wait here, read and tracked, until their due time; never early.

One FIFO per partition, so no partition or tier waits for another. Each tier has one delay, so within a
partition copies come due in the order they arrive. A partition holding more than ``high_water`` waiting copies
stops fetching until half of them are gone. A copy is tracked in the commit ledger from the moment it is
read, so a waiting copy holds its partition's commit point.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP, EventT

from streams.commits import CommitLedger, Ticket
from streams.hops import read_hop
from streams.intake import event_headers

__all__ = ["DueGates", "Waiting"]

Event = EventT[Any]


@dataclass(frozen=True)
class Waiting:
    """Copies of one retry tier read and not yet handed on, and the oldest one's due time (epoch seconds)."""

    copies: int
    oldest_due: float | None

    def overdue(self, now: float) -> float:
        """How long past its due time the oldest copy still waits (0 when it is not due yet)."""
        return max(0.0, now - self.oldest_due) if self.oldest_due is not None else 0.0


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
        self._queues: dict[TP, asyncio.Queue[tuple[Event, Ticket, float | None]]] = {}
        self._dues: dict[TP, deque[float | None]] = {}  # due times of the copies each partition holds
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
        hop = read_hop(event_headers(event))
        due = hop.due_at.timestamp() if hop is not None and hop.due_at is not None else None
        queue = self._queues.get(tp)
        if queue is None:
            queue = self._queues[tp] = asyncio.Queue()
            self._dues[tp] = deque()
            self._tasks[tp] = asyncio.create_task(self._drain(tp, queue, self._dues[tp]))
        queue.put_nowait((event, ticket, due))
        self._dues[tp].append(due)
        if queue.qsize() >= self._high_water and tp not in self._paused:
            self._app.consumer.pause_partitions({tp})
            self._paused.add(tp)

    async def _drain(
        self, tp: TP, queue: asyncio.Queue[tuple[Event, Ticket, float | None]], dues: deque[float | None]
    ) -> None:
        while True:
            event, ticket, due = await queue.get()
            if due is not None:
                wait = due - time.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            await self._submit(event, ticket)
            dues.popleft()
            if tp in self._paused and queue.qsize() < self._high_water // 2:
                self._app.consumer.resume_partitions({tp})
                self._paused.discard(tp)

    def waiting(self) -> dict[str, Waiting]:
        """Per retry tier (topic): the copies waiting here, summed over its partitions, and the oldest due."""
        tiers: dict[str, Waiting] = {}
        for tp, dues in list(self._dues.items()):
            known = tiers.get(tp.topic, Waiting(0, None))
            head = dues[0] if dues else None
            oldest = min((d for d in (known.oldest_due, head) if d is not None), default=None)
            tiers[tp.topic] = Waiting(known.copies + len(dues), oldest)
        return tiers

    async def release(self, tps: set[TP] | None) -> None:
        """Forget waiting copies of ``tps`` (all when None) unfinished: their next owner reads them again."""
        for tp in list(self._tasks) if tps is None else [tp for tp in tps if tp in self._tasks]:
            task = self._tasks.pop(tp)
            task.cancel()
            self._queues.pop(tp, None)
            self._dues.pop(tp, None)
            self._paused.discard(tp)
        await asyncio.sleep(0)
